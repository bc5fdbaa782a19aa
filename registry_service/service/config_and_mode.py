"""``/config`` and ``/mode``: the compatibility level, ``normalize`` and the mode, global
or per subject. A subject's own record overrides the global one field by field
(``ScopeSettings``); ``defaultToGlobal`` reads the merged value."""

from __future__ import annotations

from typing import Any

from registry_service.errors import (
    OperationNotPermittedError,
    SubjectConfigNotFoundError,
    SubjectModeNotFoundError,
    SubjectNotFoundError,
)
from registry_service.formats import (
    CompatibilityLevel,
)
from registry_service.service.core import ServiceCore
from registry_service.service.data_contracts import ContractDefaults
from registry_service.service.values import (
    check_scope,
    context_of,
    context_scope,
    live_versions,
    normalize_subject,
    parse_level,
    parse_mode,
)
from registry_service.settings import Mode
from registry_service.storage import (
    GLOBAL_SCOPE,
    ConfigRecord,
)


class ConfigAndMode(ServiceCore):
    """The compatibility level, ``normalize`` and the mode, global or per subject."""

    @staticmethod
    def _config_json(record: ConfigRecord | None, default: CompatibilityLevel) -> dict[str, Any]:
        body: dict[str, Any] = {
            "compatibilityLevel": (record.compatibility_level if record else None) or default.value
        }
        if record is not None and record.normalize is not None:
            body["normalize"] = record.normalize
        if record is not None and record.contract_defaults:
            body.update(record.contract_defaults)
        return body

    def get_config(self, subject: str | None, default_to_global: bool = False) -> dict[str, Any]:
        default = self.settings.compatibility_level
        global_record = self._config(GLOBAL_SCOPE)
        if not subject:
            return self._config_json(global_record, default)
        subject = normalize_subject(subject)
        record = self._config(subject)
        parent = _parent_scope(subject)
        if parent:  # a subject in a context falls back to the context, then global
            global_record = _merged(self._config(parent), global_record)
        if record is None:
            if not default_to_global:
                raise SubjectConfigNotFoundError(subject)
            return self._config_json(global_record, default)
        if default_to_global:
            merged = ConfigRecord(
                record.compatibility_level
                or (global_record.compatibility_level if global_record else None),
                record.normalize
                if record.normalize is not None
                else (global_record.normalize if global_record else None),
                {**(global_record.contract_defaults or {}), **(record.contract_defaults or {})}
                if global_record is not None
                else record.contract_defaults,
            )
            return self._config_json(merged, default)
        if record.compatibility_level is None:
            return {
                k: v
                for k, v in self._config_json(record, default).items()
                if k != "compatibilityLevel"
            }
        return self._config_json(record, default)

    def put_config(
        self,
        subject: str | None,
        level: object,
        normalize: bool | None,
        contract_defaults: ContractDefaults | None = None,
    ) -> dict[str, Any]:
        """``PUT /config[/{s}]``: the fields given replace those stored, the others stay."""
        parsed_level = parse_level(level) if level is not None else None
        scope = check_scope(subject) if subject else GLOBAL_SCOPE
        with self._write() as tx:
            self._check_writable(tx, scope or None)
            current = tx.config(scope)
            record = ConfigRecord(
                parsed_level.value
                if parsed_level is not None
                else (current.compatibility_level if current else None),
                normalize if normalize is not None else (current.normalize if current else None),
                {
                    **((current.contract_defaults or {}) if current else {}),
                    **(contract_defaults.to_json() if contract_defaults else {}),
                }
                or None,
            )
            tx.put_config(scope, record)
        body: dict[str, Any] = {}
        if parsed_level is not None:
            body["compatibility"] = parsed_level.value
        if normalize is not None:
            body["normalize"] = normalize
        if contract_defaults is not None:
            body.update(contract_defaults.to_json())
        return body

    def delete_config(self, subject: str | None) -> dict[str, Any]:
        scope = normalize_subject(subject) if subject else GLOBAL_SCOPE
        with self._write() as tx:
            self._check_writable(tx, scope or None)
            current = tx.config(scope)
            if current is None and scope:
                raise SubjectNotFoundError(scope)
            tx.delete_config(scope)
        return self._config_json(current, self.settings.compatibility_level)

    # -- mode ---------------------------------------------------------------------------

    def get_mode(self, subject: str | None, default_to_global: bool = False) -> dict[str, Any]:
        if not subject:
            return {"mode": self._effective_mode(None).value}
        subject = normalize_subject(subject)
        value = self._mode_record(subject)
        if value is None:
            if not default_to_global:
                raise SubjectModeNotFoundError(subject)
            parent = _parent_scope(subject)
            return {"mode": self._effective_mode(parent or None).value}
        return {"mode": value}

    def put_mode(self, subject: str | None, mode: object, force: bool = False) -> dict[str, Any]:
        new_mode = parse_mode(mode)
        scope = check_scope(subject) if subject else GLOBAL_SCOPE
        if not self.settings.mode_mutability:
            raise OperationNotPermittedError("Mode changes are not allowed")
        with self._write() as tx:
            current = self._effective_mode(scope or None, tx)
            if new_mode is Mode.IMPORT and current is not Mode.IMPORT and not force:
                rows = (
                    tx.subject_versions(scope)
                    if scope and not scope.endswith(":")
                    else tx.all_subject_versions(scope)
                )
                if live_versions(rows):
                    raise OperationNotPermittedError("Cannot import since found existing subjects")
            tx.put_mode(scope, new_mode.value)
        return {"mode": new_mode.value}

    def delete_mode(self, subject: str | None) -> dict[str, Any]:
        scope = normalize_subject(subject) if subject else GLOBAL_SCOPE
        if not self.settings.mode_mutability:
            raise OperationNotPermittedError("Mode changes are not allowed")
        with self._write() as tx:
            current = tx.mode(scope)
            if current is None and scope:
                raise SubjectNotFoundError(scope)
            tx.delete_mode(scope)
        return {"mode": current or self.settings.mode.value}


def _parent_scope(subject: str) -> str:
    """The scope a subject's own config or mode falls back to before the global one:
    its context's (``:.ctx:``), or none ("") in the default context or for a context's
    own scope."""
    scope = context_scope(context_of(subject))
    return "" if scope == subject else scope


def _merged(record: ConfigRecord | None, under: ConfigRecord | None) -> ConfigRecord | None:
    """``record``'s fields, and ``under``'s where ``record`` leaves one unset."""
    if record is None or under is None:
        return record or under
    return ConfigRecord(
        record.compatibility_level or under.compatibility_level,
        record.normalize if record.normalize is not None else under.normalize,
        {**(under.contract_defaults or {}), **(record.contract_defaults or {})} or None,
    )
