"""``regcast check``: does each schema file fit the registry's history of its subject?

Theory of operation
-------------------
1. **Targets.** The paths given (folders are searched for ``*.avsc``, ``*.proto`` and
   ``*.json`` files that declare ``$schema``),
   or every file in ``regcast.toml`` when none are. Each file gets its subject from
   ``regcast.toml``, else by convention (:func:`regcast.config.conventional_subject`);
   a ``.proto`` file that another checked file imports gets its import path, which is
   the subject the importing file's registration references. Imports a checked file
   needs are added as targets of their own: a change to ``common/types.proto`` is part
   of every change to the files that import it.
2. **Local parse.** Avro with ``json`` + fastavro, Protobuf with protoc (one run for all
   files), JSON Schema with ``json`` + its draft's meta-schema; a file that does not
   parse is ``invalid`` with the line where known.
3. **Registry, dependencies first.** For each file: look the schema up under its subject
   (already registered: ``unchanged``; no subject yet: ``new``); otherwise ask
   ``POST /compatibility/subjects/{s}/versions?verbose=true``, which tests against the
   versions the subject's level names (latest, or all for ``*_TRANSITIVE``):
   ``compatible`` or ``incompatible`` with each reason, mapped to a line of the file.
   Protobuf references name their import's subject and version: the version registered
   in this run (``--register``), else the version already holding that exact import,
   else that subject's latest version (and the verdict says so).
4. **Register** (``--register``) what is ``new`` or ``compatible``, dependencies first.

Verdicts map to the exit status: any ``error`` (the registry could not be reached or
answered an error) gives 2; else any ``incompatible``, ``invalid`` or ``blocked`` (a
file whose import is incompatible or invalid) gives 1; else 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from regcast.config import (
    ConfigError,
    RegcastConfig,
    SchemaType,
    conventional_subject,
    declares_json_schema,
    schema_type_for,
)
from regcast.json_schema_files import JsonSchemaFile, load_json_schema
from regcast.schema_files import (
    AvroFile,
    LineLocator,
    ProtoFile,
    SchemaFileError,
    SchemaProblem,
    compile_protos,
    load_avro,
)
from serdes import SchemaReference, SchemaRegistryClient
from serdes.errors import (
    InvalidSchemaError,
    RegistryAuthenticationError,
    RegistryError,
    RegistryUnavailableError,
    SchemaNotFoundError,
    SubjectNotFoundError,
)

__all__ = [
    "CheckReport",
    "FileResult",
    "Finding",
    "Verdict",
    "collect_schema_files",
    "readable_incompatibility",
    "run_check",
    "summarize_incompatibility",
]

_SUFFIXES = (".avsc", ".proto")


class Verdict(StrEnum):
    """What ``regcast check`` concluded about one file."""

    UNCHANGED = "unchanged"  # already registered under the subject
    NEW = "new"  # the subject has no versions yet: nothing to be incompatible with
    COMPATIBLE = "compatible"
    INCOMPATIBLE = "incompatible"
    INVALID = "invalid"  # the file does not parse (locally or for the registry)
    BLOCKED = "blocked"  # not checked: an import it needs is incompatible or invalid
    ERROR = "error"  # the registry could not be asked

    @property
    def passed(self) -> bool:
        return self in (Verdict.UNCHANGED, Verdict.NEW, Verdict.COMPATIBLE)


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason a file failed, with its position in the file when known."""

    message: str
    line: int | None = None
    column: int | None = None
    error_type: str | None = None  # the registry's errorType, e.g. TYPE_MISMATCH


@dataclass
class FileResult:
    """The verdict for one file and everything the report shows about it."""

    path: Path
    display: str
    subject: str
    schema_type: SchemaType
    verdict: Verdict = Verdict.ERROR
    level: str | None = None
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    registered_id: int | None = None
    registered_version: int | None = None
    import_of: str | None = None  # set when the file was added as another file's import
    newly_registered: bool = False


@dataclass
class CheckReport:
    """All results in the order they were checked (dependencies first)."""

    registry_url: str
    results: list[FileResult]

    @property
    def exit_code(self) -> int:
        verdicts = {r.verdict for r in self.results}
        if Verdict.ERROR in verdicts:
            return 2
        if verdicts & {Verdict.INCOMPATIBLE, Verdict.INVALID, Verdict.BLOCKED}:
            return 1
        return 0


