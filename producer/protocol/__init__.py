"""Kafka's wire protocol, sans I/O: bytes in, dicts out, no sockets, threads or clocks.

- :mod:`.primitives`: the primitive types (fixed-width ints, varints, strings, bytes,
  arrays, UUIDs, tagged fields) over a bounds-checked :class:`~.primitives.Reader`.
- :mod:`.schema` and :mod:`.messages`: message definitions as data, transcribed from
  Kafka's JSON message definitions.
- :mod:`.codec`: the one generic encoder/decoder and the request/response headers.
- :mod:`.error_codes`: the table from broker error code to exception class.

The network layer frames what :func:`encode_request` returns with a 4-byte size and
hands each received frame's payload to :func:`peek_correlation_id` and
:func:`decode_response`.
"""

from producer.protocol.api_keys import ApiKey
from producer.protocol.codec import (
    SUPPORTED_VERSIONS,
    EncodeError,
    RequestHeader,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    peek_correlation_id,
)

__all__ = [
    "SUPPORTED_VERSIONS",
    "ApiKey",
    "EncodeError",
    "RequestHeader",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "peek_correlation_id",
]
