"""The packages are typed (mypy --strict, configured in pyproject.toml): a change that breaks the
types fails the suite, as a failing test would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_packages_type_check() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "api", "bots", "handoff", "nlu", "bench"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
