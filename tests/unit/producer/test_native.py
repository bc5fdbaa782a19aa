"""The compiled hot path and the switch back to plain Python (producer/native.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from producer import native

_REPORT = """
import json, sys
import producer
from producer import native
print(json.dumps({m: sys.modules[m].__file__ for m in native.COMPILED_MODULES}))
"""


def _imported_files(pure_python: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != native.PURE_PYTHON_ENV}
    if pure_python:
        env[native.PURE_PYTHON_ENV] = "1"
    done = subprocess.run(
        [sys.executable, "-c", _REPORT], env=env, capture_output=True, text=True, check=True
    )
    files: dict[str, str] = json.loads(done.stdout)
    return files


def test_the_switch_imports_every_compiled_module_from_its_source() -> None:
    files = _imported_files(pure_python=True)
    assert files == {m: str(native.source_path(m)) for m in native.COMPILED_MODULES}


@pytest.mark.skipif(native.pure_python_requested(), reason="this run asked for plain Python")
def test_make_test_runs_the_compiled_hot_path() -> None:
    # what the benchmarks and the main test run measure: all compiled, none stale
    assert native.is_compiled(), (
        "the producer's hot path is not compiled: `make native` needs a C compiler and "
        "Python's headers; REGCAST_PURE_PYTHON=1 runs the tests on plain Python instead"
    )
    files = _imported_files(pure_python=False)
    assert all(f.endswith(".so") for f in files.values()), files
