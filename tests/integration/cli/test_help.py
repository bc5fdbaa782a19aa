"""Every command answers --help and documents the exit codes; no peers needed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.integration.cli.conftest import RunCli, _cli_env, output_of

COMMANDS = ["serve", "register", "subjects", "versions", "get", "check", "produce", "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help(run_cli: RunCli, command: str) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0, output_of(result)
    assert f"Usage: regcast {command}" in result.stdout
    assert "Exit codes: 0 success; 1 a schema was rejected" in " ".join(result.stdout.split())


def test_top_level_help_lists_every_command(run_cli: RunCli) -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert f"  {command} " in result.stdout


def test_python_dash_m_is_the_same_cli(run_cli: RunCli) -> None:
    module = subprocess.run(
        [sys.executable, "-m", "regcast", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env=_cli_env(),
    )
    assert module.returncode == 0
    assert module.stdout.replace("__main__.py", "regcast") == run_cli("--help").stdout


def test_usage_errors_exit_2(run_cli: RunCli) -> None:
    result = run_cli("get")
    assert result.returncode == 2
    assert "give either SUBJECT [VERSION] or --id N" in result.stderr
    result = run_cli("check", "--format", "xml", "x.avsc")
    assert result.returncode == 2
    result = run_cli("no-such-command")
    assert result.returncode == 2


def test_check_without_paths_or_config_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("check", "--registry", "http://127.0.0.1:9")
    assert result.returncode == 2
    assert "nothing to check" in result.stderr


def test_missing_config_file_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("check", "--config", "nope.toml", "x.avsc")
    assert result.returncode == 2
    assert "config file nope.toml does not exist" in result.stderr
