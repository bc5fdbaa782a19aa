"""Avro schemas: validation, canonical identity, normalisation and schema resolution.

Theory of operation
-------------------
``parse_avro`` reads the JSON, then walks it once with ``_Builder``. The walk resolves
every name against the namespace rules of the Avro specification (a dotted name is full,
otherwise the ``namespace`` attribute, otherwise the enclosing named type's namespace),
rejects what Avro implementations reject (unknown types, bad names, redefined names,
duplicate fields, enum symbols or union branches, nested unions, defaults that do not fit
their type) and produces the *canonical tree*: plain JSON values where

* every named type is written once, where it is first defined, with its full name and
  without ``namespace``; later uses are the full name as a string;
* keys come in one fixed order (``name``, ``type``, then the type's body, then ``doc``,
  ``aliases``, ``default``, logical-type attributes, then other properties sorted);
* a primitive with no attributes collapses to its name (``{"type":"int"}`` is ``"int"``).

That is Avro's Parsing Canonical Form plus what changes meaning for a registry user and
what Confluent keeps in its identity text: defaults, aliases (made full and sorted),
``order``, logical types, ``doc`` and custom properties. Whitespace, key order and how
a namespace is spelled never change the identity; a changed ``doc`` does (as in Confluent
Schema Registry, where a doc edit is a new version). The compact JSON of this tree is both
``canonical`` and the ``normalize=true`` text.

Named types from referenced schemas are built first into the same name table, so the main
schema can use them by name; they are not inlined into its canonical text. fastavro then
parses the schema as a backstop, because the serializers use fastavro and a schema it
cannot read is useless to them.

Compatibility follows the specification's schema resolution, in the shape of Avro Java's
``SchemaCompatibility`` that Confluent reports from: the same error type names, the same
locations (``/fields/2/type/1``) and Confluent's descriptions with "new"/"old" in the
reader and writer roles of the direction being checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import fastavro

from registry_service.formats.base import (
    Direction,
    Incompatibility,
    InvalidSchemaError,
    ParsedSchema,
    SchemaReference,
    SchemaType,
)
from registry_service.formats.limits import MAX_NESTING_DEPTH, check_json_document, check_text

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})
_NAMED_KINDS = frozenset({"record", "enum", "fixed"})  # as _kind reports them
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_FIELD_ORDERS = frozenset({"ascending", "descending", "ignore"})
_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)
# Which writer kinds a reader kind accepts besides its own (the specification's promotions).
_PROMOTIONS: dict[str, frozenset[str]] = {
    "long": frozenset({"int"}),
    "float": frozenset({"int", "long"}),
    "double": frozenset({"int", "long", "float"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}
_LOGICAL_KEYS = ("logicalType", "precision", "scale")
_SEPARATORS = (",", ":")
# How many nested pairwise steps one compatibility walk may take. Each step descends the
# reader, the writer or both by one type level, so two schemas within MAX_NESTING_DEPTH
# never need more; only mutually recursive types of different cycle lengths could (the
# pairs of a 31-cycle and a 32-cycle repeat after 992 steps), and they are reported as
# incompatible instead of exhausting the stack.
_MAX_CHECK_DEPTH = 2 * MAX_NESTING_DEPTH

Json = Any  # a JSON value; the canonical tree is made of these


def _dumps(value: Json) -> str:
    return json.dumps(value, separators=_SEPARATORS, ensure_ascii=False)


class AvroSchema(ParsedSchema):
    """A validated Avro schema with its canonical tree and the named types it can see."""

    __slots__ = ("_canonical", "_names", "_references", "_root", "_text")

    def __init__(
        self,
        root: Json,
        names: Mapping[str, dict[str, Json]],
        text: str,
        references: tuple[SchemaReference, ...],
        canonical: str | None = None,
    ) -> None:
        self._root = root
        self._names = names
        self._text = text
        self._references = references
        self._canonical = _dumps(root) if canonical is None else canonical

    @property
    def schema_type(self) -> SchemaType:
        return SchemaType.AVRO

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
        root = self._root
        if isinstance(root, dict) and "name" in root:
            return str(root["name"])
        if isinstance(root, str) and root not in PRIMITIVES:
            return root
        return None

    @property
    def root(self) -> Json:
        """The canonical tree (read-only by convention)."""
        return self._root

    def normalized(self) -> AvroSchema:
        return AvroSchema(self._root, self._names, self._canonical, self._references)

    def render(self, fmt: str | None = None) -> str:
        # Avro has no alternative renderings Confluent clients ask for; every format
        # answers the stored text.
        return self._text

    def compatibility_errors(
        self, previous: ParsedSchema, direction: Direction
    ) -> list[Incompatibility]:
        if not isinstance(previous, AvroSchema):
            return [
                Incompatibility(
                    "TYPE_MISMATCH", "/", "Incompatible because of different schema type"
                )
            ]
        if direction is Direction.BACKWARD:
            checker = _Checker(self, previous, reader_label="new", writer_label="old")
        else:
            checker = _Checker(previous, self, reader_label="old", writer_label="new")
        return checker.run()


def parse_avro(
    text: str,
    references: Sequence[SchemaReference] = (),
    resolved_references: Mapping[str, str] | None = None,
) -> AvroSchema:
    """Parse and validate ``text``; referenced schemas' named types are usable by name.

    ``resolved_references`` maps reference names to schema texts, dependencies first (a
    referenced schema may itself use the named types of those before it). Raises
    ``InvalidSchemaError`` naming what is wrong and where.
    """
    resolved = dict(resolved_references or {})
    for ref in references:
        if ref.name not in resolved:
            raise InvalidSchemaError(
                f"Invalid schema: reference '{ref.name}' (subject '{ref.subject}', "
                f"version {ref.version}) could not be resolved"
            )
    names: dict[str, dict[str, Json]] = {}
    heights: dict[str, int] = {}
    named_for_fastavro: dict[str, Any] = {}
    for ref_name, ref_text in resolved.items():
        what = f"referenced schema {ref_name!a}"
        ref_json = _load_json(ref_text, what)
        _Builder(names, heights).build(ref_json, None, "/")
        _fastavro_check(ref_json, named_for_fastavro, what)

    parsed = _load_json(text, "schema")
    root = _Builder(names, heights).build(parsed, None, "/")
    _fastavro_check(parsed, named_for_fastavro, "schema")
    return AvroSchema(root, names, _dumps(parsed), tuple(references))


def _load_json(text: str, what: str) -> Json:
    """Decode ``text``, then measure it (``limits``) before any recursive walk sees it.

    ``json.loads`` recurses in C and raises ``RecursionError`` near Python's limit (some
    hundreds of levels below it, depending on the caller's stack): that is the same
    "nested too deeply" as the measurement reports for the depths it can decode.
    """
    check_text(text, what)
    try:
        document = json.loads(text)
    except RecursionError:
        raise InvalidSchemaError(
            f"Invalid schema: the {what}'s JSON nests arrays and objects too deeply to decode"
        ) from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError, and integers over 4300 digits
        raise InvalidSchemaError(f"Invalid schema: {what} is not valid JSON: {exc}") from None
    check_json_document(document, what)
    return document


def _fastavro_check(schema: Json, named: dict[str, Any], what: str) -> None:
    try:
        fastavro.parse_schema(schema, named_schemas=named)
    except Exception as exc:  # fastavro raises many types; all mean "cannot use it"
        raise InvalidSchemaError(
            f"Invalid schema: fastavro cannot parse the {what}: {type(exc).__name__}: {exc}"
        ) from None


# --------------------------------------------------------------------------------------
# Validation and canonical tree


class _Builder:
    """One walk over a schema's JSON: validate it and build its canonical tree.

    ``names`` is shared and filled as named types are defined, so recursive types and
    later uses resolve; a record is entered before its fields are walked.

    The walk also measures type nesting (``limits.MAX_NESTING_DEPTH``): ``depth`` counts
    the records, arrays, maps and unions around the node being built, and a use of a
    named type by name reaches as deep as its definition does (``heights``, shared with
    the builders of referenced schemas, which run first). The compatibility walk and
    ``_default_fits`` follow names into definitions, so this is the depth they see. A
    use of a record still being defined (a recursive type) adds nothing: those walks
    stop at a type they are already inside.
    """

    __slots__ = ("depth", "heights", "names", "reach")

    def __init__(self, names: dict[str, dict[str, Json]], heights: dict[str, int]) -> None:
        self.names = names
        self.heights = heights  # full name -> type levels its definition spans
        self.depth = 0
        self.reach = 0  # deepest level reached inside the innermost record being built

    def build(self, schema: Json, namespace: str | None, path: str) -> Json:
        if isinstance(schema, str):
            return self._reference(schema, namespace, path)
        if isinstance(schema, list):
            self._enter(path)
            union = self._union(schema, namespace, path)
            self.depth -= 1
            return union
        if isinstance(schema, dict):
            return self._object(schema, namespace, path)
        raise InvalidSchemaError(
            f"Invalid schema: at {path} expected a type name, object or array, "
            f"found {_dumps(schema)}"
        )

    def _enter(self, path: str) -> None:
        """Step into a record, array, map or union; refuse one level too many."""
        self.depth += 1
        if self.depth > MAX_NESTING_DEPTH:
            raise InvalidSchemaError(
                f"Invalid schema: types nest more than {MAX_NESTING_DEPTH} levels deep "
                f"(records, arrays, maps and unions, named types counted where used) at {path}"
            )
        if self.depth > self.reach:
            self.reach = self.depth

    def _reference(self, name: str, namespace: str | None, path: str) -> str:
        if name in PRIMITIVES:
            return name
        candidates = [f"{namespace}.{name}"] if namespace and "." not in name else []
        candidates.append(name)
        for candidate in candidates:
            if candidate in self.names:
                height = self.heights.get(candidate, 0)
                if height:
                    saved = self.depth
                    self.depth += height - 1
                    self._enter(path)  # the deepest level of the definition used here
                    self.depth = saved
                return candidate
        raise InvalidSchemaError(
            f"Invalid schema: unknown type '{name}' at {path} (not a primitive type, not "
            "defined earlier in the schema and not provided by a reference)"
        )

    def _union(self, branches: list[Json], namespace: str | None, path: str) -> list[Json]:
        out: list[Json] = []
        seen: set[str] = set()
        for index, branch in enumerate(branches):
            branch_path = _join(path, str(index))
            if isinstance(branch, list):
                raise InvalidSchemaError(
                    f"Invalid schema: union at {path} contains a union at {branch_path}; "
                    "unions may not immediately contain other unions"
                )
            built = self.build(branch, namespace, branch_path)
            key = _union_key(built, self.names)
            if key in seen:
                raise InvalidSchemaError(f"Invalid schema: union at {path} contains '{key}' twice")
            seen.add(key)
            out.append(built)
        return out

    def _object(self, schema: dict[str, Json], namespace: str | None, path: str) -> Json:
        if "type" not in schema:
            raise InvalidSchemaError(f"Invalid schema: object at {path} has no 'type'")
        kind = schema["type"]
        if not isinstance(kind, str):
            raise InvalidSchemaError(
                f"Invalid schema: 'type' at {path} must be a string, found {_dumps(kind)}"
            )
        if kind in PRIMITIVES:
            extras = _extras(schema, {"type"})
            if not extras:
                return kind
            return {"type": kind, **extras}
        if kind in ("record", "error"):
            return self._record(schema, kind, namespace, path)
        if kind == "enum":
            return self._enum(schema, namespace, path)
        if kind == "fixed":
            return self._fixed(schema, namespace, path)
        if kind == "array":
            if "items" not in schema:
                raise InvalidSchemaError(f"Invalid schema: array at {path} has no 'items'")
            self._enter(path)
            items = self.build(schema["items"], namespace, _join(path, "items"))
            self.depth -= 1
            return {"type": "array", "items": items, **_extras(schema, {"type", "items"})}
        if kind == "map":
            if "values" not in schema:
                raise InvalidSchemaError(f"Invalid schema: map at {path} has no 'values'")
            self._enter(path)
            values = self.build(schema["values"], namespace, _join(path, "values"))
            self.depth -= 1
            return {"type": "map", "values": values, **_extras(schema, {"type", "values"})}
        # A bare reference written as {"type": "com.example.Name"}.
        return self._reference(kind, namespace, path)

    def _define(
        self, schema: dict[str, Json], kind: str, namespace: str | None, path: str
    ) -> tuple[str, str | None, dict[str, Json]]:
        """Name a new named type and enter it in the table before its body is walked."""
        raw_name = schema.get("name")
        if not isinstance(raw_name, str) or not raw_name:
            raise InvalidSchemaError(f"Invalid schema: {kind} at {path} has no 'name'")
        if "." in raw_name:
            own_namespace: str | None = raw_name.rsplit(".", 1)[0]
            simple = raw_name.rsplit(".", 1)[1]
        else:
            declared = schema.get("namespace", namespace)
            if declared is not None and not isinstance(declared, str):
                raise InvalidSchemaError(
                    f"Invalid schema: 'namespace' of {kind} '{raw_name}' at {path} must be a string"
                )
            own_namespace = declared or None
            simple = raw_name
        if simple in PRIMITIVES or not _NAME_RE.match(simple):
            raise InvalidSchemaError(
                f"Invalid schema: illegal name '{raw_name}' for {kind} at {path} (names "
                "start with a letter or '_', then letters, digits or '_')"
            )
        if own_namespace is not None:
            for part in own_namespace.split("."):
                if not _NAME_RE.match(part):
                    raise InvalidSchemaError(
                        f"Invalid schema: illegal namespace '{own_namespace}' for {kind} "
                        f"'{raw_name}' at {path}"
                    )
        full_name = f"{own_namespace}.{simple}" if own_namespace else simple
        if full_name in self.names:
            raise InvalidSchemaError(
                f"Invalid schema: '{full_name}' at {path} is already defined; a named "
                "type is defined once and then used by name"
            )
        node: dict[str, Json] = {"name": full_name, "type": kind}
        self.names[full_name] = node
        return full_name, own_namespace, node

    def _aliases(
        self, schema: dict[str, Json], namespace: str | None, what: str, qualify: bool
    ) -> list[str]:
        if "aliases" not in schema:
            return []
        raw = schema["aliases"]
        if not isinstance(raw, list) or not all(isinstance(a, str) and a for a in raw):
            raise InvalidSchemaError(f"Invalid schema: 'aliases' of {what} must be strings")
        if qualify and namespace:
            raw = [a if "." in a else f"{namespace}.{a}" for a in raw]
        return sorted(set(raw))

    def _describe(
        self,
        node: dict[str, Json],
        schema: dict[str, Json],
        namespace: str | None,
        what: str,
        known: set[str],
    ) -> None:
        """Append doc, aliases and the remaining attributes in canonical order."""
        doc = schema.get("doc")
        if doc is not None:
            if not isinstance(doc, str):
                raise InvalidSchemaError(f"Invalid schema: 'doc' of {what} must be a string")
            node["doc"] = doc
        aliases = self._aliases(schema, namespace, what, qualify=True)
        if aliases:
            node["aliases"] = aliases
        node.update(_extras(schema, known | {"name", "namespace", "doc", "aliases"}))

    def _record(
        self, schema: dict[str, Json], kind: str, namespace: str | None, path: str
    ) -> dict[str, Json]:
        full_name, own_namespace, node = self._define(schema, kind, namespace, path)
        raw_fields = schema.get("fields")
        if not isinstance(raw_fields, list):
            raise InvalidSchemaError(
                f"Invalid schema: record '{full_name}' at {path} needs a 'fields' array"
            )
        self._enter(path)
        outer_reach, self.reach = self.reach, self.depth
        fields: list[Json] = []
        seen: set[str] = set()
        for index, raw in enumerate(raw_fields):
            field_path = _join(path, "fields", str(index))
            fields.append(self._field(raw, full_name, own_namespace, field_path, seen))
        node["fields"] = fields
        self.heights[full_name] = self.reach - self.depth + 1
        self.reach = max(outer_reach, self.reach)
        self.depth -= 1
        self._describe(node, schema, own_namespace, f"record '{full_name}'", {"type", "fields"})
        return node

    def _field(
        self,
        raw: Json,
        record: str,
        namespace: str | None,
        path: str,
        seen: set[str],
    ) -> dict[str, Json]:
        if not isinstance(raw, dict):
            raise InvalidSchemaError(f"Invalid schema: field at {path} must be an object")
        name = raw.get("name")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise InvalidSchemaError(
                f"Invalid schema: field at {path} of record '{record}' has an illegal or "
                f"missing name {_dumps(name)}"
            )
        if name in seen:
            raise InvalidSchemaError(
                f"Invalid schema: record '{record}' has two fields named '{name}' "
                f"(second at {path})"
            )
        seen.add(name)
        if "type" not in raw:
            raise InvalidSchemaError(
                f"Invalid schema: field '{name}' of record '{record}' at {path} has no 'type'"
            )
        field_type = self.build(raw["type"], namespace, _join(path, "type"))
        node: dict[str, Json] = {"name": name, "type": field_type}
        order = raw.get("order", "ascending")
        if order not in _FIELD_ORDERS:
            raise InvalidSchemaError(
                f"Invalid schema: field '{name}' of record '{record}' has order "
                f"{_dumps(order)}; expected ascending, descending or ignore"
            )
        if order != "ascending":
            node["order"] = order
        doc = raw.get("doc")
        if doc is not None:
            if not isinstance(doc, str):
                raise InvalidSchemaError(
                    f"Invalid schema: 'doc' of field '{name}' in '{record}' must be a string"
                )
            node["doc"] = doc
        aliases = self._aliases(raw, None, f"field '{name}' of '{record}'", qualify=False)
        if aliases:
            node["aliases"] = aliases
        if "default" in raw:
            default = raw["default"]
            if not _default_fits(field_type, default, self.names):
                raise InvalidSchemaError(
                    f"Invalid schema: default value {_dumps(default)} of field '{name}' in "
                    f"record '{record}' does not match its type {_dumps(field_type)}"
                )
            node["default"] = default
        node.update(_extras(raw, {"name", "type", "order", "doc", "aliases", "default"}))
        return node

    def _enum(self, schema: dict[str, Json], namespace: str | None, path: str) -> Json:
        full_name, own_namespace, node = self._define(schema, "enum", namespace, path)
        symbols = schema.get("symbols")
        if not isinstance(symbols, list):
            raise InvalidSchemaError(
                f"Invalid schema: enum '{full_name}' at {path} needs a 'symbols' array"
            )
        for symbol in symbols:
            if not isinstance(symbol, str) or not _NAME_RE.match(symbol):
                raise InvalidSchemaError(
                    f"Invalid schema: enum '{full_name}' has an illegal symbol {_dumps(symbol)}"
                )
        if len(set(symbols)) != len(symbols):
            raise InvalidSchemaError(
                f"Invalid schema: enum '{full_name}' at {path} lists a symbol twice"
            )
        node["symbols"] = list(symbols)
        if "default" in schema:
            default = schema["default"]
            if default not in symbols:
                raise InvalidSchemaError(
                    f"Invalid schema: default {_dumps(default)} of enum '{full_name}' is not "
                    "one of its symbols"
                )
            node["default"] = default
        self._describe(
            node, schema, own_namespace, f"enum '{full_name}'", {"type", "symbols", "default"}
        )
        return node

    def _fixed(self, schema: dict[str, Json], namespace: str | None, path: str) -> Json:
        full_name, own_namespace, node = self._define(schema, "fixed", namespace, path)
        size = schema.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidSchemaError(
                f"Invalid schema: fixed '{full_name}' at {path} needs a non-negative integer "
                f"'size', found {_dumps(size)}"
            )
        node["size"] = size
        self._describe(node, schema, own_namespace, f"fixed '{full_name}'", {"type", "size"})
        return node


def _join(path: str, *parts: str) -> str:
    return ("" if path == "/" else path.rstrip("/")) + "/" + "/".join(parts)


def _extras(schema: dict[str, Json], known: set[str]) -> dict[str, Json]:
    """Attributes beyond the type's own: logical type first, then the rest by key.

    A decimal's ``scale`` of 0 is dropped because it is the default.
    """
    if known.issuperset(schema):
        return {}  # the common case: nothing beyond the type's own attributes
    out: dict[str, Json] = {}
    for key in _LOGICAL_KEYS:
        if key in schema and key not in known:
            out[key] = schema[key]
    if "logicalType" in out and out.get("scale") == 0 and out["logicalType"] == "decimal":
        del out["scale"]
    rest = [k for k in schema if k not in known and k not in _LOGICAL_KEYS]
    for key in sorted(rest):
        out[key] = schema[key]
    return out


def _union_key(node: Json, names: Mapping[str, dict[str, Json]]) -> str:
    """What makes two union branches "the same": unnamed kind or the type's full name."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict):
        if node["type"] in _NAMED:
            return str(node["name"])
        return str(node["type"])
    return "union"


