"""Rules for ``enum`` and ``const`` schemas (Confluent's EnumSchemaDiff and ConstSchemaDiff).

Enum members are compared as a set of JSON values: more members accept more (EXTENDED,
compatible), fewer or different ones may reject old data. A changed ``const`` is reported
as ENUM_ARRAY_CHANGED at ``#/.../const``, as Confluent does.
"""

from __future__ import annotations

from registry_service.formats.json_schema_compat.context import Context
from registry_service.formats.json_schema_compat.differences import DifferenceType as T
from registry_service.formats.json_schema_compat.json_values import json_equal, json_key
from registry_service.formats.json_schema_compat.schema_kinds import Node


def compare_enum(ctx: Context, original: Node, update: Node) -> None:
    """Report how the set of ``enum`` members changed."""
    before = {json_key(v) for v in _members(original)}
    after = {json_key(v) for v in _members(update)}
    if before == after:
        return
    if after >= before:
        ctx.add(T.ENUM_ARRAY_EXTENDED, "enum")
    elif before >= after:
        ctx.add(T.ENUM_ARRAY_NARROWED, "enum")
    else:
        ctx.add(T.ENUM_ARRAY_CHANGED, "enum")


def compare_const(ctx: Context, original: Node, update: Node) -> None:
    """Report a changed ``const`` value."""
    if not json_equal(original.keyword("const"), update.keyword("const")):
        ctx.add(T.ENUM_ARRAY_CHANGED, "const")


def _members(node: Node) -> list[object]:
    members = node.keyword("enum")
    return members if isinstance(members, list) else []
