"""Data contracts as the registry stores them: :class:`Metadata` and :class:`RuleSet`.

A schema version may carry metadata (tags per field, free-form string properties, the
names of sensitive fields) and a rule set (migration, domain and encoding rules). These
classes are the client's view of that JSON: parsed from registry answers with
``from_json`` and rendered for a register or lookup with ``to_json``, in the field names
Confluent's registry uses (``onSuccess``, ``domainRules``, ``enableAt``...).

They are frozen so a :class:`~serdes.registry_client.Schema` holding them stays usable as
a cache key; the mappings inside are copied on construction and hashed through their
canonical JSON, so two spellings of the same contract are equal and hash alike.

Defaults follow the registry's canonical form: a rule without ``kind`` is a TRANSFORM,
without ``mode`` a WRITEREAD rule, without ``disabled`` enabled. Running the rules is
:mod:`serdes.rules`' job, not this module's.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from serdes.errors import SchemaError

__all__ = ["Metadata", "Rule", "RuleKind", "RuleMode", "RuleSet"]


class RuleKind(enum.StrEnum):
    """What a rule does: check the message (CONDITION) or replace it (TRANSFORM)."""

    CONDITION = "CONDITION"
    TRANSFORM = "TRANSFORM"


class RuleMode(enum.StrEnum):
    """When a rule runs: on write, on read, or between versions (migration rules)."""

    UPGRADE = "UPGRADE"
    DOWNGRADE = "DOWNGRADE"
    UPDOWN = "UPDOWN"
    WRITE = "WRITE"
    READ = "READ"
    WRITEREAD = "WRITEREAD"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _str_map(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise SchemaError(f"{what} must be an object of strings, got {value!r:.200}")
    return dict(value)


def _str_list(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise SchemaError(f"{what} must be a list of strings, got {value!r:.200}")
    items = tuple(value)
    if not all(isinstance(v, str) for v in items):
        raise SchemaError(f"{what} must be a list of strings, got {value!r:.200}")
    return items


def _opt_str(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise SchemaError(f"{what} must be a string, got {value!r:.200}")


def _enum(cls: type[enum.Enum], value: Any, default: Any, what: str) -> Any:
    if value is None:
        return default
    try:
        return cls(str(value).upper())
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise SchemaError(f"{what} must be one of {allowed}, got {value!r:.80}") from None


@dataclass(frozen=True, slots=True, eq=True)
class Metadata:
    """A version's metadata: ``tags`` (field path pattern -> tags), ``properties`` and
    ``sensitive`` field names.

    ``properties`` is what ``use_latest_with_metadata`` matches on; ``tags`` name fields
    (``User.ssn``, wildcards allowed) that field-level rules select with their own tags.
    """

    tags: Mapping[str, Sequence[str]] = field(default_factory=dict)
    properties: Mapping[str, str] = field(default_factory=dict)
    sensitive: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        tags = {str(k): _str_list(v, f"metadata tags of {k!r}") for k, v in dict(self.tags).items()}
        object.__setattr__(self, "tags", tags)
        object.__setattr__(self, "properties", _str_map(dict(self.properties), "properties"))
        object.__setattr__(self, "sensitive", _str_list(self.sensitive, "sensitive"))

    def __hash__(self) -> int:
        return hash(_canonical(self.to_json()))

    def to_json(self) -> dict[str, Any]:
        """The registry's JSON form; empty parts are left out."""
        body: dict[str, Any] = {}
        if self.tags:
            body["tags"] = {k: list(v) for k, v in self.tags.items()}
        if self.properties:
            body["properties"] = dict(self.properties)
        if self.sensitive:
            body["sensitive"] = list(self.sensitive)
        return body

    @classmethod
    def from_json(cls, body: Any) -> Metadata:
        """Parse the registry's ``metadata`` object; raises SchemaError on a wrong shape."""
        if not isinstance(body, Mapping):
            raise SchemaError(f"metadata must be an object, got {body!r:.200}")
        raw_tags = body.get("tags") or {}
        if not isinstance(raw_tags, Mapping):
            raise SchemaError(f"metadata tags must be an object, got {raw_tags!r:.200}")
        return cls(
            tags={str(k): _str_list(v, f"metadata tags of {k!r}") for k, v in raw_tags.items()},
            properties=_str_map(body.get("properties"), "metadata properties"),
            sensitive=_str_list(body.get("sensitive"), "metadata sensitive"),
        )


