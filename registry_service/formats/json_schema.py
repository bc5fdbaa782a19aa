"""JSON Schema (``schemaType: "JSON"``): validation, identity text, normalisation, ``$ref``.

Theory of operation
-------------------
``parse_json_schema`` decodes the text, measures it (``limits``), and checks the root is
an object or a boolean, as Confluent's ``JsonSchema`` does. The draft comes from
``$schema`` by Confluent's table of meta-schema URLs (``http`` and ``https``, with or
without a trailing ``#``; ``http://json-schema.org/schema`` is draft 4); without
``$schema``, or with one no draft claims, the schema is draft 7, Confluent's default. The
schema is then validated against that draft's meta-schema with ``jsonschema``
(``check_schema``, format checks included, so a ``pattern`` that is no regular expression
is refused).

References: a reference's ``name`` is the URI the schema's ``$ref`` uses for the
referenced schema (``{"$ref": "address.json#/definitions/Street"}`` with a reference named
``address.json``). Each referenced text becomes a ``referencing`` resource under its name,
under its name resolved against the root's ``$id`` (Confluent resolves the name against
the root's id the same way), and under its own ``$id`` when it has one; references of
references are among ``resolved_references`` too, so they resolve the same way. The root
is a resource under its ``$id`` (or ``""``). The draft 4 to 2020-12 meta-schemas are in
the registry as well (``http`` and ``https`` spellings), so a ``$ref`` to a meta-schema
resolves. Nothing is ever fetched over the network.

Every ``$ref`` of the root and of each referenced schema is then looked up, walking
subschemas by the keywords of each schema's draft and following ``$id`` changes of base
URI as a validator would (data such as ``enum``, ``const`` or ``default`` is not walked).
One that does not resolve makes the schema invalid, naming the ``$ref``, where it is and
why. The same walk measures subschema nesting against ``limits.MAX_NESTING_DEPTH``:
``jsonschema``'s meta-schema check recurses a dozen Python calls per level and fails near
80 levels for drafts 2019-09 and 2020-12.

Identity: ``canonical`` is the schema's compact JSON with its keys in the order written,
which is what Confluent's identity text is (Jackson's compact rendering of the parsed
tree, ``JsonSchema.canonicalString``). Whitespace never changes the id; key order does,
exactly as in Confluent, so the same text gets the same id in both registries (two texts
differing only in key order are two schemas in Confluent too, unless registered with
``normalize=true``). ``normalized()`` is Confluent's ``JsonSchema.normalize``: the same
JSON with the keys of every object sorted (arrays keep their order), as text and identity.
Numbers are written as Python writes them (``1e+22`` where Jackson writes ``1.0E22``);
only unusual float spellings differ.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urljoin

import jsonschema_specifications
from jsonschema import (
    Draft4Validator,
    Draft6Validator,
    Draft7Validator,
    Draft201909Validator,
    Draft202012Validator,
)
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from referencing import Registry, Resource, Specification
from referencing import jsonschema as referencing_jsonschema
from referencing.exceptions import NoSuchAnchor, PointerToNowhere, Unresolvable

from registry_service.formats.base import (
    Direction,
    Incompatibility,
    InvalidSchemaError,
    ParsedSchema,
    SchemaReference,
    SchemaType,
)
from registry_service.formats.json_document import JsonDocument, JsonValue
from registry_service.formats.limits import MAX_NESTING_DEPTH, check_json_document, check_text

__all__ = ["JsonSchema", "parse_json_schema"]

_SEPARATORS = (",", ":")


class _Draft:
    """One JSON Schema draft: its validator, ``referencing`` specification and keywords."""

    __slots__ = ("label", "maps", "sequences", "single", "specification", "validator")

    def __init__(
        self,
        label: str,
        validator: type[Validator],
        specification: Specification[JsonValue],
        single: frozenset[str],
        sequences: frozenset[str],
        maps: frozenset[str],
    ) -> None:
        self.label = label
        self.validator = validator
        self.specification = specification
        self.single = single  # keyword -> one subschema
        self.sequences = sequences  # keyword -> a list of subschemas
        self.maps = maps  # keyword -> an object whose values are subschemas


_D4_SINGLE = frozenset({"additionalItems", "additionalProperties", "items", "not"})
_D4_SEQUENCES = frozenset({"allOf", "anyOf", "oneOf", "items"})
_D4_MAPS = frozenset({"definitions", "dependencies", "patternProperties", "properties"})
_D6_SINGLE = _D4_SINGLE | {"contains", "propertyNames"}
_D7_SINGLE = _D6_SINGLE | {"if", "then", "else"}
_D2019_SINGLE = _D7_SINGLE | {"contentSchema", "unevaluatedItems", "unevaluatedProperties"}
_D2019_MAPS = _D4_MAPS | {"$defs", "dependentSchemas"}
_D2020_SINGLE = _D2019_SINGLE - {"additionalItems"}
_D2020_SEQUENCES = (_D4_SEQUENCES - {"items"}) | {"prefixItems"}

_DRAFT4 = _Draft(
    "draft 4",
    Draft4Validator,
    referencing_jsonschema.DRAFT4,
    _D4_SINGLE,
    _D4_SEQUENCES,
    _D4_MAPS,
)
_DRAFT6 = _Draft(
    "draft 6",
    Draft6Validator,
    referencing_jsonschema.DRAFT6,
    _D6_SINGLE,
    _D4_SEQUENCES,
    _D4_MAPS,
)
_DRAFT7 = _Draft(
    "draft 7",
    Draft7Validator,
    referencing_jsonschema.DRAFT7,
    _D7_SINGLE,
    _D4_SEQUENCES,
    _D4_MAPS,
)
_DRAFT2019 = _Draft(
    "draft 2019-09",
    Draft201909Validator,
    referencing_jsonschema.DRAFT201909,
    _D2019_SINGLE,
    _D4_SEQUENCES,
    _D2019_MAPS,
)
_DRAFT2020 = _Draft(
    "draft 2020-12",
    Draft202012Validator,
    referencing_jsonschema.DRAFT202012,
    _D2020_SINGLE,
    _D2020_SEQUENCES,
    _D2019_MAPS,
)
#: Confluent's default when ``$schema`` is absent or names no known draft.
DEFAULT_DRAFT = _DRAFT7

# Confluent's SpecificationVersion URLs (a trailing "#" is dropped before the lookup).
_DRAFTS_BY_URL: dict[str, _Draft] = {
    "http://json-schema.org/draft-04/schema": _DRAFT4,
    "https://json-schema.org/draft-04/schema": _DRAFT4,
    "http://json-schema.org/schema": _DRAFT4,
    "https://json-schema.org/schema": _DRAFT4,
    "http://json-schema.org/draft-06/schema": _DRAFT6,
    "https://json-schema.org/draft-06/schema": _DRAFT6,
    "http://json-schema.org/draft-07/schema": _DRAFT7,
    "https://json-schema.org/draft-07/schema": _DRAFT7,
    "http://json-schema.org/draft/2019-09/schema": _DRAFT2019,
    "https://json-schema.org/draft/2019-09/schema": _DRAFT2019,
    "http://json-schema.org/draft/2020-12/schema": _DRAFT2020,
    "https://json-schema.org/draft/2020-12/schema": _DRAFT2020,
}


def _meta_schema_registry() -> Registry[JsonValue]:
    """The bundled meta-schemas under every spelling Confluent resolves locally."""
    registry: Registry[JsonValue] = jsonschema_specifications.REGISTRY
    aliases: list[tuple[str, Resource[JsonValue]]] = []
    for url in _DRAFTS_BY_URL:
        if url in registry:
            continue
        scheme, _, rest = url.partition("://")
        other = ("http" if scheme == "https" else "https") + "://" + rest
        if other in registry:
            aliases.append((url, registry[other]))
    return registry.with_resources(aliases).crawl()


_META_SCHEMAS = _meta_schema_registry()


def draft_of(contents: JsonValue) -> _Draft:
    """The draft ``contents`` declares with ``$schema``, else Confluent's default."""
    if isinstance(contents, dict):
        declared = contents.get("$schema")
        if isinstance(declared, str):
            return _DRAFTS_BY_URL.get(declared.removesuffix("#"), DEFAULT_DRAFT)
    return DEFAULT_DRAFT


