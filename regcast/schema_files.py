"""Schema files on disk -> what the registry is sent, plus where each name sits in the file.

Theory of operation
-------------------
**Avro (.avsc).** The file text is what gets registered, byte for byte the text
:class:`serdes.AvroSerializer` sends for the same file, so the CLI and a producer get
the same schema id. Loading parses it twice: ``json.loads`` (a syntax error has a line
and column) and ``fastavro.parse_schema`` (a semantic error, e.g. an unknown type, has
none, so the message's quoted names are looked up in the file).

**Protobuf (.proto).** Files are compiled with protoc (``grpc_tools``, a runtime
dependency) in a subprocess: its diagnostics are ``file:line:column: message``, which
is exactly what a CI annotation needs. The descriptor set (``--include_imports``) is
loaded into a private :class:`~google.protobuf.descriptor_pool.DescriptorPool`, and the
schema registered for each file is the base64 ``FileDescriptorProto`` of the pooled
file, which is what :class:`serdes.ProtobufSerializer` (and confluent-kafka's) send for
a class built from it: again one id for the CLI and the producer. Imports are
registered under their import path (Confluent's reference naming) unless
``regcast.toml`` says otherwise; ``google/protobuf/*`` imports never are.

**Where.** The registry reports incompatibilities as text with a path or a name in it
(``/fields/2``, ``#/Order/3``, ``'total'``). :class:`LineLocator` maps such text back to
a line of the file: for Avro by walking the parsed JSON in document order alongside the
``"name": ...`` occurrences in the text; for Protobuf from protoc's source info
(``--include_source_info``), which gives the span of every message, field and enum.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FileDescriptor
from google.protobuf.message import Message

from regcast.config import SchemaType

__all__ = [
    "AvroFile",
    "LineLocator",
    "ProtoCompilation",
    "ProtoFile",
    "SchemaFileError",
    "SchemaProblem",
    "compile_protos",
    "is_well_known_import",
    "load_avro",
]

_WELL_KNOWN_PREFIXES = ("google/protobuf/", "google/type/", "confluent/")


def is_well_known_import(import_name: str) -> bool:
    """Imports every registry resolves itself; never registered as references."""
    return import_name.startswith(_WELL_KNOWN_PREFIXES)


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One thing wrong with a schema file, at ``line``/``column`` (1-based) when known."""

    message: str
    line: int | None = None
    column: int | None = None

    def where(self, path: Path | str) -> str:
        if self.line is None:
            return str(path)
        if self.column is None:
            return f"{path}:{self.line}"
        return f"{path}:{self.line}:{self.column}"


class SchemaFileError(Exception):
    """A schema file cannot be read or does not parse; ``problems`` say where."""

    def __init__(self, path: Path, problems: Sequence[SchemaProblem]) -> None:
        self.path = path
        self.problems = tuple(problems)
        first = self.problems[0] if self.problems else SchemaProblem("invalid schema")
        super().__init__(f"{first.where(path)}: {first.message}")


# -- locating names in a file -----------------------------------------------------------

_PATH_TOKEN = re.compile(r"#?/[\w./\-]*")
_QUOTED_TOKEN = re.compile(r"'([^'\s]+)'|\"([^\"\s]+)\"")
_WORD_TOKEN = re.compile(r"[A-Za-z_][\w.]*")


@dataclass
class LineLocator:
    """Maps registry message text (paths, names) to a 1-based line of one file.

    ``paths`` holds normalised paths (``/fields/2``, ``Order/3``) -> line; ``names``
    holds names (short and full) -> line of their first definition.
    """

    paths: dict[str, int] = field(default_factory=dict)
    names: dict[str, int] = field(default_factory=dict)
    literals: dict[str, int] = field(default_factory=dict)  # other strings, last resort

    def locate(self, text: str) -> int | None:
        """The line the message most likely talks about, or None when nothing matches.

        Paths are tried first (precise), then quoted names, then bare words that are
        names defined in the file (longest first, so ``Order.Line`` beats ``Order``).
        """
        for token in _PATH_TOKEN.findall(text):
            line = self._locate_path(token)
            if line is not None:
                return line
        for single, double in _QUOTED_TOKEN.findall(text):
            line = self.names.get(single or double)
            if line is not None:
                return line
        words = sorted(set(_WORD_TOKEN.findall(text)), key=len, reverse=True)
        for table in (self.names, self.literals):
            for word in words:
                line = table.get(word)
                if line is not None:
                    return line
        return None

    def _locate_path(self, token: str) -> int | None:
        segments = [s for s in token.lstrip("#").split("/") if s]
        while segments:
            line = self.paths.get("/".join(segments))
            if line is not None:
                return line
            segments.pop()
        return None


