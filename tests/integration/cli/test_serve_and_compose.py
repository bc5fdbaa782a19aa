"""`regcast serve` started the ways the container image and compose.yaml start it.

Docker does not run here, so compose.yaml and the Dockerfile are checked by reading
them against the CLI and the settings they name, and the exact command lines they hold
(the registry's command, its health check) are run here, against SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import typer.main
import yaml

from regcast.cli import app
from regcast.local_broker import free_port
from registry_service.settings import Settings
from tests.integration.cli.conftest import REPO, RunCli, _cli_env, output_of, requires_registry

COMPOSE = yaml.safe_load((REPO / "compose.yaml").read_text())
DOCKERFILE = (REPO / "Dockerfile").read_text()
BIN = Path(sys.executable).parent


def _options_of(command: str) -> dict[str, Any]:
    click_app: Any = typer.main.get_command(app)
    return {
        opt: param
        for param in click_app.commands[command].params
        for opt in param.opts
        if opt.startswith("--")
    }


def _dockerfile_json(pattern: str) -> list[str]:
    """The JSON array of the one Dockerfile instruction that ``pattern`` finds."""
    match = re.search(pattern + r" (\[[^\n]*\])\s*$", DOCKERFILE, flags=re.M)
    assert match is not None, f"no {pattern!r} in the Dockerfile"
    parsed: list[str] = json.loads(match.group(1))
    return parsed


def _image_cmd() -> list[str]:
    return _dockerfile_json(r"^CMD")


def _image_healthcheck() -> list[str]:
    return _dockerfile_json(r"^\s+CMD")  # the continuation line of HEALTHCHECK


def _wait_http(url: str, timeout_s: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return httpx.get(url, timeout=1)
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _check_command(command: list[str], cli_command: str) -> dict[str, str]:
    """Every --option in a command line exists on the CLI command; returns option values."""
    assert command[:2] == ["regcast", cli_command]
    options = _options_of(cli_command)
    values: dict[str, str] = {}
    rest = command[2:]
    while rest:
        flag = rest.pop(0)
        assert flag in options, f"{flag} is not an option of `regcast {cli_command}`"
        if not options[flag].is_flag:
            values[flag] = rest.pop(0)
    return values


def _on_port(command: list[str], port: int) -> list[str]:
    """A command line or probe from the image, moved from 8081 to ``port``."""
    moved = [part.replace(":8081/", f":{port}/") for part in command]
    if "--port" in moved:
        moved[moved.index("--port") + 1] = str(port)
    return moved


def _assert_clean_stop(process: subprocess.Popen[str], out: str) -> None:
    """Stopped by SIGTERM (as `docker stop` does) after a graceful shutdown.

    uvicorn re-raises the signal once it has shut down, so the status is -SIGTERM.
    """
    assert process.returncode in (0, -signal.SIGTERM), out
    assert "Application shutdown complete" in out, out


def test_dockerfile_is_one_image_whose_default_is_the_registry() -> None:
    # a build stage (compiler, the wheel with the compiled hot path), then the one image
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", DOCKERFILE, flags=re.M)
    assert stages == [("python:3.11", "wheel"), ("python:3.11-slim", "")], stages
    assert "COPY --from=wheel /wheels /wheels" in DOCKERFILE
    values = _check_command(_image_cmd(), "serve")
    assert values == {"--host": "0.0.0.0", "--port": "8081"}
    assert "EXPOSE 8081" in DOCKERFILE
    assert "127.0.0.1:8081/health" in " ".join(_image_healthcheck())
    # Everything the image installs from is in the build context.
    ignored = (REPO / ".dockerignore").read_text().split()
    copied_sources = [
        source
        for copied in re.findall(r"^COPY (?!--from=)(.+) \S+$", DOCKERFILE, flags=re.M)
        for source in copied.split()
    ]
    assert "setup.py" in copied_sources  # without it the wheel is not compiled
    for source in copied_sources:
        assert (REPO / source).exists(), source
        assert source not in ignored, source


def test_environment_variables_are_settings_the_programs_read() -> None:
    """Every REGCAST_* name in compose.yaml and the Dockerfile is read by someone."""
    settings = {f"REGCAST_{name.upper()}" for name in Settings.model_fields}
    envvars = {
        env
        for command in ("serve", "check", "produce", "demo", "subjects")
        for param in _options_of(command).values()
        for env in ([param.envvar] if isinstance(param.envvar, str) else param.envvar or [])
    }
    named = set(re.findall(r"\bREGCAST_[A-Z_]+", DOCKERFILE))
    for service in COMPOSE["services"].values():
        named |= {k for k in service.get("environment", {}) if k.startswith("REGCAST_")}
    assert named, "compose.yaml and the Dockerfile configure the registry by environment"
    assert named <= settings | envvars, named - settings - envvars


def test_compose_registry_runs_the_images_command_on_postgres() -> None:
    services = COMPOSE["services"]
    registry = services["registry"]
    command = registry["command"]
    assert command == _image_cmd()
    port = _check_command(command, "serve")["--port"]
    assert f"{port}:{port}" in registry["ports"]
    assert registry["build"] == "." and services["demo"]["build"] == "."
    assert registry["image"] == services["demo"]["image"]
    database_url = registry["environment"]["REGCAST_DATABASE_URL"]
    postgres = services["postgres"]["environment"]
    assert database_url == (
        f"postgresql://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    assert registry["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert registry["healthcheck"]["test"] == ["CMD", *_image_healthcheck()]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_compose_demo_points_at_the_compose_services() -> None:
    services = COMPOSE["services"]
    demo = services["demo"]
    values = _check_command(demo["command"], "demo")
    registry_port = _check_command(services["registry"]["command"], "serve")["--port"]
    assert values["--registry"] == f"http://registry:{registry_port}"
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert f"PLAINTEXT://{values['--bootstrap']}" in advertised.split(",")
    assert demo["depends_on"] == {
        "registry": {"condition": "service_healthy"},
        "kafka": {"condition": "service_healthy"},
    }
    assert demo["restart"] == "no"


def test_compose_kafka_is_a_single_kraft_node_and_the_variant_parses() -> None:
    kafka = COMPOSE["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    listeners = {entry.split("://")[0] for entry in env["KAFKA_LISTENERS"].split(",")}
    mapped = {
        entry.split(":")[0] for entry in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    }
    assert listeners <= mapped
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners
    assert "healthcheck" in kafka

    # The commented three-node variant, uncommented, is valid YAML with three voters.
    text = (REPO / "compose.yaml").read_text()
    block = re.search(r"^  # kafka-1: &kafka-node\n(?:^  #.*\n)+", text, flags=re.M)
    assert block is not None
    variant = yaml.safe_load(re.sub(r"^  # ?", "", block.group(0), flags=re.M))
    assert set(variant) == {"kafka-1", "kafka-2", "kafka-3"}
    ids = {node["environment"]["KAFKA_NODE_ID"] for node in variant.values()}
    assert ids == {1, 2, 3}
    voters = variant["kafka-3"]["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    assert voters == "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
    advertised = {node["environment"]["KAFKA_ADVERTISED_LISTENERS"] for node in variant.values()}
    assert len(advertised) == 3


@requires_registry
def test_compose_registry_command_on_postgres_with_its_healthcheck(
    run_cli: RunCli, postgres_url: str
) -> None:
    """compose.yaml's registry command and health check, run here against PostgreSQL.

    The registry is configured the way compose configures it (REGCAST_DATABASE_URL in
    the environment), is restarted, and still has its schema.
    """
    port = free_port()
    command = _on_port(COMPOSE["services"]["registry"]["command"], port)
    probe = _on_port(COMPOSE["services"]["registry"]["healthcheck"]["test"][1:], port)
    env = _cli_env({"REGCAST_DATABASE_URL": postgres_url})
    url = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(BIN / command[0]), *command[1:]],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    first = start()
    try:
        _wait_http(url + "/health")
        assert subprocess.run(probe, check=False, env=env).returncode == 0
        result = run_cli(
            "register", "pg-orders-value", str(REPO / "schemas/avro/order.avsc"), "--registry", url
        )
        assert result.returncode == 0, output_of(result)
    finally:
        first.terminate()
        out, _ = first.communicate(timeout=15)
    _assert_clean_stop(first, out)
    assert f"regcast registry on http://0.0.0.0:{port}  storage: postgresql://postgres@" in out
    # Down: the health check fails, as compose needs it to.
    assert subprocess.run(probe, check=False, env=env, capture_output=True).returncode != 0

    second = start()
    try:
        _wait_http(url + "/health")
        assert "pg-orders-value" in httpx.get(url + "/subjects").json()
    finally:
        second.terminate()
        second.communicate(timeout=15)


@requires_registry
def test_image_command_serves_sqlite_and_its_healthcheck_passes(tmp_path: Path) -> None:
    port = free_port()
    command = _on_port(_image_cmd(), port)
    database = tmp_path / "registry.db"
    # The image's environment: REGCAST_DATABASE_URL names the SQLite file on its volume.
    env = _cli_env({"REGCAST_DATABASE_URL": f"sqlite:///{database}"})
    process = subprocess.Popen(
        [str(BIN / command[0]), *command[1:]],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        response = _wait_http(f"http://127.0.0.1:{port}/subjects")
        assert response.status_code == 200 and response.json() == []
        probe = _on_port(_image_healthcheck(), port)
        assert subprocess.run(probe, check=False, env=env).returncode == 0
        assert database.exists()
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=15)
    _assert_clean_stop(process, out)


@requires_registry
def test_serve_on_a_busy_port_exits_2(tmp_path: Path) -> None:
    port = free_port()
    busy = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/")
        result = subprocess.run(
            [
                str(BIN / "regcast"), "serve", "--port", str(port),
                "--database-url", f"sqlite:///{tmp_path / 'r.db'}",
            ],
            env=_cli_env(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )  # fmt: skip
    finally:
        busy.terminate()
        busy.wait(timeout=10)
    assert result.returncode == 2, output_of(result)
    assert "the registry stopped with status" in result.stderr
