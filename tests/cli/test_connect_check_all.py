"""`connect --check-all`: the climber check's whole grid, against the points that can matter."""

from __future__ import annotations

import json

from landscape_cli.testing import error_line, invoke

ARGS = ["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb", "--json"]


def test_check_all_evaluates_every_grid_point_and_finds_the_same_saddle():
    runs = [json.loads(invoke(ARGS + extra).stdout) for extra in ([], ["--check-all"])]
    checks = [r["pivot_evaluations"]["checks"] for r in runs]
    assert checks[1] == 8 * 9 > checks[0]  # 9 pivots: 8 segments of 9 points
    assert runs[0]["saddle_energy"] == runs[1]["saddle_energy"] and all(r["climber_at_top"] for r in runs)
    assert runs[1]["evaluations"] - runs[0]["evaluations"] == checks[1] - checks[0]  # the same band


def test_check_all_is_refused_for_autoneb():
    r = invoke(["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "autoneb", "--check-all"])
    assert r.exit_code == 1 and "--check-all applies to --method neb or string" in error_line(r)
