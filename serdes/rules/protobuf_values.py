"""Protobuf messages as the plain values rules see, and back.

CEL rules address a record as a map (``message.total``). A generated message is not
one, so :func:`message_to_dict` builds a dict per field of the descriptor (nested
messages as dicts, repeated fields as lists, maps as dicts, enums as their numbers,
an unset message field as ``None``), and :func:`dict_to_message` fills a new message
from a transform's result. Only the rules' path pays for this: a serde whose schema has
no rules never calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from serdes.errors import RecordError

__all__ = ["dict_to_message", "message_to_dict"]

M = TypeVar("M", bound=Message)


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _is_repeated(field: FieldDescriptor) -> bool:
    is_repeated = getattr(field, "is_repeated", None)  # protobuf >= 6; `label` before
    if is_repeated is None:
        return bool(field.label == FieldDescriptor.LABEL_REPEATED)
    return bool(is_repeated)


def message_to_dict(message: Message) -> dict[str, Any]:
    """Every field of ``message`` by its proto name (unset scalars as their defaults)."""
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if _is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            nested = value_field.message_type is not None
            out[field.name] = {k: message_to_dict(v) if nested else v for k, v in value.items()}
        elif _is_repeated(field):
            nested = field.message_type is not None
            out[field.name] = [message_to_dict(v) if nested else v for v in value]
        elif field.message_type is not None:
            out[field.name] = message_to_dict(value) if message.HasField(field.name) else None
        else:
            out[field.name] = value
    return out


def dict_to_message(value: Mapping[str, Any], cls: type[M]) -> M:
    """A new ``cls`` message holding ``value`` (a transform's result)."""
    message: M = cls()
    _fill(message, value)
    return message


def _fill(message: Message, value: Mapping[str, Any]) -> None:
    if not isinstance(value, Mapping):
        raise RecordError(
            f"a rule returned {type(value).__name__} where {message.DESCRIPTOR.full_name} "
            "needs a map of its fields"
        )
    fields = message.DESCRIPTOR.fields_by_name
    for name, item in value.items():
        field = fields.get(name)
        if field is None:
            raise RecordError(
                f"a rule returned field {name!r}, which {message.DESCRIPTOR.full_name} "
                "does not have"
            )
        if item is None:
            continue
        try:
            if _is_map(field):
                target = getattr(message, name)
                nested = field.message_type.fields_by_name["value"].message_type is not None
                for k, v in item.items():
                    if nested:
                        _fill(target[k], v)
                    else:
                        target[k] = v
            elif _is_repeated(field):
                target = getattr(message, name)
                for v in item:
                    if field.message_type is not None:
                        _fill(target.add(), v)
                    else:
                        target.append(v)
            elif field.message_type is not None:
                _fill(getattr(message, name), item)
            else:
                setattr(message, name, item)
        except (TypeError, ValueError, AttributeError) as exc:
            raise RecordError(
                f"a rule returned a value for {message.DESCRIPTOR.full_name}.{name} that "
                f"does not fit the field: {exc}"
            ) from exc
