"""regcast: typed records to Apache Kafka, schemas in a Confluent-compatible registry.

The distribution holds three packages that stand on their own, plus this one, which
wires them together for people: the ``regcast`` command line (``regcast.cli``, one
module per command in ``regcast.commands``) and what the commands share: schema files
and ``regcast.toml`` (``schema_files``, ``config``, ``registration``, ``checking``),
JSON lines to typed values (``json_records``), the producer glue (``pipeline``), a
fetch-only reader for the demo's read-back (``readback``), and local peers for the
demo (``local_registry``, ``local_broker``).

- ``producer``: a Kafka producer written from the wire protocol up.
- ``serdes``: serializers that frame records with a schema id (Confluent's format).
- ``registry_service``: the schema registry, a FastAPI application.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("regcast")  # one distribution holds all four packages
except _metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
    __version__ = "0.0.0"