def _dumps(value: JsonValue) -> str:
    return json.dumps(value, separators=_SEPARATORS, ensure_ascii=False)


class JsonSchema(ParsedSchema):
    """A validated JSON Schema, its identity text and the document its ``$ref`` resolve in."""

    __slots__ = ("_canonical", "_document", "_draft", "_references", "_text")

    def __init__(
        self,
        document: JsonDocument,
        draft: _Draft,
        text: str,
        references: tuple[SchemaReference, ...],
    ) -> None:
        self._document = document
        self._draft = draft
        self._text = text
        self._canonical = text
        self._references = references

    @property
    def schema_type(self) -> SchemaType:
        return SchemaType.JSON

    @property
    def canonical(self) -> str:
        return self._canonical

    @property
    def text(self) -> str:
        return self._text

    @property
    def references(self) -> tuple[SchemaReference, ...]:
        return self._references

    @property
    def name(self) -> str | None:
        """The root's ``title``, as Confluent's ``JsonSchema.name()``; None without one."""
        root = self._document.contents
        if isinstance(root, dict):
            title = root.get("title")
            if isinstance(title, str):
                return title
        return None

    @property
    def document(self) -> JsonDocument:
        """The root and a resolver from it: what the compatibility rules walk."""
        return self._document

    @property
    def draft(self) -> str:
        """The draft the schema was validated as (``"draft 7"``, ``"draft 2020-12"``...)."""
        return self._draft.label

    def normalized(self) -> JsonSchema:
        """Confluent's normalize: every object's keys sorted, as text and as identity."""
        text = json.dumps(
            self._document.contents, separators=_SEPARATORS, ensure_ascii=False, sort_keys=True
        )
        return JsonSchema(self._document, self._draft, text, self._references)

    def render(self, fmt: str | None = None) -> str:
        # Confluent answers every format with the canonical string; so do we.
        return self._text

    def compatibility_errors(
        self, previous: ParsedSchema, direction: Direction
    ) -> list[Incompatibility]:
        if not isinstance(previous, JsonSchema):
            return [
                Incompatibility(
                    "TYPE_MISMATCH", "#/", "Incompatible because of different schema type"
                )
            ]
        # Imported here: the rules live in their own package (json_schema_compat/).
        from registry_service.formats.json_schema_compat import incompatibilities

        # BACKWARD: the new schema reads what the previous one wrote; FORWARD the reverse.
        errors: list[Incompatibility]
        if direction is Direction.BACKWARD:
            errors = incompatibilities(previous.document, self.document)
        else:
            errors = incompatibilities(self.document, previous.document)
        return errors


