"""``POST /compatibility/subjects/{s}/versions[/{v}]``: would this schema be accepted?

The level in force picks which live versions are compared (the latest, or all of them
for transitive levels); the formats say what a difference means. With ``verbose`` an
unparseable schema is an answer (``is_compatible: false`` with the parser's reason),
not a 42201, as Confluent's."""

from __future__ import annotations

from typing import Any

from registry_service.errors import (
    InvalidSchemaError,
    VersionNotFoundError,
)
from registry_service.formats import (
    CompatibilityLevel,
    ParsedSchema,
    check_compatibility,
    compatibility_messages,
)
from registry_service.service.core import ServiceCore
from registry_service.service.values import (
    LATEST,
    SchemaRequest,
    context_of,
    live_versions,
    normalize_subject,
)


class CompatibilityChecks(ServiceCore):
    """Compatibility checks that write nothing."""

    def _compatibility_answer(
        self,
        level: CompatibilityLevel,
        parsed: ParsedSchema,
        previous: list[tuple[int, ParsedSchema]],
        verbose: bool,
    ) -> dict[str, Any]:
        errors = check_compatibility(level, parsed, previous)
        body: dict[str, Any] = {"is_compatible": not errors}
        if verbose:
            body["messages"] = compatibility_messages(level, errors)
        return body

    def _parse_for_check(
        self, request: SchemaRequest, normalize: bool, verbose: bool, context: str
    ) -> ParsedSchema | dict[str, Any]:
        try:
            return self.parse(request, normalize, context=context)
        except InvalidSchemaError as exc:
            if verbose:
                return {"is_compatible": False, "messages": [exc.message]}
            raise

    def test_compatibility(
        self,
        subject: str,
        version: int,
        request: SchemaRequest,
        normalize: bool = False,
        verbose: bool = False,
    ) -> dict[str, Any]:
        """``POST /compatibility/subjects/{s}/versions/{v}``: against that one version."""
        subject = normalize_subject(subject)
        live = live_versions(self._subject_versions(subject))
        if version == LATEST:
            if not live:
                return {"is_compatible": True, **({"messages": []} if verbose else {})}
            target = live[-1]
        else:
            matches = [v for v in live if v.version == version]
            if not matches:
                raise VersionNotFoundError(version)
            target = matches[0]
        normalize = normalize or self._effective_normalize(subject)
        parsed = self._parse_for_check(request, normalize, verbose, context_of(subject))
        if isinstance(parsed, dict):
            return parsed
        stored = self._schema(target.schema_id)
        assert stored is not None
        level = self._effective_level(subject)
        return self._compatibility_answer(
            level, parsed, [(target.version, self._parsed_by_id(stored))], verbose
        )

    def test_compatibility_all(
        self, subject: str, request: SchemaRequest, normalize: bool = False, verbose: bool = False
    ) -> dict[str, Any]:
        """``POST /compatibility/subjects/{s}/versions``: the level picks which versions."""
        subject = normalize_subject(subject)
        normalize = normalize or self._effective_normalize(subject)
        parsed = self._parse_for_check(request, normalize, verbose, context_of(subject))
        if isinstance(parsed, dict):
            return parsed
        level = self._effective_level(subject)
        live = live_versions(self._subject_versions(subject))
        previous = self._previous(live if level.transitive else live[-1:])
        return self._compatibility_answer(level, parsed, previous, verbose)
