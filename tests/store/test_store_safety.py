"""No writer removes or overwrites a file it did not write, whatever the store's index or
folder says: unit names that leave units/, a symlinked units/, an emptied or garbled
index, exports aimed inside a store, a disk too full for an export, killed exports."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import stale_temporaries
from landscape.paths.path import Path as LPath
from landscape.paths.path import Profile
from landscape.paths.result import Result, Status
from landscape.store import Store, vacant
from landscape.store import export as store_export
from landscape.store.codec import set_attrs
from landscape.store.export import export_store
from landscape.store.tree import FolderTree
from landscape_cli.testing import error_line, invoke, run, snapshot

CONNECT = ["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "string", "--fmax", "0.5"]


@pytest.fixture
def store(tmp_path):
    """A finished Mueller-Brown store beside a folder of the user's own files."""
    run([*CONNECT, "--out", tmp_path / "s"])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's notes\n")
    export_store(tmp_path / "s", mine / "own.h5")  # valid HDF5, as a unit would be
    return tmp_path / "s", mine


def _set_unit(store_dir, unit: str) -> None:
    """Point one array of the index at `unit`, as a damaged or edited index would."""
    db = sqlite3.connect(store_dir / "index.sqlite")
    with db:
        db.execute("UPDATE arrays SET unit = ? WHERE grp = 'paths/A-B/profile'", (unit,))
    db.close()


@pytest.mark.parametrize("unit", ["../../mine/own.h5", "../../mine/notes.txt", "/etc/hostname"])
def test_a_unit_name_outside_units_is_damage_and_never_deleted(store, unit):
    folder, mine = store
    _set_unit(folder, unit)
    before = snapshot(mine)
    check = invoke(["inspect", "--check", folder])
    assert check.exit_code == 1 and "not a unit's name" in check.stderr  # not "integrity: ok"
    assert "is damaged" in error_line(invoke([*CONNECT, "--out", folder, "--method", "neb"]))
    with pytest.raises(LandscapeError, match="is damaged"):
        Store.write(folder)
    run([*CONNECT, "--out", folder, "--force"])  # replacing the store, as asked ...
    assert snapshot(mine) == before  # ... removes its own units only


def test_reading_an_array_through_a_foreign_unit_name_is_one_line(store):
    folder, _ = store
    _set_unit(folder, "../../mine/own.h5")
    with Store.open(folder) as s, pytest.raises(LandscapeError, match="not a file of its units/ folder"):
        s.read_result("A-B")


def test_a_symlinked_units_folder_is_refused_by_writers(store):
    folder, mine = store
    for name in os.listdir(folder / "units"):
        os.rename(folder / "units" / name, mine / name)
    os.rmdir(folder / "units")
    os.symlink(mine, folder / "units")
    (mine / ("0" * 32 + ".h5")).write_bytes(b"looks like a unit, is the user's")
    before = snapshot(mine)
    assert "symbolic link" in error_line(invoke([*CONNECT, "--out", folder, "--force"]))
    assert "symbolic link" in invoke(["inspect", "--check", folder]).stderr
    assert snapshot(mine) == before


def test_the_sweep_removes_only_unit_names(store):
    """Orphan units of a killed writer go; a user's file put into units/ stays."""
    folder, _ = store
    orphan, temp = "f" * 32 + ".h5", ".tmp-" + "e" * 32 + ".h5"
    for name in (orphan, temp, "notes.h5", "backup.h5.1", ".tmp-x"):
        (folder / "units" / name).write_bytes(b"x")
    with Store.write(folder) as s:
        s.write_array_group("extra", {"a": [1.0]})
    left = set(os.listdir(folder / "units"))
    assert orphan not in left and temp not in left
    assert {"notes.h5", "backup.h5.1", ".tmp-x"} <= left


