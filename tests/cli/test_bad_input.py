"""Every row of docs/bad-input.md, through the CLI: one line, non-zero exit, files intact."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from landscape.foundations.lock import WriterLock
from landscape.store.export import export_store
from landscape_cli.main import main
from landscape_cli.testing import invoke, snapshot, unprivileged

SCALED = (Path(__file__).resolve().parents[1] / "data" / "scaled_potential.py").read_text()

DOC = Path(__file__).resolve().parents[2] / "docs" / "bad-input.md"
ROW = re.compile(r"^\| (\d+) \| (.+?) \| `landscape (.+?)` \| `(.+?)` \|$")
ROWS = [m.groups() for m in map(ROW.match, DOC.read_text().splitlines()) if m]


def run_cli(args: list[str]) -> tuple[int, str, str]:
    r = invoke(args)
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    f = {"missing": str(root / "missing" / "nothing.h5"), "dir": str(root / "folder")}
    os.mkdir(f["dir"])
    for name, dim in (("store", "2"), ("store3d", "3")):
        f[name] = str(root / f"{name}.h5")
        code, _, err = run_cli(
            [
                "connect",
                "mueller-brown",
                "-o",
                f"dim={dim}",
                "--start",
                "A",
                "--end",
                "B",
                "--method",
                "string",
                "--fmax",
                "0.5",
                "--out",
                f[name],
            ]
        )
        assert code == 0, err
    f["kinks"] = str(root / "kinks")  # row 174: NEB stored with the springs' pull across bends
    code, _, err = run_cli(
        ["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb", "--kinks"]
        + ["--fmax", "0.5", "--out", f["kinks"]]
    )
    assert code == 0, err
    f["no_unfold"] = str(root / "no_unfold")  # row 176: NEB stored without spreading folds
    code, _, err = run_cli(
        ["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb", "--no-unfold"]
        + ["--fmax", "0.5", "--out", f["no_unfold"]]
    )
    assert code == 0, err
    text = root / "notes.h5"
    text.write_text("these are notes, not HDF5\n")
    f["text"] = str(text)
    np.savez(root / "archive.npz", a=np.zeros((3, 2)))
    os.rename(root / "archive.npz", root / "archive.npy")  # an archive under an array's name
    f["npz"] = str(root / "archive.npy")
    np.save(root / "complex.npy", np.array([[-0.5, 1.4], [0.1 + 1j, 0.7], [0.6, 0.0]]))  # rows 109-110
    f["complex_npy"] = str(root / "complex.npy")
    f["nan_top_py"] = str(Path(__file__).resolve().parents[1] / "data" / "nan_top_potential.py")
    (root / "empty.h5").write_bytes(b"")
    f["empty"] = str(root / "empty.h5")
    export_store(f["store"], root / "one.h5")  # damage lands in single files, where h5py can write
    f["export"] = str(root / "one.h5")
    data = Path(root / "one.h5").read_bytes()
    (root / "truncated.h5").write_bytes(data[: len(data) // 2])
    f["truncated"] = str(root / "truncated.h5")
    for name, edit in (
        ("newer", lambda h: h.attrs.__setitem__("schema_version", 99)),
        ("nan_store", lambda h: h["paths/A-B/energies"].__setitem__(1, np.nan)),
    ):
        f[name] = str(root / f"{name}.h5")
        shutil.copyfile(root / "one.h5", f[name])
        with h5py.File(f[name], "r+") as h:
            edit(h)
    with h5py.File(root / "foreign.h5", "w") as h:
        h["numbers"] = np.arange(5)
    f["foreign"] = str(root / "foreign.h5")
    schedules = {
        "badjson": "{cycles: [",
        "sched_neg": '{"cycles": [{"steps": -5, "stepper": {"kind": "sgd", "lr": 0.1}}]}',
        "sched_lr0": '{"cycles": [{"steps": 5, "stepper": {"kind": "sgd", "lr": 0}}]}',
        "sched_kind": '{"cycles": [{"steps": 5, "stepper": {"kind": "newton", "lr": 0.1}}]}',
        "sched_shape": '[{"steps": 5}]',
        "sched_climb": '{"cycles": [{"steps": 5, "climb": "no", "stepper": {"kind": "sgd", "lr": 0.1}}]}',
        "sched_dtmax": '{"cycles": [{"steps": 5, "stepper": {"kind": "fire", "lr": 0.1, "dt_max": -1}}]}',
        "sched_inf": '{"cycles": [{"steps": 5, "stepper": {"kind": "sgd", "lr": Infinity}}]}',
        "sched_runaway": '{"cycles": [{"steps": 50, "stepper": {"kind": "sgd", "lr": 1}}]}',
        "sched_dense": '{"per_segment": 100000000, "cycles": [{"steps": 5, "stepper": {"kind": "sgd", "lr": 0.1}}]}',
    }
    for name, body in schedules.items():
        (root / f"{name}.json").write_text(body)
        f[name] = str(root / f"{name}.json")
    (root / "sched_latin1.json").write_bytes('{"name": "caf\xe9", "cycles": []}'.encode("latin-1"))
    f["sched_latin1"] = str(root / "sched_latin1.json")
    _damaged_checkpoint(root, f)
    (root / "broken.py").write_text("class Thing(:\n    pass\n")
    f["broken_py"] = str(root / "broken.py")
    f["lowlevel_py"] = str(Path(__file__).resolve().parents[1] / "data" / "lowlevel_potential.py")  # rows 99-101
    outside = tempfile.mkdtemp(prefix="landscape-bad-")  # what `root`'s snapshots must not read
    f["scaled_py"] = str(root / "scaled.py")
    Path(f["scaled_py"]).write_text(SCALED)
    f["scaled_store"] = str(root / "scaled.h5")
    code, _, err = run_cli(
        [
            "connect",
            f"{f['scaled_py']}:Scaled",
            "-o",
            "scale=1",
            "--start",
            "L",
            "--end",
            "R",
            "--method",
            "neb",
            "--fmax",
            "0.1",
            "--out",
            f["scaled_store"],
        ]
    )
    assert code == 0, err
    # rows 102-103: a store of a file edited since, and an exploration made with neb
    f.update(edited_py=str(root / "edited.py"), edited_store=str(root / "edited.h5"), explored=str(root / "explored"))
    Path(f["edited_py"]).write_text(SCALED)
    for args in (
        [
            "connect",
            f"{f['edited_py']}:Scaled",
            "--start",
            "L",
            "--end",
            "R",
            "--method",
            "neb",
            "--fmax",
            "0.1",
            "--out",
            f["edited_store"],
        ],
        ["minima", "mueller-brown", "--starts", "20", "--out", f["explored"]],
        ["explore", f["explored"], "--method", "neb", "--fmax", "0.1", "--max-runs", "1"],
    ):
        code, _, err = run_cli(args)
        assert code == 0, err
    Path(f["edited_py"]).write_text(SCALED + "\n# edited since its store was written\n")
    f["fifo"] = os.path.join(outside, "pipe.h5")  # outside `root`: its snapshot would block reading a fifo
    os.mkfifo(f["fifo"])
    f["readonly"] = os.path.join(outside, "readonly")
    os.mkdir(f["readonly"], 0o555)
    os.chmod(f["readonly"], 0o555)
    f["locked"] = str(root / "locked.h5")
    f["full"] = str(root / "full")
    os.mkdir(f["full"])
    mounted = (
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", f["full"]], capture_output=True).returncode
        == 0
    )
    _damaged_stores(root, f)
    yield f, mounted
    if mounted:
        subprocess.run(["umount", f["full"]], check=False)
    shutil.rmtree(outside, ignore_errors=True)


def _damaged_checkpoint(root: Path, f: dict[str, str]) -> None:
    """`{damaged_ck}`: a NEB run of `{interrupting_py}` interrupted with its state
    committed, whose checkpoint then lost its forces."""
    from landscape.store.tree import FolderTree

    store = root / "damaged_ck"
    spec = f"{Path(__file__).resolve().parents[1] / 'data' / 'interrupting_potential.py'}:Interrupting"
    args = [
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
        str(store),
    ]
    code, _, err = run_cli(args)
    assert code == 130, err
    tree = FolderTree(str(store), write=True)
    tree.root()["paths/L-R/checkpoint"].__delitem__("forces")
    tree.commit()
    f["damaged_ck"] = str(store)
    f["interrupting_py"] = spec.rsplit(":", 1)[0]
    f["faulty_py"] = str(Path(__file__).resolve().parents[1] / "data" / "faulty_potential.py")


def _damaged_stores(root: Path, f: dict[str, str]) -> None:
    """`{foreign_unit}`, `{linked_units}`, `{emptied}`: copies of `{store}` whose index names
    a file outside units/, whose units/ is a link to a folder of the user's own files, and
    whose index was emptied."""
    import sqlite3

    for name in ("foreign_unit", "linked_units", "emptied"):
        f[name] = str(root / name)
        shutil.copytree(f["store"], f[name])
    db = sqlite3.connect(os.path.join(f["foreign_unit"], "index.sqlite"))
    with db:
        db.execute("UPDATE arrays SET unit = ? WHERE grp = 'paths/A-B/profile'", (f["text"],))
    db.close()
    units = os.path.join(f["linked_units"], "units")
    shutil.move(units, root / "own_files")
    os.symlink(root / "own_files", units)
    for side in ("", "-wal", "-shm"):
        if os.path.exists(index := os.path.join(f["emptied"], f"index.sqlite{side}")):
            os.truncate(index, 0) if not side else os.remove(index)


def _snapshot(folder: str) -> dict[str, Any]:
    return snapshot(folder)


@pytest.mark.parametrize("number, case, command, expected", ROWS, ids=[f"{r[0]}-{r[1]}" for r in ROWS])
def test_bad_input_row(files, number, case, command, expected):
    f, mounted = files
    if "{full}" in command and not mounted:
        pytest.skip("cannot mount a 64 KiB tmpfs here to simulate a full disk")
    args = [a.format(**f) for a in shlex.split(command)]
    root = os.path.dirname(f["store"])
    before = _snapshot(root)
    if "{locked}" in command:
        with WriterLock(f["locked"]):
            code, out, err = run_cli(args)
    elif "{readonly}" in command:
        (code, err), out = unprivileged(lambda: main(args)), ""
    else:
        code, out, err = run_cli(args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0, f"row {number} ({case}) exited 0"
    assert len(lines) == 1 and lines[0].startswith("error: "), f"row {number}: stderr was {err!r}"
    assert "Traceback" not in err + out
    assert expected in lines[0], f"row {number}: {expected!r} not in {lines[0]!r}"
    assert _snapshot(root) == before, f"row {number} changed files"


def test_the_table_has_at_least_30_rows():
    assert len(ROWS) >= 30 and [int(r[0]) for r in ROWS] == list(range(1, len(ROWS) + 1))
