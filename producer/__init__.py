"""A Kafka producer written from the wire protocol up, in the shape of Kafka's own.

Layers, lowest first (imports point downward only):

- ``producer.protocol``: sans-I/O codec: primitive types, message definitions as data,
  request/response headers, the error-code table. Bytes in, objects out.
- ``producer.records``: record batch v2 builder and reader, compression, CRC-32C.
- ``producer.network``: the only code that touches sockets: channels, the selector
  loop, ``NetworkClient`` with per-node in-flight deques.
- ``metadata``, ``partitioner``, ``accumulator``, ``sender``, ``idempotence``,
  ``config`` and ``producer`` (the facade users import).
"""