@pytest.mark.parametrize("damage", ["emptied", "garbled"])
def test_a_damaged_index_beside_units_is_never_replaced_without_force(store, damage):
    folder, _ = store
    index = folder / "index.sqlite"
    for side in ("index.sqlite-wal", "index.sqlite-shm"):
        if (folder / side).exists():
            os.remove(folder / side)
    index.write_bytes(b"" if damage == "emptied" else os.urandom(8192))
    before = snapshot(folder / "units")
    assert not vacant(str(folder))
    assert "cannot read its index" in error_line(invoke([*CONNECT, "--out", folder]))
    assert "cannot read its index" in error_line(invoke(["inspect", folder]))
    assert "already exists" in error_line(invoke(["minima", "mueller-brown", "--starts", "5", "--out", folder]))
    assert snapshot(folder / "units") == before


def test_a_store_killed_while_being_created_is_still_taken_over(tmp_path):
    """An index without a root and no units (a writer killed at its first commit)."""
    folder = tmp_path / "s"
    (folder / "units").mkdir(parents=True)
    sqlite3.connect(folder / "index.sqlite").close()
    assert vacant(str(folder))
    run([*CONNECT, "--out", folder])


def test_exports_and_stores_inside_a_store_are_refused(store):
    folder, _ = store
    before = snapshot(folder)
    assert "lies inside the store" in error_line(invoke(["export", folder, folder / "units" / "x.h5"]))
    assert "lies inside the store" in error_line(invoke([*CONNECT, "--out", folder / "units" / "inner"]))
    assert snapshot(folder) == before


def test_an_export_that_cannot_fit_is_refused_before_writing(store, monkeypatch, tmp_path):
    folder, _ = store
    monkeypatch.setattr(store_export.shutil, "disk_usage", lambda _: SimpleNamespace(free=1000))
    with pytest.raises(LandscapeError, match="No space left on device.*needed, 1,000 free"):
        export_store(folder, tmp_path / "out.h5")
    assert [n for n in os.listdir(tmp_path) if ".tmp-" in n] == []


def test_a_killed_exports_temporary_file_goes_with_the_next_export(store, tmp_path):
    folder, _ = store
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".out.h5.tmp-{int(dead.stdout)}"
    live = tmp_path / f".out.h5.tmp-{os.getppid()}"  # a running export's: kept
    stale.write_bytes(b"half an export")
    live.write_bytes(b"an export under way")
    assert stale_temporaries(str(tmp_path), ".out.h5.tmp-") == [str(stale)]
    export_store(folder, tmp_path / "out.h5")
    assert not stale.exists() and live.exists() and (tmp_path / "out.h5").exists()


# the integrity check sees damage a resume or a report would trip over ---------------------
DATA = Path(__file__).resolve().parents[1] / "data"


def _interrupted(tmp_path, method: str) -> Path:
    """A store holding a run of `method` stopped by Ctrl-C with its state committed."""
    folder = tmp_path / method
    spec = f"{DATA / 'interrupting_potential.py'}:Interrupting"
    args = [
        "connect",
        spec,
        "-o",
        "bend=0.6",
        "-o",
        f"after={400 if method == 'autoneb' else 12}",
        "--start",
        "L",
        "--end",
        "R",
        "--method",
        method,
        "--out",
        folder,
    ]
    run([*args, *(["--fmax", "1e-4"] if method == "neb" else ["--schedule", "quick"])], expect=130)
    return folder


def _edit(folder, edit) -> None:
    tree = FolderTree(str(folder), write=True, edit_units=True)
    try:
        edit(tree.root(), tree)
    finally:
        tree.commit()


def _problems(folder) -> list[str]:
    with Store.open(folder) as s:
        return s.check()


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda f, t: f["paths/L-R/checkpoint/history"].__setitem__(0, np.nan), "checkpoint: history contains NaN"),
        (lambda f, t: f["paths/L-R/checkpoint"].attrs.__setitem__("nit", "twelve"), "'nit' is 'twelve', not a number"),
        (lambda f, t: f["paths/L-R/checkpoint"].__delitem__("forces"), "checkpoint: missing dataset 'forces'"),
        (lambda f, t: f["paths/L-R"].attrs.__setitem__("upper_bound", np.inf), "upper_bound is inf"),
    ],
)
def test_check_sees_a_damaged_running_band(tmp_path, edit, expected):
    folder = _interrupted(tmp_path, "neb")
    assert _problems(folder) == []
    _edit(folder, edit)
    problems = _problems(folder)
    assert any(expected in p for p in problems), problems


