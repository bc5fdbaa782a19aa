"""Structural checks of a ``FileDescriptorProto`` a client sent, before anything reads it.

Theory of operation
-------------------
A descriptor arrives as the base64 of its bytes and decodes into a message that says
nothing about whether it is consistent: a field's ``oneof_index`` may point past the
message's oneofs, a name may hold spaces and braces, a ``string`` field that was not
valid UTF-8 comes back from upb as ``bytes``. ``parsing._parse_cached`` renders the
descriptor to ``.proto`` text and has protoc compile it, which validates everything the
text says (types resolve, numbers are legal, names are unique); but the renderer itself
indexes into the descriptor and writes its names into the text, so it must not see a
descriptor whose indexes are out of range, whose names would inject other text, or
whose messages nest deeper than its recursion is measured for.

``validate_descriptor`` checks exactly those things, with one loop over an explicit
stack (linear, no recursion), and raises ``InvalidSchemaError`` naming the element:

* every name is an identifier, every package a dotted identifier, every type reference
  (``type_name``, ``extendee``, method input and output) an optionally dot-led dotted
  identifier, every import path free of quotes, backslashes and control characters;
* ``oneof_index`` is within the message's oneofs (never on an extension), public and
  weak dependency indexes within the imports;
* default values are what ``.proto`` text can hold between the brackets: one token for
  numbers, booleans and enum constants, C-escaped text for bytes;
* every ``string`` field, option values included, decoded as text (not ``bytes``);
* ``syntax`` is one protoc knows; a nested type backs at most one group field (the
  renderer writes a group's body where the field is);
* messages nest at most ``limits.MAX_NESTING_DEPTH`` deep (protoc refuses 32 anyway).

What protoc checks itself (resolution, numbering, duplicate names, labels per syntax,
missing imports) is left to it, so its messages stay the ones users know.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.descriptor_pb2 import (
    DescriptorProto,
    EnumDescriptorProto,
    FieldDescriptorProto,
    FileDescriptorProto,
)
from google.protobuf.message import Message

from registry_service.formats.base import InvalidSchemaError
from registry_service.formats.limits import MAX_NESTING_DEPTH

__all__ = ["validate_descriptor"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_TYPE_NAME = re.compile(r"\.?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_TOKEN = re.compile(r"[A-Za-z0-9_.+-]+\Z")  # a number, inf, nan, true, false, a constant
_ESCAPED = re.compile(r'(?:[^"\\\x00-\x1f\x7f]|\\[^\x00-\x1f\x7f])*\Z')  # C-escaped text
_IMPORT_PATH = re.compile(r'[^"\\\x00-\x1f\x7f]+\Z')
_SYNTAXES = frozenset({"", "proto2", "proto3", "editions"})
_NEEDS_TYPE_NAME = frozenset(
    {
        FieldDescriptorProto.TYPE_MESSAGE,
        FieldDescriptorProto.TYPE_ENUM,
        FieldDescriptorProto.TYPE_GROUP,
    }
)


def validate_descriptor(file: FileDescriptorProto, where: str = "descriptor of the schema") -> None:
    """Raise ``InvalidSchemaError`` unless ``file`` is safe to render (module docstring).

    ``where`` names the file in the message. protoc's own output is checked too, for the
    one thing protoc lets through: a string literal that is not UTF-8 (``"\\xff"``, an
    escaped surrogate) reaches its descriptor as ``bytes``.
    """
    _check_options(file.options, where)
    if not isinstance(file.syntax, str) or file.syntax not in _SYNTAXES:
        raise _invalid(where, f"unknown syntax {_show(file.syntax)}")
    if not isinstance(file.name, str):
        raise _invalid(where, "the file name is not UTF-8 text")
    if file.package and not _matches(_DOTTED, file.package):
        raise _invalid(where, f"illegal package name {_show(file.package)}")
    for path in file.dependency:
        if not _matches(_IMPORT_PATH, path):
            raise _invalid(where, f"illegal import path {_show(path)}")
    for index in (*file.public_dependency, *file.weak_dependency):
        if not 0 <= index < len(file.dependency):
            raise _invalid(where, f"public or weak import index {index} names no import")
    editions = file.syntax == "editions"
    for enum in file.enum_type:
        _check_enum(enum, file.package, where, editions)
    for field in file.extension:
        _check_field(field, file.package, 0, where, extension=True)
    for service in file.service:
        _check_name(service.name, "service", file.package, where)
        _check_options(service.options, where)
        for method in service.method:
            scope = _join(file.package, service.name)
            _check_name(method.name, "method", scope, where)
            _check_options(method.options, where)
            for type_name in (method.input_type, method.output_type):
                if not _matches(_TYPE_NAME, type_name):
                    raise _invalid(
                        where,
                        f"method {_show(method.name)} of {scope} names an illegal type "
                        f"{_show(type_name)}",
                    )

    stack: list[tuple[DescriptorProto, str, int]] = [
        (message, file.package, 1) for message in file.message_type
    ]
    while stack:
        message, scope, depth = stack.pop()
        _check_name(message.name, "message", scope, where)
        full = _join(scope, message.name)
        if depth > MAX_NESTING_DEPTH:
            raise _invalid(
                where, f"messages nest more than {MAX_NESTING_DEPTH} levels deep at {full}"
            )
        _check_message(message, full, where, editions)
        stack.extend((nested, full, depth + 1) for nested in message.nested_type)


def _check_message(message: DescriptorProto, full: str, where: str, editions: bool) -> None:
    """One message's own fields, oneofs, enums and names (nested messages are the caller's)."""
    _check_options(message.options, where)
    for oneof in message.oneof_decl:
        _check_name(oneof.name, "oneof", full, where)
        _check_options(oneof.options, where)
    oneofs = len(message.oneof_decl)
    groups: set[str] = set()
    for field in message.field:
        _check_field(field, full, oneofs, where, extension=False)
        if field.type == FieldDescriptorProto.TYPE_GROUP:
            target = field.type_name.lstrip(".")
            if target in groups:
                raise _invalid(
                    where, f"two group fields of {full} share the group type {_show(target)}"
                )
            groups.add(target)
    for field in message.extension:
        _check_field(field, full, 0, where, extension=True)
    for enum in message.enum_type:
        _check_enum(enum, full, where, editions)
    _check_reserved(message.reserved_name, full, where, editions)


def _check_field(
    field: FieldDescriptorProto, scope: str, oneofs: int, where: str, *, extension: bool
) -> None:
    _check_name(field.name, "field", scope, where)
    full = _join(scope, field.name)
    _check_options(field.options, where)
    needs_type_name = bool(field.type_name) or field.type in _NEEDS_TYPE_NAME
    if needs_type_name and not _matches(_TYPE_NAME, field.type_name):
        raise _invalid(where, f"field {full} names an illegal type {_show(field.type_name)}")
    if extension and not _matches(_TYPE_NAME, field.extendee):
        raise _invalid(where, f"extension {full} extends an illegal type {_show(field.extendee)}")
    if not extension and field.extendee:
        raise _invalid(where, f"field {full} names an extendee but is not an extension")
    if field.HasField("oneof_index") and not (not extension and 0 <= field.oneof_index < oneofs):
        raise _invalid(
            where,
            f"field {full} has oneof_index {field.oneof_index}, but its message declares "
            f"{oneofs} oneof{'' if oneofs == 1 else 's'}",
        )
    if not isinstance(field.json_name, str):
        raise _invalid(where, f"the json_name of field {full} is not UTF-8 text")
    if field.HasField("default_value"):
        _check_default(field, full, where)


def _check_default(field: FieldDescriptorProto, full: str, where: str) -> None:
    value = field.default_value
    if not isinstance(value, str):
        raise _invalid(where, f"the default value of field {full} is not UTF-8 text")
    if field.type == FieldDescriptorProto.TYPE_STRING:
        ok = True
    elif field.type == FieldDescriptorProto.TYPE_BYTES:
        ok = _matches(_ESCAPED, value)
    else:
        ok = _matches(_TOKEN, value)
    if not ok:
        raise _invalid(where, f"field {full} has an illegal default value {_show(value)}")


def _check_enum(enum: EnumDescriptorProto, scope: str, where: str, editions: bool) -> None:
    _check_name(enum.name, "enum", scope, where)
    full = _join(scope, enum.name)
    _check_options(enum.options, where)
    for value in enum.value:
        _check_name(value.name, "enum constant", full, where)
        _check_options(value.options, where)
    _check_reserved(enum.reserved_name, full, where, editions)


def _check_reserved(names: Iterable[object], full: str, where: str, editions: bool) -> None:
    # Editions write reserved names bare, proto2/proto3 quote them (the renderer escapes).
    for name in names:
        if not isinstance(name, str) or (editions and not _IDENT.match(name)):
            raise _invalid(where, f"{full} reserves an illegal name {_show(name)}")


def _check_name(name: object, kind: str, scope: str, where: str) -> None:
    if not _matches(_IDENT, name):
        inside = f" in {scope}" if scope else ""
        raise _invalid(where, f"illegal {kind} name {_show(name)}{inside}")


def _check_options(options: Message, where: str) -> None:
    """Every string among the set options decoded as text (upb hands back ``bytes``)."""
    stack: list[Message] = [options]
    while stack:
        current = stack.pop()
        for descriptor, value in current.ListFields():
            values: Sequence[object] = list(value) if descriptor.is_repeated else [value]
            if descriptor.type == FieldDescriptor.TYPE_MESSAGE:
                stack.extend(v for v in values if isinstance(v, Message))
            elif descriptor.type == FieldDescriptor.TYPE_STRING and not all(
                isinstance(v, str) for v in values
            ):
                raise _invalid(where, f"option {descriptor.name} is not UTF-8 text")


def _matches(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.match(value) is not None


def _join(scope: str, name: str) -> str:
    return f"{scope}.{name}" if scope else name


def _show(value: object) -> str:
    # ascii(): names come from the client; the message must stay encodable and one line.
    text = ascii(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _invalid(where: str, detail: str) -> InvalidSchemaError:
    return InvalidSchemaError(f"Invalid schema: the {where} is malformed: {detail}")
