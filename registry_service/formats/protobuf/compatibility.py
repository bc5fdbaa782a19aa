"""Confluent's Protobuf compatibility rules (``SchemaDiff`` and its helpers).

One comparison walks an *original* and an *update* schema and lists differences with a
path such as ``#/Order/3`` (message, oneof name, field number); only the difference
types Confluent treats as incompatible are reported. BACKWARD compares
``original = previous``, ``update = new``; FORWARD swaps them, so a change that is
"added" one way is "removed" the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf.descriptor_pb2 import (
    DescriptorProto,
    EnumDescriptorProto,
    FieldDescriptorProto,
)

from registry_service.formats.limits import MAX_NESTING_DEPTH
from registry_service.formats.protobuf.model import (
    _SCALARS,
    _entry_field,
    _Model,
    _synthetic_oneofs,
)

# Confluent's scalar groups: a change inside a group keeps the wire format readable.
_SCALAR_GROUPS = {
    "int32": "GENERAL_NUMBER",
    "int64": "GENERAL_NUMBER",
    "uint32": "GENERAL_NUMBER",
    "uint64": "GENERAL_NUMBER",
    "bool": "GENERAL_NUMBER",
    "sint32": "SIGNED_NUMBER",
    "sint64": "SIGNED_NUMBER",
    "string": "STRING_OR_BYTES",
    "bytes": "STRING_OR_BYTES",
    "fixed32": "FIXED32",
    "sfixed32": "FIXED32",
    "fixed64": "FIXED64",
    "sfixed64": "FIXED64",
    "float": "FLOAT",
    "double": "DOUBLE",
}

# Confluent's SchemaDiff.COMPATIBLE_CHANGES; every other difference type is reported.
_COMPATIBLE = frozenset(
    {
        "MESSAGE_ADDED",
        "MESSAGE_MOVED",
        "ENUM_ADDED",
        "ENUM_REMOVED",
        "ENUM_CONST_ADDED",
        "ENUM_CONST_CHANGED",
        "ENUM_CONST_REMOVED",
        "FIELD_ADDED",
        "FIELD_REMOVED",
        "FIELD_NAME_CHANGED",
        "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
        "ONEOF_ADDED",
        "ONEOF_REMOVED",
        "ONEOF_FIELD_ADDED",
        "ONEOF_FIELD_MOVED_TO_TOP_LEVEL",
    }
)

# Descriptions of the incompatible differences; {p} path, {r}/{w} reader/writer label.
_DESCRIPTIONS = {
    "PACKAGE_CHANGED": "The package of the {r} schema differs from the package of the {w} schema",
    "MESSAGE_REMOVED": "The message at '{p}' in the {w} schema is missing from the {r} schema",
    "FIELD_KIND_CHANGED": (
        "The field at '{p}' is a different kind (scalar, message or map) in the {r} schema "
        "than in the {w} schema"
    ),
    "FIELD_SCALAR_KIND_CHANGED": (
        "The scalar field at '{p}' has a type in the {r} schema whose wire encoding differs "
        "from its type in the {w} schema"
    ),
    "FIELD_NAMED_TYPE_CHANGED": (
        "The message type of the field at '{p}' in the {r} schema differs from, or cannot "
        "read, its type in the {w} schema"
    ),
    "FIELD_NUMERIC_LABEL_CHANGED": (
        "The numeric field at '{p}' has a different label (optional, required, repeated) "
        "in the {r} schema than in the {w} schema"
    ),
    "REQUIRED_FIELD_ADDED": (
        "The {r} schema has a required field at '{p}' that the {w} schema does not have"
    ),
    "REQUIRED_FIELD_REMOVED": (
        "The required field at '{p}' in the {w} schema is missing from the {r} schema"
    ),
    "ONEOF_FIELD_REMOVED": (
        "The oneof member at '{p}' in the {w} schema is missing from the {r} schema"
    ),
    "MULTIPLE_FIELDS_MOVED_TO_ONEOF": (
        "Several fields of the {w} schema were moved into the oneof at '{p}' in the {r} schema"
    ),
    "FIELD_MOVED_TO_EXISTING_ONEOF": (
        "A field of the {w} schema was moved into the oneof at '{p}' in the {r} schema, "
        "which already existed"
    ),
    "NESTING_TOO_DEEP": (
        "The message types at '{p}' nest too deeply to be compared: more than "
        f"{MAX_NESTING_DEPTH} messages, nested or reached through message-typed fields"
    ),
}


# A field's type as Confluent sees it: ("scalar", name), ("enum", full name),
# ("message", full name) or ("map", key type, value type).
_FieldType = tuple[object, ...]
_Key = TypeVar("_Key", str, int)


@dataclass(frozen=True, slots=True)
class _Field:
    """One field as the diff sees it: Wire's label (None where none is written)."""

    name: str
    number: int
    label: str | None
    required: bool
    type: _FieldType


