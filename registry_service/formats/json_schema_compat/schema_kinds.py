"""Plain JSON Schema values seen as the typed schemas Confluent's diff walks.

Confluent compares schemas loaded by everit (drafts 4-7) or translated from json-sKema
(2019-09, 2020-12) into typed objects: ``StringSchema``, ``NumberSchema``, ``ObjectSchema``,
``CombinedSchema``... We keep the JSON as it is and derive the same *kind* from its
keywords, the way everit's loader does (facts from its ``SchemaLoader``/``SchemaExtractor``):

* ``true``/``false`` are the TRUE/FALSE kinds; an object without any keyword below is EMPTY.
* ``$ref`` makes a REFERENCE and hides every sibling (drafts 4-7); from 2019-09 on the
  reference is one part among the siblings.
* Otherwise each of these, in order, contributes one *part*, reading only the keywords not
  taken by an earlier one: ``enum``; each of ``allOf``/``anyOf``/``oneOf`` (a COMBINED part);
  ``not``; ``const`` (not in draft 4); ``type`` (one typed part, or for a list of types a
  COMBINED ``anyOf`` of typed parts); then the keywords of arrays, objects, numbers, strings
  and (draft 7+) ``if``/``then``/``else`` that are still unread, each family one part.
* One part is the schema; several are a synthetic ``allOf`` of them. ``$id``, ``title``,
  ``description`` and ``default`` belong to that whole, not to its parts.

Nodes are made once per (JSON value, view) and kept, so the same definition reached twice
through ``$ref`` is the same node: the comparison's memo and cycle guard key on identity.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from referencing import Specification
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT4, DRAFT6, DRAFT7, DRAFT201909, DRAFT202012

from registry_service.formats.base import InvalidSchemaError
from registry_service.formats.json_document import JsonDocument, JsonValue

if TYPE_CHECKING:
    from referencing._core import Resolver


class Kind(StrEnum):
    """The everit schema class a JSON value loads as."""

    EMPTY = "EmptySchema"
    TRUE = "TrueSchema"
    FALSE = "FalseSchema"
    STRING = "StringSchema"
    NUMBER = "NumberSchema"
    BOOLEAN = "BooleanSchema"
    NULL = "NullSchema"
    OBJECT = "ObjectSchema"
    ARRAY = "ArraySchema"
    ENUM = "EnumSchema"
    CONST = "ConstSchema"
    COMBINED = "CombinedSchema"
    NOT = "NotSchema"
    CONDITIONAL = "ConditionalSchema"
    REFERENCE = "ReferenceSchema"


class Draft(StrEnum):
    """The dialects whose keyword sets differ for the comparison."""

    DRAFT4 = "draft4"
    DRAFT6 = "draft6"
    DRAFT7 = "draft7"
    DRAFT2019 = "2019-09"
    DRAFT2020 = "2020-12"

    @property
    def modern(self) -> bool:
        """2019-09 and 2020-12, which Confluent loads with json-sKema."""
        return self in (Draft.DRAFT2019, Draft.DRAFT2020)


_SPECIFICATIONS: dict[Draft, Specification[Any]] = {
    Draft.DRAFT4: DRAFT4,
    Draft.DRAFT6: DRAFT6,
    Draft.DRAFT7: DRAFT7,
    Draft.DRAFT2019: DRAFT201909,
    Draft.DRAFT2020: DRAFT202012,
}

NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
STRING_KEYWORDS = ("minLength", "maxLength", "pattern", "format")
CONDITIONAL_KEYWORDS = ("if", "then", "else")
_OBJECT_KEYWORDS_4 = (
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "dependencies",
    "patternProperties",
    "additionalProperties",
)
_ARRAY_KEYWORDS_4 = ("items", "additionalItems", "minItems", "maxItems", "uniqueItems")
_MODERN_OBJECT = ("propertyNames", "dependentRequired", "dependentSchemas", "unevaluatedProperties")
_MODERN_ARRAY = ("contains", "prefixItems", "unevaluatedItems", "maxContains", "minContains")
COMBINED_KEYWORDS = ("allOf", "anyOf", "oneOf")
_MAPS = ("properties",)


def draft_of(contents: JsonValue) -> Draft:
    """The dialect named by the root's ``$schema``; draft 7 when absent, as Confluent."""
    uri = contents.get("$schema") if isinstance(contents, dict) else None
    if isinstance(uri, str):
        for marker, draft in (
            ("draft-04", Draft.DRAFT4),
            ("draft-06", Draft.DRAFT6),
            ("draft-07", Draft.DRAFT7),
            ("2019-09", Draft.DRAFT2019),
            ("2020-12", Draft.DRAFT2020),
        ):
            if marker in uri:
                return draft
    return Draft.DRAFT7


def object_keywords(draft: Draft) -> tuple[str, ...]:
    """Keywords that make an object schema in ``draft``."""
    if draft is Draft.DRAFT4:
        return _OBJECT_KEYWORDS_4
    if draft.modern:
        return _OBJECT_KEYWORDS_4 + _MODERN_OBJECT
    return (*_OBJECT_KEYWORDS_4, "propertyNames")


