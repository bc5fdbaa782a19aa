"""Data contracts: the ``metadata`` and ``ruleSet`` a schema version carries.

Confluent's registry (7.4+) stores both with each schema and serves them back; newer
clients (confluent-kafka's ``use.latest.with.metadata``, its rule executors) depend on it.
What this module holds, as Confluent's entities define it:

- **Metadata** ``{"tags": {path: [tag]}, "properties": {key: value}, "sensitive": [name]}``;
  every part optional, strings only, kept sorted (Confluent keeps sorted maps and sets),
  so two spellings of the same metadata are one value.
- **RuleSet** ``{"migrationRules": [Rule], "domainRules": [Rule], "encodingRules": [Rule]}``;
  a Rule is ``name, doc, kind, mode, type, tags, params, expr, onSuccess, onFailure,
  disabled``, with ``kind`` TRANSFORM and ``mode`` WRITEREAD when absent. A rule needs a
  name (a letter or ``_`` then letters, digits, ``_``) and a type; names are unique
  within a list; migration rules are UPGRADE, DOWNGRADE or UPDOWN, domain and encoding
  rules WRITE, READ or WRITEREAD. Anything else is a 42210.
- **Identity.** Both take part in a schema's identity: the same schema text with other
  metadata is another schema with another id (Confluent hashes them into its MD5).
  ``identity`` folds them into the format's fingerprint, and leaves a schema without
  either exactly as before, so databases written before data contracts keep their ids.
- **Merging on register** (Confluent's ``maybeSetMetadataRuleSet``): a registration's
  metadata is the request's, or else the latest live version's, laid over the config's
  ``defaultMetadata`` and under its ``overrideMetadata``; the same for rule sets. Maps
  merge key by key (the later wins), sets by union, rule lists by name (a later rule
  replaces an earlier one of the same name). ``confluent:version`` in the properties is
  set to the new version when the request named a version or the merged metadata
  already has the property.

Nothing here reads the store; the rule modules call it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from registry_service.errors import InvalidRuleSetError, InvalidSchemaError
from registry_service.formats import Direction, Incompatibility, ParsedSchema, SchemaReference
from registry_service.formats.base import SchemaType

Json = dict[str, Any]

CONFLUENT_VERSION = "confluent:version"
RULE_KINDS = frozenset({"TRANSFORM", "CONDITION"})
_DOMAIN_MODES = frozenset({"WRITE", "READ", "WRITEREAD"})
_MIGRATION_MODES = frozenset({"UPGRADE", "DOWNGRADE", "UPDOWN"})
RULE_LISTS: Mapping[str, frozenset[str]] = {
    "migrationRules": _MIGRATION_MODES,
    "domainRules": _DOMAIN_MODES,
    "encodingRules": _DOMAIN_MODES,
}
_LIST_MODES_MESSAGE = {
    "migrationRules": "Migration rules can only be UPGRADE, DOWNGRADE, UPDOWN",
    "domainRules": "Domain rules can only be WRITE, READ, WRITEREAD",
    "encodingRules": "Encoding rules can only be WRITE, READ, WRITEREAD",
}
CONFIG_KEYS = ("defaultMetadata", "overrideMetadata", "defaultRuleSet", "overrideRuleSet")


# -- validation and canonical form ------------------------------------------------------


def _strings(value: object, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidSchemaError(f"Invalid schema, details: {what} must be a list of strings")
    return sorted(set(value))


def _string_map(value: object, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidSchemaError(
            f"Invalid schema, details: {what} must be an object of string values"
        )
    return dict(sorted(value.items()))


def metadata_from_json(value: object, what: str = "metadata") -> Json | None:
    """Validated, sorted metadata, or None when absent or empty (an empty metadata is no
    metadata: Confluent's hash of it is the hash of none). 42201 for a wrong shape."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidSchemaError(f"Invalid schema, details: {what} must be an object")
    out: Json = {}
    tags = value.get("tags")
    if tags is not None:
        if not isinstance(tags, dict):
            raise InvalidSchemaError(f"Invalid schema, details: {what}.tags must be an object")
        sorted_tags = {
            path: _strings(tags[path], f"{what}.tags[{path!r}]") for path in sorted(tags)
        }
        if sorted_tags:
            out["tags"] = sorted_tags
    properties = value.get("properties")
    if properties is not None:
        props = _string_map(properties, f"{what}.properties")
        if props:
            out["properties"] = props
    sensitive = value.get("sensitive")
    if sensitive is not None:
        names = _strings(sensitive, f"{what}.sensitive")
        if names:
            out["sensitive"] = names
    return out or None


def _rule_name(name: object) -> str:
    if name is None:
        raise InvalidRuleSetError("Missing rule name")
    if not isinstance(name, str):
        raise InvalidRuleSetError(f"rule name {name!r} is not a string")
    if not name:
        raise InvalidRuleSetError("Empty rule name")
    if not (name[0].isalpha() or name[0] == "_"):
        raise InvalidRuleSetError(f"Illegal initial character in rule name: {name}")
    if not all(c.isalnum() or c == "_" for c in name[1:]):
        raise InvalidRuleSetError(f"Illegal character in rule name: {name}")
    return name


def _optional_string(rule: Mapping[str, Any], key: str, name: str) -> str | None:
    value = rule.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidRuleSetError(f"rule '{name}': {key} must be a string")
    return value


def _rule_from_json(value: object, list_name: str) -> Json:
    if not isinstance(value, dict):
        raise InvalidRuleSetError(f"{list_name} must hold rule objects")
    name = _rule_name(value.get("name"))
    kind = value.get("kind") or "TRANSFORM"
    mode = value.get("mode") or "WRITEREAD"
    if kind not in RULE_KINDS:
        raise InvalidRuleSetError(f"rule '{name}': kind must be TRANSFORM or CONDITION")
    if not isinstance(mode, str) or mode not in _DOMAIN_MODES | _MIGRATION_MODES:
        raise InvalidRuleSetError(
            f"rule '{name}': mode must be one of UPGRADE, DOWNGRADE, UPDOWN, WRITE, READ, WRITEREAD"
        )
    if mode not in RULE_LISTS[list_name]:
        raise InvalidRuleSetError(_LIST_MODES_MESSAGE[list_name])
    rule_type = value.get("type")
    if rule_type is None:
        raise InvalidRuleSetError("Missing rule type")
    if not isinstance(rule_type, str):
        raise InvalidRuleSetError(f"rule '{name}': type must be a string")
    disabled = value.get("disabled", False)
    if not isinstance(disabled, bool):
        raise InvalidRuleSetError(f"rule '{name}': disabled must be true or false")
    try:
        tags = _strings(value.get("tags") or [], "tags")
        params = _string_map(value.get("params") or {}, "params")
    except InvalidSchemaError as exc:
        raise InvalidRuleSetError(
            f"rule '{name}': tags must be strings and params map strings to strings"
        ) from exc
    # Confluent's field order, so answers read like its own.
    rule: Json = {"name": name}
    doc = _optional_string(value, "doc", name)
    if doc is not None:
        rule["doc"] = doc
    rule["kind"] = kind
    rule["mode"] = mode
    rule["type"] = rule_type
    if tags:
        rule["tags"] = tags
    if params:
        rule["params"] = params
    for key in ("expr", "onSuccess", "onFailure"):
        text = _optional_string(value, key, name)
        if text is not None:
            rule[key] = text
    rule["disabled"] = disabled
    return rule


def rule_set_from_json(value: object, what: str = "ruleSet") -> Json | None:
    """A validated rule set, or None when absent or without rules; 42210 otherwise."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidRuleSetError(f"{what} must be an object")
    out: Json = {}
    for list_name in RULE_LISTS:
        rules = value.get(list_name)
        if rules is None:
            continue
        if not isinstance(rules, list):
            raise InvalidRuleSetError(f"{what}.{list_name} must be a list")
        parsed = [_rule_from_json(rule, list_name) for rule in rules]
        names = [rule["name"] for rule in parsed]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise InvalidRuleSetError(f"Found rule with duplicate name '{name}'")
        if parsed:
            out[list_name] = parsed
    return out or None


# -- merging ----------------------------------------------------------------------------


def merge_metadata(old: Json | None, new: Json | None) -> Json | None:
    """``new`` laid over ``old``: maps key by key, sets by union (Confluent's
    ``Metadata.mergeMetadata``)."""
    if old is None:
        return new
    if new is None:
        return old
    out: Json = {}
    tags = {**old.get("tags", {}), **new.get("tags", {})}
    if tags:
        out["tags"] = dict(sorted(tags.items()))
    properties = {**old.get("properties", {}), **new.get("properties", {})}
    if properties:
        out["properties"] = dict(sorted(properties.items()))
    sensitive = sorted(set(old.get("sensitive", ())) | set(new.get("sensitive", ())))
    if sensitive:
        out["sensitive"] = sensitive
    return out or None


def merge_rule_sets(old: Json | None, new: Json | None) -> Json | None:
    """``new`` laid over ``old`` list by list: ``old``'s rules not named in ``new``, then
    ``new``'s (Confluent's ``RuleSet.mergeRuleSets``)."""
    if old is None:
        return new
    if new is None:
        return old
    out: Json = {}
    for list_name in RULE_LISTS:
        newer = new.get(list_name, [])
        names = {rule["name"] for rule in newer}
        rules = [rule for rule in old.get(list_name, []) if rule["name"] not in names] + newer
        if rules:
            out[list_name] = rules
    return out or None


@dataclass(frozen=True, slots=True)
class ContractDefaults:
    """A config's ``defaultMetadata``, ``overrideMetadata``, ``defaultRuleSet`` and
    ``overrideRuleSet``; stored as one JSON object under their REST names."""

    default_metadata: Json | None = None
    override_metadata: Json | None = None
    default_rule_set: Json | None = None
    override_rule_set: Json | None = None

    @classmethod
    def from_request(cls, body: Mapping[str, Any]) -> ContractDefaults:
        """From a ``PUT /config`` body (42201/42210 for bad values)."""
        return cls(
            metadata_from_json(body.get("defaultMetadata"), "defaultMetadata"),
            metadata_from_json(body.get("overrideMetadata"), "overrideMetadata"),
            rule_set_from_json(body.get("defaultRuleSet"), "defaultRuleSet"),
            rule_set_from_json(body.get("overrideRuleSet"), "overrideRuleSet"),
        )

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any] | None) -> ContractDefaults | None:
        if not stored:
            return None
        return cls(*(stored.get(key) for key in CONFIG_KEYS))

    def to_json(self) -> Json:
        """The set fields under their REST names (what a config answer carries)."""
        values = (
            self.default_metadata,
            self.override_metadata,
            self.default_rule_set,
            self.override_rule_set,
        )
        return {key: value for key, value in zip(CONFIG_KEYS, values, strict=True) if value}

    def over(self, fallback: ContractDefaults | None) -> ContractDefaults:
        """These fields where set, else ``fallback``'s (a subject's config over the
        global one, field by field, as the level and ``normalize`` are)."""
        if fallback is None:
            return self
        return ContractDefaults(
            self.default_metadata or fallback.default_metadata,
            self.override_metadata or fallback.override_metadata,
            self.default_rule_set or fallback.default_rule_set,
            self.override_rule_set or fallback.override_rule_set,
        )


@dataclass(frozen=True, slots=True)
class Contract:
    """The metadata and rule set one registration ends up with."""

    metadata: Json | None = None
    rule_set: Json | None = None

    def __bool__(self) -> bool:
        return self.metadata is not None or self.rule_set is not None


NO_CONTRACT = Contract()


def effective_contract(
    requested: Contract,
    previous: Contract | None,
    defaults: ContractDefaults | None,
    new_version: int,
    version_given: bool,
) -> Contract:
    """What a registration stores: the request's metadata and rule set (or else the
    latest live version's), between the config's defaults and overrides, with
    ``confluent:version`` set as Confluent's ``maybeSetMetadataRuleSet`` does."""
    metadata = requested.metadata
    rule_set = requested.rule_set
    if metadata is None and previous is not None:
        metadata = previous.metadata
    if rule_set is None and previous is not None:
        rule_set = previous.rule_set
    if defaults is not None:
        metadata = merge_metadata(
            merge_metadata(defaults.default_metadata, metadata), defaults.override_metadata
        )
        rule_set = merge_rule_sets(
            merge_rule_sets(defaults.default_rule_set, rule_set), defaults.override_rule_set
        )
    properties = (metadata or {}).get("properties", {})
    if version_given or CONFLUENT_VERSION in properties:
        properties = dict(sorted({**properties, CONFLUENT_VERSION: str(new_version)}.items()))
        metadata = {**(metadata or {}), "properties": properties}
    return Contract(metadata, rule_set)


