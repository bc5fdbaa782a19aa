"""`regcast demo` end to end: embedded peers, given peers, bad peers, and a clean Ctrl-C.

"Stops cleanly" is checked on the process tree: every process the demo started (the
registry, the Tansu broker) is gone once it exits, and the ports they listened on are
closed.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli.conftest import (
    REGCAST,
    REPO,
    RunCli,
    _cli_env,
    output_of,
    requires_producer,
    requires_registry,
)

pytestmark = requires_registry


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _children_of() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its ')'.
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _descendants(pid: int) -> set[int]:
    children = _children_of()
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _assert_peers_gone(out: str, pids: set[int]) -> None:
    leftover = {pid for pid in pids if _alive(pid)}
    assert not leftover, (leftover, out)
    for port in re.findall(r"started on (?:http://)?127\.0\.0\.1:(\d+)", out):
        assert not _port_open(int(port)), out


def _start_demo(*args: str) -> subprocess.Popen[str]:
    """The demo as a user starts it from a terminal: Ctrl-C reaches it as a signal it
    handles. A suite launched as a background job (``cmd &`` in a script) runs with
    SIGINT ignored, and an ignored signal stays ignored across exec; for the child's
    sake, the handler is Python's own while it starts (a handled signal is reset to the
    default at exec)."""
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(
            [REGCAST, "demo", *args],
            cwd=REPO,
            env=_cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    finally:
        if previous == signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@requires_producer
def test_demo_on_embedded_defaults(run_cli: RunCli) -> None:
    result = run_cli("demo", "--records", "2000", cwd=REPO, timeout=120)
    out = output_of(result)
    assert result.returncode == 0, out
    assert re.search(r"registry\s+started on http://127\.0\.0\.1:\d+ \(SQLite ", out)
    assert re.search(r"broker\s+Tansu started on 127\.0\.0\.1:\d+", out)
    for subject in ("common/types.proto", "orders-avro-value", "orders-proto-value"):
        assert subject in out
    assert re.search(r"records delivered\s+│\s+2,000 │", out), out
    assert re.search(r"records failed\s+│\s+0 │", out)
    assert re.search(r"throughput\s+│\s+[\d,]+ records/s │", out)
    # Bytes saved against embedding the schema: positive for both formats.
    for label in ("Avro", "Protobuf"):
        row = re.search(rf"{label}\s+│\s+1,000 │\s+(\d+) B/rec │\s+([\d,]+) B/rec │", out)
        assert row is not None, out
        assert int(row[1]) < int(row[2].replace(",", ""))
    assert "✓ 10 records fetched back (CRC-32C checked), deserialized with serdes" in out
    assert len(re.findall(r"│ #\d+ .* ✓ │", out)) == 10
    assert re.search(r"demo finished in [\d.]+ s \(peers stopped\)", out)
    _assert_peers_gone(out, set())


@requires_producer
def test_demo_against_given_registry_and_broker(
    run_cli: RunCli, cli_registry: str, kafka_broker: Any, consume_all: Any
) -> None:
    result = run_cli(
        "demo", "--records", "400", "--registry", cli_registry,
        "--bootstrap", kafka_broker.bootstrap, "--compression", "zstd", cwd=REPO, timeout=120,
    )  # fmt: skip
    out = output_of(result)
    assert result.returncode == 0, out
    assert f"registry  using {cli_registry}" in out
    assert f"broker    using {kafka_broker.bootstrap}" in out
    # confluent-kafka (CRC checks on) finds every record the demo says it delivered.
    assert len(consume_all(kafka_broker.bootstrap, "orders-avro", expected=200)) == 200
    assert len(consume_all(kafka_broker.bootstrap, "orders-proto", expected=200)) == 200


def test_demo_with_unreachable_broker_exits_2(run_cli: RunCli, cli_registry: str) -> None:
    result = run_cli("demo", "--registry", cli_registry, "--bootstrap", "127.0.0.1:9", cwd=REPO)
    assert result.returncode == 2, output_of(result)
    assert "cannot connect to the Kafka broker at 127.0.0.1:9" in result.stderr


def test_demo_with_unreachable_registry_exits_2_and_stops_its_broker() -> None:
    process = _start_demo("--registry", "http://127.0.0.1:9")
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 2, out
    assert "cannot reach the schema registry at http://127.0.0.1:9" in out
    assert re.search(r"broker\s+Tansu started on", out)
    _assert_peers_gone(out, set())


def test_ctrl_c_while_starting_leaves_nothing_running() -> None:
    """SIGINT while the registry is still booting: exit 130, no process left behind."""
    process = _start_demo("--records", "1000")
    started: set[int] = set()
    deadline = time.monotonic() + 30
    while not started and time.monotonic() < deadline:
        started = _descendants(process.pid)
        time.sleep(0.01)
    assert started, "the demo started no registry"
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 130, out
    assert "interrupted" in out
    _assert_peers_gone(out, started)


@requires_producer
@pytest.mark.parametrize(
    ("signum", "status", "said"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
    ids=["ctrl-c", "sigterm"],
)
def test_stopped_while_producing_stops_cleanly_and_stops_the_peers(
    signum: int, status: int, said: str
) -> None:
    process = _start_demo("--records", "50000000")
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if "schemas registered" in line or not line:
            break
    time.sleep(1.0)  # well into producing
    peers = _descendants(process.pid)
    assert len(peers) >= 2, peers  # the registry and the broker
    process.send_signal(signum)
    rest, _ = process.communicate(timeout=60)
    out = "".join(seen) + rest
    assert process.returncode == status, out
    assert f"{said}: stopping cleanly" in out
    assert "Traceback" not in out
    # The records sent before the signal are accounted for: delivered, none lost.
    assert re.search(r"records delivered\s+│\s+[1-9][\d,]* │", out), out
    assert re.search(r"records failed\s+│\s+0 │", out), out
    _assert_peers_gone(out, peers)