def _resolve(node: Json, names: Mapping[str, dict[str, Json]]) -> tuple[str, Json]:
    """(kind, definition): named references are looked up; logical types are their base."""
    if isinstance(node, list):
        return "union", node
    if isinstance(node, str):
        if node in PRIMITIVES:
            return node, node
        definition = names[node]
        return _kind(definition), definition
    return _kind(node), node


def _kind(definition: dict[str, Json]) -> str:
    kind = str(definition["type"])
    return "record" if kind == "error" else kind


def _default_fits(node: Json, value: Json, names: Mapping[str, dict[str, Json]]) -> bool:
    """Whether a JSON default is a value of ``node`` (Avro 1.12: any union branch).

    Recurses once per level of the value (loops, not generator expressions, so a level
    costs one call): a default of a recursive type can nest as deep as the JSON may.
    """
    kind, definition = _resolve(node, names)
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("int", "long"):
        low, high = _INT_RANGE if kind == "int" else _LONG_RANGE
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind in ("float", "double"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind in ("bytes", "string", "fixed"):
        return isinstance(value, str)
    if kind == "enum":
        return isinstance(value, str) and value in definition["symbols"]
    if kind == "array":
        if not isinstance(value, list):
            return False
        for item in value:  # noqa: SIM110 -- a loop keeps the recursion one call a level
            if not _default_fits(definition["items"], item, names):
                return False
        return True
    if kind == "map":
        if not isinstance(value, dict):
            return False
        for item in value.values():  # noqa: SIM110
            if not _default_fits(definition["values"], item, names):
                return False
        return True
    if kind == "record":
        if not isinstance(value, dict):
            return False
        for field in definition["fields"]:
            if field["name"] in value:
                if not _default_fits(field["type"], value[field["name"]], names):
                    return False
            elif "default" not in field:
                return False
        return True
    if kind == "union":
        for branch in definition:
            if _default_fits(branch, value, names):
                return True
    return False


# --------------------------------------------------------------------------------------
# Schema resolution (compatibility)


def _plain(node: Json) -> bool:
    """A primitive name or a union of primitive names: equal means compatible."""
    if isinstance(node, str):
        return node in PRIMITIVES
    return isinstance(node, list) and all(
        isinstance(branch, str) and branch in PRIMITIVES for branch in node
    )


def _simple_name(full_name: str) -> str:
    return full_name.rsplit(".", 1)[-1]


class _Checker:
    """Can data written with ``writer`` be read with ``reader``? Collects every reason not.

    A pair of named types already being compared counts as compatible while it is in
    progress, which makes recursive types terminate; finished pairs are remembered.
    ``_depth`` counts nested steps against ``_MAX_CHECK_DEPTH``.
    """

    __slots__ = (
        "_depth",
        "_done",
        "_in_progress",
        "_reader_label",
        "_reader_names",
        "_reader_unions",
        "_writer_label",
        "_writer_names",
        "reader",
        "writer",
    )

    def __init__(
        self, reader: AvroSchema, writer: AvroSchema, reader_label: str, writer_label: str
    ) -> None:
        self.reader = reader
        self.writer = writer
        self._reader_names = reader._names
        self._writer_names = writer._names
        self._reader_label = reader_label
        self._writer_label = writer_label
        self._in_progress: set[tuple[str, str]] = set()
        self._done: dict[tuple[str, str], list[Incompatibility]] = {}
        self._reader_unions: dict[int, dict[str, list[int]]] = {}
        self._depth = 0

    def run(self) -> list[Incompatibility]:
        return self._check(self.reader.root, self.writer.root, [])

    def _error(self, kind: str, location: list[str], info: str) -> Incompatibility:
        path = "/" + "/".join(location)
        r, w = self._reader_label, self._writer_label
        if kind == "NAME_MISMATCH":
            text = f"The name of the schema has changed (path '{path}')"
        elif kind == "FIXED_SIZE_MISMATCH":
            text = (
                f"The size of FIXED type field at path '{path}' in the {r} schema does not "
                f"match with the {w} schema"
            )
        elif kind == "TYPE_MISMATCH":
            text = (
                f"The type (path '{path}') of a field in the {r} schema does not match with "
                f"the {w} schema"
            )
        elif kind == "READER_FIELD_MISSING_DEFAULT_VALUE":
            text = (
                f"The field '{info}' at path '{path}' in the {r} schema has no default value "
                f"and is missing in the {w} schema"
            )
        elif kind == "MISSING_ENUM_SYMBOLS":
            text = (
                f"The {r} schema is missing enum symbols '{info}' at path '{path}' in the "
                f"{w} schema"
            )
        elif kind == "NESTING_TOO_DEEP":
            text = (
                f"The {r} and {w} schemas nest too deeply at path '{path}' to be compared "
                f"(more than {_MAX_CHECK_DEPTH} levels)"
            )
        else:  # MISSING_UNION_BRANCH
            text = (
                f"The {r} schema is missing a type inside a union field at path '{path}' in "
                f"the {w} schema"
            )
        return Incompatibility(kind, path, text, info)

    def _check(self, reader: Json, writer: Json, location: list[str]) -> list[Incompatibility]:
        if reader == writer and _plain(reader):
            # The common case of an unchanged primitive or union of primitives; skips the
            # trial-and-error over union branches (this keeps transitive checks cheap).
            return []
        if self._depth >= _MAX_CHECK_DEPTH:
            return [self._error("NESTING_TOO_DEEP", location, f"depth: {self._depth}")]
        self._depth += 1
        try:
            return self._check_types(reader, writer, location)
        finally:
            self._depth -= 1

    def _check_types(
        self, reader: Json, writer: Json, location: list[str]
    ) -> list[Incompatibility]:
        r_kind, r_def = _resolve(reader, self._reader_names)
        w_kind, w_def = _resolve(writer, self._writer_names)

        if w_kind == "union":
            # Every branch the writer may have chosen must be readable. When the reader
            # is a union too, the branch index joins the location; when it is not, Avro
            # Java (and so Confluent) restarts the location at the root for each branch.
            # Reported paths follow that so they match what Confluent users see.
            errors: list[Incompatibility] = []
            both_unions = r_kind == "union"
            for index, branch in enumerate(w_def):
                branch_location = [*location, str(index)] if both_unions else []
                errors.extend(self._check(reader, branch, branch_location))
            return errors

        if r_kind == w_kind:
            if r_kind in PRIMITIVES:
                return []
            if r_kind == "array":
                return self._check(r_def["items"], w_def["items"], [*location, "items"])
            if r_kind == "map":
                return self._check(r_def["values"], w_def["values"], [*location, "values"])
            return self._named(r_kind, r_def, w_def, location)

        if r_kind == "union":
            for branch in self._candidates(r_def, w_kind, w_def):
                if not self._check(branch, writer, location):
                    return []
            return [
                self._error(
                    "MISSING_UNION_BRANCH",
                    location,
                    f"reader union lacking writer type: {w_kind.upper()}",
                )
            ]
        if w_kind in _PROMOTIONS.get(r_kind, frozenset()):
            return []
        return [
            self._error(
                "TYPE_MISMATCH",
                location,
                f"reader type: {r_kind.upper()} not compatible with writer type: {w_kind.upper()}",
            )
        ]

    def _candidates(self, union: list[Json], w_kind: str, w_def: Json) -> list[Json]:
        """The branches of a reader union that can possibly read a (non-union) writer type.

        Every other branch fails for certain: another kind the writer's does not promote
        to (TYPE_MISMATCH), or a named type whose name neither matches nor aliases the
        writer's (NAME_MISMATCH). Skipping them changes no answer, and keeps a union of
        thousands of branches linear instead of trying every pair (3,000 fixed types
        took 90 s); the branches are indexed once per union, kept in reader order.
        """
        index = self._reader_unions.get(id(union))
        if index is None:
            index = {}
            for position, branch in enumerate(union):
                kind, definition = _resolve(branch, self._reader_names)
                keys = [kind]
                if kind in _NAMED_KINDS:
                    keys = [f"{kind}:{_simple_name(str(definition['name']))}"]
                    keys += [f"{kind}@{alias}" for alias in definition.get("aliases", ())]
                for key in keys:
                    index.setdefault(key, []).append(position)
            self._reader_unions[id(union)] = index
        if w_kind in _NAMED_KINDS:
            name = str(w_def["name"])
            keys = [f"{w_kind}:{_simple_name(name)}", f"{w_kind}@{name}"]
        else:
            keys = [w_kind, *(k for k, sources in _PROMOTIONS.items() if w_kind in sources)]
        positions = sorted({p for key in keys for p in index.get(key, ())})
        return [union[p] for p in positions]

    def _named(
        self,
        kind: str,
        reader: dict[str, Json],
        writer: dict[str, Json],
        location: list[str],
    ) -> list[Incompatibility]:
        key = (str(reader["name"]), str(writer["name"]))
        if key in self._in_progress:
            return []
        if key in self._done:
            return self._done[key]
        self._in_progress.add(key)
        try:
            errors = self._names_match(reader, writer, location)
            if kind == "fixed":
                if reader["size"] != writer["size"]:
                    errors.append(
                        self._error(
                            "FIXED_SIZE_MISMATCH",
                            [*location, "size"],
                            f"expected: {writer['size']}, found: {reader['size']}",
                        )
                    )
            elif kind == "enum":
                errors.extend(self._enum_symbols(reader, writer, location))
            else:
                errors.extend(self._record_fields(reader, writer, location))
        finally:
            self._in_progress.discard(key)
        self._done[key] = errors
        return errors

    def _names_match(
        self, reader: dict[str, Json], writer: dict[str, Json], location: list[str]
    ) -> list[Incompatibility]:
        # As Avro Java does: the unqualified names agree, or the reader lists the
        # writer's full name among its aliases. A namespace change alone is compatible.
        writer_name = str(writer["name"])
        if _simple_name(str(reader["name"])) == _simple_name(writer_name):
            return []
        if writer_name in reader.get("aliases", ()):
            return []
        return [self._error("NAME_MISMATCH", [*location, "name"], f"expected: {writer_name}")]

    def _enum_symbols(
        self, reader: dict[str, Json], writer: dict[str, Json], location: list[str]
    ) -> list[Incompatibility]:
        missing = sorted(set(writer["symbols"]) - set(reader["symbols"]))
        if not missing or reader.get("default") in reader["symbols"]:
            return []
        listed = "[" + ", ".join(missing) + "]"
        return [self._error("MISSING_ENUM_SYMBOLS", [*location, "symbols"], listed)]

    def _record_fields(
        self, reader: dict[str, Json], writer: dict[str, Json], location: list[str]
    ) -> list[Incompatibility]:
        writer_fields = {f["name"]: f for f in writer["fields"]}
        errors: list[Incompatibility] = []
        for index, field in enumerate(reader["fields"]):
            field_location = [*location, "fields", str(index)]
            match = writer_fields.get(field["name"])
            if match is None:
                for alias in field.get("aliases", ()):
                    match = writer_fields.get(alias)
                    if match is not None:
                        break
            if match is None:
                if "default" not in field:
                    errors.append(
                        self._error(
                            "READER_FIELD_MISSING_DEFAULT_VALUE", field_location, field["name"]
                        )
                    )
                continue
            errors.extend(self._check(field["type"], match["type"], [*field_location, "type"]))
        return errors
