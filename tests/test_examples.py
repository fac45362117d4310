"""The example scripts run and say what their docstrings promise."""

from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_mueller_brown_example(tmp_path, capsys):
    runpy.run_path(str(EXAMPLES / "mueller_brown.py"), run_name="example")["main"](str(tmp_path))
    out = capsys.readouterr().out
    assert out.count("error +") == 3 and (tmp_path / "mb").is_dir() and (tmp_path / "plane.png").exists()


def test_three_hole_example_beats_the_local_path(capsys):
    runpy.run_path(str(EXAMPLES / "three_hole.py"), run_name="example")["main"]()
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("A-B:"))
    direct, bound, exact = (
        float(line.split(word)[1].split(",")[0])
        for word in ("direct path ", "best bound over the tree ", "grid-exact ")
    )
    assert direct > bound + 0.2  # the straight-line start found the higher, direct route
    assert abs(bound - exact) < 0.01
