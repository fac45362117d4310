"""`landscape minima POTENTIAL --method basinhopping --time-limit SECONDS`: a walk that meets
its wall-clock limit stops, says so, and records it in the store and in --json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from landscape.store import Store
from landscape_cli.testing import error_line, run

LJ7 = ["minima", "lj", "-o", "atoms=7", "--method", "basinhopping", "--seed", "3"]


def test_a_tiny_limit_stops_after_the_first_step(tmp_path):
    # any quench of LJ7 outlasts a microsecond, so the walk stops after its first step
    said = run([*LJ7, "--steps", "1000", "--time-limit", "1e-6", "--out", tmp_path / "cut"]).stdout
    assert "2 quenches" in said and "stopped at the time limit of 1e-06 s after 1 of 1000 steps" in said
    cut = json.loads(run([*LJ7, "--steps", "1000", "--time-limit", "1e-6", "--out", tmp_path / "j", "--json"]).stdout)
    assert cut["stopped_at_time_limit"] is True and cut["time_limit"] == 1e-6 and cut["quenches"] == 2
    # the same seed walked one step with no limit: the stopped walk is that walk's prefix
    one = json.loads(run([*LJ7, "--steps", "1", "--out", tmp_path / "one", "--json"]).stdout)
    assert one["stopped_at_time_limit"] is False and one["time_limit"] is None
    assert (cut["quenches"], cut["evaluations"], cut["hits"]) == (one["quenches"], one["evaluations"], one["hits"])
    np.testing.assert_array_equal(cut["energies"], one["energies"])
    with Store.open(tmp_path / "cut") as store:
        meta = store.minima_metadata()
    assert meta["stopped_at_time_limit"] is True and meta["time_limit"] == 1e-6 and meta["quenches"] == 2


def test_a_limit_the_walk_does_not_reach_is_not_reported(tmp_path):
    said = run([*LJ7, "--steps", "3", "--time-limit", "1000", "--out", tmp_path / "s"]).stdout
    assert "4 quenches" in said and "time limit" not in said
    with Store.open(tmp_path / "s") as store:
        meta = store.minima_metadata()
    assert meta["stopped_at_time_limit"] is False and meta["time_limit"] == 1000


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method", "basinhopping", "--time-limit", "0"], "--time-limit must be a positive number of seconds"),
        (["--method", "basinhopping", "--time-limit", "-2"], "--time-limit must be a positive number of seconds"),
        (["--method", "basinhopping", "--time-limit", "nan"], "--time-limit must be a positive number of seconds"),
        (["--method", "basinhopping", "--time-limit", "inf"], "--time-limit must be a positive number of seconds"),
        (["--time-limit", "5"], "--time-limit applies to --method basinhopping only"),
    ],
)
def test_bad_limits_are_one_line(tmp_path, args, message):
    out = tmp_path / "bad"
    assert message in error_line(run(["minima", "lj", "-o", "atoms=7", *args, "--out", out], 1))
    assert not out.exists()