# -- Avro -----------------------------------------------------------------------------

_NAME_IN_TEXT = re.compile(r'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')
_STRING_IN_TEXT = re.compile(r'"((?:[^"\\]|\\.)*)"')
# Strings too common in any .avsc to say where a problem is.
_AVRO_KEYWORDS = frozenset(
    {
        "type", "name", "namespace", "fields", "doc", "default", "symbols", "items",
        "values", "size", "aliases", "order", "logicalType", "precision", "scale",
        "record", "enum", "array", "map", "fixed", "null", "boolean", "int", "long",
        "float", "double", "bytes", "string",
    }
)  # fmt: skip


@dataclass(frozen=True)
class AvroFile:
    """A parsed ``.avsc`` file."""

    path: Path
    schema_str: str
    document: Any  # the JSON as decoded (what regcast.json_records walks)
    parsed: Any  # fastavro's parsed form
    full_name: str | None
    locator: LineLocator

    schema_type = SchemaType.AVRO

    @property
    def dependencies(self) -> tuple[str, ...]:
        return ()


def _named_nodes(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every ``"name"`` string in document order with the JSON path of its object."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "name" and isinstance(value, str):
                yield path, value
            else:
                yield from _named_nodes(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _named_nodes(value, (*path, str(index)))


def _avro_locator(text: str, document: Any) -> LineLocator:
    locator = LineLocator()
    in_text = [
        (m.group(1), text.count("\n", 0, m.start()) + 1) for m in _NAME_IN_TEXT.finditer(text)
    ]
    in_tree = list(_named_nodes(document, ()))
    aligned = len(in_text) == len(in_tree) and all(
        t[0] == n[1] for t, n in zip(in_text, in_tree, strict=True)
    )
    namespace = document.get("namespace") if isinstance(document, dict) else None
    for name, line in in_text:
        locator.names.setdefault(name, line)
        if namespace and "." not in name:
            locator.names.setdefault(f"{namespace}.{name}", line)
    if aligned:
        for (path, _), (_, line) in zip(in_tree, in_text, strict=True):
            locator.paths.setdefault("/".join(path), line)
    for match in _STRING_IN_TEXT.finditer(text):
        value = match.group(1)
        if value not in _AVRO_KEYWORDS:
            locator.literals.setdefault(value, text.count("\n", 0, match.start()) + 1)
    return locator


def load_avro(path: Path) -> AvroFile:
    """Read and parse an ``.avsc`` file; :class:`SchemaFileError` with the line if not."""
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
    locator = _avro_locator(text, document)
    try:
        parsed = fastavro.parse_schema(document, _write_hint=False)
    except Exception as exc:  # fastavro raises several unrelated types (SchemaParseException,
        # UnknownType, ValueError, TypeError, KeyError) for bad schemas.
        message = f"not a valid Avro schema: {exc}"
        raise SchemaFileError(path, [SchemaProblem(message, locator.locate(str(exc)))]) from exc
    full_name = None
    if isinstance(parsed, dict) and parsed.get("type") in ("record", "enum", "fixed"):
        full_name = str(parsed.get("name"))
    return AvroFile(path, text, document, parsed, full_name, locator)


# -- Protobuf -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtoFile:
    """One compiled ``.proto`` file, its import name and its pooled descriptor."""

    path: Path | None
    import_name: str
    descriptor: FileDescriptor
    locator: LineLocator
    pool: descriptor_pool.DescriptorPool = field(repr=False)

    schema_type = SchemaType.PROTOBUF

    @property
    def schema_str(self) -> str:
        """What is registered: base64 of the file's ``FileDescriptorProto``."""
        return base64.standard_b64encode(self.descriptor.serialized_pb).decode("ascii")

    @property
    def dependencies(self) -> tuple[str, ...]:
        """Import names that become registry references (well-known ones excluded)."""
        return tuple(
            d.name for d in self.descriptor.dependencies if not is_well_known_import(d.name)
        )

    @property
    def message_names(self) -> list[str]:
        """Full names of the file's top-level messages, in file order."""
        return [m.full_name for m in self.descriptor.message_types_by_name.values()]

    def message_class(self, full_name: str | None = None) -> type[Message]:
        """A message class built from the pooled descriptor (first message by default)."""
        names = self.message_names
        if not names:
            raise SchemaFileError(
                self.path or Path(self.import_name), [SchemaProblem("the file has no message")]
            )
        wanted = full_name or names[0]
        try:
            descriptor: Descriptor = self.pool.FindMessageTypeByName(wanted)
        except KeyError:
            raise SchemaFileError(
                self.path or Path(self.import_name),
                [SchemaProblem(f"no message {wanted!r}; messages here: {', '.join(names)}")],
            ) from None
        cls: type[Message] = message_factory.GetMessageClass(descriptor)
        return cls


@dataclass
class ProtoCompilation:
    """Result of compiling a set of ``.proto`` files together.

    ``files`` by resolved disk path for every file that compiled (requested ones and
    the non-well-known imports they pulled in); ``by_import`` the same files by import
    name; ``problems`` by disk path for files that did not compile.
    """

    files: dict[Path, ProtoFile] = field(default_factory=dict)
    by_import: dict[str, ProtoFile] = field(default_factory=dict)
    problems: dict[Path, list[SchemaProblem]] = field(default_factory=dict)


_PROTOC_DIAGNOSTIC = re.compile(r"^(?P<file>.+?):(?P<line>-?\d+):(?P<col>-?\d+): (?P<msg>.*)$")
_PROTOC_FILE_ONLY = re.compile(r"^(?P<file>[^:]+\.proto): (?P<msg>.*)$")


def _well_known_root() -> Path:
    import grpc_tools

    return Path(grpc_tools.__file__).parent / "_proto"


def _include_roots(paths: Iterable[Path], include: Sequence[Path]) -> list[Path]:
    roots = [p.resolve() for p in include]
    for path in paths:
        if not any(path.is_relative_to(root) for root in roots):
            roots.append(path.parent)
    roots.append(_well_known_root())
    return roots


def _parse_protoc_output(
    stderr: str, requested: Sequence[Path]
) -> tuple[dict[Path, list[SchemaProblem]], list[str]]:
    """protoc diagnostics by disk path; lines that name no requested file go to ``other``."""
    problems: dict[Path, list[SchemaProblem]] = {}
    other: list[str] = []
    known = {str(p): p for p in requested}
    for raw in stderr.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _PROTOC_DIAGNOSTIC.match(line)
        if match is not None:
            message = match["msg"]
            if message.startswith("warning:"):
                continue
            path = known.get(match["file"]) or Path(match["file"]).resolve()
            line_no = int(match["line"])
            column = int(match["col"])
            problems.setdefault(path, []).append(
                SchemaProblem(
                    message,
                    line_no if line_no > 0 else None,
                    column if line_no > 0 and column > 0 else None,
                )
            )
            continue
        match = _PROTOC_FILE_ONLY.match(line)
        if match is not None and match["file"] in known:
            problems.setdefault(known[match["file"]], []).append(SchemaProblem(match["msg"]))
            continue
        other.append(line)
    return problems, other


def _run_protoc(
    paths: Sequence[Path], roots: Sequence[Path]
) -> tuple[descriptor_pb2.FileDescriptorSet | None, str]:
    with tempfile.TemporaryDirectory(prefix="regcast-protoc-") as tmp:
        out = Path(tmp) / "set.pb"
        command = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            *(f"--proto_path={root}" for root in roots),
            f"--descriptor_set_out={out}",
            "--include_imports",
            "--include_source_info",
            *(str(p) for p in paths),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not out.exists():
            return None, result.stderr
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()), result.stderr


def _proto_locator(file_proto: descriptor_pb2.FileDescriptorProto) -> LineLocator:
    """Lines of messages, fields, enums and enum values from protoc's source info."""
    spans = {
        tuple(loc.path): loc.span[0] + 1
        for loc in file_proto.source_code_info.location
        if len(loc.span) >= 3
    }
    locator = LineLocator()
    package = file_proto.package

    def add(path: tuple[int, ...], short: str, full: str, *aliases: str) -> None:
        line = spans.get(path)
        if line is None:
            return
        for name in (short, full, *aliases):
            locator.names.setdefault(name, line)

    def walk_enum(
        enum: descriptor_pb2.EnumDescriptorProto, path: tuple[int, ...], scope: str
    ) -> None:
        full = f"{scope}.{enum.name}" if scope else enum.name
        add(path, enum.name, full)
        for i, value in enumerate(enum.value):
            add((*path, 2, i), value.name, f"{full}.{value.name}")

    def walk_message(
        message: descriptor_pb2.DescriptorProto, path: tuple[int, ...], scope: str, rel: str
    ) -> None:
        full = f"{scope}.{message.name}" if scope else message.name
        relative = f"{rel}/{message.name}" if rel else message.name
        add(path, message.name, full)
        line = spans.get(path)
        if line is not None:
            locator.paths.setdefault(relative, line)
            locator.paths.setdefault(full, line)
        for i, fld in enumerate(message.field):
            fpath = (*path, 2, i)
            add(fpath, fld.name, f"{full}.{fld.name}", f"{message.name}.{fld.name}")
            line = spans.get(fpath)
            if line is not None:
                for key in (relative, full):
                    locator.paths.setdefault(f"{key}/{fld.number}", line)
                    locator.paths.setdefault(f"{key}/{fld.name}", line)
        for i, nested in enumerate(message.nested_type):
            walk_message(nested, (*path, 3, i), full, relative)
        for i, enum in enumerate(message.enum_type):
            walk_enum(enum, (*path, 4, i), full)

    for i, message in enumerate(file_proto.message_type):
        walk_message(message, (4, i), package, "")
    for i, enum in enumerate(file_proto.enum_type):
        walk_enum(enum, (5, i), package)
    return locator


def _import_name(path: Path, roots: Sequence[Path]) -> str:
    for root in roots:
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return path.name


def compile_protos(paths: Sequence[Path], include: Sequence[Path] = ()) -> ProtoCompilation:
    """Compile ``paths`` (and their imports) with protoc; never raises for bad files.

    All files are compiled in one protoc run. protoc writes nothing when any file fails,
    so after a failure each file without diagnostics of its own is compiled again on
    its own, to give every good file its descriptor.
    """
    requested = [p.resolve() for p in paths]
    roots = _include_roots(requested, include)
    result = ProtoCompilation()
    if not requested:
        return result
    descriptor_set, stderr = _run_protoc(requested, roots)
    if descriptor_set is not None:
        _load_descriptor_set(descriptor_set, roots, result)
        return result
    problems, other = _parse_protoc_output(stderr, requested)
    for path in requested:
        if path in problems:
            continue
        if len(requested) == 1:
            message = "; ".join(other) or "protoc failed without a diagnostic"
            problems[path] = [SchemaProblem(message)]
            continue
        single, single_stderr = _run_protoc([path], roots)
        if single is None:
            single_problems, single_other = _parse_protoc_output(single_stderr, [path])
            problems[path] = single_problems.get(path) or [
                SchemaProblem("; ".join(single_other) or "protoc failed without a diagnostic")
            ]
        else:
            _load_descriptor_set(single, roots, result)
    for path, found in problems.items():
        if path in set(requested) or path not in result.files:
            result.problems.setdefault(path, []).extend(found)
    return result


def _load_descriptor_set(
    descriptor_set: descriptor_pb2.FileDescriptorSet,
    roots: Sequence[Path],
    result: ProtoCompilation,
) -> None:
    """Add a descriptor set (dependencies first, as protoc orders it) to a fresh pool."""
    pool = descriptor_pool.DescriptorPool()
    for file_proto in descriptor_set.file:
        stripped = descriptor_pb2.FileDescriptorProto()
        stripped.CopyFrom(file_proto)
        stripped.ClearField("source_code_info")
        pool.Add(stripped)
    for file_proto in descriptor_set.file:
        if is_well_known_import(file_proto.name):
            continue
        disk: Path | None = None
        for root in roots:
            candidate = (root / file_proto.name).resolve()
            if candidate.is_file():
                disk = candidate
                break
        existing = result.by_import.get(file_proto.name)
        if existing is not None:
            continue
        proto_file = ProtoFile(
            disk,
            file_proto.name,
            pool.FindFileByName(file_proto.name),
            _proto_locator(file_proto),
            pool,
        )
        result.by_import[file_proto.name] = proto_file
        if disk is not None:
            result.files[disk] = proto_file


def import_name_for(path: Path, include: Sequence[Path]) -> str:
    """The name other files use to import ``path`` (relative to its include root)."""
    return _import_name(path.resolve(), _include_roots([path.resolve()], include))
