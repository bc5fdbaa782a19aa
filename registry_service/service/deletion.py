"""Deletes: soft (``DELETE /subjects/{s}[/versions/{v}]``) and permanent
(``?permanent=true``, only of what is soft-deleted already), both refused while a live
schema still references the version (42206) or the subject is read-only (42205)."""

from __future__ import annotations

from registry_service.errors import (
    ReferenceExistsError,
    SubjectNotFoundError,
    SubjectNotSoftDeletedError,
    SubjectSoftDeletedError,
    VersionNotFoundError,
    VersionNotSoftDeletedError,
    VersionSoftDeletedError,
)
from registry_service.service.core import ServiceCore
from registry_service.service.values import (
    LATEST,
    live_versions,
    normalize_subject,
)
from registry_service.storage import (
    StoreReader,
)


class Deletion(ServiceCore):
    """Soft and permanent deletes of versions and subjects."""

    @staticmethod
    def _check_unreferenced(tx: StoreReader, subject: str, version: int) -> None:
        if any(not r.deleted for r in tx.referrers(subject, version)):
            raise ReferenceExistsError(subject, version)

    def delete_version(self, subject: str, version: int, permanent: bool = False) -> int:
        subject = normalize_subject(subject)
        with self._write() as tx:
            self._check_writable(tx, subject)
            versions = tx.subject_versions(subject)
            if not versions or (not permanent and not live_versions(versions)):
                raise SubjectNotFoundError(subject)
            if version == LATEST:
                live = live_versions(versions)
                target = live[-1] if live else versions[-1]
            else:
                found = [v for v in versions if v.version == version]
                if not found:
                    raise VersionNotFoundError(version)
                target = found[0]
            if not permanent and target.deleted:
                raise VersionSoftDeletedError(subject, target.version)
            if permanent and not target.deleted:
                raise VersionNotSoftDeletedError(subject, target.version)
            self._check_unreferenced(tx, subject, target.version)
            if permanent:
                tx.remove_version(subject, target.version)
                if len(versions) == 1:
                    tx.delete_config(subject)
                    tx.delete_mode(subject)
            else:
                tx.set_version_deleted(subject, target.version, True)
            return target.version

    def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        subject = normalize_subject(subject)
        with self._write() as tx:
            self._check_writable(tx, subject)
            versions = tx.subject_versions(subject)
            if not versions:
                raise SubjectNotFoundError(subject)
            live = live_versions(versions)
            if permanent:
                if live:
                    raise SubjectNotSoftDeletedError(subject)
                for item in versions:
                    self._check_unreferenced(tx, subject, item.version)
                for item in reversed(versions):
                    tx.remove_version(subject, item.version)
                tx.delete_config(subject)
                tx.delete_mode(subject)
                return [v.version for v in versions]
            if not live:
                raise SubjectSoftDeletedError(subject)
            for item in live:
                self._check_unreferenced(tx, subject, item.version)
            for item in live:
                tx.set_version_deleted(subject, item.version, True)
            return [v.version for v in live]
