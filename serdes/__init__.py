"""Serializers that frame records with a schema id instead of the schema.

Confluent's wire format: magic byte 0, a 4-byte big-endian schema id, (for Protobuf)
the message-index array, then the payload. ``serdes`` speaks HTTP to any
Confluent-compatible registry and never imports ``registry_service``.
"""
