"""The producer's hot path, compiled to C by mypyc, and the switch back to plain Python.

Why compiled: with small records, ``send()`` is bound by the interpreter, not by the
broker or the network: the builder, the future, the accumulator and the partitioner
cost about 2.3 us of bytecode per record, twice librdkafka's whole cost. The same
sources, unchanged and typed as mypy already checks them, compiled by mypyc run about
1.7 times as many 100-byte records per second (docs/benchmarks/producer.md).
``setup.py`` compiles :data:`COMPILED_MODULES` when the package is built; ``make
native`` rebuilds them in place after an edit.

``REGCAST_PURE_PYTHON=1`` turns it off:

- at install time, nothing is compiled (for a machine without a C compiler);
- at run time, the ``.py`` sources are imported even where compiled modules exist: for
  profilers that only see Python frames (py-spy, pyinstrument), for tracebacks with
  source lines, and for the test run that keeps the plain-Python path working.

It is all or nothing: compiled modules call each other directly in C and expect each
other's native classes, so either every module below is compiled code or none is.

One trap for whoever edits these modules: mypyc multiplies (and divides) ints in
machine words only while both operands are below 2**30; larger ones go to CPython's
big-int code, which runs pending signal handlers, and an exception raised there is
taken by mypyc for an allocation failure: the process aborts ("fatal: out of memory").
Arithmetic on wide values belongs in ``i64`` (as in ``partitioner.murmur2``).
This module is imported first by ``producer/__init__.py`` so that the switch takes
effect before any of them is imported.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

__all__ = [
    "COMPILED_GROUP",
    "COMPILED_MODULES",
    "PURE_PYTHON_ENV",
    "hot_path",
    "is_compiled",
    "pure_python_requested",
]

PURE_PYTHON_ENV = "REGCAST_PURE_PYTHON"

COMPILED_MODULES = (
    "producer.accumulator",
    "producer.batch",
    "producer.buffer_pool",
    "producer.clock",
    "producer.metadata",
    "producer.partitioner",
    "producer.producer",
    "producer.records.builder",
    "producer.records.varint",
)
"""What one ``send()`` runs through; the rest (sender, network, protocol) stays Python."""

COMPILED_GROUP = "producer._native"
"""mypyc's name for the modules compiled together: their code lives in one shared library,
``producer/_native__mypyc.*.so``; each module's own extension only points into it."""

_PACKAGE_ROOT = Path(__file__).resolve().parent


def pure_python_requested() -> bool:
    return os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0")


def source_path(module: str) -> Path:
    """The ``.py`` file of one of :data:`COMPILED_MODULES`."""
    return _PACKAGE_ROOT.joinpath(*module.split(".")[1:]).with_suffix(".py")


class _SourceFinder(MetaPathFinder):
    """Finds :data:`COMPILED_MODULES` as their ``.py`` sources, ahead of any extension."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname not in COMPILED_MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, source_path(fullname))


def is_compiled() -> bool:
    """True when the hot path runs as compiled code (what benchmarks should report)."""
    from producer.records import builder  # here: only after the switch is in place

    return not (builder.__file__ or "").endswith(".py")


def hot_path() -> str:
    """Which hot path runs, and why when it is plain Python (``regcast --version``)."""
    if is_compiled():
        return "compiled with mypyc"
    if pure_python_requested():
        return f"plain Python ({PURE_PYTHON_ENV} is set)"
    return "plain Python (not compiled at install: no C compiler then?)"


if pure_python_requested() and not any(isinstance(f, _SourceFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _SourceFinder())