class _Differ:
    """One ``original`` → ``update`` walk, collecting (difference type, path) pairs."""

    def __init__(self, original: _Model, update: _Model) -> None:
        self._models = (original, update)
        self._path: list[str] = []
        self._differences: list[tuple[str, str]] = []
        self._active: set[int] = set()
        # Messages being compared, nested or through fields (a chain of message-typed
        # fields can be as long as a file is); bounded so the walk cannot exhaust the
        # stack. Declarations nest at most 31 deep (protoc), so only chains into
        # referenced or well-known files reach the bound.
        self._depth = 0

    def compare(self) -> list[tuple[str, str]]:
        original, update = self._models
        if original.file.package != update.file.package:
            self._add("PACKAGE_CHANGED")
        self._compare_types(
            (original.file.message_type, original.file.enum_type, original.file.syntax),
            (update.file.message_type, update.file.enum_type, update.file.syntax),
        )
        seen: set[tuple[str, str]] = set()
        unique = []
        for item in self._differences:
            if item not in seen:
                seen.add(item)
                unique.append(item)
        return unique

    def _add(self, kind: str) -> None:
        self._differences.append((kind, "#/" + "/".join(self._path)))

    def _at(self, segment: str) -> _PathScope:
        return _PathScope(self._path, segment)

    def _compare_types(
        self,
        original: tuple[Sequence[DescriptorProto], Sequence[EnumDescriptorProto], str],
        update: tuple[Sequence[DescriptorProto], Sequence[EnumDescriptorProto], str],
    ) -> None:
        original_messages = [m for m in original[0] if not m.options.map_entry]
        update_messages = [m for m in update[0] if not m.options.map_entry]
        original_by_name = {m.name: (i, m) for i, m in enumerate(original_messages)}
        update_by_name = {m.name: (i, m) for i, m in enumerate(update_messages)}
        for name in _union(original_by_name, update_by_name):
            with self._at(name):
                before = original_by_name.get(name)
                after = update_by_name.get(name)
                if after is None:
                    self._add("MESSAGE_REMOVED")
                elif before is None:
                    self._add("MESSAGE_ADDED")
                else:
                    self._compare_message(before[1], after[1], original[2], update[2])
                    if before[0] != after[0]:
                        self._add("MESSAGE_MOVED")
        original_enums = {e.name: e for e in original[1]}
        update_enums = {e.name: e for e in update[1]}
        for name in _union(original_enums, update_enums):
            with self._at(name):
                before_enum = original_enums.get(name)
                after_enum = update_enums.get(name)
                if after_enum is None:
                    self._add("ENUM_REMOVED")
                elif before_enum is None:
                    self._add("ENUM_ADDED")
                else:
                    self._compare_enum(before_enum, after_enum)

    def _compare_enum(self, original: EnumDescriptorProto, update: EnumDescriptorProto) -> None:
        before = {v.number: v.name for v in original.value}
        after = {v.number: v.name for v in update.value}
        for number in _union(before, after):
            with self._at(str(number)):
                if number not in after:
                    self._add("ENUM_CONST_REMOVED")
                elif number not in before:
                    self._add("ENUM_CONST_ADDED")
                elif before[number] != after[number]:
                    self._add("ENUM_CONST_CHANGED")

    def _fields(
        self, side: int, message: DescriptorProto, syntax: str
    ) -> tuple[dict[int, _Field], dict[str, dict[int, _Field]]]:
        """Top-level fields by number, and the members of each real oneof by oneof name."""
        model = self._models[side]
        synthetic = _synthetic_oneofs(message)
        top: dict[int, _Field] = {}
        oneofs: dict[str, dict[int, _Field]] = {
            decl.name: {} for i, decl in enumerate(message.oneof_decl) if i not in synthetic
        }
        for field in message.field:
            in_oneof = field.HasField("oneof_index") and field.oneof_index not in synthetic
            item = _Field(
                field.name,
                field.number,
                _wire_label(field, syntax or "proto2", in_oneof),
                field.label == FieldDescriptorProto.LABEL_REQUIRED,
                _field_type(model, field),
            )
            if in_oneof:
                oneofs[message.oneof_decl[field.oneof_index].name][field.number] = item
            else:
                top[field.number] = item
        return top, oneofs

    def _compare_message(
        self,
        original: DescriptorProto,
        update: DescriptorProto,
        original_syntax: str,
        update_syntax: str,
    ) -> None:
        if self._depth >= MAX_NESTING_DEPTH:
            self._add("NESTING_TOO_DEEP")
            return
        self._depth += 1
        try:
            # A recursive type: this pair's fields are already being compared further
            # up; its nested declarations are still walked, as Confluent's SchemaScope.
            if id(original) not in self._active:
                self._active.add(id(original))
                try:
                    self._compare_fields(original, update, original_syntax, update_syntax)
                finally:
                    self._active.discard(id(original))
            self._compare_types(
                (original.nested_type, original.enum_type, original_syntax),
                (update.nested_type, update.enum_type, update_syntax),
            )
        finally:
            self._depth -= 1

    def _compare_fields(
        self,
        original: DescriptorProto,
        update: DescriptorProto,
        original_syntax: str,
        update_syntax: str,
    ) -> None:
        """Fields matched by number across the whole message, whatever oneof holds them.

        Confluent's ``MessageSchemaDiff`` since DGS-24604: renaming, dissolving or merging
        oneofs cannot hide a field's own change (a type change, a removal), which is
        reported where the field now is (``#/M/oneof/3`` or ``#/M/3``).
        """
        original_top, original_oneofs = self._fields(0, original, original_syntax)
        update_top, update_oneofs = self._fields(1, update, update_syntax)
        original_all, original_member_of = _by_number(original_top, original_oneofs)
        update_all, update_member_of = _by_number(update_top, update_oneofs)

        # A oneof gone by name with none of its members left anywhere was deleted
        # whole: its members are not reported one by one.
        deleted_whole = {
            name
            for name, members in original_oneofs.items()
            if name not in update_oneofs and not any(n in update_all for n in members)
        }

        # Members that could be set together before and cannot now: the pre-existing
        # members of an update oneof come from more than one original oneof or field.
        for oneof_name, members in update_oneofs.items():
            origins: set[tuple[str, object]] = set()
            moved_from_top = 0
            for number in members:
                if number in original_member_of:
                    origins.add(("oneof", original_member_of[number]))
                elif number in original_all:
                    origins.add(("field", number))
                    moved_from_top += 1
            if len(origins) > 1:
                with self._at(oneof_name):
                    if moved_from_top > 1:
                        self._add("MULTIPLE_FIELDS_MOVED_TO_ONEOF")
                    else:
                        self._add("FIELD_MOVED_TO_EXISTING_ONEOF")

        for oneof_name in _union(original_oneofs, update_oneofs):
            with self._at(oneof_name):
                if oneof_name not in update_oneofs:
                    self._add("ONEOF_REMOVED")
                elif oneof_name not in original_oneofs:
                    self._add("ONEOF_ADDED")

        for number in _union(original_all, update_all):
            before = original_all.get(number)
            after = update_all.get(number)
            before_oneof = original_member_of.get(number)
            after_oneof = update_member_of.get(number)
            if after is None:
                assert before is not None
                if before_oneof is None:
                    with self._at(str(number)):
                        self._add("REQUIRED_FIELD_REMOVED" if before.required else "FIELD_REMOVED")
                elif before_oneof not in deleted_whole:
                    with self._at(before_oneof), self._at(str(number)):
                        self._add("ONEOF_FIELD_REMOVED")
            elif before is None:
                if after_oneof is None:
                    with self._at(str(number)):
                        self._add("REQUIRED_FIELD_ADDED" if after.required else "FIELD_ADDED")
                else:
                    with self._at(after_oneof), self._at(str(number)):
                        self._add("ONEOF_FIELD_ADDED")
            else:
                if before_oneof is not None and after_oneof is None:
                    with self._at(str(number)):
                        self._add("ONEOF_FIELD_MOVED_TO_TOP_LEVEL")
                if after_oneof is None:
                    with self._at(str(number)):
                        self._compare_field(before, after)
                else:
                    with self._at(after_oneof), self._at(str(number)):
                        self._compare_field(before, after)

    def _compare_field(self, original: _Field, update: _Field) -> None:
        if original.name != update.name:
            self._add("FIELD_NAME_CHANGED")
        self._compare_labels_and_types(original.label, update.label, original.type, update.type)

    def _compare_labels_and_types(
        self,
        original_label: str | None,
        update_label: str | None,
        original: _FieldType,
        update: _FieldType,
    ) -> None:
        original_kind = _kind(original)
        if original_kind != _kind(update):
            self._add("FIELD_KIND_CHANGED")
        elif original_kind == "SCALAR":
            group = _scalar_group(original)
            if group != _scalar_group(update):
                self._add("FIELD_SCALAR_KIND_CHANGED")
            elif None not in (original_label, update_label) and original_label != update_label:
                if group == "STRING_OR_BYTES":
                    self._add("FIELD_STRING_OR_BYTES_LABEL_CHANGED")
                else:
                    self._add("FIELD_NUMERIC_LABEL_CHANGED")
        elif original_kind == "MESSAGE":
            self._compare_message_types(str(original[1]), str(update[1]))
        else:
            original_key, original_value = original[1], original[2]
            update_key, update_value = update[1], update[2]
            assert isinstance(original_key, tuple) and isinstance(update_key, tuple)
            assert isinstance(original_value, tuple) and isinstance(update_value, tuple)
            self._compare_labels_and_types(None, None, original_key, update_key)
            self._compare_labels_and_types(None, None, original_value, update_value)

    def _compare_message_types(self, original_name: str, update_name: str) -> None:
        before = self._models[0].types.get(original_name)
        after = self._models[1].types.get(update_name)
        if before is None or after is None or before.message is None or after.message is None:
            if original_name != update_name:
                self._add("FIELD_NAMED_TYPE_CHANGED")
            return
        original_local = _local_name(original_name, before.package)
        if original_local != _local_name(update_name, after.package):
            self._add("FIELD_NAMED_TYPE_CHANGED")
            return
        if before.origin is not None and before.origin == after.origin:
            return  # both local, or the same subject and version: compared elsewhere
        saved_path, saved_differences = self._path, self._differences
        self._path, self._differences = original_local.split("."), []
        try:
            self._compare_message(before.message, after.message, before.syntax, after.syntax)
            nested = self._differences
        finally:
            self._path, self._differences = saved_path, saved_differences
        self._differences.extend(nested)
        if any(kind not in _COMPATIBLE for kind, _path in nested):
            self._add("FIELD_NAMED_TYPE_CHANGED")