def array_keywords(draft: Draft) -> tuple[str, ...]:
    """Keywords that make an array schema in ``draft``."""
    if draft is Draft.DRAFT4:
        return _ARRAY_KEYWORDS_4
    if draft.modern:
        return _ARRAY_KEYWORDS_4 + _MODERN_ARRAY
    return (*_ARRAY_KEYWORDS_4, "contains")


_TYPE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "string": STRING_KEYWORDS,
    "integer": NUMBER_KEYWORDS,
    "number": NUMBER_KEYWORDS,
    "boolean": (),
    "null": (),
}


@dataclass(eq=False, slots=True)
class Node:
    """One typed view of a JSON value; compared by identity.

    ``raw`` is the JSON the view reads its keywords from (shared by the parts of a synthetic
    ``allOf``); ``common`` says whether ``$id``/``title``/``description``/``default`` belong
    to this node. ``criterion`` and ``subschemas`` are set for COMBINED nodes,
    ``requires_integer`` for a NUMBER loaded from ``"type": "integer"``.
    """

    kind: Kind
    raw: JsonValue
    loader: Loader
    resolver: Resolver[JsonValue]
    common: bool
    criterion: str = ""
    subschemas: tuple[Node, ...] = ()
    requires_integer: bool = False

    @property
    def draft(self) -> Draft:
        """The dialect of the document this node belongs to."""
        return self.loader.draft

    def keyword(self, name: str) -> Any:
        """The raw value of ``name`` in this node's JSON, or None."""
        return self.raw.get(name) if isinstance(self.raw, dict) else None

    def has(self, name: str) -> bool:
        """True when this node's JSON carries ``name``."""
        return isinstance(self.raw, dict) and name in self.raw

    def child(self, value: JsonValue) -> Node:
        """The node for a subschema ``value`` found inside this one."""
        return self.loader.load(value, self.resolver)

    def children(self, values: Mapping[str, JsonValue]) -> dict[str, Node]:
        """Nodes for a keyword whose value maps names to subschemas (``properties``...)."""
        return {name: self.child(value) for name, value in values.items()}

    @property
    def id(self) -> Any:
        """``$id`` (``id`` in draft 4) when this node carries the common keywords.

        Confluent's 2019-09/2020-12 path (json-sKema, then its translator) carries no
        ``$id`` over, so ID_CHANGED is never reported there.
        """
        if self.draft.modern:
            return None
        return self._common("id" if self.draft is Draft.DRAFT4 else "$id")

    @property
    def title(self) -> Any:
        """``title`` when this node carries the common keywords."""
        return self._common("title")

    @property
    def description(self) -> Any:
        """``description`` when this node carries the common keywords."""
        return self._common("description")

    @property
    def default(self) -> Any:
        """``default`` when this node carries the common keywords (None when absent)."""
        return self._common("default")

    @property
    def has_default(self) -> bool:
        """True when a ``default`` keyword applies to this node (even ``null``)."""
        return self.common and self.has("default")

    def _common(self, name: str) -> Any:
        return self.keyword(name) if self.common else None

    def is_empty(self) -> bool:
        """everit's ``instanceof EmptySchema``: ``{}``-like schemas and ``true``."""
        return self.kind in (Kind.EMPTY, Kind.TRUE)


