"""What a serializer is told about the record it encodes: topic, key or value, headers.

The shape is confluent-kafka's ``SerializationContext`` (attributes ``topic``, ``field``,
``headers``) so that the two are interchangeable both ways:

- regcast's serializers accept confluent-kafka's context: they only read ``ctx.topic``,
  ``ctx.field`` and ``ctx.headers``, and confluent-kafka's ``MessageField`` is a ``str``
  enum with the same values as :class:`MessageField` here.
- confluent-kafka's serializers accept this context: they compare ``ctx.field`` with
  their ``MessageField.KEY`` (a ``str`` comparison, so ``"key" == "key"``) and build
  subjects with ``ctx.topic + "-" + ctx.field``, both of which work on a ``StrEnum``.

:class:`SerdeContext` is the structural type (a ``Protocol``) the serdes are typed
against; any object with those three attributes qualifies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeAlias

__all__ = ["Headers", "MessageField", "SerdeContext", "SerializationContext"]

#: Kafka headers as confluent-kafka passes them: a list of ``(key, value)`` pairs or a dict.
Headers: TypeAlias = Sequence[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None]


class MessageField(StrEnum):
    """Which part of the Kafka record is being (de)serialized; values match confluent-kafka."""

    NONE = "none"
    KEY = "key"
    VALUE = "value"


class SerdeContext(Protocol):
    """Anything with ``topic``, ``field`` and ``headers``: ours or confluent-kafka's."""

    @property
    def topic(self) -> str: ...

    @property
    def field(self) -> str: ...

    @property
    def headers(self) -> Headers | None: ...


@dataclass(slots=True)
class SerializationContext:
    """The record's topic, whether this is its key or value, and its headers.

    Not frozen, like confluent-kafka's: a serializer may add headers on the way out.
    """

    topic: str
    field: MessageField | str = MessageField.VALUE
    headers: Headers | None = None