class _PathScope:
    """Push one path segment for the duration of a ``with`` block."""

    __slots__ = ("_path", "_segment")

    def __init__(self, path: list[str], segment: str) -> None:
        self._path = path
        self._segment = segment

    def __enter__(self) -> None:
        self._path.append(self._segment)

    def __exit__(self, *exc: object) -> None:
        self._path.pop()


def _union(first: Iterable[_Key], second: Iterable[_Key]) -> list[_Key]:
    """Keys of both sides, sorted so differences come out in a stable order."""
    return sorted(set(first) | set(second))


def _by_number(
    top: Mapping[int, _Field], oneofs: Mapping[str, Mapping[int, _Field]]
) -> tuple[dict[int, _Field], dict[int, str]]:
    """Every field of a message by number, and the oneof each member belongs to."""
    every = dict(top)
    member_of: dict[int, str] = {}
    for oneof_name, members in oneofs.items():
        every.update(members)
        member_of.update(dict.fromkeys(members, oneof_name))
    return every, member_of


def _wire_label(field: FieldDescriptorProto, syntax: str, in_oneof: bool) -> str | None:
    """The label as written in ``.proto`` text (None when none is), which Confluent compares."""
    if in_oneof:
        return None
    if field.label == FieldDescriptorProto.LABEL_REPEATED:
        return "repeated"
    if field.label == FieldDescriptorProto.LABEL_REQUIRED:
        return "required"
    if syntax == "proto3":
        return "optional" if field.proto3_optional else None
    if syntax == "editions":
        return None
    return "optional"


def _field_type(model: _Model, field: FieldDescriptorProto) -> _FieldType:
    scalar = _SCALARS.get(field.type)
    if scalar is not None:
        return ("scalar", scalar)
    full = field.type_name.lstrip(".")
    if field.type == FieldDescriptorProto.TYPE_ENUM:
        return ("enum", full)
    info = model.types.get(full)
    if info is not None and info.is_map and info.message is not None:
        key = _field_type(model, _entry_field(info.message, 1))
        value = _field_type(model, _entry_field(info.message, 2))
        return ("map", key, value)
    return ("message", full)


def _kind(field_type: _FieldType) -> str:
    if field_type[0] in ("scalar", "enum"):
        return "SCALAR"
    if field_type[0] == "map":
        return "MAP"
    return "MESSAGE"


def _scalar_group(field_type: _FieldType) -> str:
    if field_type[0] == "enum":
        return "GENERAL_NUMBER"
    return _SCALAR_GROUPS[str(field_type[1])]


def _local_name(full_name: str, package: str) -> str:
    if package and full_name.startswith(package + "."):
        return full_name[len(package) + 1 :]
    return full_name
