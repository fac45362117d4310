"""The code passes ruff's lint and format checks as pyproject.toml configures them.

ruff comes with the test extra (pinned: another version formats differently); without
it these tests skip, saying so.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if exe is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    return subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_is_clean():
    run = _ruff("check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout[-4000:]


def test_ruff_format_is_clean():
    run = _ruff("format", "--check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout[-4000:]
