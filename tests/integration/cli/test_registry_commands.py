"""register / subjects / versions / get against a real registry process."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli.conftest import REPO, RunCli, output_of

ORDER_AVSC = REPO / "schemas/avro/order.avsc"
ORDER_PROTO = REPO / "schemas/protobuf/order.proto"


def _register_json(run_cli: RunCli, registry: str, subject: str, path: Path) -> list[dict]:
    result = run_cli("register", subject, str(path), "--registry", registry, "--json", cwd=REPO)
    assert result.returncode == 0, output_of(result)
    registered: list[dict] = json.loads(result.stdout)
    return registered


def test_register_avro_then_read_it_back(run_cli: RunCli, cli_registry: str, unique: str) -> None:
    subject = f"orders-{unique}-value"
    result = run_cli("register", subject, str(ORDER_AVSC), "--registry", cli_registry)
    assert result.returncode == 0, output_of(result)
    assert f"as {subject} version 1, id " in result.stdout

    again = _register_json(run_cli, cli_registry, subject, ORDER_AVSC)
    assert again[0]["version"] == 1  # same schema: same id, no new version
    schema_id = again[0]["id"]

    subjects = run_cli("subjects", "--registry", cli_registry, "--json")
    assert subject in json.loads(subjects.stdout)
    plain = run_cli("subjects", "--registry", cli_registry)
    assert subject in plain.stdout.splitlines()

    versions = run_cli("versions", subject, "--registry", cli_registry, "--json")
    assert json.loads(versions.stdout) == [1]

    shown = run_cli("get", subject, "--registry", cli_registry, "--json")
    body = json.loads(shown.stdout)
    assert (body["subject"], body["version"], body["id"]) == (subject, 1, schema_id)
    assert json.loads(body["schema"])["name"] == "Order"

    raw = run_cli("get", subject, "1", "--registry", cli_registry, "--raw")
    assert json.loads(raw.stdout)["namespace"] == "io.regcast.demo"

    pretty = run_cli("get", "--id", str(schema_id), "--registry", cli_registry)
    assert pretty.returncode == 0, output_of(pretty)
    assert str(schema_id) in pretty.stdout
    assert '"shipping_address"' in pretty.stdout


def test_register_protobuf_registers_its_import_first(
    run_cli: RunCli, cli_registry: str, unique: str
) -> None:
    subject = f"orders-{unique}-value"
    registered = _register_json(run_cli, cli_registry, subject, ORDER_PROTO)
    # regcast.toml (found from cwd=REPO) maps the import to "common/types.proto".
    assert [r["subject"] for r in registered] == ["common/types.proto", subject]
    assert all(r["schemaType"] == "PROTOBUF" for r in registered)
    body = json.loads(run_cli("get", subject, "--registry", cli_registry, "--json").stdout)
    assert body["schemaType"] == "PROTOBUF"
    assert body["references"] == [
        {
            "name": "common/types.proto",
            "subject": "common/types.proto",
            "version": registered[0]["version"],
        }
    ]
    assert "message Order" in body["schema"]


def test_unknown_subject_and_version_exit_2(
    run_cli: RunCli, cli_registry: str, unique: str
) -> None:
    result = run_cli("versions", f"nope-{unique}", "--registry", cli_registry)
    assert result.returncode == 2
    assert f"subject 'nope-{unique}' not found" in result.stderr

    result = run_cli("get", f"nope-{unique}", "--registry", cli_registry)
    assert result.returncode == 2
    assert "not found" in result.stderr

    subject = f"v-{unique}-value"
    _register_json(run_cli, cli_registry, subject, ORDER_AVSC)
    result = run_cli("get", subject, "7", "--registry", cli_registry)
    assert result.returncode == 2
    assert "7" in result.stderr and "not found" in result.stderr.lower()

    result = run_cli("get", "--id", "987654", "--registry", cli_registry)
    assert result.returncode == 2
    assert "not found" in result.stderr.lower()


def test_invalid_schema_file_is_reported_with_its_line(
    run_cli: RunCli, cli_registry: str, tmp_path: Path, unique: str
) -> None:
    bad = tmp_path / "bad.avsc"
    bad.write_text('{\n  "type": "record",\n  "name": "X",\n  "fields": [\n  ]\n  oops\n}\n')
    result = run_cli("register", f"bad-{unique}", str(bad), "--registry", cli_registry)
    assert result.returncode == 1
    assert f"{bad}:6:3: not valid JSON" in output_of(result)

    proto = tmp_path / "bad.proto"
    proto.write_text('syntax = "proto3";\nmessage A {\n  string a = 1\n}\n')
    result = run_cli("register", f"badp-{unique}", str(proto), "--registry", cli_registry)
    assert result.returncode == 1
    assert f'{proto}:4:1: Expected ";".' in output_of(result)


def test_incompatible_change_exits_1_with_the_reason(
    run_cli: RunCli, cli_registry: str, tmp_path: Path, unique: str
) -> None:
    subject = f"evolve-{unique}-value"
    v1 = tmp_path / "v1.avsc"
    v1.write_text(
        json.dumps({"type": "record", "name": "E", "fields": [{"name": "a", "type": "string"}]})
    )
    v2 = tmp_path / "v2.avsc"
    v2.write_text(
        json.dumps(
            {
                "type": "record",
                "name": "E",
                "fields": [{"name": "a", "type": "string"}, {"name": "b", "type": "int"}],
            }
        )
    )
    assert run_cli("register", subject, str(v1), "--registry", cli_registry).returncode == 0
    result = run_cli("register", subject, str(v2), "--registry", cli_registry)
    assert result.returncode == 1, output_of(result)
    assert f"incompatible schema for subject '{subject}'" in result.stderr
    assert "'b'" in result.stderr or " b " in result.stderr


def test_unreachable_registry_exits_2_with_a_clear_message(run_cli: RunCli) -> None:
    for args in (
        ("subjects",),
        ("versions", "x"),
        ("get", "x"),
        ("register", "x-value", str(ORDER_AVSC)),
    ):
        result = run_cli(*args, "--registry", "http://127.0.0.1:9")
        assert result.returncode == 2, (args, output_of(result))
        assert "cannot reach the schema registry at http://127.0.0.1:9" in result.stderr
    env_result = run_cli("subjects", env={"REGCAST_REGISTRY_URL": "http://127.0.0.1:9"})
    assert env_result.returncode == 2
    assert "http://127.0.0.1:9" in env_result.stderr
