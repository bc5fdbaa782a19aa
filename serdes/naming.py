"""Subject name strategies: which registry subject a schema is registered under.

A strategy is a callable ``(ctx, record_name) -> subject``, the signature confluent-kafka
uses, so strategies can be passed between the two libraries:

==================================  ==========================  ============================
strategy                            subject                     typical use
==================================  ==========================  ============================
:func:`topic_subject_name_strategy`  ``{topic}-key|value``       one schema lineage per topic
:func:`record_subject_name_strategy` ``{record full name}``      one type shared by topics
:func:`topic_record_subject_name_    ``{topic}-{record name}``   several types in one topic
strategy`
==================================  ==========================  ============================

The record name is the Avro record's full name (``namespace.Name``) or the Protobuf
message's full name (``package.Outer.Inner``). Strategies are pure and cheap, but the
serializers still call them once per (topic, field) and cache the subject.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from serdes.context import SerdeContext
from serdes.errors import SerializationError

__all__ = [
    "SubjectNameStrategy",
    "record_subject_name_strategy",
    "topic_record_subject_name_strategy",
    "topic_subject_name_strategy",
]

SubjectNameStrategy: TypeAlias = Callable[[SerdeContext | None, str | None], str | None]


def _require_ctx(ctx: SerdeContext | None, strategy: str) -> SerdeContext:
    if ctx is None:
        raise SerializationError(
            f"{strategy} needs a SerializationContext (topic and field); pass ctx, or use "
            "record_subject_name_strategy"
        )
    return ctx


def topic_subject_name_strategy(ctx: SerdeContext | None, record_name: str | None) -> str:
    """``{topic}-key`` or ``{topic}-value`` (Confluent's TopicNameStrategy, the default)."""
    ctx = _require_ctx(ctx, "topic_subject_name_strategy")
    # str concatenation reads a str-enum's value, for our MessageField and confluent-kafka's.
    return ctx.topic + "-" + ctx.field


def record_subject_name_strategy(ctx: SerdeContext | None, record_name: str | None) -> str:
    """``{record full name}`` (RecordNameStrategy): the same subject for every topic."""
    if record_name is None:
        raise SerializationError("record_subject_name_strategy needs a record name")
    return record_name


def topic_record_subject_name_strategy(ctx: SerdeContext | None, record_name: str | None) -> str:
    """``{topic}-{record full name}`` (TopicRecordNameStrategy)."""
    ctx = _require_ctx(ctx, "topic_record_subject_name_strategy")
    if record_name is None:
        raise SerializationError("topic_record_subject_name_strategy needs a record name")
    return ctx.topic + "-" + record_name