@dataclass(slots=True)
class Loader:
    """Makes and keeps the nodes of one document (and of what its ``$ref`` reach)."""

    draft: Draft
    root: JsonValue
    _nodes: dict[tuple[int, str], Node] = field(default_factory=dict)
    _keep: list[JsonValue] = field(default_factory=list)
    _targets: dict[int, Node] = field(default_factory=dict)

    @classmethod
    def for_document(cls, document: JsonDocument) -> tuple[Loader, Node]:
        """A loader for ``document`` and the node of its root."""
        loader = cls(draft_of(document.contents), document.contents)
        return loader, loader.load(document.contents, document.resolver, root=True)

    def load(self, value: JsonValue, resolver: Resolver[JsonValue], *, root: bool = False) -> Node:
        """The (whole) node of ``value``, read with ``resolver`` for its ``$ref``."""
        cached = self._nodes.get((id(value), ""))
        if cached is not None:
            return cached
        if isinstance(value, dict) and not root:
            resolver = self._enter(value, resolver)
        node = self._build(value, resolver)
        self._remember(value, "", node)
        return node

    def resolve(self, node: Node) -> Node:
        """The node a REFERENCE points to (everit's ``getReferredSchema``)."""
        cached = self._targets.get(id(node))
        if cached is not None:
            return cached
        ref = node.keyword("$ref")
        if not isinstance(ref, str):
            raise InvalidSchemaError(f"$ref must be a string, not {ref!r}")
        try:
            resolved = node.resolver.lookup(ref)
        except Unresolvable as exc:
            raise InvalidSchemaError(f"Unresolved $ref '{ref}'") from exc
        target = self.load(resolved.contents, resolved.resolver)
        self._targets[id(node)] = target
        return target

    def _enter(self, value: dict[str, Any], resolver: Resolver[JsonValue]) -> Resolver[JsonValue]:
        id_keyword = "id" if self.draft is Draft.DRAFT4 else "$id"
        if not isinstance(value.get(id_keyword), str):
            return resolver
        try:
            resource = _SPECIFICATIONS[self.draft].create_resource(value)
            return resolver.in_subresource(resource)
        except Exception:
            return resolver

    def _remember(self, value: JsonValue, view: str, node: Node) -> None:
        self._keep.append(value)
        self._nodes[(id(value), view)] = node

    def _view(
        self,
        value: JsonValue,
        view: str,
        kind: Kind,
        resolver: Resolver[JsonValue],
        **extra: Any,
    ) -> Node:
        cached = self._nodes.get((id(value), view))
        if cached is not None:
            return cached
        node = Node(kind, value, self, resolver, False, **extra)
        self._remember(value, view, node)
        return node

    def _build(self, value: JsonValue, resolver: Resolver[JsonValue]) -> Node:
        if value is True:
            return Node(Kind.TRUE, value, self, resolver, True)
        if value is False or not isinstance(value, dict):
            return Node(Kind.FALSE, value, self, resolver, True)
        if "$ref" in value and not self.draft.modern:
            return Node(Kind.REFERENCE, value, self, resolver, True)
        parts = list(self._parts(value, resolver))
        if not parts:
            return Node(Kind.EMPTY, value, self, resolver, True)
        if len(parts) == 1:
            only = parts[0]
            return Node(
                only.kind,
                value,
                self,
                resolver,
                True,
                criterion=only.criterion,
                subschemas=only.subschemas,
                requires_integer=only.requires_integer,
            )
        return Node(Kind.COMBINED, value, self, resolver, True, "allOf", tuple(parts))

    def _parts(self, value: dict[str, Any], resolver: Resolver[JsonValue]) -> Iterator[Node]:
        """everit's extractors, in order, each reading what the earlier ones left."""
        unread = set(value)
        if "$ref" in value:
            unread.discard("$ref")
            yield self._view(value, "$ref", Kind.REFERENCE, resolver)
        if "enum" in unread:
            unread.discard("enum")
            yield self._view(value, "enum", Kind.ENUM, resolver)
        for criterion in COMBINED_KEYWORDS:
            if criterion in unread and isinstance(value[criterion], list):
                unread.discard(criterion)
                subs = tuple(self.load(v, resolver) for v in value[criterion])
                yield self._view(
                    value, criterion, Kind.COMBINED, resolver, criterion=criterion, subschemas=subs
                )
        if "not" in unread:
            unread.discard("not")
            yield self._view(value, "not", Kind.NOT, resolver)
        if "const" in unread and self.draft is not Draft.DRAFT4:
            unread.discard("const")
            yield self._view(value, "const", Kind.CONST, resolver)
        if "type" in unread:
            unread.discard("type")
            declared = value["type"]
            if isinstance(declared, list):
                subs = tuple(self._typed(value, t, resolver, unread) for t in declared)
                yield self._view(
                    value, "type[]", Kind.COMBINED, resolver, criterion="anyOf", subschemas=subs
                )
            else:
                yield self._typed(value, declared, resolver, unread)
        families: tuple[tuple[str, tuple[str, ...], Kind], ...] = (
            ("array", array_keywords(self.draft), Kind.ARRAY),
            ("object", object_keywords(self.draft), Kind.OBJECT),
            ("number", NUMBER_KEYWORDS, Kind.NUMBER),
            ("string", STRING_KEYWORDS, Kind.STRING),
        )
        if self.draft.modern:
            # json-sKema makes no keyword schema of an empty map (``"properties": {}``).
            unread = {k for k in unread if k not in _MAPS or value[k] != {}}
        for name, keywords, kind in families:
            if unread.intersection(keywords):
                yield self._view(value, f"sniff:{name}", kind, resolver)
        if self.draft not in (Draft.DRAFT4, Draft.DRAFT6) and unread.intersection(
            CONDITIONAL_KEYWORDS
        ):
            yield self._view(value, "sniff:if", Kind.CONDITIONAL, resolver)

    def _typed(
        self, value: dict[str, Any], declared: Any, resolver: Resolver[JsonValue], unread: set[str]
    ) -> Node:
        """The part ``"type": declared`` makes; marks the keywords that type reads as read."""
        kinds = {
            "string": Kind.STRING,
            "integer": Kind.NUMBER,
            "number": Kind.NUMBER,
            "boolean": Kind.BOOLEAN,
            "null": Kind.NULL,
            "object": Kind.OBJECT,
            "array": Kind.ARRAY,
        }
        if not isinstance(declared, str) or declared not in kinds:
            raise InvalidSchemaError(f"unknown type: [{declared}]")
        if declared == "object":
            unread.difference_update(object_keywords(self.draft))
        elif declared == "array":
            unread.difference_update(array_keywords(self.draft))
        else:
            unread.difference_update(_TYPE_KEYWORDS[declared])
        return self._view(
            value,
            f"type:{declared}",
            kinds[declared],
            resolver,
            requires_integer=declared == "integer",
        )