def _display(path: Path) -> str:
    """Paths relative to the working directory, as CI annotations want them."""
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def collect_schema_files(paths: Sequence[Path]) -> list[Path]:
    """Files given, and ``*.avsc`` / ``*.proto`` under folders given, sorted, no repeats."""
    found: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        if given.is_dir():
            candidates = sorted(
                p
                for p in given.rglob("*")
                if p.is_file()
                and (p.suffix in _SUFFIXES or (p.suffix == ".json" and declares_json_schema(p)))
            )
            if not candidates:
                raise ConfigError(
                    f"no .avsc, .proto or JSON Schema (.json with $schema) files under {given}"
                )
        elif given.is_file():
            candidates = [given]
        else:
            raise ConfigError(f"{given}: no such file or folder")
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved not in seen:
                seen.add(resolved)
                found.append(resolved)
    return found


@dataclass
class _Target:
    result: FileResult
    schema: AvroFile | ProtoFile | JsonSchemaFile | None = None
    problems: list[SchemaProblem] = field(default_factory=list)


def _load_targets(
    paths: Sequence[Path], config: RegcastConfig, subject: str | None, schema_type: str | None
) -> list[_Target]:
    """Parse every file, give each a subject, and order them dependencies first."""
    if subject is not None and len(paths) != 1:
        raise ConfigError("--subject checks exactly one file: give one path")
    types: dict[Path, SchemaType] = {}
    for path in paths:
        entry = config.entry_for(path)
        if entry is not None and schema_type is None:
            types[path] = entry.schema_type
        else:
            types[path] = schema_type_for(path, schema_type)
    proto_paths = [p for p in paths if types[p] is SchemaType.PROTOBUF]
    compilation = compile_protos(proto_paths, config.proto_include)

    imported: dict[str, str] = {}  # import name -> display of the first importer
    for known in compilation.by_import.values():
        for dep in known.dependencies:
            imported.setdefault(dep, _display(known.path or Path(known.import_name)))

    def subject_for(path: Path, import_name: str | None) -> str:
        if subject is not None and path == paths[0]:
            return subject
        entry = config.entry_for(path)
        if entry is not None:
            return entry.subject
        if import_name is not None and import_name in imported:
            return import_name
        return conventional_subject(path)

    targets: dict[Path, _Target] = {}
    for path in paths:
        result = FileResult(path, _display(path), "", types[path])
        target = _Target(result)
        if types[path] in (SchemaType.AVRO, SchemaType.JSON):
            load = load_avro if types[path] is SchemaType.AVRO else load_json_schema
            try:
                target.schema = load(path)
            except SchemaFileError as exc:
                target.problems = list(exc.problems)
            result.subject = subject_for(path, None)
        else:
            compiled = compilation.files.get(path)
            if compiled is None:
                target.problems = compilation.problems.get(path) or [
                    SchemaProblem("protoc failed without a diagnostic")
                ]
                result.subject = subject_for(path, None)
            else:
                target.schema = compiled
                result.subject = subject_for(path, compiled.import_name)
        targets[path] = target

    # Imports of checked files that were not named themselves become targets too.
    pending = [t.schema for t in targets.values() if isinstance(t.schema, ProtoFile)]
    while pending:
        proto = pending.pop()
        for dep in proto.dependencies:
            dep_file = compilation.by_import.get(dep)
            if dep_file is None or dep_file.path is None or dep_file.path in targets:
                continue
            result = FileResult(
                dep_file.path,
                _display(dep_file.path),
                subject_for(dep_file.path, dep),
                SchemaType.PROTOBUF,
                import_of=imported.get(dep),
            )
            targets[dep_file.path] = _Target(result, dep_file)
            pending.append(dep_file)

    return _dependencies_first(list(targets.values()))


def _dependencies_first(targets: list[_Target]) -> list[_Target]:
    by_import = {t.schema.import_name: t for t in targets if isinstance(t.schema, ProtoFile)}
    ordered: list[_Target] = []
    placed: set[int] = set()

    def place(target: _Target, stack: tuple[int, ...]) -> None:
        if id(target) in placed or id(target) in stack:
            return
        if isinstance(target.schema, ProtoFile):
            for dep in target.schema.dependencies:
                dep_target = by_import.get(dep)
                if dep_target is not None:
                    place(dep_target, (*stack, id(target)))
        placed.add(id(target))
        ordered.append(target)

    for target in targets:
        place(target, ())
    return ordered


# CSR appends context entries to the verbose messages; they are not incompatibilities.
_CONTEXT_MESSAGE = re.compile(r"^\{\s*(oldSchemaVersion|oldSchema|validateFields|compatibility)\b")
_OLD_VERSION = re.compile(r"oldSchemaVersion:\s*(\d+)")


