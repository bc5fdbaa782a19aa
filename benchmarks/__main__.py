"""``python -m benchmarks [NAME ...]``: every benchmark in turn (or the named ones).

Names are the ``bench_<name>`` modules: ``records``, ``serdes``, ``producer``, ``registry``,
``typed``, ``tls``, ``serve``, ``transactions``.
Each runs with its own defaults; run a module directly to pass it options.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("records", "serdes", "producer", "transactions", "registry", "typed", "tls", "serve")


def main(argv: list[str]) -> None:
    for name in argv or BENCHMARKS:
        if name not in BENCHMARKS:
            raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
        module = importlib.import_module(f"benchmarks.bench_{name}")
        sys.argv = [f"benchmarks.bench_{name}"]
        print(f"\n=== benchmarks.bench_{name} ===", flush=True)
        module.main()


if __name__ == "__main__":
    main(sys.argv[1:])
