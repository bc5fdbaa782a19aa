"""`regcast check`, the CI gate, against a real registry: verdicts, reasons, lines, formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.cli.conftest import REPO, RunCli, output_of


def _record(name: str, *fields: dict[str, Any]) -> str:
    """An Avro record schema laid out one field per line, as people write them."""
    lines = ",\n".join(f"    {json.dumps(f)}" for f in fields)
    return f'{{\n  "type": "record",\n  "name": "{name}",\n  "fields": [\n{lines}\n  ]\n}}\n'


V1 = ({"name": "id", "type": "string"}, {"name": "amount", "type": "int"})


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _check(run_cli: RunCli, registry: str, *args: str, cwd: Path) -> Any:
    return run_cli("check", "--registry", registry, *args, cwd=cwd)


def test_new_then_register_then_unchanged_then_compatible(
    run_cli: RunCli, cli_registry: str, tmp_path: Path, unique: str
) -> None:
    path = _write(tmp_path, f"pay{unique}-value.avsc", _record("Pay", *V1))
    subject = f"pay{unique}-value"

    first = _check(run_cli, cli_registry, path.name, cwd=tmp_path)
    assert first.returncode == 0, output_of(first)
    assert f"{path.name} → {subject}: new subject" in first.stdout

    registered = _check(run_cli, cli_registry, "--register", path.name, cwd=tmp_path)
    assert registered.returncode == 0, output_of(registered)
    assert "registered version 1" in registered.stdout

    unchanged = _check(run_cli, cli_registry, path.name, cwd=tmp_path)
    assert "unchanged (registered as version 1)" in unchanged.stdout

    # Adding a field with a default is backward compatible.
    path.write_text(_record("Pay", *V1, {"name": "note", "type": "string", "default": ""}))
    compatible = _check(run_cli, cli_registry, path.name, cwd=tmp_path)
    assert compatible.returncode == 0, output_of(compatible)
    assert f"{subject}: compatible [BACKWARD" in compatible.stdout


def test_incompatible_change_exit_1_with_reason_and_line(
    run_cli: RunCli, cli_registry: str, tmp_path: Path, unique: str
) -> None:
    path = _write(tmp_path, f"inv{unique}-value.avsc", _record("Inv", *V1))
    assert _check(run_cli, cli_registry, "--register", path.name, cwd=tmp_path).returncode == 0
    # A new field without a default: old records cannot be read with the new schema.
    path.write_text(_record("Inv", *V1, {"name": "currency", "type": "string"}))
    line = path.read_text().splitlines().index('    {"name": "currency", "type": "string"}') + 1

    text = _check(run_cli, cli_registry, path.name, cwd=tmp_path)
    assert text.returncode == 1, output_of(text)
    assert "incompatible [BACKWARD" in text.stdout
    assert f"{path.name}:{line}: " in text.stdout
    assert "currency" in text.stdout

    as_json = _check(run_cli, cli_registry, "--format", "json", path.name, cwd=tmp_path)
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    assert document["exit_code"] == 1 and document["ok"] is False
    (result,) = document["results"]
    assert result["verdict"] == "incompatible"
    assert result["compatibility"].startswith("BACKWARD")
    assert any(f["line"] == line and "currency" in f["message"] for f in result["findings"])
    # The registry's {errorType:..., description:...} reads as "TYPE: description".
    (finding,) = result["findings"]
    assert finding["errorType"] == "READER_FIELD_MISSING_DEFAULT_VALUE"
    assert finding["message"].startswith("READER_FIELD_MISSING_DEFAULT_VALUE: ")

    github = _check(run_cli, cli_registry, "--format", "github", path.name, cwd=tmp_path)
    assert github.returncode == 1
    annotation = github.stdout.splitlines()[0]
    assert annotation.startswith(f"::error file={path.name},line={line},title=regcast check")
    assert "currency" in annotation
    assert github.stdout.splitlines()[-1].startswith("regcast check failed: 1 file")

    # --register never registers what failed.
    again = _check(run_cli, cli_registry, "--register", path.name, cwd=tmp_path)
    assert again.returncode == 1
    versions = run_cli("versions", f"inv{unique}-value", "--registry", cli_registry, "--json")
    assert json.loads(versions.stdout) == [1]


def test_invalid_files_are_reported_with_lines(
    run_cli: RunCli, cli_registry: str, tmp_path: Path, unique: str
) -> None:
    avsc = _write(tmp_path, f"a{unique}.avsc", '{\n  "type": "record"\n  "name": "A"\n}\n')
    proto = _write(
        tmp_path, f"p{unique}.proto", 'syntax = "proto3";\nmessage P {\n  int32 x = 1\n}\n'
    )
    good = _write(tmp_path, f"g{unique}.avsc", _record("G", *V1))
    result = _check(run_cli, cli_registry, "--format", "github", ".", cwd=tmp_path)
    assert result.returncode == 1, output_of(result)
    out = result.stdout
    assert f"::error file={avsc.name},line=3,col=3,title=" in out
    assert "not valid JSON" in out
    assert f"::error file={proto.name},line=4,col=1,title=" in out
    assert good.name not in out  # a file that passed gets no annotation
    assert out.splitlines()[-1] == "regcast check failed: 3 files: 2 invalid, 1 new"


def test_subject_option_checks_one_file_against_one_subject(
    run_cli: RunCli, cli_registry: str, tmp_path: Path, unique: str
) -> None:
    subject = f"custom-{unique}"
    path = _write(tmp_path, "whatever.avsc", _record("W", *V1))
    result = _check(
        run_cli, cli_registry, "--subject", subject, "--register", "whatever.avsc", cwd=tmp_path
    )
    assert result.returncode == 0, output_of(result)
    assert f"→ {subject}: new subject, registered version 1" in result.stdout
    two = _check(
        run_cli, cli_registry, "--subject", subject, "whatever.avsc", str(path), cwd=tmp_path
    )
    assert two.returncode == 0  # the same file twice is one file
    other = _write(tmp_path, "other.avsc", _record("O", *V1))
    both = _check(run_cli, cli_registry, "--subject", subject, path.name, other.name, cwd=tmp_path)
    assert both.returncode == 2
    assert "--subject checks exactly one file" in both.stderr


def test_protobuf_import_is_checked_first_and_changes_propagate(
    run_cli: RunCli, cli_registry: str, tmp_path: Path, unique: str
) -> None:
    common = tmp_path / "protos" / "shared"
    common.mkdir(parents=True)
    money = _write(
        common,
        "money.proto",
        f'syntax = "proto3";\npackage s{unique};\nmessage Money {{\n  string currency = 1;\n'
        "  int64 units = 2;\n}\n",
    )
    order = _write(
        tmp_path / "protos",
        f"order{unique}.proto",
        f'syntax = "proto3";\npackage o{unique};\nimport "shared/money.proto";\n'
        f"message Order {{\n  string id = 1;\n  s{unique}.Money total = 2;\n}}\n",
    )
    config = tmp_path / "regcast.toml"
    config.write_text(
        f'[protobuf]\ninclude = ["protos"]\n\n[[schemas]]\nfile = "protos/order{unique}.proto"\n'
        f'subject = "order{unique}-value"\n'
    )
    first = _check(run_cli, cli_registry, "--register", cwd=tmp_path)
    assert first.returncode == 0, output_of(first)
    lines = first.stdout.splitlines()
    # The import comes first, under its import path, added because order.proto needs it.
    assert (
        f"protos/shared/money.proto (imported by protos/{order.name}) → shared/money.proto"
        in lines[1]
    )
    assert f"protos/{order.name} → order{unique}-value: new subject, registered" in lines[2]

    # Changing a field's type in the import breaks it and blocks the file importing it.
    money.write_text(money.read_text().replace("int64 units = 2;", "string units = 2;"))
    second = _check(run_cli, cli_registry, "--format", "json", cwd=tmp_path)
    assert second.returncode == 1, output_of(second)
    results = {r["file"]: r for r in json.loads(second.stdout)["results"]}
    money_result = results["protos/shared/money.proto"]
    assert money_result["verdict"] == "incompatible"
    assert any(f["line"] == 5 for f in money_result["findings"]), money_result
    assert results[f"protos/{order.name}"]["verdict"] == "blocked"


def test_repository_schemas_pass_against_a_fresh_registry(
    run_cli: RunCli, cli_registry: str
) -> None:
    result = run_cli("check", "--registry", cli_registry, cwd=REPO)
    assert result.returncode == 0, output_of(result)
    assert "schemas/avro/order.avsc → orders-avro-value" in result.stdout
    assert "schemas/protobuf/order.proto → orders-proto-value" in result.stdout


def test_unreachable_registry_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    _write(tmp_path, "x.avsc", _record("X", *V1))
    result = run_cli("check", "--registry", "http://127.0.0.1:9", "x.avsc", "--format", "json")
    assert result.returncode == 2
    (finding,) = json.loads(result.stdout)["results"][0]["findings"]
    assert "cannot reach the schema registry at http://127.0.0.1:9" in finding["message"]