def parse_json_schema(
    text: str,
    references: Sequence[SchemaReference] = (),
    resolved_references: Mapping[str, str] | None = None,
) -> JsonSchema:
    """Parse and validate ``text``; ``$ref`` may name referenced schemas by reference name.

    ``resolved_references`` maps reference names (references of references included) to
    their texts. Raises ``InvalidSchemaError`` naming what is wrong and where.
    """
    resolved = dict(resolved_references or {})
    for ref in references:
        if ref.name not in resolved:
            raise InvalidSchemaError(
                f"Invalid schema: reference '{ref.name}' (subject '{ref.subject}', "
                f"version {ref.version}) could not be resolved"
            )
    root = _load_schema(text, "schema")
    root_draft = draft_of(root)
    _check_meta_schema(root, root_draft, "schema")
    root_resource = root_draft.specification.create_resource(root)
    root_id = root_resource.id() or ""

    loaded: list[tuple[str, JsonValue, _Draft, Resource[JsonValue]]] = []
    entries: list[tuple[str, Resource[JsonValue]]] = []
    for ref_name, ref_text in resolved.items():
        what = f"referenced schema {ref_name!a}"
        contents = _load_schema(ref_text, what)
        draft = draft_of(contents)
        _check_meta_schema(contents, draft, what)
        resource = draft.specification.create_resource(contents)
        uris = {ref_name}
        if root_id:
            uris.add(urljoin(root_id, ref_name))
        own_id = resource.id()
        if own_id:
            uris.add(urljoin(ref_name, own_id))
        entries.extend((uri, resource) for uri in sorted(uris))
        loaded.append((ref_name, contents, draft, resource))

    registry = _META_SCHEMAS.with_resources(entries)
    resolver = registry.resolver_with_root(root_resource)
    names = sorted(resolved)
    _check_refs(root, root_draft, resolver, "schema", names)
    for ref_name, contents, draft, resource in loaded:
        ref_resolver = registry.resolver(base_uri=ref_name).in_subresource(resource)
        _check_refs(contents, draft, ref_resolver, f"referenced schema {ref_name!a}", names)
    return JsonSchema(JsonDocument(root, resolver), root_draft, _dumps(root), tuple(references))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(spelling: str) -> float:
    value = float(spelling)
    if not math.isfinite(value):
        raise ValueError(f"number {spelling} is out of range")
    return value


def _load_schema(text: str, what: str) -> JsonValue:
    """Decode ``text`` (strict JSON: no NaN/Infinity), measure it, require object or bool."""
    check_text(text, what)
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise InvalidSchemaError(
            f"Invalid schema: the {what}'s JSON nests arrays and objects too deeply to decode"
        ) from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError, and integers over 4300 digits
        raise InvalidSchemaError(f"Invalid schema: {what} is not valid JSON: {exc}") from None
    check_json_document(document, what)
    if not isinstance(document, dict | bool):
        found = "array" if isinstance(document, list) else type(document).__name__
        if document is None:
            found = "null"
        elif isinstance(document, str):
            found = "string"
        elif isinstance(document, int | float):
            found = "number"
        raise InvalidSchemaError(
            f"Invalid JSON schema: the {what} must be an object or a boolean at the root, "
            f"found {found}"
        )
    return document


