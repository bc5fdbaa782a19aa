"""The registry's rules, between the HTTP routers and the store.

Theory of operation
-------------------
Routers turn HTTP into calls on ``RegistryService`` and its answers (plain dicts and
lists, already in Confluent's JSON shape) back into responses; every rule about ids,
versions, soft and permanent deletes, modes and compatibility lives in this package. The
formats package says what a schema *means* (parse, canonical form, compatibility); the
store keeps rows.

One file per concern, so a reader finds each rule in the file named for it:

- ``values``: version strings, subject names, levels, modes, pages (no state);
- ``core``: the store, the settings and the cache, and the cached reads and parsing
  every rule builds on (``ServiceCore``);
- ``reads``: subjects, versions, lookups, schemas by id and GUID (the hot reads);
- ``registration``: registering, with the identity rule and group commit;
- ``deletion``: soft and permanent deletes;
- ``compatibility``: the compatibility checks that write nothing;
- ``config_and_mode``: ``/config`` and ``/mode``;
- ``contexts``: ``/contexts``.

``RegistryService`` is their union: one object, because the rules share one cache and one
store and call each other's building blocks (a registration parses like a lookup and
checks compatibility like ``/compatibility``). Each concern is a class over
``ServiceCore``, combined here by inheritance rather than delegation, so a request costs
no extra call on its way to the rule that answers it.

Reads go through ``RegistryCache``: schema rows and parsed schemas by id forever (ids
never change content), subject versions, configs and modes until a write changes them
(a registration of this process replaces the one subject's versions it changed; other
writes, and any write of another process, drop them all).
Methods named ``cached_*`` answer only from the cache and return ``None`` on a miss, so
async routers can serve hits without leaving the event loop; everything else may block
on the database and is run on a worker thread by the routers.
"""

from __future__ import annotations

from registry_service.service.compatibility import CompatibilityChecks
from registry_service.service.config_and_mode import ConfigAndMode
from registry_service.service.contexts import Contexts
from registry_service.service.core import ScopeSettings, ServiceCore, SubjectSnapshot
from registry_service.service.deletion import Deletion
from registry_service.service.reads import Reads
from registry_service.service.registration import Registration
from registry_service.service.values import (
    CONTEXT_PREFIX,
    DEFAULT_CONTEXT,
    LATEST,
    MAX_VERSION,
    SUPPORTED_TYPES,
    SchemaRequest,
    check_subject,
    guid_prefix,
    name_is_valid,
    normalize_subject,
    paginate,
    parse_level,
    parse_mode,
    parse_version,
    schema_guid,
)


class RegistryService(Registration, Reads, Deletion, CompatibilityChecks, ConfigAndMode, Contexts):
    """One registry process's view of the shared store; thread-safe."""


__all__ = [
    "CONTEXT_PREFIX",
    "DEFAULT_CONTEXT",
    "LATEST",
    "MAX_VERSION",
    "SUPPORTED_TYPES",
    "RegistryService",
    "SchemaRequest",
    "ScopeSettings",
    "ServiceCore",
    "SubjectSnapshot",
    "check_subject",
    "guid_prefix",
    "name_is_valid",
    "normalize_subject",
    "paginate",
    "parse_level",
    "parse_mode",
    "parse_version",
    "schema_guid",
]