# One incompatibility as Confluent's registry words it (and regcast's does the same):
# {errorType:'TYPE_MISMATCH', description:'The type (path '/fields/1/type') ...',
#  additionalInfo:'reader type: STRING not compatible with writer type: LONG'}
_INCOMPATIBILITY = re.compile(
    r"^\{errorType:'(?P<type>[^']*)', description:'(?P<description>.*)', "
    r"additionalInfo:'(?P<info>.*)'\}$",
    re.S,
)


_INCOMPATIBILITY_IN_TEXT = re.compile(
    r"\{errorType:'(?P<type>[^']*)', description:'(?P<description>.*?)', "
    r"additionalInfo:'(?P<info>.*?)'\}",
    re.S,
)


def summarize_incompatibility(message: str) -> str:
    """A registry's 409 message as one readable line per incompatibility.

    The message embeds every incompatibility and then the old schema in full; only the
    former help a person, so the old schema is replaced by the version it belongs to.
    Messages without incompatibilities in them are returned as they are.
    """
    found = list(_INCOMPATIBILITY_IN_TEXT.finditer(message))
    if not found:
        return message
    old = _OLD_VERSION.search(message)
    head = f"conflicts with version {old.group(1)}" if old is not None else "incompatible"
    lines = [readable_incompatibility(m.group(0))[0] for m in found]
    return head + ":\n" + "\n".join(f"  {line}" for line in lines)


def readable_incompatibility(message: str) -> tuple[str, str | None]:
    """``TYPE_MISMATCH: <description> (<additional info>)`` and the error type.

    Messages in any other shape are returned as they are, with no type.
    """
    match = _INCOMPATIBILITY.match(message.strip())
    if match is None:
        return message, None
    text = f"{match['type']}: {match['description']}"
    if match["info"]:
        text += f" ({match['info']})"
    return text, match["type"]


def _findings(messages: Sequence[str], locator: LineLocator) -> tuple[list[Finding], list[str]]:
    findings: list[Finding] = []
    notes: list[str] = []
    for message in messages:
        if _CONTEXT_MESSAGE.match(message):
            old = _OLD_VERSION.search(message)
            if old is not None:
                notes.append(f"conflicts with version {old.group(1)}")
            continue
        text, error_type = readable_incompatibility(message)
        findings.append(Finding(text, locator.locate(message), error_type=error_type))
    return findings, notes


class _Unreachable(Exception):
    """The registry stopped answering: the remaining files are not checked."""