def test_check_reads_a_checkpoints_sample_counts(tmp_path):
    """A network run's checkpoint keeps the samples it spent (a mapping): sound counts
    pass the check, anything else is reported."""
    folder = _interrupted(tmp_path, "neb")
    counts = '{"gradient": 3200, "forward": 576}'
    _edit(folder, lambda f, t: set_attrs(f["paths/L-R/checkpoint"], {"samples": json.loads(counts)}))
    assert _problems(folder) == []
    _edit(folder, lambda f, t: set_attrs(f["paths/L-R/checkpoint"], {"samples": {"gradient": -1}}))
    assert any("not counts of samples" in p for p in _problems(folder))


def test_check_sees_a_lost_cycle(tmp_path):
    folder = _interrupted(tmp_path, "autoneb")
    with Store.open(folder) as s:
        n = s.path_info("L-R")["cycles"]
    assert n >= 2 and _problems(folder) == []
    db = sqlite3.connect(folder / "index.sqlite")
    with db:  # the group row of the first cycle, deleted by hand: its arrays stay behind
        db.execute("DELETE FROM groups WHERE path = 'paths/L-R/cycles/000000'")
    db.close()
    problems = _problems(folder)
    assert any("not numbered 0 to" in p for p in problems), problems
    assert any("cycles/000000/pivots: its group is not in the index" in p for p in problems), problems


def test_check_accepts_integer_energies(tmp_path):
    """A store written from an int-valued potential is sound (the dense maximum of its
    profile once overflowed: "cannot convert float infinity to integer")."""
    e = np.array([0, 3, 1])
    result = Result(
        path=LPath(np.zeros((3, 2)), e),
        status=Status.CONVERGED,
        message="",
        nit=1,
        nfev=3,
        history=np.array([3.0]),
        profile=Profile(np.linspace(0, 1, 5), np.array([0, 2, 3, 2, 1]), np.array([1, 0, 1, 0, 1], dtype=bool)),
        climbing=False,
        cycles=(),
        config={},
        state=None,
    )
    with Store.create(tmp_path / "s", {"name": "ints"}) as s:
        s.write_minima(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([0.0, 1.0]), ["A", "B"])
        s.write_result("A-B", result, start="A", end="B")
    assert _problems(tmp_path / "s") == []


def _damage_page(index, page: int) -> None:
    """Overwrite the head of one page of an SQLite file, as a bad sector would."""
    data = bytearray(index.read_bytes())
    data[page * 4096 : page * 4096 + 16] = b"\xab" * 16
    index.write_bytes(bytes(data))


@pytest.mark.parametrize("page", [1, 2, 3])
def test_a_damaged_index_page_is_one_line_for_every_command(store, page, tmp_path):
    folder, _ = store
    with Store.open(folder):
        pass  # a reader's open checkpoints nothing: the pages below are the committed ones
    if (folder / "index.sqlite").stat().st_size <= page * 4096:
        pytest.skip("the index has fewer pages")
    _damage_page(folder / "index.sqlite", page)
    failed = 0
    for args in (
        ["inspect", "--check", folder],
        [*CONNECT, "--out", folder],
        ["report", folder],
        ["plot", "profile", folder, "--figure", tmp_path / "p.png"],
    ):
        r = invoke(args)
        if r.exit_code:  # a page a command does not read leaves it working
            assert "its index is damaged" in error_line(r) or "cannot read its index" in error_line(r)
            failed += 1
    assert failed, "the damage went unnoticed by every command"


def test_a_description_that_is_not_an_object_is_one_line(store):
    folder, _ = store
    _edit(folder, lambda f, t: f["potential"].attrs.__setitem__("description", "[1, 2, 3]"))
    for args in (["inspect", folder], [*CONNECT, "--out", folder], ["explore", folder]):
        assert "it is a JSON list, not an object" in error_line(invoke(args))
