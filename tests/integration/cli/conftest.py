"""Run ``regcast`` as a user does: a subprocess, against a real registry and broker.

``cli_registry`` is one registry process per test module (``regcast serve`` itself,
on a SQLite file), to keep the suite fast; tests isolate themselves with unique
subject names (``unique``). ``run_cli`` runs the ``regcast`` console script of this
environment (.venv/bin/regcast) with a wide terminal so rich never wraps a line a test
reads.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from regcast.local_registry import LocalRegistry

REPO = Path(__file__).resolve().parents[3]
#: The console script pip installed next to this interpreter: what a user types.
REGCAST = str(Path(sys.executable).parent / "regcast")

RunCli = Callable[..., subprocess.CompletedProcess[str]]

#: For tests that start a registry themselves instead of using ``cli_registry``.
requires_registry = pytest.mark.skipif(
    importlib.util.find_spec("registry_service.app") is None,
    reason="registry_service.app is not built yet",
)


def _has_producer() -> bool:
    try:
        import producer
    except ImportError:
        return False
    return hasattr(producer, "Producer")


#: For tests that send records through regcast's producer.
requires_producer = pytest.mark.skipif(
    not _has_producer(), reason="producer.Producer not built yet"
)


def _cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REGCAST_REGISTRY_URL", "REGCAST_DATABASE_URL", "REGCAST_BOOTSTRAP")
    }
    env.update({"COLUMNS": "240", "NO_COLOR": "1", "TERM": "dumb", "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """``run_cli(*args, cwd=tmp_path, input=None, env=None, timeout=60)``."""

    def run(
        *args: str,
        cwd: Path | None = None,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [REGCAST, *args],
            cwd=cwd or tmp_path,
            input=input,
            env=_cli_env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture(scope="module")
def cli_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A registry started with `regcast serve` (SQLite), shared by one test module."""
    if importlib.util.find_spec("registry_service.app") is None:
        pytest.skip("registry_service.app is not built yet")
    with LocalRegistry(tmp_path_factory.mktemp("cli-registry")) as registry:
        yield registry.url


@pytest.fixture
def unique() -> str:
    """A short unique token for subject and topic names."""
    return uuid.uuid4().hex[:10]


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    """stdout and stderr together, for assertions and failure messages."""
    return result.stdout + result.stderr
