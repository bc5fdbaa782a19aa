"""Builds regcast; compiles the producer's hot path to C with mypyc (producer/native.py).

The package's metadata lives in pyproject.toml; this file only adds the compiled
modules. ``REGCAST_PURE_PYTHON=1`` builds without them (no C compiler needed).
"""

import os
import runpy

from setuptools import Extension, setup


def compiled_extensions() -> list[Extension]:
    native = runpy.run_path(os.path.join("producer", "native.py"))
    if native["pure_python_requested"]():
        return []
    from mypyc.build import mypycify

    sources = [str(native["source_path"](module)) for module in native["COMPILED_MODULES"]]
    return mypycify(sources, group_name=native["COMPILED_GROUP"])


setup(ext_modules=compiled_extensions())
