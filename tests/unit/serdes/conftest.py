"""Make the generated test protos (tests/integration/serdes/protos) importable."""

from __future__ import annotations

import sys
from pathlib import Path

PROTOS = Path(__file__).resolve().parents[2] / "integration" / "serdes" / "protos"
if str(PROTOS) not in sys.path:
    sys.path.insert(0, str(PROTOS))
