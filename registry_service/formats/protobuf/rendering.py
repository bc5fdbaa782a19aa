"""Deterministic ``.proto`` text from a ``FileDescriptorProto``: identity and protoc input.

Identity is the text rendered from the descriptor by ``_Renderer``: comments,
whitespace and the way a type name was spelled are gone, so the same schema sent as
text or as a descriptor gets the same ``canonical``. Normalised rendering also sorts
what order does not change meaning (imports, options, fields by number, enum constants
after the first, reserved ranges and names); messages keep their order because the
serdes' message indexes depend on it. Custom options whose extensions this process does
not know are not rendered (they survive in the serialized form only).

``_render_for_protoc`` writes every type name fully qualified, so a descriptor that
arrived as bytes can be compiled by protoc like any other file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from google.protobuf import descriptor_pb2, message_factory, text_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.descriptor_pb2 import (
    DescriptorProto,
    EnumDescriptorProto,
    FieldDescriptorProto,
    FileDescriptorProto,
)
from google.protobuf.message import Message

from registry_service.formats.protobuf.model import _SCALARS, _entry_field, _join, _synthetic_oneofs

_FIELD_NUMBER_END = 536_870_912  # exclusive end of the field-number space (2**29)
_MESSAGE_SET_END = 2_147_483_647
_ENUM_NUMBER_MAX = 2_147_483_647


def _render_for_protoc(file: FileDescriptorProto) -> str:
    """Text protoc compiles back to ``file``; type names fully qualified (no scope needed)."""
    return _Renderer(file, None, normalize=False).render()


class _Renderer:
    """Deterministic ``.proto`` text from a ``FileDescriptorProto``.

    With ``symbols`` (every package, message, enum and service of the closure) type names
    are written in the shortest form protoc resolves back to the same type from where
    they stand; without, they are written fully qualified with a leading dot.
    """

    def __init__(
        self, file: FileDescriptorProto, symbols: Mapping[str, str] | None, *, normalize: bool
    ) -> None:
        self._file = file
        self._symbols = symbols
        self._normalize = normalize
        self._syntax = file.syntax or "proto2"
        self._lines: list[str] = []

    def render(self) -> str:
        file = self._file
        if self._syntax == "editions":
            edition = descriptor_pb2.Edition.Name(file.edition).removeprefix("EDITION_")
            self._emit(0, f'edition = "{edition}";')
        else:
            self._emit(0, f'syntax = "{self._syntax}";')
        if file.package:
            self._emit(0, f"package {file.package};")
        imports = self._imports()
        if imports:
            self._emit(0, "")
            for line in imports:
                self._emit(0, line)
        options = self._options(file.options) if file.HasField("options") else []
        if options:
            self._emit(0, "")
            for name, value in options:
                self._emit(0, f"option {name} = {value};")
        for message in file.message_type:
            self._emit(0, "")
            self._message(message, _join(file.package, message.name), 0)
        for enum in file.enum_type:
            self._emit(0, "")
            self._enum(enum, 0)
        for service in file.service:
            self._emit(0, "")
            self._service(service, _join(file.package, service.name))
        self._extends(file.extension, file.package, 0, blank_before=True)
        return "\n".join(self._lines) + "\n"

    def _emit(self, depth: int, line: str) -> None:
        self._lines.append("  " * depth + line if line else "")

    def _imports(self) -> list[str]:
        file = self._file
        public = set(file.public_dependency)
        weak = set(file.weak_dependency)
        entries = []
        for index, path in enumerate(file.dependency):
            modifier = "public " if index in public else "weak " if index in weak else ""
            entries.append((path, f'import {modifier}"{path}";'))
        if self._normalize:
            entries.sort()
        return [line for _path, line in entries]

    def _options(self, options: Message) -> list[tuple[str, str]]:
        entries = list(_option_entries(options))
        if self._normalize:
            entries.sort()
        return entries

    def _type_name(self, type_name: str, scope: str) -> str:
        """``type_name`` (``.pkg.Msg``) as written in a declaration whose full name is ``scope``."""
        target = type_name.lstrip(".")
        if self._symbols is None:
            return "." + target
        parts = target.split(".")
        for start in range(len(parts) - 1, -1, -1):
            candidate = ".".join(parts[start:])
            if _lookup(candidate, scope, self._symbols) == target:
                return candidate
        return "." + target

    # messages

    def _message(self, message: DescriptorProto, full: str, depth: int) -> None:
        self._emit(depth, f"message {message.name} {{")
        self._message_body(message, full, depth + 1)
        self._emit(depth, "}")

    def _message_body(self, message: DescriptorProto, full: str, depth: int) -> None:
        for name, value in self._options(message.options):
            self._emit(depth, f"option {name} = {value};")
        nested_by_name = {nested.name: nested for nested in message.nested_type}
        groups = {
            f.type_name.lstrip(".")
            for f in message.field
            if f.type == FieldDescriptorProto.TYPE_GROUP
        }
        inline = {
            nested.name
            for nested in message.nested_type
            if nested.options.map_entry or _join(full, nested.name) in groups
        }
        synthetic = _synthetic_oneofs(message)
        fields = list(message.field)
        if self._normalize:
            fields.sort(key=lambda f: f.number)
        # Members by oneof, in field order: one pass, however many oneofs there are.
        members: dict[int, list[FieldDescriptorProto]] = {}
        for field in fields:
            if field.HasField("oneof_index") and field.oneof_index not in synthetic:
                members.setdefault(field.oneof_index, []).append(field)
        for field in fields:
            index = field.oneof_index if field.HasField("oneof_index") else -1
            if index not in members:
                self._field(field, full, depth, nested_by_name, in_oneof=False)
                continue
            if members[index][0] is not field:
                continue  # written with the oneof, at its first member
            oneof = message.oneof_decl[index]
            self._emit(depth, f"oneof {oneof.name} {{")
            for name, value in self._options(oneof.options):
                self._emit(depth + 1, f"option {name} = {value};")
            for member in members[index]:
                self._field(member, full, depth + 1, nested_by_name, in_oneof=True)
            self._emit(depth, "}")
        self._reserved(
            [(r.start, r.end - 1) for r in message.reserved_range],
            message.reserved_name,
            _FIELD_NUMBER_END - 1,
            depth,
        )
        ranges = [(r.start, r.end - 1) for r in message.extension_range]
        if ranges:
            top = _MESSAGE_SET_END - 1 if message.options.message_set_wire_format else None
            self._emit(
                depth,
                f"extensions {_ranges(ranges, _FIELD_NUMBER_END - 1, top, self._normalize)};",
            )
        for nested in message.nested_type:
            if nested.name not in inline:
                self._message(nested, _join(full, nested.name), depth)
        for enum in message.enum_type:
            self._enum(enum, depth)
        self._extends(message.extension, full, depth, blank_before=False)

    def _field(
        self,
        field: FieldDescriptorProto,
        scope: str,
        depth: int,
        nested_by_name: Mapping[str, DescriptorProto],
        *,
        in_oneof: bool,
    ) -> None:
        field_scope = _join(scope, field.name)
        label = "" if in_oneof else self._label(field)
        options = self._field_options(field)
        suffix = f" [{', '.join(f'{n} = {v}' for n, v in options)}]" if options else ""
        nested_name = field.type_name.rsplit(".", 1)[-1]
        nested = nested_by_name.get(nested_name)
        is_local = field.type_name.lstrip(".") == _join(scope, nested_name)
        if (
            field.type == FieldDescriptorProto.TYPE_MESSAGE
            and nested is not None
            and is_local
            and nested.options.map_entry
        ):
            entry_scope = _join(_join(scope, nested.name), "value")
            key = self._field_type(_entry_field(nested, 1), entry_scope)
            value = self._field_type(_entry_field(nested, 2), entry_scope)
            self._emit(depth, f"map<{key}, {value}> {field.name} = {field.number}{suffix};")
            return
        if field.type == FieldDescriptorProto.TYPE_GROUP and nested is not None and is_local:
            self._emit(depth, f"{label}group {nested.name} = {field.number}{suffix} {{")
            self._message_body(nested, _join(scope, nested.name), depth + 1)
            self._emit(depth, "}")
            return
        type_text = self._field_type(field, field_scope)
        self._emit(depth, f"{label}{type_text} {field.name} = {field.number}{suffix};")

    def _field_type(self, field: FieldDescriptorProto, scope: str) -> str:
        scalar = _SCALARS.get(field.type)
        if scalar is not None:
            return scalar
        return self._type_name(field.type_name, scope)

    def _label(self, field: FieldDescriptorProto) -> str:
        if field.label == FieldDescriptorProto.LABEL_REPEATED:
            return "repeated "
        if self._syntax == "editions":
            return ""
        if field.label == FieldDescriptorProto.LABEL_REQUIRED:
            return "required "
        if self._syntax == "proto3" and not field.proto3_optional:
            return ""
        return "optional "

    def _field_options(self, field: FieldDescriptorProto) -> list[tuple[str, str]]:
        entries: list[tuple[str, str]] = []
        if field.HasField("default_value"):
            entries.append(("default", _default_literal(field)))
        if field.HasField("json_name") and field.json_name != _json_name(field.name):
            entries.append(("json_name", _quote(field.json_name)))
        entries.extend(self._options(field.options))
        if self._normalize:
            entries.sort()
        return entries

    def _reserved(
        self, ranges: list[tuple[int, int]], names: Sequence[str], maximum: int, depth: int
    ) -> None:
        if ranges:
            self._emit(depth, f"reserved {_ranges(ranges, maximum, None, self._normalize)};")
        if names:
            ordered = sorted(names) if self._normalize else list(names)
            if self._syntax == "editions":
                self._emit(depth, f"reserved {', '.join(ordered)};")
            else:
                self._emit(depth, f"reserved {', '.join(_quote(n) for n in ordered)};")

    def _extends(
        self,
        extensions: Sequence[FieldDescriptorProto],
        scope: str,
        depth: int,
        *,
        blank_before: bool,
    ) -> None:
        groups: dict[str, list[FieldDescriptorProto]] = {}
        for extension in extensions:
            groups.setdefault(extension.extendee, []).append(extension)
        keys = sorted(groups) if self._normalize else list(groups)
        for extendee in keys:
            members = groups[extendee]
            if self._normalize:
                members = sorted(members, key=lambda f: f.number)
            if blank_before:
                self._emit(depth, "")
            name = self._type_name(extendee, _join(scope, members[0].name))
            self._emit(depth, f"extend {name} {{")
            for member in members:
                label = self._label(member)
                type_text = self._field_type(member, _join(scope, member.name))
                options = self._field_options(member)
                suffix = f" [{', '.join(f'{n} = {v}' for n, v in options)}]" if options else ""
                self._emit(
                    depth + 1, f"{label}{type_text} {member.name} = {member.number}{suffix};"
                )
            self._emit(depth, "}")

    # enums and services

    def _enum(self, enum: EnumDescriptorProto, depth: int) -> None:
        self._emit(depth, f"enum {enum.name} {{")
        for name, value in self._options(enum.options):
            self._emit(depth + 1, f"option {name} = {value};")
        values = list(enum.value)
        if self._normalize and values:
            # The first constant is the default value: it keeps its place.
            values = values[:1] + sorted(values[1:], key=lambda v: (v.number, v.name))
        for item in values:
            options = self._options(item.options)
            suffix = f" [{', '.join(f'{n} = {v}' for n, v in options)}]" if options else ""
            self._emit(depth + 1, f"{item.name} = {item.number}{suffix};")
        self._reserved(
            [(r.start, r.end) for r in enum.reserved_range],
            enum.reserved_name,
            _ENUM_NUMBER_MAX,
            depth + 1,
        )
        self._emit(depth, "}")

    def _service(self, service: descriptor_pb2.ServiceDescriptorProto, full: str) -> None:
        self._emit(0, f"service {service.name} {{")
        for name, value in self._options(service.options):
            self._emit(1, f"option {name} = {value};")
        for method in service.method:
            scope = _join(full, method.name)
            request = self._type_name(method.input_type, scope)
            response = self._type_name(method.output_type, scope)
            if method.client_streaming:
                request = "stream " + request
            if method.server_streaming:
                response = "stream " + response
            head = f"rpc {method.name}({request}) returns ({response})"
            options = self._options(method.options)
            if not options:
                self._emit(1, head + ";")
                continue
            self._emit(1, head + " {")
            for name, value in options:
                self._emit(2, f"option {name} = {value};")
            self._emit(1, "}")
        self._emit(0, "}")


def _lookup(name: str, relative_to: str, symbols: Mapping[str, str]) -> str | None:
    """The full name protoc resolves ``name`` to from the declaration ``relative_to``.

    Mirrors protoc's scoping: walk outwards from the innermost scope; the first scope
    where the first component of ``name`` is an aggregate (or, for a simple name, a
    type) decides.
    """
    first, _, rest = name.partition(".")
    scope = relative_to
    while True:
        dot = scope.rfind(".")
        if dot < 0:
            return name if name in symbols else None
        scope = scope[:dot]
        candidate = f"{scope}.{first}"
        kind = symbols.get(candidate)
        if kind is None:
            continue
        if rest:
            full = f"{candidate}.{rest}"
            return full if full in symbols else None
        if kind in ("message", "enum"):
            return candidate


def _ranges(
    ranges: list[tuple[int, int]], maximum: int, alternative_max: int | None, normalize: bool
) -> str:
    """``1, 5 to 9, 100 to max`` from inclusive (start, end) pairs."""
    ordered = sorted(ranges) if normalize else ranges
    parts = []
    for start, end in ordered:
        if end in (maximum, alternative_max):
            parts.append(f"{start} to max")
        elif start == end:
            parts.append(str(start))
        else:
            parts.append(f"{start} to {end}")
    return ", ".join(parts)


def _option_entries(options: Message, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(name, value)`` pairs of the set options.

    A singular message value is flattened with dots (``(a).b.c = 1``). A repeated one,
    maps included, cannot be: protoc wants each element as an aggregate literal
    (``(a).params = { key: "k" value: "v" }``), one entry per element, in the text
    format protoc's option parser reads. Map entries come sorted by key: a map has no
    order, and its iteration order is not its text's.
    """
    for field, value in options.ListFields():
        if field.name == "uninterpreted_option" or (
            field.name == "map_entry" and field.containing_type.name == "MessageOptions"
        ):
            continue
        name = f"({field.full_name})" if field.is_extension else field.name
        name = prefix + name
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            values = list(value) if field.is_repeated else [value]
            for item in values:
                yield name, _option_value(field, item)
        elif not field.is_repeated:
            yield from _option_entries(value, name + ".")
        elif field.message_type is not None and field.message_type.GetOptions().map_entry:
            entry_class = message_factory.GetMessageClass(field.message_type)
            for key in sorted(value):
                entry = entry_class()
                entry.key = key
                if isinstance(value[key], Message):
                    entry.value.CopyFrom(value[key])
                else:
                    entry.value = value[key]
                yield name, _aggregate(entry)
        else:
            for item in value:
                yield name, _aggregate(item)


