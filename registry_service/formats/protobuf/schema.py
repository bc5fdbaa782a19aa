"""``ProtobufSchema``: the parsed schema the registry stores, serves and compares.

Identity is the text rendered from the descriptor (``rendering``): comments, whitespace
and the way a type name was spelled are gone, so the same schema sent as text or as a
descriptor gets the same ``canonical``. ``normalized()`` renders it with what order
does not change meaning sorted. Compatibility is ``compatibility``'s walk, reported
with the reader and writer named for the direction asked.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from google.protobuf.descriptor_pb2 import (
    FileDescriptorProto,
)

from registry_service.formats.base import (
    Direction,
    Incompatibility,
    ParsedSchema,
    SchemaReference,
    SchemaType,
)
from registry_service.formats.protobuf.compatibility import _COMPATIBLE, _DESCRIPTIONS, _Differ
from registry_service.formats.protobuf.model import _join, _Model
from registry_service.formats.protobuf.rendering import _Renderer


class ProtobufSchema(ParsedSchema):
    """A Protobuf schema that protoc accepted, with its closure of imported files."""

    __slots__ = (
        "_canonical",
        "_model",
        "_normalized",
        "_references",
        "_serialized",
        "_user_text",
    )

    def __init__(
        self,
        model: _Model,
        user_text: str | None,
        references: Sequence[SchemaReference],
        *,
        normalized: bool,
    ) -> None:
        self._model = model
        self._user_text = user_text
        self._references = tuple(references)
        self._normalized = normalized
        self._serialized: str | None = None
        self._canonical = _Renderer(model.file, model.symbols, normalize=normalized).render()

    @property
    def schema_type(self) -> SchemaType:
        return SchemaType.PROTOBUF

    @property
    def canonical(self) -> str:
        return self._canonical

    @property
    def text(self) -> str:
        """The user's ``.proto`` text; rendered text for descriptors and normalised schemas.

        A base64 descriptor is answered with text, as Confluent does; clients that want
        the descriptor ask for ``format=serialized``.
        """
        if self._user_text is not None and not self._normalized:
            return self._user_text
        return self._canonical

    @property
    def references(self) -> tuple[SchemaReference, ...]:
        return self._references

    @property
    def name(self) -> str | None:
        file = self._model.file
        if not file.message_type:
            return None
        return _join(file.package, file.message_type[0].name)

    @property
    def descriptor(self) -> FileDescriptorProto:
        """A copy of this schema's own ``FileDescriptorProto``."""
        copy = FileDescriptorProto()
        copy.CopyFrom(self._model.file)
        return copy

    def normalized(self) -> ProtobufSchema:
        if self._normalized:
            return self
        return ProtobufSchema(self._model, self._user_text, self._references, normalized=True)

    def render(self, fmt: str | None = None) -> str:
        """``serialized``: base64 of the descriptor (what the Python deserializer reads)."""
        if fmt == "serialized":
            if self._serialized is None:
                raw = self._model.file.SerializeToString(deterministic=True)
                self._serialized = base64.b64encode(raw).decode("ascii")
            return self._serialized
        return self.text

    def compatibility_errors(
        self, previous: ParsedSchema, direction: Direction
    ) -> list[Incompatibility]:
        if not isinstance(previous, ProtobufSchema):
            return []
        if direction is Direction.BACKWARD:
            original, update, reader, writer = previous, self, "new", "old"
        else:
            original, update, reader, writer = self, previous, "old", "new"
        differences = _Differ(original._model, update._model).compare()
        return [
            Incompatibility(
                kind,
                path,
                _DESCRIPTIONS.get(kind, kind).format(p=path, r=reader, w=writer),
            )
            for kind, path in differences
            if kind not in _COMPATIBLE
        ]

    def differences(self, previous: ProtobufSchema) -> list[tuple[str, str]]:
        """Every difference from ``previous`` (compatible ones too), as (type, path)."""
        return _Differ(previous._model, self._model).compare()

    def __repr__(self) -> str:
        return f"ProtobufSchema(name={self.name!r}, references={len(self._references)})"
