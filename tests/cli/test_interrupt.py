"""Ctrl-C, at start-up or mid-run, ends with exit 130 and one line, never a
success-shaped answer, and a store it leaves behind is resumable."""
from __future__ import annotations

import json
from pathlib import Path

from landscape.store import Store
from landscape_cli.testing import error_line, invoke

SPEC = f"{Path(__file__).resolve().parents[1] / 'data' / 'interrupting_potential.py'}:Interrupting"
CONNECT = ["connect", SPEC, "--start", "L", "--end", "R", "--schedule", "quick"]


def test_ctrl_c_mid_run_exits_130_and_the_store_resumes(tmp_path):
    """Each process is interrupted after 150 evaluations (one step is one call), so it
    finishes about one 100-step cycle; running the same command again continues."""
    out = tmp_path / "i.h5"
    command = CONNECT + ["-o", "after=150", "--out", out, "--json"]
    r = invoke(command)
    assert r.exit_code == 130 and r.stdout == ""
    assert "interrupted by the user" in error_line(r) and "continues it" in error_line(r)
    with Store.open(out) as s:
        info = s.path_info("L-R")
    assert info["status"] == "running" and info["cycles"] >= 1  # committed cycles stay
    for _ in range(8):
        r = invoke(command)
        if r.exit_code == 0:
            break
        assert r.exit_code == 130 and "interrupted" in error_line(r)
    done = json.loads(r.stdout)
    assert done["status"] == "schedule_done" and done["cycles"] == 4 and done["resumed_from_cycle"] >= 1


def test_ctrl_c_without_a_store_exits_130(tmp_path):
    r = invoke(CONNECT + ["-o", "after=30", "--json"])
    assert r.exit_code == 130 and r.stdout == "" and "interrupted" in error_line(r)


def test_ctrl_c_during_start_up_is_one_line(tmp_path):
    r = invoke(CONNECT + ["-o", "at_start=true", "--out", tmp_path / "s.h5"])
    assert r.exit_code == 130 and "interrupted" in error_line(r)
    assert not (tmp_path / "s.h5").exists()


def test_ctrl_c_in_a_neb_run_keeps_its_state_and_the_rerun_continues_it(tmp_path):
    """A band commits its state when interrupted (not only every --checkpoint-every
    seconds): nothing computed before Ctrl-C is lost, and the result is the one an
    uninterrupted run gives."""
    neb = ["connect", SPEC, "-o", "bend=0.6", "--start", "L", "--end", "R", "--method", "neb", "--fmax", "0.0001", "--json"]
    whole = json.loads(invoke(neb + ["--out", tmp_path / "whole"]).stdout)
    out = tmp_path / "parts"
    # Ctrl-C at every 15th evaluation call: the whole run is 56 steps with the default
    # band, so the rerun is interrupted several times before it finishes
    command = neb + ["-o", "after=15", "--out", out]
    steps = []
    for _ in range(40):
        r = invoke(command)
        if r.exit_code == 0:
            break
        assert r.exit_code == 130 and "interrupted" in error_line(r)
        with Store.open(out) as s:
            steps.append(s.path_info("L-R")["nit"])
    done = json.loads(r.stdout)
    assert len(steps) >= 2 and steps == sorted(steps) and steps[0] > 0  # each rerun went further
    assert done["resumed_from_step"] == steps[-1]
    for key in ("saddle_energy", "iterations", "evaluations", "status"):
        assert done[key] == whole[key], key
