"""register / check / produce with JSON Schema (.json) files against a real registry.

Files are told apart locally (``$schema`` or ``--type json``) and checked against their
draft's meta-schema before anything is sent; what reaches the broker is read back with
confluent-kafka's JSONDeserializer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient as CkSchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer as CkJSONDeserializer
from confluent_kafka.serialization import MessageField as CkField
from confluent_kafka.serialization import SerializationContext as CkContext

from tests.integration.cli.conftest import RunCli, output_of, requires_producer


def _schema(*, extra: dict[str, Any] | None = None, declare: bool = True) -> str:
    """A JSON Schema laid out one property per line, as people write them."""
    properties = {"id": {"type": "integer"}, "item": {"type": "string"}, **(extra or {})}
    lines = ",\n".join(f'    "{k}": {json.dumps(v)}' for k, v in properties.items())
    head = '  "$schema": "http://json-schema.org/draft-07/schema#",\n' if declare else ""
    return (
        f'{{\n{head}  "title": "Pick",\n  "type": "object",\n'
        f'  "properties": {{\n{lines}\n  }},\n  "required": ["id"]\n}}\n'
    )


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_register_json_schema_file(
    run_cli: RunCli, cli_registry: str, tmp_path: Path, unique: str
) -> None:
    path = _write(tmp_path, "pick.json", _schema())
    subject = f"picks-{unique}-value"
    result = run_cli("register", subject, str(path), "--registry", cli_registry, "--json")
    assert result.returncode == 0, output_of(result)
    (registered,) = json.loads(result.stdout)
    assert (registered["subject"], registered["schemaType"]) == (subject, "JSON")
    body = json.loads(run_cli("get", subject, "--registry", cli_registry, "--json").stdout)
    assert body["schemaType"] == "JSON"
    assert json.loads(body["schema"]) == json.loads(path.read_text())  # stored compact

    # without $schema the type must be named
    plain = _write(tmp_path, "plain.json", _schema(declare=False))
    refused = run_cli("register", subject, str(plain), "--registry", cli_registry)
    assert refused.returncode == 2, output_of(refused)
    assert '"$schema"' in refused.stderr and "--type json" in refused.stderr
    named = run_cli("register", f"plain-{unique}", str(plain), "--type", "json", "-r", cli_registry)
    assert named.returncode == 0, output_of(named)


def test_invalid_json_schema_is_refused_before_the_registry(
    run_cli: RunCli, tmp_path: Path, unique: str
) -> None:
    path = _write(tmp_path, "pick.json", _schema(extra={"qty": {"type": "count"}}))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if '"qty"' in text)
    # the registry URL leads nowhere: the file must fail before any connection
    result = run_cli("register", f"p-{unique}", str(path), "--registry", "http://127.0.0.1:1")
    assert result.returncode == 1, output_of(result)
    assert f"{path}:{line}: not a valid Draft7 JSON Schema at /properties/qty/type" in (
        result.stdout
    )
    checked = run_cli(
        "check", "--registry", "http://127.0.0.1:1", "--format", "github", path.name, cwd=tmp_path
    )
    assert checked.returncode == 1, output_of(checked)
    assert f"::error file={path.name},line={line}," in checked.stdout


def test_check_json_schema_new_register_unchanged(
    run_cli: RunCli, cli_registry: str, tmp_path: Path, unique: str
) -> None:
    path = _write(tmp_path, f"pick{unique}-value.json", _schema())
    subject = f"pick{unique}-value"
    args = ("check", "--registry", cli_registry)
    first = run_cli(*args, path.name, cwd=tmp_path)
    assert first.returncode == 0, output_of(first)
    assert f"{path.name} → {subject}: new subject" in first.stdout
    registered = run_cli(*args, "--register", path.name, cwd=tmp_path)
    assert "registered version 1" in registered.stdout, output_of(registered)
    unchanged = run_cli(*args, ".", cwd=tmp_path)  # folders include .json with $schema
    assert "unchanged (registered as version 1)" in unchanged.stdout, output_of(unchanged)


def test_check_json_schema_incompatible_change(
    run_cli: RunCli, cli_registry: str, tmp_path: Path, unique: str
) -> None:
    path = _write(tmp_path, f"inc{unique}-value.json", _schema())
    args = ("check", "--registry", cli_registry)
    assert run_cli(*args, "--register", path.name, cwd=tmp_path).returncode == 0
    # Narrowing a property's type breaks readers of old data (BACKWARD).
    path.write_text(_schema(extra={"item": {"type": "integer"}}))
    broken = run_cli(*args, "--format", "json", path.name, cwd=tmp_path)
    assert broken.returncode == 1, output_of(broken)
    (result,) = json.loads(broken.stdout)["results"]
    assert result["verdict"] == "incompatible"
    assert result["schemaType"] == "JSON"


@requires_producer
def test_produce_json_lines_validated_and_read_by_confluent(
    run_cli: RunCli,
    cli_registry: str,
    kafka_broker: Any,
    consume_all: Any,
    tmp_path: Path,
    unique: str,
) -> None:
    path = _write(tmp_path, "pick.json", _schema())
    topic = f"picks-{unique}"
    good = [{"id": i, "item": f"box-{i}"} for i in range(4)]
    lines = [json.dumps(good[0]), json.dumps({"id": "one"}), *(json.dumps(g) for g in good[1:])]
    result = run_cli(
        "produce", "-t", topic, "-s", str(path), "-b", kafka_broker.bootstrap,
        "-r", cli_registry, input="\n".join(lines),
    )  # fmt: skip
    assert result.returncode == 1, output_of(result)  # one line rejected, the rest sent
    assert "line 2: " in result.stderr and "$.id" in result.stderr
    records = consume_all(kafka_broker.bootstrap, topic, expected=4)
    deserialize = CkJSONDeserializer(
        None, schema_registry_client=CkSchemaRegistryClient({"url": cli_registry})
    )
    values = [deserialize(r.value, CkContext(topic, CkField.VALUE)) for r in records]
    assert values == good
