"""What every schema format measures before its recursive walks see a schema.

Theory of operation
-------------------
Parsing, the canonical form, compatibility and fastavro's ``parse_schema`` all walk a
schema recursively, one or a few Python calls per level of nesting, and Python stops a
thread at 1,000 nested calls. A schema nested deeper than the walks could follow used to
fail with ``RecursionError`` (HTTP 500, which clients retry), and ``.proto`` text nested
some thousands of ``{`` deep crashed protoc in-process (a segmentation fault that took the
registry down). So each format first measures nesting with loops that keep their own
stack (linear in the size of the schema, no recursion) and refuses a schema beyond these
limits as invalid (42201):

* ``MAX_NESTING_DEPTH`` (64) -- how deeply types may nest. Avro counts each record,
  array, map and union, following a named type into its definition (those from
  references too). Protobuf counts the ``{``, ``[`` and ``<`` blocks of ``.proto`` text
  (messages, groups, oneofs, enums, services, option literals) and the nesting of
  messages in a descriptor; protoc itself refuses messages nested 32 deep.
* ``MAX_JSON_DEPTH`` (256) -- how deeply an Avro schema's JSON may nest arrays and
  objects at all, defaults and custom properties included. It is 4 x 64 because one
  record level takes three JSON levels (the record, its ``fields`` list, the field), so
  every schema within ``MAX_NESTING_DEPTH`` fits, with room for its defaults.

At both limits the deepest walk stays well inside Python's 1,000 calls (the tests in
``tests/unit/registry_service/formats/test_limits.py`` run every walk at the limit).
Confluent Schema Registry has no limit of its own; its JSON parser (Jackson 2.15+,
``StreamReadConstraints``) refuses documents nested more than 1,000 deep.

Lone surrogates: JSON may spell half of a UTF-16 surrogate pair on its own (``"\\ud800"``).
Python decodes it into a ``str`` that no UTF-8 encoder accepts, so storing, hashing or
answering such a schema failed. A schema holding one anywhere is invalid; the message
shows it escaped (``'\\ud800'``), never raw, so the answer itself can always be encoded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from registry_service.formats.base import InvalidSchemaError

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_NESTING_DEPTH",
    "check_json_document",
    "check_proto_nesting",
    "check_text",
]

MAX_NESTING_DEPTH = 64
MAX_JSON_DEPTH = 4 * MAX_NESTING_DEPTH

_SURROGATE = re.compile("[\ud800-\udfff]")

# A .proto token that matters for nesting: a string literal or comment (skipped whole,
# so the brackets inside them do not count), or one bracket.
_PROTO_TOKEN = re.compile(
    r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|//[^\n]*|/\*.*?\*/|[{}\[\]<>]""",
    re.DOTALL,
)
_OPEN = frozenset("{[<")
_CLOSE = frozenset("}]>")


def check_text(text: str, what: str = "schema") -> None:
    """Refuse ``text`` when it holds a lone surrogate (a ``str`` UTF-8 cannot encode).

    Cheap on the common path: ``isascii`` is a flag test on CPython strings.
    """
    if text.isascii():
        return
    match = _SURROGATE.search(text)
    if match is not None:
        raise InvalidSchemaError(_surrogate_message(what, text, match.start()))


def check_json_document(document: object, what: str = "schema") -> None:
    """Refuse a decoded JSON document nested beyond ``MAX_JSON_DEPTH`` or holding a surrogate.

    Runs before any recursive walk sees ``document``: an explicit stack of containers,
    each visited once, so the cost is linear and the depth of the document does not
    matter. Strings (keys and values) are checked for lone surrogates on the way, which
    ``json.loads`` turns ``\\ud800`` escapes into.
    """
    if type(document) is str:
        check_text(document, what)
    if type(document) is not dict and type(document) is not list:
        return
    # json.loads makes exactly dict, list and str, and str keys: exact type tests suffice.
    stack: list[tuple[dict[str, object] | list[object], int]] = [(document, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidSchemaError(
                f"Invalid schema: the {what}'s JSON nests arrays and objects more than "
                f"{MAX_JSON_DEPTH} levels deep"
            )
        if type(node) is dict:
            for key in node:
                if not key.isascii():
                    check_text(key, what)
            items: Iterable[object] = node.values()
        else:
            items = node
        for item in items:
            kind = type(item)
            if kind is dict or kind is list:
                push((item, depth + 1))  # type: ignore[arg-type]
            elif isinstance(item, str) and not item.isascii():
                check_text(item, what)


def check_proto_nesting(text: str, what: str = "schema") -> None:
    """Refuse ``.proto`` text whose ``{``/``[``/``<`` blocks nest beyond ``MAX_NESTING_DEPTH``.

    protoc parses option literals recursively without a limit and crashes the process
    (stack overflow) some thousands of levels down, so this runs before protoc sees the
    text. String literals and comments are skipped whole. Unbalanced text is left to
    protoc, which reports it with a position.
    """
    depth = 0
    for match in _PROTO_TOKEN.finditer(text):
        token = match.group()
        if token in _OPEN:
            depth += 1
            if depth > MAX_NESTING_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                raise InvalidSchemaError(
                    f"Invalid schema: the {what} nests blocks ({{ }}, [ ], < >) more than "
                    f"{MAX_NESTING_DEPTH} levels deep (line {line})"
                )
        elif token in _CLOSE and depth:
            depth -= 1  # a stray closing bracket does not buy room for more opening ones


def _surrogate_message(what: str, text: str, at: int) -> str:
    # ascii() escapes every non-ASCII character, so the message itself is encodable.
    excerpt = text[max(0, at - 20) : at + 20]
    return (
        f"Invalid schema: the {what} holds a lone UTF-16 surrogate {text[at]!a} "
        f"(in {excerpt!a}); text must be valid Unicode: a surrogate escape "
        "(\\ud800-\\udfff) is only valid as half of a pair"
    )
