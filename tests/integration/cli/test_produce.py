"""`regcast produce`: JSON lines to typed records on a real broker, read back and checked."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient as CkSchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer as CkAvroDeserializer
from confluent_kafka.serialization import MessageField as CkField
from confluent_kafka.serialization import SerializationContext as CkContext

from regcast.local_broker import free_port
from regcast.schema_files import compile_protos
from serdes import ProtobufDeserializer, SchemaRegistryClient, SerializationContext
from tests.integration.cli.conftest import (
    REGCAST,
    REPO,
    RunCli,
    _cli_env,
    output_of,
    requires_producer,
)

ORDER_AVSC = REPO / "schemas/avro/order.avsc"
ORDER_PROTO = REPO / "schemas/protobuf/order.proto"


def _avro_line(i: int) -> dict[str, Any]:
    return {
        "order_id": f"00000000-0000-4000-8000-{i:012d}",
        "customer_id": 1000 + i,
        "status": ["PLACED", "PAID", "SHIPPED"][i % 3],
        "placed_at": f"2024-05-01T12:00:{i % 60:02d}.250Z",
        "total": f"{i}.{i % 100:02d}",
        "shipping_address": {"street": "S", "city": "Oslo", "postal_code": "0150", "country": "NO"},
        "lines": [{"sku": f"SKU-{i}", "quantity": 1 + i % 3, "unit_price": "9.99"}],
        "coupon_code": None if i % 2 else f"C{i}",
    }


@requires_producer
def test_avro_lines_from_a_file_reach_the_broker_typed(
    run_cli: RunCli, cli_registry: str, kafka_broker: Any, consume_all: Any, tmp_path: Path,
    unique: str,
) -> None:  # fmt: skip
    topic = f"orders-{unique}"
    lines = [_avro_line(i) for i in range(60)]
    (tmp_path / "orders.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    result = run_cli(
        "produce", "--topic", topic, "--schema", str(ORDER_AVSC),
        "--bootstrap", kafka_broker.bootstrap, "--registry", cli_registry,
        "--key-field", "order_id", "--input", "orders.jsonl",
    )  # fmt: skip
    assert result.returncode == 0, output_of(result)
    assert "records delivered" in result.stdout and " 60 " in result.stdout
    assert f"values as {topic}-value" in result.stdout

    records = consume_all(kafka_broker.bootstrap, topic, expected=60)
    # confluent-kafka's own deserializer is the judge of the wire format.
    deserialize = CkAvroDeserializer(CkSchemaRegistryClient({"url": cli_registry}))
    by_key = {r.key.decode(): r for r in records}
    assert set(by_key) == {x["order_id"] for x in lines}
    ctx = CkContext(topic, CkField.VALUE)
    for line in lines:
        value = deserialize(by_key[line["order_id"]].value, ctx)
        assert value["total"] == Decimal(line["total"])
        assert value["placed_at"] == dt.datetime.fromisoformat(line["placed_at"])
        assert value["status"] == line["status"]
        assert value["coupon_code"] == line["coupon_code"]
        assert value["currency"] == "EUR"  # the schema's default


@requires_producer
def test_protobuf_lines_from_stdin(
    run_cli: RunCli, cli_registry: str, kafka_broker: Any, consume_all: Any, unique: str
) -> None:
    topic = f"porders-{unique}"
    lines = [
        {"orderId": f"p-{i}", "customerId": str(i), "status": "ORDER_STATUS_PAID",
         "placedAt": "2024-05-01T12:00:00Z", "total": {"currencyCode": "EUR", "units": i}}
        for i in range(25)
    ]  # fmt: skip
    result = run_cli(
        "produce", "-t", topic, "-s", str(ORDER_PROTO), "-b", kafka_broker.bootstrap,
        "-r", cli_registry, "-k", "orderId",
        input="\n".join(json.dumps(x) for x in lines),
        cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, output_of(result)
    records = consume_all(kafka_broker.bootstrap, topic, expected=25)
    root = REPO / "schemas/protobuf"
    cls = compile_protos([ORDER_PROTO], [root]).files[ORDER_PROTO.resolve()].message_class()
    with SchemaRegistryClient(cli_registry) as client:
        deserialize = ProtobufDeserializer(client, cls)
        for record in records:
            message: Any = deserialize(record.value, SerializationContext(topic))
            i = int(record.key.decode().removeprefix("p-"))
            assert (message.order_id, message.customer_id, message.total.units) == (f"p-{i}", i, i)
            assert message.status == 2


@requires_producer
def test_lines_that_do_not_fit_are_rejected_with_their_line_numbers(
    run_cli: RunCli, cli_registry: str, kafka_broker: Any, consume_all: Any, unique: str
) -> None:
    topic = f"mixed-{unique}"
    good = [json.dumps(_avro_line(i)) for i in range(3)]
    bad_type = json.dumps({**_avro_line(9), "customer_id": "forty-two"})
    text = "\n".join([good[0], "{not json", good[1], bad_type, good[2]])
    result = run_cli(
        "produce", "--topic", topic, "--schema", str(ORDER_AVSC),
        "--bootstrap", kafka_broker.bootstrap, "--registry", cli_registry, input=text,
    )  # fmt: skip
    assert result.returncode == 1, output_of(result)
    assert "line 2: invalid JSON" in result.stderr
    assert "line 4: customer_id: expected an integer" in result.stderr
    assert len(consume_all(kafka_broker.bootstrap, topic, expected=3)) == 3


def test_broker_down_exits_2_fast(run_cli: RunCli, cli_registry: str, unique: str) -> None:
    started = time.monotonic()
    result = run_cli(
        "produce", "--topic", f"t-{unique}", "--schema", str(ORDER_AVSC),
        "--bootstrap", f"127.0.0.1:{free_port()}", "--registry", cli_registry,
        input=json.dumps(_avro_line(1)),
    )  # fmt: skip
    assert result.returncode == 2, output_of(result)
    assert "cannot connect to the Kafka broker" in result.stderr
    assert time.monotonic() - started < 15


@requires_producer
def test_broker_that_dies_mid_run_fails_the_records(
    cli_registry: str, kafka_broker: Any, tmp_path: Path, unique: str
) -> None:
    """The broker passes the connection test, then goes away: nothing delivered, exit 2."""
    lines = "\n".join(json.dumps(_avro_line(i)) for i in range(5)) + "\n"
    process = subprocess.Popen(
        [
            REGCAST, "produce", "--topic", f"dies-{unique}",
            "--schema", str(ORDER_AVSC), "--bootstrap", kafka_broker.bootstrap,
            "--registry", cli_registry, "--timeout", "1.5",
        ],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_cli_env(),
    )  # fmt: skip
    assert process.stdout is not None
    # The first line is printed after registration and the broker check, before any
    # input is read: the moment to take the broker away.
    first_line = process.stdout.readline()
    assert first_line.startswith("producing to"), first_line
    kafka_broker.stop()
    out, err = process.communicate(lines, timeout=60)
    assert process.returncode == 2, out + err
    assert re.search(r"records delivered\s+│\s+0 │", out), out
    assert "stopped early" in err or re.search(r"records failed\s+│\s+5 │", out), out + err


@pytest.mark.parametrize(("bad", "message"), [("nope.avsc", "no such file"), ("schemas", "")])
def test_bad_schema_path_is_a_usage_error(run_cli: RunCli, bad: str, message: str) -> None:
    result = run_cli("produce", "--topic", "t", "--schema", bad, cwd=REPO)
    assert result.returncode == 2
    assert message in result.stderr


def test_invalid_schema_file_exits_1_with_its_line(run_cli: RunCli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.avsc"
    bad.write_text(
        '{\n  "type": "record",\n  "name": "B",\n  "fields": [\n    {"name": "x"}\n  ]\n}\n'
    )
    result = run_cli(
        "produce", "--topic", "t", "--schema", str(bad), "--registry", "http://127.0.0.1:9",
        input="{}",
    )  # fmt: skip
    assert result.returncode == 1, output_of(result)
    assert f"{bad}:5: not a valid Avro schema" in result.stderr
    assert f"{bad} is not a valid schema" in result.stderr


def test_unreachable_registry_exits_2_before_reading_input(run_cli: RunCli) -> None:
    result = run_cli(
        "produce", "--topic", "t", "--schema", str(ORDER_AVSC),
        "--registry", "http://127.0.0.1:9", "--bootstrap", "127.0.0.1:9", input="{}",
    )  # fmt: skip
    assert result.returncode == 2, output_of(result)
    assert "cannot reach the schema registry at http://127.0.0.1:9" in result.stderr


def _field(name: str, kind: str) -> dict[str, str]:
    return {"name": name, "type": kind}


def test_incompatible_schema_exits_1_with_the_reason(
    run_cli: RunCli, cli_registry: str, tmp_path: Path, unique: str
) -> None:
    topic = f"evolving-{unique}"
    v1 = tmp_path / "v1.avsc"
    v1.write_text(
        json.dumps({"type": "record", "name": "E", "fields": [{"name": "a", "type": "string"}]})
    )
    assert (
        run_cli("register", f"{topic}-value", str(v1), "--registry", cli_registry).returncode == 0
    )
    v2 = tmp_path / "v2.avsc"
    v2.write_text(
        json.dumps({"type": "record", "name": "E", "fields": [{"name": "a", "type": "int"}]})
    )
    result = run_cli(
        "produce", "--topic", topic, "--schema", str(v2), "--registry", cli_registry,
        "--bootstrap", "127.0.0.1:9", input=json.dumps({"a": 1}),
    )  # fmt: skip
    assert result.returncode == 1, output_of(result)
    assert f"incompatible schema for subject '{topic}-value'" in result.stderr
    assert "a" in result.stderr.split("incompatible schema", 1)[1]
