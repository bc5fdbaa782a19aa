"""``/contexts``: Confluent's schema contexts, each its own namespace of subjects and ids.

A context exists while it holds a subject (soft-deleted versions count, as for
Confluent's ``hasSubjects(..., lookupDeletedSubjects=true)``): the listing is derived
from the subjects stored, the default context ``.`` always first. A context keeps the
number its ids are stored under (``storage.sql``) for good, so deleting an empty one
has nothing to remove and registering in it again continues its id space."""

from __future__ import annotations

from registry_service.errors import ContextNotEmptyError
from registry_service.service.core import ServiceCore
from registry_service.service.values import (
    DEFAULT_CONTEXT,
    normalize_context,
    split_qualified,
)


class Contexts(ServiceCore):
    """The contexts listing and deleting empty contexts."""

    def contexts(self, prefix: str = "") -> list[str]:
        """Every context holding a subject, sorted, ``.`` first (Confluent's order);
        only those starting with ``prefix`` when one is given (``contextPrefix``)."""
        with self.store.read() as tx:
            rows = tx.all_subject_versions(":.")
        names = sorted({split_qualified(r.subject)[0] for r in rows} - {DEFAULT_CONTEXT})
        found = [DEFAULT_CONTEXT, *names]
        return [c for c in found if c.startswith(prefix)] if prefix else found

    def delete_context(self, context: str) -> None:
        """42211 while the context holds a subject; otherwise nothing to delete."""
        name = normalize_context(context)
        with self.store.read() as tx:
            if name == DEFAULT_CONTEXT:
                rows = [r for r in tx.all_subject_versions() if not r.subject.startswith(":.")]
            else:
                rows = tx.all_subject_versions(f":{name}:")
        if rows:
            raise ContextNotEmptyError(name)
