"""A JSON Schema as the compatibility rules walk it: a root and a way to follow ``$ref``.

The JSON Schema format (``json_schema.py``) builds one per parsed schema; the
compatibility rules (``json_schema_compat/``) take two of them. Keeping the shape in its
own module lets each side be read, and tested, without the other.

``$ref`` is resolved with ``referencing`` (the resolver the ``jsonschema`` validator
itself uses), so a reference means in a compatibility check exactly what it means when a
record is validated: relative to the nearest ``$id``, into ``$defs``/``definitions``, or to
a schema registered under another subject and named by its reference ``name``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from referencing._core import Resolver  # not re-exported by referencing 0.37

#: A JSON Schema value: an object (``dict``) or, from draft 6 on, ``true``/``false``.
JsonValue = Any


@dataclass(frozen=True, slots=True)
class JsonDocument:
    """``contents`` is the root schema; ``resolver`` looks ``$ref`` up from that root.

    Walking into a subschema that carries its own ``$id`` moves the base URI: use
    ``resolver.in_subresource(...)``, and ``resolver.lookup(ref)`` for a ``$ref``, whose
    answer carries the resolver to go on with.
    """

    contents: JsonValue
    resolver: Resolver[JsonValue]