def has_properties(metadata: Json | None, pairs: Sequence[tuple[str, str]]) -> bool:
    """Whether ``metadata``'s properties hold every ``key: value`` of ``pairs``
    (``GET /subjects/{s}/metadata``); a schema without metadata matches nothing."""
    if metadata is None:
        return False
    properties = metadata.get("properties", {})
    return all(properties.get(key) == value for key, value in pairs)


def identity(fingerprint: str, contract: Contract) -> str:
    """The schema's fingerprint with the contract folded in; unchanged without one."""
    if not contract:
        return fingerprint
    digest = hashlib.sha256(fingerprint.encode())
    digest.update(b"\x00metadata\x00")
    digest.update(orjson.dumps(contract.metadata, option=orjson.OPT_SORT_KEYS))
    digest.update(b"\x00ruleSet\x00")
    digest.update(orjson.dumps(contract.rule_set, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


def contract_json(metadata: Json | None, rule_set: Json | None, body: Json) -> None:
    """Add ``metadata`` and ``ruleSet`` to an answer, each only when there is one."""
    if metadata is not None:
        body["metadata"] = metadata
    if rule_set is not None:
        body["ruleSet"] = rule_set


# -- a schema with its contract ---------------------------------------------------------


class ContractedSchema(ParsedSchema):
    """A parsed schema and the contract it is registered with: the format's answers,
    and an identity that includes the contract (``fingerprint``)."""

    __slots__ = ("_fingerprint", "contract", "inner")

    def __init__(self, inner: ParsedSchema, contract: Contract) -> None:
        self.inner = inner
        self.contract = contract
        self._fingerprint = identity(inner.fingerprint, contract)

    @property
    def schema_type(self) -> SchemaType:
        return self.inner.schema_type

    @property
    def canonical(self) -> str:
        return self.inner.canonical

    @property
    def text(self) -> str:
        return self.inner.text

    @property
    def references(self) -> tuple[SchemaReference, ...]:
        return self.inner.references

    @property
    def name(self) -> str | None:
        return self.inner.name

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def normalized(self) -> ParsedSchema:
        return ContractedSchema(self.inner.normalized(), self.contract)

    def render(self, fmt: str | None = None) -> str:
        return self.inner.render(fmt)

    def compatibility_errors(
        self, previous: ParsedSchema, direction: Direction
    ) -> list[Incompatibility]:
        return self.inner.compatibility_errors(format_schema(previous), direction)


def with_contract(parsed: ParsedSchema, contract: Contract) -> ParsedSchema:
    """``parsed`` carrying ``contract`` (itself when there is none)."""
    inner = format_schema(parsed)
    return ContractedSchema(inner, contract) if contract else inner


def format_schema(parsed: ParsedSchema) -> ParsedSchema:
    """The format's own parsed schema, without any contract."""
    return parsed.inner if isinstance(parsed, ContractedSchema) else parsed


def contract_of(parsed: ParsedSchema) -> Contract:
    return parsed.contract if isinstance(parsed, ContractedSchema) else NO_CONTRACT
