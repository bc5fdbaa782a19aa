"""Builds regcast; compiles the producer's hot path to C with mypyc (producer/native.py).

The package's metadata lives in pyproject.toml; this file only adds the compiled
modules. Every way a user builds goes through here (``pip install .``, ``pip install
-e .``, ``pip wheel .``, ``python -m build``, the Dockerfile), so the rules are:

- mypyc type-checks with ``--no-site-packages``: the build sees only the sources and
  mypy's bundled stubs, never the runtime packages' type information. pip's isolated
  build environment holds none of them (only the build requirements), a developer's
  venv holds all of them; the generated C is the same in both (tests/packaging checks).
- Without a C compiler or Python's headers the build does not fail: it says so in one
  line and builds plain Python (a ``py3-none-any`` wheel). A compiler that is found but
  fails also leaves plain Python behind, never half a compiled group.
- ``REGCAST_PURE_PYTHON=1`` builds plain Python on purpose.

pip shows a build's output only with ``-v``; ``regcast --version`` tells afterwards
which hot path an installation runs.
"""

from __future__ import annotations

import os
import runpy
import shlex
import shutil
import sys
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

_NATIVE = runpy.run_path(os.path.join("producer", "native.py"))

MYPYC_OPTIONS = ["--no-site-packages"]
"""Options mypyc's type check runs with: the same types whatever is installed."""


def _notice(reason: str) -> None:
    print(f"regcast: {reason}: the producer's hot path is installed as plain Python", flush=True)


_plain_python_reason: str | None = None
"""Why this build compiles nothing; said once, when the build runs (``build_py``)."""


def missing_build_tool() -> str | None:
    """What stops a C build here (no compiler, no ``Python.h``), or None."""
    compiler = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    program = shlex.split(compiler)[0] if compiler.strip() else "cc"
    if shutil.which(program) is None:
        return f"no C compiler ({program}) on PATH"
    include = sysconfig.get_paths()["include"]
    if not Path(include, "Python.h").is_file():
        return f"no Python headers (Python.h) in {include}"
    return None


def compiled_extensions() -> list[Extension]:
    global _plain_python_reason
    if _NATIVE["pure_python_requested"]():
        _plain_python_reason = f"{_NATIVE['PURE_PYTHON_ENV']} is set"
        return []
    _plain_python_reason = missing_build_tool()
    if _plain_python_reason is not None:
        return []
    from mypyc.build import mypycify

    # relative: tracebacks name producer/x.py, and the C does not depend on the build folder
    sources = [
        os.path.relpath(_NATIVE["source_path"](module)) for module in _NATIVE["COMPILED_MODULES"]
    ]
    return mypycify([*MYPYC_OPTIONS, *sources], group_name=_NATIVE["COMPILED_GROUP"])


EXAMPLE_FILES = ["regcast.toml", "schemas/avro/*.avsc", "schemas/protobuf/**/*.proto"]
"""What ``regcast demo`` registers, shipped as ``regcast/examples/`` so that the demo
runs from an installed package, outside a checkout (MANIFEST.in puts them in the sdist)."""


class BuildPy(build_py):
    """``build_py`` that says, once per build, why nothing is compiled (if so), and copies
    the demo's example schemas into the package."""

    def run(self) -> None:
        if _plain_python_reason is not None:
            _notice(_plain_python_reason)
        super().run()
        if self.editable_mode:  # an editable install finds them in the checkout
            return
        target = Path(self.build_lib, "regcast", "examples")
        for pattern in EXAMPLE_FILES:
            for source in sorted(Path().glob(pattern)):
                self.mkpath(str(target / source.parent))
                self.copy_file(str(source), str(target / source))


class BuildNativeOrPlain(build_ext):
    """``build_ext`` that falls back to plain Python when the C build fails.

    All or nothing (producer/native.py): a failure removes whatever was built, so an
    installation never mixes compiled and plain modules.
    """

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # compiler and linker errors have no common base
            for extension in self.extensions:
                Path(self.get_ext_fullpath(extension.name)).unlink(missing_ok=True)
            print(f"regcast: the C build failed ({type(exc).__name__}: {exc})", file=sys.stderr)
            _notice("the C build failed")


setup(
    ext_modules=compiled_extensions(),
    cmdclass={"build_ext": BuildNativeOrPlain, "build_py": BuildPy},
)
