"""JSON Schema files (``.json``) on disk -> what the registry is sent, checked locally first.

Theory of operation
-------------------
**Which files.** A ``.json`` file is a JSON Schema when its top-level object has a
``$schema`` key (:func:`regcast.config.declares_json_schema`), or when the user says so
(``--type json`` or ``type = "json"`` in ``regcast.toml``); any other ``.json`` is
refused with a message saying which of the two to do, because ``.json`` files are far
more often data than schemas. ``.avsc`` files are Avro even though they are JSON too.

**Loading.** The file text (stripped) is what gets registered, byte for byte the text
:class:`serdes.JSONSerializer` sends for the same file, so the CLI and a producer get
the same id. It is parsed with ``json.loads`` (a syntax error has a line and column),
then checked against its draft's meta-schema (``$schema``; Draft 7 without it, as
Confluent) before anything is sent: a file the registry would reject fails here with
the line of the offending keyword.

**Where.** :class:`~regcast.schema_files.LineLocator` maps the registry's JSON paths
(``#/properties/total``) back to lines: every object key of the document is paired, in
document order, with its ``"key":`` occurrence in the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError as MetaSchemaError
from jsonschema.validators import validator_for

from regcast.config import SchemaType, declares_json_schema
from regcast.schema_files import LineLocator, SchemaFileError, SchemaProblem

__all__ = ["JsonSchemaFile", "declares_json_schema", "load_json_schema"]

_KEY_IN_TEXT = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:')


@dataclass(frozen=True)
class JsonSchemaFile:
    """A parsed JSON Schema file, checked against its draft's meta-schema."""

    path: Path
    schema_str: str
    document: Any
    draft: str  # the validator's name without "Validator", e.g. Draft7
    locator: LineLocator

    schema_type = SchemaType.JSON

    @property
    def dependencies(self) -> tuple[str, ...]:
        return ()

    @property
    def title(self) -> str | None:
        title = self.document.get("title") if isinstance(self.document, dict) else None
        return title if isinstance(title, str) else None


def _keys(node: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """Every object key's JSON path, in document order (as ``json.loads`` keeps it)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _keys(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _keys(value, (*path, str(index)))


def _locator(text: str, document: Any) -> LineLocator:
    locator = LineLocator()
    in_text = [
        (json.loads(f'"{m.group(1)}"'), text.count("\n", 0, m.start()) + 1)
        for m in _KEY_IN_TEXT.finditer(text)
    ]
    in_tree = list(_keys(document, ()))
    if len(in_text) == len(in_tree) and all(
        t[0] == p[-1] for t, p in zip(in_text, in_tree, strict=True)
    ):
        for key_path, (name, line) in zip(in_tree, in_text, strict=True):
            locator.paths.setdefault("/".join(key_path), line)
            if len(key_path) >= 2 and key_path[-2] in ("properties", "$defs", "definitions"):
                locator.names.setdefault(name, line)
    return locator


def load_json_schema(path: Path) -> JsonSchemaFile:
    """Read, parse and meta-schema-check a JSON Schema file; :class:`SchemaFileError` if not."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SchemaFileError(path, [SchemaProblem(f"cannot read file: {exc.strerror}")]) from exc
    except UnicodeDecodeError as exc:
        raise SchemaFileError(path, [SchemaProblem(f"not UTF-8 text: {exc}")]) from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaFileError(
            path, [SchemaProblem(f"not valid JSON: {exc.msg}", exc.lineno, exc.colno)]
        ) from exc
    if not isinstance(document, dict | bool):
        raise SchemaFileError(
            path,
            [
                SchemaProblem(
                    f"a JSON Schema is an object or a boolean, not {type(document).__name__}"
                )
            ],
        )
    locator = _locator(text, document)
    try:
        cls = validator_for(document, default=Draft7Validator)
    except Exception as exc:  # jsonschema raises its own errors for an unknown $schema
        raise SchemaFileError(path, [SchemaProblem(f"unknown $schema: {exc}")]) from exc
    draft = cls.__name__.removesuffix("Validator")
    try:
        cls.check_schema(document)
    except MetaSchemaError as exc:
        key_path = [str(p) for p in exc.absolute_path]
        where = "/" + "/".join(key_path)
        line = None
        while key_path and line is None:
            line = locator.paths.get("/".join(key_path))
            key_path.pop()
        raise SchemaFileError(
            path,
            [SchemaProblem(f"not a valid {draft} JSON Schema at {where}: {exc.message}", line)],
        ) from exc
    return JsonSchemaFile(path, text, document, draft, locator)