class _Checker:
    def __init__(self, client: SchemaRegistryClient, *, register: bool, normalize: bool) -> None:
        self.client = client
        self.register = register
        self.normalize = normalize
        self.done: dict[str, FileResult] = {}  # by import name, Protobuf only
        self.global_level: str | None = None

    def level_of(self, subject: str) -> str:
        try:
            return self.client.get_compatibility(subject)
        except RegistryError as exc:
            if exc.http_status != 404:
                raise
        if self.global_level is None:
            self.global_level = self.client.get_compatibility(None)
        return f"{self.global_level} (global)"

    def references(
        self, target: _Target, result: FileResult
    ) -> list[SchemaReference] | Verdict | None:
        """References of a Protobuf file, or the verdict when they cannot be resolved.

        ``None`` means an import is not in the registry at all, so the registry cannot
        test this file yet.
        """
        schema = target.schema
        if not isinstance(schema, ProtoFile):
            return []
        refs: list[SchemaReference] = []
        for dep in schema.dependencies:
            dep_result = self.done.get(dep)
            if dep_result is None:  # an import we could not load or place
                result.findings.append(Finding(f"import {dep!r} was not checked"))
                return Verdict.BLOCKED
            if not dep_result.verdict.passed:
                result.findings.append(
                    Finding(f"not checked: its import {dep} is {dep_result.verdict}")
                )
                return Verdict.BLOCKED
            if dep_result.registered_version is not None:
                refs.append(SchemaReference(dep, dep_result.subject, dep_result.registered_version))
                continue
            try:
                versions = self.client.get_versions(dep_result.subject)
            except SubjectNotFoundError:
                versions = []
            if not versions:
                return None
            refs.append(SchemaReference(dep, dep_result.subject, max(versions)))
            result.notes.append(
                f"import {dep} is not registered in this form: checked against "
                f"{dep_result.subject} version {max(versions)}"
            )
        return refs

    def check(self, target: _Target) -> None:
        result = target.result
        schema = target.schema
        if schema is None:
            result.verdict = Verdict.INVALID
            result.findings = [Finding(p.message, p.line, p.column) for p in target.problems]
            return
        try:
            self._check_against_registry(target, schema, result)
        except RegistryUnavailableError as exc:
            result.verdict = Verdict.ERROR
            result.findings.append(Finding(exc.message))
            raise _Unreachable(exc.message) from exc
        except RegistryAuthenticationError as exc:  # every other file would get the same
            result.verdict = Verdict.ERROR
            message = (
                f"the registry refused the credentials: {exc.message}; pass --registry-token, "
                "or --registry-user and --registry-password (or REGCAST_REGISTRY_TOKEN, "
                "REGCAST_REGISTRY_USER and REGCAST_REGISTRY_PASSWORD)"
            )
            result.findings.append(Finding(message))
            raise _Unreachable(message) from exc
        except InvalidSchemaError as exc:
            result.verdict = Verdict.INVALID
            result.findings.append(
                Finding(
                    f"the registry rejects it: {exc.message}", schema.locator.locate(exc.message)
                )
            )
        except RegistryError as exc:
            result.verdict = Verdict.ERROR
            result.findings.append(Finding(f"registry error: {exc}"))
        finally:
            if isinstance(schema, ProtoFile):
                self.done[schema.import_name] = result

    def _check_against_registry(
        self, target: _Target, schema: AvroFile | ProtoFile | JsonSchemaFile, result: FileResult
    ) -> None:
        client = self.client
        refs = self.references(target, result)
        if isinstance(refs, Verdict):
            result.verdict = refs
            return
        type_name = str(schema.schema_type)
        if refs is None:
            # An import is not in the registry at all: only a brand-new subject can pass.
            try:
                client.get_versions(result.subject)
            except SubjectNotFoundError:
                result.verdict = Verdict.NEW
                result.notes.append("its imports are not registered yet: checked locally only")
                return
            result.verdict = Verdict.ERROR
            result.findings.append(
                Finding(
                    "an import is not registered, so the registry cannot test this file; "
                    "register the import first (regcast check --register does, in order)"
                )
            )
            return
        try:
            found = client.lookup_schema(
                result.subject, schema.schema_str, type_name, refs, self.normalize
            )
        except SubjectNotFoundError:
            result.verdict = Verdict.NEW
        except SchemaNotFoundError:
            result.level = self.level_of(result.subject)
            ok, messages = client.test_compatibility(
                result.subject,
                schema.schema_str,
                None,
                schema_type=type_name,
                references=refs,
                verbose=True,
                normalize=self.normalize,
            )
            findings, notes = _findings(messages, schema.locator)
            result.notes.extend(notes)
            if ok:
                result.verdict = Verdict.COMPATIBLE
            else:
                result.verdict = Verdict.INCOMPATIBLE
                result.findings.extend(
                    findings or [Finding("the registry says incompatible without a reason")]
                )
        else:
            result.verdict = Verdict.UNCHANGED
            result.registered_id = found.schema_id
            result.registered_version = found.version
            return
        if self.register and result.verdict in (Verdict.NEW, Verdict.COMPATIBLE):
            schema_id = client.register_schema(
                result.subject, schema.schema_str, type_name, refs, self.normalize
            )
            registered = client.lookup_schema(
                result.subject, schema.schema_str, type_name, refs, self.normalize
            )
            result.registered_id = schema_id
            result.registered_version = registered.version
            result.newly_registered = True


def run_check(
    client: SchemaRegistryClient,
    registry_url: str,
    paths: Sequence[Path],
    config: RegcastConfig,
    *,
    subject: str | None = None,
    schema_type: str | None = None,
    register: bool = False,
    normalize: bool = False,
) -> CheckReport:
    """Check ``paths`` (already expanded to files) against the registry; see the module doc.

    Raises :class:`~regcast.config.ConfigError` for usage problems (exit 2); every
    per-file outcome, including registry errors, is in the report.
    """
    targets = _load_targets(paths, config, subject, schema_type)
    checker = _Checker(client, register=register, normalize=normalize)
    unreachable: str | None = None
    for target in targets:
        if unreachable is not None:
            target.result.verdict = Verdict.ERROR
            target.result.findings.append(Finding(f"not checked: {unreachable}"))
            continue
        try:
            checker.check(target)
        except _Unreachable as exc:
            unreachable = str(exc)
    return CheckReport(registry_url, [t.result for t in targets])
