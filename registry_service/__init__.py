"""A schema registry speaking the Confluent Schema Registry REST API (FastAPI).

``app.create_app(settings)`` builds the application; ``routers`` hold one module per
resource; ``formats`` parse, canonicalise and compare schemas with no HTTP in them;
``storage`` keeps schemas in SQLite (default) or PostgreSQL behind one interface.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("regcast")  # one distribution holds all four packages
except _metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
    __version__ = "0.0.0"
