"""Who may do what: Karapace's ACL model, plus roles and an ``admin`` role.

A grant is an operation (``Read`` or ``Write``; ``Write`` implies ``Read``) on the
resources a regular expression names: ``Config:`` (the global compatibility level and
mode) or ``Subject:<name>``. Unlike Karapace (``re.match``, anchored at the start only)
the expression must match the *whole* resource name: ``Subject:orders`` grants the
subject ``orders`` and not ``orders-secret``. A subject in a context other than the
default one is granted only by an expression starting ``Subject::`` (see ``Grant``).
A principal holds its own grants and those of its roles; the built-in role ``admin``
may do everything, including what no grant can give (mode changes, which can switch
the registry to IMPORT, and deleting contexts).

Pure logic: no HTTP, no files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

ADMIN_ROLE = "admin"
CONFIG_RESOURCE = "Config:"
SUBJECT_PREFIX = "Subject:"
_MEMO_MAX_ENTRIES = 4096


class Operation(StrEnum):
    READ = "Read"
    WRITE = "Write"

    @classmethod
    def parse(cls, value: object) -> Operation:
        """``read``/``Read``/``write``/``Write`` (Karapace writes them capitalised)."""
        if isinstance(value, str):
            for operation in cls:
                if value.lower() == operation.value.lower():
                    return operation
        raise ValueError(f"operation must be 'Read' or 'Write', not {value!r}")


_CONTEXT_SUBJECT = SUBJECT_PREFIX + ":."
"""How a subject outside the default context starts as a resource (``Subject::.ctx:s``)."""


@dataclass(frozen=True, slots=True)
class Grant:
    r"""``operation`` on every resource ``resource`` matches in full.

    Contexts: a subject outside the default context (``:.ctx:s``) is granted only by an
    expression that itself starts with ``Subject::`` (``Subject::\.ctx:.*``), so a
    grant written before contexts existed (``Subject:.*``) keeps covering the default
    context alone rather than every context."""

    operation: Operation
    resource: re.Pattern[str]

    def allows(self, operation: Operation, resource: str) -> bool:
        if operation is Operation.WRITE and self.operation is not Operation.WRITE:
            return False
        if resource.startswith(_CONTEXT_SUBJECT) and not self.resource.pattern.startswith(
            SUBJECT_PREFIX + ":"
        ):
            return False
        return self.resource.fullmatch(resource) is not None


def compile_grant(operation: object, resource: object) -> Grant:
    """A grant from a users file entry; ``ValueError`` naming what is wrong."""
    if not isinstance(resource, str):
        raise ValueError(f"resource must be a regular expression string, not {resource!r}")
    try:
        pattern = re.compile(resource)
    except re.error as exc:
        raise ValueError(f"resource {resource!r} is not a valid regular expression: {exc}") from exc
    return Grant(Operation.parse(operation), pattern)


class Principal:
    """An authenticated user (or the anonymous role) and everything it may do.

    Decisions on subjects are memoised (bounded): a listing asks about every subject,
    and each request about one, with the same few answers again and again. A principal
    is rebuilt when the users file is reloaded, so the memo never outlives its grants.
    """

    __slots__ = ("_subjects", "grants", "is_admin", "name")

    def __init__(self, name: str, grants: Iterable[Grant], is_admin: bool = False) -> None:
        self.name = name
        self.is_admin = is_admin
        self.grants = tuple(grants)
        self._subjects: dict[tuple[str, Operation], bool] = {}

    def __repr__(self) -> str:
        return f"Principal({self.name!r}, admin={self.is_admin}, grants={len(self.grants)})"

    def may(self, operation: Operation, resource: str) -> bool:
        if self.is_admin:
            return True
        return any(grant.allows(operation, resource) for grant in self.grants)

    def may_config(self, operation: Operation) -> bool:
        return self.may(operation, CONFIG_RESOURCE)

    def may_subject(self, operation: Operation, subject: str) -> bool:
        if self.is_admin:
            return True
        key = (subject, operation)
        known = self._subjects.get(key)
        if known is None:
            known = self.may(operation, SUBJECT_PREFIX + subject)
            if len(self._subjects) >= _MEMO_MAX_ENTRIES:
                self._subjects.clear()
            self._subjects[key] = known
        return known

    def may_read(self, subject: str) -> bool:
        """Whether the subject (and what it lists) is visible: the listings' filter."""
        return self.may_subject(Operation.READ, subject)