@dataclass(frozen=True, slots=True, eq=True)
class Rule:
    """One rule of a rule set, as Confluent's registry stores it.

    ``type`` names the executor (``CEL``, ``CEL_FIELD``...), ``expr`` is its program,
    ``tags`` restrict a field-level rule to fields carrying one of them, ``on_success`` /
    ``on_failure`` name actions (``ERROR``, ``NONE``, or ``"WRITE_ACTION,READ_ACTION"``
    for a WRITEREAD rule).
    """

    name: str
    kind: RuleKind = RuleKind.TRANSFORM
    mode: RuleMode = RuleMode.WRITEREAD
    type: str | None = None
    doc: str | None = None
    tags: tuple[str, ...] = ()
    params: Mapping[str, str] = field(default_factory=dict)
    expr: str | None = None
    on_success: str | None = None
    on_failure: str | None = None
    disabled: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", RuleKind(self.kind))
        object.__setattr__(self, "mode", RuleMode(self.mode))
        object.__setattr__(self, "tags", _str_list(self.tags, f"tags of rule {self.name!r}"))
        object.__setattr__(
            self, "params", _str_map(dict(self.params), f"params of rule {self.name!r}")
        )

    def __hash__(self) -> int:
        return hash(_canonical(self.to_json()))

    def to_json(self) -> dict[str, Any]:
        """The registry's JSON form, in Confluent's field order; unset fields left out."""
        body: dict[str, Any] = {"name": self.name}
        if self.doc is not None:
            body["doc"] = self.doc
        body["kind"] = self.kind.value
        body["mode"] = self.mode.value
        if self.type is not None:
            body["type"] = self.type
        if self.tags:
            body["tags"] = list(self.tags)
        if self.params:
            body["params"] = dict(self.params)
        if self.expr is not None:
            body["expr"] = self.expr
        if self.on_success is not None:
            body["onSuccess"] = self.on_success
        if self.on_failure is not None:
            body["onFailure"] = self.on_failure
        body["disabled"] = self.disabled
        return body

    @classmethod
    def from_json(cls, body: Any) -> Rule:
        """Parse one rule object; raises SchemaError naming the rule on a wrong shape."""
        if not isinstance(body, Mapping) or not isinstance(body.get("name"), str):
            raise SchemaError(f"a rule must be an object with a string name, got {body!r:.200}")
        name = body["name"]
        what = f"rule {name!r}"
        disabled = body.get("disabled", False)
        if not isinstance(disabled, bool):
            raise SchemaError(f"{what}: disabled must be true or false, got {disabled!r:.80}")
        return cls(
            name=name,
            kind=_enum(RuleKind, body.get("kind"), RuleKind.TRANSFORM, f"{what}: kind"),
            mode=_enum(RuleMode, body.get("mode"), RuleMode.WRITEREAD, f"{what}: mode"),
            type=_opt_str(body.get("type"), f"{what}: type"),
            doc=_opt_str(body.get("doc"), f"{what}: doc"),
            tags=_str_list(body.get("tags"), f"{what}: tags"),
            params=_str_map(body.get("params"), f"{what}: params"),
            expr=_opt_str(body.get("expr"), f"{what}: expr"),
            on_success=_opt_str(body.get("onSuccess"), f"{what}: onSuccess"),
            on_failure=_opt_str(body.get("onFailure"), f"{what}: onFailure"),
            disabled=disabled,
        )


def _rules(value: Any, what: str) -> tuple[Rule, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise SchemaError(f"{what} must be a list of rules, got {value!r:.200}")
    return tuple(r if isinstance(r, Rule) else Rule.from_json(r) for r in value)


@dataclass(frozen=True, slots=True, eq=True)
class RuleSet:
    """A version's rules: ``domain_rules`` run on write (WRITE) and read (READ);
    ``migration_rules`` (UPGRADE/DOWNGRADE) and ``encoding_rules`` are carried for the
    registry but not run by regcast's serializers (see docs/data-contracts.md).

    ``enable_at`` (``ALL``, ``CLIENT``...) is Confluent's switch for where rules run: any
    value other than unset, ``ALL`` or ``CLIENT`` disables them in a client.
    """

    migration_rules: tuple[Rule, ...] = ()
    domain_rules: tuple[Rule, ...] = ()
    encoding_rules: tuple[Rule, ...] = ()
    enable_at: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "migration_rules", _rules(self.migration_rules, "migrationRules"))
        object.__setattr__(self, "domain_rules", _rules(self.domain_rules, "domainRules"))
        object.__setattr__(self, "encoding_rules", _rules(self.encoding_rules, "encodingRules"))

    def __hash__(self) -> int:
        return hash(_canonical(self.to_json()))

    def to_json(self) -> dict[str, Any]:
        """The registry's JSON form (all three lists, as Confluent's client sends them)."""
        body: dict[str, Any] = {
            "migrationRules": [r.to_json() for r in self.migration_rules],
            "domainRules": [r.to_json() for r in self.domain_rules],
            "encodingRules": [r.to_json() for r in self.encoding_rules],
        }
        if self.enable_at is not None:
            body["enableAt"] = self.enable_at
        return body

    @classmethod
    def from_json(cls, body: Any) -> RuleSet:
        """Parse the registry's ``ruleSet`` object; raises SchemaError on a wrong shape."""
        if not isinstance(body, Mapping):
            raise SchemaError(f"ruleSet must be an object, got {body!r:.200}")
        return cls(
            migration_rules=_rules(body.get("migrationRules"), "migrationRules"),
            domain_rules=_rules(body.get("domainRules"), "domainRules"),
            encoding_rules=_rules(body.get("encodingRules"), "encodingRules"),
            enable_at=_opt_str(body.get("enableAt"), "ruleSet enableAt"),
        )
