"""regcast: typed records to Apache Kafka, schemas in a Confluent-compatible registry.

The distribution holds three packages that stand on their own, plus this one, which
wires them together for people: the ``regcast`` command line (``regcast.cli``) and
the helpers it needs to start local services (``regcast.local_broker``).

- ``producer``: a Kafka producer written from the wire protocol up.
- ``serdes``: serializers that frame records with a schema id (Confluent's format).
- ``registry_service``: the schema registry, a FastAPI application.
"""

__version__ = "0.1.0"
