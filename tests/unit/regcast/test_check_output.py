"""How `regcast check` reports: exit codes from verdicts, JSON, GitHub annotations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regcast.checking import CheckReport, FileResult, Finding, Verdict
from regcast.commands.check import _json_document, _print_github
from regcast.config import SchemaType


def _result(verdict: Verdict, *findings: Finding, subject: str = "s-value") -> FileResult:
    return FileResult(
        Path("/x/a.avsc"), "schemas/a.avsc", subject, SchemaType.AVRO, verdict, findings=[*findings]
    )


@pytest.mark.parametrize(
    ("verdicts", "code"),
    [
        ([Verdict.NEW, Verdict.UNCHANGED, Verdict.COMPATIBLE], 0),
        ([Verdict.COMPATIBLE, Verdict.INCOMPATIBLE], 1),
        ([Verdict.INVALID], 1),
        ([Verdict.BLOCKED, Verdict.NEW], 1),
        ([Verdict.INCOMPATIBLE, Verdict.ERROR], 2),
        ([], 0),
    ],
)
def test_exit_code_from_verdicts(verdicts: list[Verdict], code: int) -> None:
    assert CheckReport("http://r", [_result(v) for v in verdicts]).exit_code == code


def test_github_annotations_escape_and_carry_lines(capsys: pytest.CaptureFixture[str]) -> None:
    report = CheckReport(
        "http://r",
        [
            _result(Verdict.COMPATIBLE),
            _result(
                Verdict.INCOMPATIBLE,
                Finding("field 'total': 100% changed,\nsee docs", line=12, column=3),
                Finding("no position known"),
                subject="orders:v,alue",
            ),
        ],
    )
    _print_github(report)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "::error file=schemas/a.avsc,line=12,col=3,"
        "title=regcast check%3A orders%3Av%2Calue incompatible"
        "::field 'total': 100%25 changed,%0Asee docs"
    )
    assert lines[1].startswith("::error file=schemas/a.avsc,title=")
    assert lines[1].endswith("::no position known")
    assert lines[2] == "regcast check failed: 2 files: 1 compatible, 1 incompatible"


def test_json_document_is_complete() -> None:
    result = _result(Verdict.INCOMPATIBLE, Finding("bad", line=4))
    result.level = "BACKWARD"
    document = _json_document(CheckReport("http://r", [result]))
    assert json.loads(json.dumps(document)) == {
        "registry": "http://r",
        "exit_code": 1,
        "ok": False,
        "results": [
            {
                "file": "schemas/a.avsc",
                "subject": "s-value",
                "schemaType": "AVRO",
                "verdict": "incompatible",
                "passed": False,
                "compatibility": "BACKWARD",
                "findings": [{"message": "bad", "line": 4, "column": None, "errorType": None}],
                "notes": [],
                "importedBy": None,
                "registered": None,
                "newlyRegistered": False,
            }
        ],
    }
