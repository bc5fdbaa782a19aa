"""The Avro field walk behind field-level rules (``CEL_FIELD``) on dict records.

:func:`avro_field_walker` binds a parsed (fastavro) schema and returns a
:class:`~serdes.rules.engine.FieldWalker`: it follows the record as the schema describes
it - records field by field, arrays item by item, map values, the union branch the value
belongs to - and hands each primitive value whose field's tags meet the rule's tags to
the rule. A field's tags are its inline ``confluent:tags`` and the tags the schema
metadata gives its full name (``ns.Record.field``, wildcards allowed), as in Confluent.

The caller's record is not changed: records on the path are copied before a transformed
value is put in. A field-level CONDITION stops at the first field whose result is
``False`` (:class:`~serdes.rules.engine.FieldConditionFailed`, naming the field).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from serdes.data_contracts import Metadata, Rule, RuleKind
from serdes.rules.engine import (
    FieldConditionFailed,
    FieldContext,
    FieldTransform,
    FieldWalker,
    metadata_tags,
)

__all__ = ["avro_field_walker"]

_TYPE_NAMES = {
    "record": "RECORD",
    "enum": "ENUM",
    "array": "ARRAY",
    "map": "MAP",
    "fixed": "FIXED",
    "string": "STRING",
    "bytes": "BYTES",
    "int": "INT",
    "long": "LONG",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "null": "NULL",
}


def _type_of(schema: Any) -> Any:
    return schema.get("type") if isinstance(schema, dict) else schema


def avro_field_walker(
    parsed: Any, named: Mapping[str, Any] | None, metadata: Metadata | None
) -> FieldWalker:
    """A walker over records of the fastavro-parsed schema ``parsed``.

    ``named`` resolves named types referred to by name (the schema's own and referenced
    ones); ``metadata`` supplies tags by field path.
    """
    names: dict[str, Any] = {}
    if isinstance(parsed, dict) and isinstance(parsed.get("__named_schemas"), dict):
        names.update(parsed["__named_schemas"])
    names.update(named or {})
    tag_cache: dict[tuple[str, tuple[str, ...]], frozenset[str]] = {}

    def deref(schema: Any) -> Any:
        if isinstance(schema, str) and schema in names:
            return names[schema]
        return schema

    def field_tags(full_name: str, inline: tuple[str, ...]) -> frozenset[str]:
        key = (full_name, inline)
        tags = tag_cache.get(key)
        if tags is None:
            tags = frozenset(inline) | frozenset(metadata_tags(metadata, full_name))
            tag_cache[key] = tags
        return tags

    def matches(schema: Any, value: Any) -> bool:
        schema = deref(schema)
        t = _type_of(schema)
        if t == "null":
            return value is None
        if t == "boolean":
            return isinstance(value, bool)
        if t in ("int", "long"):
            return isinstance(value, int) and not isinstance(value, bool)
        if t in ("float", "double"):
            return isinstance(value, int | float) and not isinstance(value, bool)
        if t in ("string", "enum"):
            return isinstance(value, str)
        if t in ("bytes", "fixed"):
            return isinstance(value, bytes | bytearray)
        if t == "array":
            return isinstance(value, list | tuple)
        if t == "map":
            return isinstance(value, Mapping)
        if t == "record":
            return isinstance(value, Mapping) and set(value) <= {
                f["name"] for f in schema.get("fields", ())
            }
        return False

    def branch(union: list[Any], value: Any) -> tuple[Any, Any]:
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
            for b in union:
                b_schema = deref(b)
                if isinstance(b_schema, dict) and b_schema.get("name") == value[0]:
                    return b_schema, value[1]
        for b in union:
            if matches(b, value):
                return deref(b), value
        return None, value

    def walk(
        schema: Any,
        value: Any,
        field: FieldContext | None,
        transform: FieldTransform,
        rule: Rule,
    ) -> Any:
        schema = deref(schema)
        if isinstance(schema, list):
            sub, inner = branch(schema, value)
            if sub is None:
                return value
            result = walk(sub, inner, field, transform, rule)
            if isinstance(value, tuple) and len(value) == 2 and inner is value[1]:
                return (value[0], result)
            return result
        t = _type_of(schema)
        if t == "record":
            if not isinstance(value, Mapping):
                return value
            out: dict[str, Any] | None = None
            for f in schema.get("fields", ()):
                name = f["name"]
                if name not in value:
                    continue
                full_name = f"{schema['name']}.{name}"
                inline = tuple(f.get("confluent:tags") or ())
                f_type = deref(f["type"])
                ctx = FieldContext(
                    value,
                    full_name,
                    name,
                    "COMBINED"
                    if isinstance(f_type, list)
                    else _TYPE_NAMES.get(_type_of(f_type), "NULL"),
                    field_tags(full_name, inline),
                )
                old = value[name]
                new = walk(f_type, old, ctx, transform, rule)
                if rule.kind is RuleKind.CONDITION:
                    if new is False:
                        raise FieldConditionFailed(full_name)
                elif new is not old:
                    if out is None:
                        out = dict(value)
                    out[name] = new
            if rule.kind is RuleKind.CONDITION:
                return True
            return value if out is None else out
        if t == "array":
            if not isinstance(value, list | tuple):
                return value
            items = [walk(schema["items"], v, field, transform, rule) for v in value]
            if rule.kind is RuleKind.CONDITION:
                return not any(i is False for i in items)
            return items
        if t == "map":
            if not isinstance(value, Mapping):
                return value
            entries = {
                k: walk(schema["values"], v, field, transform, rule) for k, v in value.items()
            }
            if rule.kind is RuleKind.CONDITION:
                return not any(v is False for v in entries.values())
            return entries
        if field is None:
            return True if rule.kind is RuleKind.CONDITION else value
        leaf = FieldContext(
            field.containing_message,
            field.full_name,
            field.name,
            _TYPE_NAMES.get(t, "NULL"),
            field.tags,
        )
        if not leaf.is_primitive or (rule.tags and leaf.tags.isdisjoint(rule.tags)):
            return True if rule.kind is RuleKind.CONDITION else value
        return transform(leaf, value)

    def walker(message: Any, transform: FieldTransform, rule: Rule) -> Any:
        return walk(parsed, message, None, transform, rule)

    return walker
