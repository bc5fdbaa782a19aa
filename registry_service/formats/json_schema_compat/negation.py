"""Rules for ``not`` schemas (Confluent's NotSchemaDiff).

``not A`` accepts more when ``A`` accepts less, so the wrapped schemas are compared the
other way round: if the update's ``A`` can be read by the original's (compatible reversed),
the ``not`` narrowed what it forbids (NOT_TYPE_NARROWED, compatible); otherwise it forbids
more (NOT_TYPE_EXTENDED). Only the verdict is reported, at ``#/.../not``.
"""

from __future__ import annotations

from registry_service.formats.json_schema_compat import compare as hub
from registry_service.formats.json_schema_compat.context import Context
from registry_service.formats.json_schema_compat.differences import DifferenceType as T
from registry_service.formats.json_schema_compat.schema_kinds import Node


def compare(ctx: Context, original: Node, update: Node) -> None:
    """Report whether the forbidden schema grew or shrank."""
    with ctx.enter("not"):
        sub = ctx.subcontext()
        hub.compare(
            sub, update.child(update.keyword("not")), original.child(original.keyword("not"))
        )
        ctx.add(T.NOT_TYPE_NARROWED if sub.is_compatible() else T.NOT_TYPE_EXTENDED)
