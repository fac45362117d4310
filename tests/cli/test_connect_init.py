"""connect --init FILE: a starting path given pivot by pivot, used as it is."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from landscape.foundations.errors import LandscapeError
from landscape.potentials.identity import points_digest
from landscape.potentials.registry import load_potential
from landscape.runs.pair import plan
from landscape_cli.testing import error_line, invoke, run

MB = load_potential("mueller-brown")


def _rows(n: int = 11, lift: float = 0.3) -> np.ndarray:
    a, b = MB.minima["A"], MB.minima["B"]
    t = np.linspace(0, 1, n)[:, None]
    rows = (1 - t) * a + t * b
    rows[1:-1, 1] += lift * np.sin(np.pi * t[1:-1, 0])
    return rows


def test_the_starting_path_is_the_given_pivots_exactly():
    rows = _rows()
    job = plan(MB, rows[0], rows[-1], method="neb", initial=rows)
    np.testing.assert_array_equal(job.start_path.pivots, rows)
    assert job.via == () and job.given == points_digest(rows)
    assert plan(MB, rows[0], rows[-1], method="neb", initial=_rows(lift=0.2)).given != job.given


@pytest.mark.parametrize("suffix", [".npy", ".txt", ".csv"])
def test_cli_reads_the_path_and_defaults_the_ends_to_its_first_and_last_pivots(tmp_path, suffix):
    from landscape.store import Store

    rows, f = _rows(), str(tmp_path / f"init{suffix}")
    np.save(f, rows) if suffix == ".npy" else np.savetxt(f, rows, delimiter="," if suffix == ".csv" else " ")
    out = json.loads(
        run(["connect", "mueller-brown", "--init", f, "--method", "neb", "--json", "--out", str(tmp_path / "s")]).output
    )
    assert out["pivots"] == len(rows)
    assert out["saddle_energy"] == pytest.approx(-40.664844, abs=1e-5)  # Mueller-Brown's saddle between A and C
    with Store.open(str(tmp_path / "s")) as s:
        (name,) = s.path_names()
        info = s.path_info(name)
    assert (info["start"], info["end"]) == ("init-first", "init-last")
    again = json.loads(
        run(["connect", "mueller-brown", "--init", f, "--method", "neb", "--json", "--out", str(tmp_path / "s")]).output
    )
    assert again["reused"]  # the same run: the given path is part of what identifies it


def test_a_different_initial_path_is_another_run(tmp_path):
    first, second = str(tmp_path / "a.npy"), str(tmp_path / "b.npy")
    np.save(first, _rows())
    np.save(second, _rows(lift=0.2))
    store = str(tmp_path / "s")
    run(["connect", "mueller-brown", "--init", first, "--method", "neb", "--out", store])
    line = error_line(invoke(["connect", "mueller-brown", "--init", second, "--method", "neb", "--out", store]))
    assert "--force" in line


@pytest.mark.parametrize(
    "content, expected",
    [
        (lambda: _rows()[:, :1], "pivots of 1 coordinates; mueller-brown has dim=2"),
        (lambda: _rows()[:2], "at least 3 pivots"),
        (lambda: np.where(np.arange(22).reshape(11, 2) == 7, np.nan, _rows()), "NaN or infinite"),
    ],
)
def test_bad_initial_paths_get_one_line(tmp_path, content, expected):
    f = str(tmp_path / "bad.npy")
    np.save(f, content())
    assert expected in error_line(invoke(["connect", "mueller-brown", "--init", f, "--method", "neb"]))


def test_files_that_are_no_table_get_one_line(tmp_path):
    text = tmp_path / "words.txt"
    text.write_text("a b c\n")
    assert "not a table of numbers" in error_line(invoke(["connect", "mueller-brown", "--init", str(text)]))
    os.mkfifo(tmp_path / "fifo")
    assert "is a fifo, not a file" in error_line(invoke(["connect", "mueller-brown", "--init", str(tmp_path / "fifo")]))
    assert "No such file" in error_line(invoke(["connect", "mueller-brown", "--init", str(tmp_path / "none.npy")]))
    rows = str(tmp_path / "ok.npy")
    np.save(rows, _rows())
    assert "last pivot is not the end" in error_line(
        invoke(["connect", "mueller-brown", "--init", rows, "--start", "A", "--end", "C"])
    )
    assert "give --start and --end" in error_line(invoke(["connect", "mueller-brown", "--start", "A"]))
    np.savez(tmp_path / "two.npz", a=_rows(), b=_rows())
    os.rename(tmp_path / "two.npz", tmp_path / "two.npy")  # an archive under an array's name
    (tmp_path / "empty.txt").write_text("")
    np.save(tmp_path / "words.npy", np.array(["a", "b"]))
    for name in ("two.npy", "empty.txt", "words.npy"):
        assert "not a table of numbers" in error_line(
            invoke(["connect", "mueller-brown", "--init", str(tmp_path / name)])
        ), name
    with pytest.raises(LandscapeError, match="without via or pivots"):
        plan(MB, MB.minima["A"], MB.minima["B"], method="neb", initial=_rows(), pivots=11)


def test_an_initial_path_whose_ends_are_no_minima_is_used_as_it_is(tmp_path):
    """Relaxing an end would move it off the path's first pivot: the ends of an --init
    path are checked and reported, never moved."""
    rows = _rows()
    rows[0, 0] += 0.05
    f = str(tmp_path / "off.npy")
    np.save(f, rows)
    out = run(["connect", "mueller-brown", "--init", f, "--method", "neb"])
    assert "start point is not a minimum" in out.output and "kept as given (--init)" in out.output
    assert (
        json.loads(run(["connect", "mueller-brown", "--init", f, "--method", "neb", "--json"]).output)["status"]
        == "converged"
    )