def _aggregate(message: Message) -> str:
    """``{ ... }``: one message value in protobuf text format, as protoc parses options."""
    body = text_format.MessageToString(message, as_one_line=True, as_utf8=True)
    return f"{{ {body} }}" if body else "{}"


def _option_value(field: FieldDescriptor, value: object) -> str:
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "true" if value else "false"
    if field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        found = field.enum_type.values_by_number.get(int(value))  # type: ignore[call-overload]
        return found.name if found is not None else str(value)
    if field.type == FieldDescriptor.TYPE_STRING:
        return _quote(str(value))
    if field.type == FieldDescriptor.TYPE_BYTES:
        assert isinstance(value, bytes)
        return '"' + _escape_bytes(value) + '"'
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    return str(value)


def _default_literal(field: FieldDescriptorProto) -> str:
    """``[default = ...]`` from ``default_value`` (strings raw, bytes already C-escaped)."""
    if field.type == FieldDescriptorProto.TYPE_STRING:
        return _quote(field.default_value)
    if field.type == FieldDescriptorProto.TYPE_BYTES:
        return f'"{field.default_value}"'
    return str(field.default_value)


def _json_name(name: str) -> str:
    """protoc's default JSON name: underscores dropped, the next letter upper-cased."""
    out = []
    upper_next = False
    for char in name:
        if char == "_":
            upper_next = True
        elif upper_next:
            out.append(char.upper())
            upper_next = False
        else:
            out.append(char)
    return "".join(out)


def _quote(value: str) -> str:
    out = ['"']
    for char in value:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\{code:03o}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _escape_bytes(value: bytes) -> str:
    out = []
    for byte in value:
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03o}")
    return "".join(out)
