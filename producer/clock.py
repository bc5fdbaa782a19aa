"""The producer's one clock: monotonic milliseconds.

Logic takes ``now_ms`` as an argument (tests inject time); this is where the real value
comes from, for the threads that drive that logic.
"""

from __future__ import annotations

import time

__all__ = ["monotonic_ms"]


def monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000
