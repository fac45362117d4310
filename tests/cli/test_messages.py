"""Messages that say what is there: empty names refused, an unfinished run not called a
saddle, a store of minima named as such, a finished answer read from read-only media."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from landscape_cli.main import main
from landscape_cli.testing import error_line, invoke, run, unprivileged

DATA = Path(__file__).resolve().parents[1] / "data"
CONNECT = ["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "string", "--fmax", "0.5"]


@pytest.mark.parametrize(
    "args",
    [
        [*CONNECT, "--out", ""],
        ["minima", "mueller-brown", "--starts", "3", "--out", " "],
        ["train", "mlp", "--minima", "1", "--out", ""],
        ["demo", "--out-dir", ""],
        ["export", "{store}", ""],
        ["plot", "profile", "{store}", "--figure", ""],
    ],
)
def test_an_empty_name_is_refused(tmp_path, args):
    store = tmp_path / "s"
    run([*CONNECT, "--out", store])
    before = sorted(os.listdir(tmp_path))
    line = error_line(invoke([str(a).format(store=store) for a in args]))
    assert "needs a name, got an empty one" in line or "an empty name is no store" in line
    assert sorted(os.listdir(tmp_path)) == before


def test_an_unfinished_band_is_not_called_a_saddle(tmp_path):
    spec = f"{DATA / 'interrupting_potential.py'}:Interrupting"
    run(
        [
            "connect",
            spec,
            "-o",
            "bend=0.6",
            "-o",
            "after=12",
            "--start",
            "L",
            "--end",
            "R",
            "--method",
            "neb",
            "--fmax",
            "1e-4",
            "--out",
            tmp_path / "s",
        ],
        expect=130,
    )
    out = run(["inspect", tmp_path / "s"]).stdout
    assert "highest pivot so far" in out and "top of its path" not in out


def test_a_store_of_minima_is_named_as_such(tmp_path):
    run(["minima", "mueller-brown", "--starts", "10", "--out", tmp_path / "m"])
    assert "minima and no path, not path A-B" in error_line(invoke([*CONNECT, "--out", tmp_path / "m"]))


def test_a_finished_answer_needs_no_write_access(tmp_path):
    """A finished store on read-only media answers the same command without the lock."""
    folder = tmp_path / "media"
    folder.mkdir()
    run([*CONNECT, "--out", folder / "s"])
    for here, dirs, files in os.walk(folder):
        for name in dirs + files:
            os.chmod(os.path.join(here, name), 0o555 if name in dirs else 0o444)
    os.chmod(folder, 0o555)
    try:
        code, err = unprivileged(lambda: main([*CONNECT, "--out", str(folder / "s")]))
        refused, why = unprivileged(lambda: main([*CONNECT, "--out", str(folder / "s"), "--force"]))
    finally:
        for here, _dirs, _ in os.walk(folder):
            os.chmod(here, 0o755)
            for name in os.listdir(here):
                os.chmod(os.path.join(here, name), 0o755)
    assert code == 0, err
    assert refused == 1 and "ermission denied" in why  # writing still needs the lock, and fails in one line


def test_a_climber_that_is_no_saddle_is_recorded_as_such(tmp_path):
    """The ring's AutoNEB climber ends on the index-2 maximum at (0, 0), energy 2 (the
    true saddles are 1): connect says not_a_saddle, and so does the store afterwards."""
    r = invoke(["connect", "ring", "--start", "A", "--end", "B", "--out", tmp_path / "r"])
    assert r.exit_code == 1 and "not_a_saddle" in error_line(r)
    line = [x for x in run(["inspect", tmp_path / "r"]).stdout.splitlines() if x.startswith("path A-B")][0]
    assert "not_a_saddle" in line and "highest point 2 (an upper bound, no saddle estimate)" in line
    again = invoke(["connect", "ring", "--start", "A", "--end", "B", "--out", tmp_path / "r"])
    assert again.exit_code == 1 and "not_a_saddle" in error_line(again)  # the stored answer, judged the same
