"""Protobuf schemas: parse ``.proto`` text or a serialized descriptor, render, compare.

Theory of operation
-------------------
A schema travels through the modules of this package in the order they are listed:

* ``parsing``: text or a base64 ``FileDescriptorProto`` -> protoc (in-process) ->
  descriptors of the schema and its closure; ``descriptor_checks`` first refuses a
  descriptor the renderer could not safely read;
* ``model``: those descriptors indexed by full name (``_Model``);
* ``rendering``: the canonical (and normalised) ``.proto`` text, which is the schema's
  identity, and the fully-qualified text protoc compiles descriptors from;
* ``compatibility``: Confluent's ``SchemaDiff`` rules over two models;
* ``schema``: ``ProtobufSchema``, the ``ParsedSchema`` the registry holds, tying them
  together.

Callers import ``ProtobufSchema`` and ``parse_protobuf`` from here.
"""

from registry_service.formats.protobuf.parsing import parse_protobuf
from registry_service.formats.protobuf.schema import ProtobufSchema

__all__ = ["ProtobufSchema", "parse_protobuf"]