def _check_meta_schema(contents: JsonValue, draft: _Draft, what: str) -> None:
    if isinstance(contents, bool) and draft is _DRAFT4:
        raise InvalidSchemaError(
            f"Invalid schema: the {what} is a boolean, which draft 4 does not allow"
        )
    _check_nesting(contents, draft, what)
    try:
        draft.validator.check_schema(contents)
    except SchemaError as exc:
        where = _pointer(exc.path)
        raise InvalidSchemaError(
            f"Invalid schema: the {what} is not a valid {draft.label} JSON Schema: "
            f"{exc.message} (at {where})"
        ) from None
    except RecursionError:  # the nesting limit keeps this away; never a 500 if it comes
        raise InvalidSchemaError(
            f"Invalid schema: the {what} nests subschemas too deeply to validate"
        ) from None


def _pointer(path: Sequence[object]) -> str:
    """A JSON Pointer (RFC 6901) for ``path``; ``#`` alone for the root."""
    if not path:
        return "#"
    parts = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return "#/" + "/".join(parts)


def _children(node: dict[str, JsonValue], draft: _Draft) -> list[tuple[tuple[str, ...], JsonValue]]:
    """The subschemas directly under ``node`` by ``draft``'s keywords, with their path."""
    found: list[tuple[tuple[str, ...], JsonValue]] = []
    for keyword, value in node.items():
        if keyword in draft.single and isinstance(value, dict | bool):
            found.append(((keyword,), value))
        elif keyword in draft.sequences and isinstance(value, list):
            found.extend(((keyword, str(i)), v) for i, v in enumerate(value))
        elif keyword in draft.maps and isinstance(value, dict):
            # dependencies: a list value names properties, only an object is a schema
            found.extend(((keyword, k), v) for k, v in value.items() if isinstance(v, dict | bool))
    return found


def _check_nesting(contents: JsonValue, draft: _Draft, what: str) -> None:
    """Refuse subschemas nested beyond ``MAX_NESTING_DEPTH``; an explicit stack, no recursion."""
    stack: list[tuple[JsonValue, int, tuple[str, ...]]] = [(contents, 0, ())]
    while stack:
        node, depth, path = stack.pop()
        if not isinstance(node, dict):
            continue
        if depth > MAX_NESTING_DEPTH:
            raise InvalidSchemaError(
                f"Invalid schema: the {what} nests subschemas more than {MAX_NESTING_DEPTH} "
                f"levels deep (at {_pointer(path)})"
            )
        for sub_path, child in _children(node, draft):
            stack.append((child, depth + 1, path + sub_path))


def _check_refs(
    contents: JsonValue,
    draft: _Draft,
    resolver: Any,
    what: str,
    names: Sequence[str],
) -> None:
    """Look up every ``$ref`` under ``contents``, moving the base URI at each ``$id``."""
    stack: list[tuple[JsonValue, Any, tuple[str, ...]]] = [(contents, resolver, ())]
    specification = draft.specification
    while stack:
        node, node_resolver, path = stack.pop()
        if not isinstance(node, dict):
            continue
        if path:  # the root's base URI is already the resolver's
            node_resolver = node_resolver.in_subresource(specification.create_resource(node))
        ref = node.get("$ref")
        if isinstance(ref, str):
            try:
                node_resolver.lookup(ref)
            except Unresolvable as exc:
                raise InvalidSchemaError(
                    f"Invalid schema: in the {what}, $ref {ref!a} at {_pointer(path)} cannot "
                    f"be resolved: {_unresolvable_reason(exc, names)}"
                ) from None
        # pushed last first, so the first $ref in document order is the one reported
        for sub_path, child in reversed(_children(node, draft)):
            stack.append((child, node_resolver, path + sub_path))


def _unresolvable_reason(exc: Unresolvable, names: Sequence[str]) -> str:
    if isinstance(exc, PointerToNowhere):
        return f"the document it names has nothing at {exc.ref!a}"
    if isinstance(exc, NoSuchAnchor):
        return f"the document it names has no anchor {exc.anchor!a}"
    known = ", ".join(repr(n) for n in names) if names else "none"
    return (
        "no schema is known under that URI (a referenced schema is found by its reference "
        f"name, resolved against the root's $id; references: {known})"
    )
