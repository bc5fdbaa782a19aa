"""`regcast check` before the registry: targets, subjects, order, and reading its messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from regcast.checking import (
    _findings,
    _load_targets,
    collect_schema_files,
    readable_incompatibility,
    summarize_incompatibility,
)
from regcast.config import ConfigError, load_config
from regcast.schema_files import LineLocator

REPO = Path(__file__).resolve().parents[3]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_folders_expand_to_schema_files_once(tmp_path: Path) -> None:
    a = _write(tmp_path / "x" / "a.avsc", "{}")
    b = _write(tmp_path / "x" / "sub" / "b.proto", "")
    _write(tmp_path / "x" / "notes.txt", "")
    assert collect_schema_files([tmp_path / "x", a]) == [a.resolve(), b.resolve()]
    with pytest.raises(ConfigError, match="no such file or folder"):
        collect_schema_files([tmp_path / "missing"])
    with pytest.raises(ConfigError, match=r"no \.avsc, \.proto or JSON Schema"):
        collect_schema_files([_write(tmp_path / "empty" / "r.md", "").parent])


def test_repository_targets_put_the_import_first_under_its_import_path() -> None:
    config = load_config(REPO / "regcast.toml")
    targets = _load_targets([e.path for e in config.schemas], config, None, None)
    order = [(t.result.display, t.result.subject) for t in targets]
    assert [subject for _, subject in order] == [
        "orders-avro-value",
        "common/types.proto",
        "orders-proto-value",
    ]
    assert all(t.schema is not None for t in targets)


def test_unlisted_imports_are_added_and_named_by_import_path(tmp_path: Path) -> None:
    root = tmp_path / "protos"
    _write(
        root / "base" / "ids.proto",
        'syntax = "proto3";\npackage b;\nmessage Id { string v = 1; }\n',
    )
    _write(
        root / "base" / "money.proto",
        'syntax = "proto3";\npackage b;\nimport "base/ids.proto";\n'
        "message Money { Id account = 1; int64 units = 2; }\n",
    )
    top = _write(
        root / "payment.proto",
        'syntax = "proto3";\npackage p;\nimport "base/money.proto";\n'
        "message Payment { b.Money amount = 1; }\n",
    )
    config_path = _write(tmp_path / "regcast.toml", '[protobuf]\ninclude = ["protos"]\n')
    targets = _load_targets([top.resolve()], load_config(config_path), None, None)
    subjects = [t.result.subject for t in targets]
    assert subjects == ["base/ids.proto", "base/money.proto", "payment-value"]
    assert targets[0].result.import_of is not None
    assert targets[2].result.import_of is None


def test_one_subject_for_one_file(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.avsc", '{"type": "string"}')
    b = _write(tmp_path / "b.avsc", '{"type": "string"}')
    config = load_config(None)
    (target,) = _load_targets([a], config, "chosen", None)
    assert target.result.subject == "chosen"
    with pytest.raises(ConfigError, match="exactly one file"):
        _load_targets([a, b], config, "chosen", None)


def test_bad_files_become_targets_with_problems(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.avsc", "{\n  nope\n}\n")
    (target,) = _load_targets([bad], load_config(None), None, None)
    assert target.schema is None
    assert target.problems[0].line == 2


def test_findings_drop_context_entries_and_locate_the_rest() -> None:
    locator = LineLocator(paths={"fields/1": 7}, names={"amount": 7})
    findings, notes = _findings(
        [
            "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field "
            "'amount' at path '/fields/1' in the new schema has no default value'}",
            "{oldSchemaVersion: 3}",
            '{oldSchema: \'{"type":"record"}\'}',
            "{validateFields: 'false', compatibility: 'BACKWARD'}",
        ],
        locator,
    )
    assert [f.line for f in findings] == [7]
    assert notes == ["conflicts with version 3"]


def test_incompatibilities_read_as_type_description_and_info() -> None:
    locator = LineLocator(paths={"fields/1": 8})
    raw = (
        "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/1/type') of a "
        "field in the new schema does not match with the old schema', "
        "additionalInfo:'reader type: STRING not compatible with writer type: LONG'}"
    )
    (finding,), _ = _findings([raw], locator)
    assert finding.message == (
        "TYPE_MISMATCH: The type (path '/fields/1/type') of a field in the new schema does "
        "not match with the old schema (reader type: STRING not compatible with writer "
        "type: LONG)"
    )
    assert (finding.line, finding.error_type) == (8, "TYPE_MISMATCH")
    no_info = (
        "{errorType:'FIELD_SCALAR_KIND_CHANGED', description:'At '#/Order/2'', additionalInfo:''}"
    )
    assert readable_incompatibility(no_info) == (
        "FIELD_SCALAR_KIND_CHANGED: At '#/Order/2'",
        "FIELD_SCALAR_KIND_CHANGED",
    )
    assert readable_incompatibility("something else") == ("something else", None)


def test_a_409_message_is_summarized_without_the_old_schema() -> None:
    message = (
        'Schema being registered is incompatible with an earlier schema for subject "s", '
        "details: [{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field "
        "'b' at path '/fields/1' in the new schema has no default value', additionalInfo:'b'}, "
        "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type') differs', "
        "additionalInfo:'reader type: INT not compatible with writer type: STRING'}, "
        '{oldSchemaVersion: 4}, {oldSchema: \'{"type":"record","name":"E"}\'}, '
        "{validateFields: 'false', compatibility: 'BACKWARD'}]"
    )
    assert summarize_incompatibility(message) == (
        "conflicts with version 4:\n"
        "  READER_FIELD_MISSING_DEFAULT_VALUE: The field 'b' at path '/fields/1' in the new "
        "schema has no default value (b)\n"
        "  TYPE_MISMATCH: The type (path '/fields/0/type') differs (reader type: INT not "
        "compatible with writer type: STRING)"
    )
    assert summarize_incompatibility("no details") == "no details"
