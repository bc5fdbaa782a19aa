"""``/contexts``: only Confluent's default context ``.`` exists here."""

from __future__ import annotations

from registry_service.errors import (
    ContextNotEmptyError,
)
from registry_service.service.core import ServiceCore
from registry_service.service.values import (
    CONTEXT_PREFIX,
    DEFAULT_CONTEXT,
)


class Contexts(ServiceCore):
    """The contexts listing."""

    def contexts(self) -> list[str]:
        return [DEFAULT_CONTEXT]

    def delete_context(self, context: str) -> None:
        """Only the default context exists; other names hold nothing and delete fine."""
        if context in (DEFAULT_CONTEXT, CONTEXT_PREFIX):
            with self.store.read() as tx:
                if tx.all_subject_versions():
                    raise ContextNotEmptyError(context)
