"""Tests for landscape.store: round trips, layout, integrity checks and crash safety."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
import tempfile
import threading
import time

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landscape.foundations.errors import LandscapeError
from landscape.paths.path import Path, Profile
from landscape.paths.result import CycleRecord, Result, Status
from landscape.store import SCHEMA_VERSION, Store
from landscape.store import layout as store_layout
from landscape.store import tree as store_tree
from landscape.store.export import export_store
from landscape.store.tree import FolderTree
from landscape.testing import examples
from landscape_cli.testing import unprivileged

POTENTIAL = {"name": "toy", "dim": 3, "class": "Toy", "options": {"scale": 1.5}}


# builders ---------------------------------------------------------------------------------
def make_path(rng: np.random.Generator, n: int, dim: int, dtype: type) -> Path:
    return Path(rng.normal(size=(n, dim)).astype(dtype), rng.normal(size=n).astype(dtype))


def make_cycle(rng: np.random.Generator, index: int, n: int, dim: int, dtype: type) -> CycleRecord:
    k = int(rng.integers(0, 5))
    return CycleRecord(
        index=index,
        steps=int(rng.integers(1, 100)),
        lr=float(rng.uniform(0.01, 1)),
        climb=bool(index % 2),
        path=make_path(rng, n, dim, dtype),
        dense_t=rng.uniform(size=3 * k).astype(dtype),
        dense_energies=rng.normal(size=3 * k).astype(dtype),
        residuals=rng.normal(size=n - 2).astype(dtype),
        inserted=rng.uniform(size=k % 3),
        nfev=int(rng.integers(1, 1000)),
    )


def make_profile(rng: np.random.Generator, n: int, dtype: type) -> Profile:
    m = 4 * n
    return Profile(np.sort(rng.uniform(size=m)), rng.normal(size=m).astype(dtype), rng.uniform(size=m) < 0.3)


def make_result(
    seed: int = 0,
    n: int = 6,
    dim: int = 3,
    n_cycles: int = 2,
    dtype: type = np.float64,
    status: Status = Status.CONVERGED,
    climbing: bool = False,
    profile: bool = True,
    config_extra: dict | None = None,
) -> Result:
    rng = np.random.default_rng(seed)
    return Result(
        path=make_path(rng, n, dim, dtype),
        status=status,
        message="converged: max force 1e-4 < tol",
        nit=123,
        nfev=4567,
        history=rng.normal(size=17).astype(dtype),
        climbing=climbing,
        profile=make_profile(rng, n, dtype) if profile else None,
        cycles=tuple(make_cycle(rng, i, n, dim, dtype) for i in range(n_cycles)),
        config={
            "lr": 0.1,
            "n_pivots": n,
            "climb": True,
            "schedule": [[10, 0.1], [5, 0.01]],
            "seed": 7,
            **(config_extra or {}),
        },
        state={"momentum": np.ones(3)},
    )


def same_array(a: np.ndarray | None, b: np.ndarray | None) -> None:
    """Bit-exact equality, dtype and shape included (NaN and -0.0 too)."""
    if a is None or b is None:
        assert a is None and b is None
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def same_result(a: Result, b: Result) -> None:
    same_array(a.path.pivots, b.path.pivots)
    same_array(a.path.energies, b.path.energies)
    same_array(a.history, b.history)
    assert (a.status, a.message, a.nit, a.nfev, a.config) == (b.status, b.message, b.nit, b.nfev, b.config)
    assert b.climbing is a.climbing and (a.profile is None) == (b.profile is None)
    if a.profile is not None:
        for key in ("t", "energies", "is_pivot"):
            same_array(getattr(a.profile, key), getattr(b.profile, key))
    assert len(a.cycles) == len(b.cycles)
    for x, y in zip(a.cycles, b.cycles):
        assert (x.index, x.steps, x.lr, x.climb, x.nfev) == (y.index, y.steps, y.lr, y.climb, y.nfev)
        assert type(y.climb) is bool and type(y.lr) is float
        for key in ("dense_t", "dense_energies", "residuals", "inserted"):
            same_array(getattr(x, key), getattr(y, key))
        same_array(x.path.pivots, y.path.pivots)
        same_array(x.path.energies, y.path.energies)


def write_store(filename: os.PathLike | str, result: Result | None = None) -> None:
    with Store.create(filename, POTENTIAL) as s:
        s.write_minima(np.eye(3)[:2], np.array([-1.0, -0.5]), ["A", "B"])
        s.write_result("A-B", result or make_result(), start="A", end="B")


def assert_one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert msg and "\n" not in msg and "Traceback" not in msg
    return msg


def full(*args, **kwargs):
    """Stands in for a write on a full disk."""
    raise OSError(errno.ENOSPC, "No space left on device")


def temp_leftovers(directory: os.PathLike | str) -> list[str]:
    """Temporary files in `directory` and in the units of any store folder in it."""
    found = []
    for root, _, files in os.walk(directory):
        found += [os.path.join(root, f) for f in files if ".tmp-" in f]
    return found


def contents(filename: os.PathLike | str) -> dict:
    """Everything a store holds, as comparable values (bytes of every array included)."""
    with Store.open(filename) as s:
        out = {k: v for k, v in s.describe().items() if k != "modified"}
        for name in s.path_names():
            r = s.read_result(name)
            out[name] = [r.path.pivots.tobytes(), r.history.tobytes(), [c.path.pivots.tobytes() for c in r.cycles]]
        if out["minima"]["count"]:
            out["minima_arrays"] = [a.tobytes() if hasattr(a, "tobytes") else a for a in s.read_minima()]
    return out


def units(filename: os.PathLike | str) -> list[str]:
    return sorted(os.listdir(os.path.join(filename, "units")))


@contextlib.contextmanager
def tamper(filename: os.PathLike | str):
    """Edit a store folder behind the Store's back, as damage or another program would:
    the root group, with datasets writable in place."""
    tree = FolderTree(str(filename), write=True, edit_units=True)
    try:
        yield tree.root()
    finally:
        tree.commit()


# round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_result_round_trip_is_exact(tmp_path, dtype):
    result = make_result(dtype=dtype, n_cycles=3)
    write_store(tmp_path / "s.h5", result)
    with Store.open(tmp_path / "s.h5") as s:
        back = s.read_result("A-B")
    same_result(result, back)
    assert back.state is None and back.path.pivots.dtype == dtype


def test_result_with_torch_like_arrays_and_unevaluated_path(tmp_path):
    class FakeTensor:  # what to_numpy needs from a torch tensor, without importing torch
        def __init__(self, a):
            self.a, self.shape = a, a.shape

        def detach(self):
            return self

        def cpu(self):
            return self

        def numpy(self):
            return self.a

    pivots = np.arange(8.0).reshape(4, 2)
    result = Result(Path(FakeTensor(pivots)), Status.MAX_STEPS, "stopped", 5, 9, FakeTensor(np.ones(5)))
    with Store.create(tmp_path / "s.h5", POTENTIAL) as s:
        s.write_result("p", result)
    with Store.open(tmp_path / "s.h5") as s:
        back = s.read_result("p")
        info = s.path_info("p")
    same_array(back.path.pivots, pivots)
    assert back.path.energies is None and back.cycles == () and "saddle_energy" not in info


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 7),
    dim=st.integers(1, 5),
    n_cycles=st.integers(0, 3),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
    status=st.sampled_from(list(Status)),
    compression=st.sampled_from([None, "gzip"]),
    climbing=st.booleans(),
    profile=st.booleans(),
)
def test_round_trip_random_shapes(n, dim, n_cycles, dtype, seed, status, compression, climbing, profile):
    result = make_result(seed, n, dim, n_cycles, dtype, status, climbing, profile)
    with tempfile.TemporaryDirectory() as d:
        filename = os.path.join(d, "s.h5")
        with Store.create(filename, POTENTIAL, compression=compression) as s:
            s.write_result("p", result)
        with Store.open(filename) as s:
            same_result(result, s.read_result("p"))
            assert s.check() == []


def test_minima_round_trip(tmp_path):
    coords = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    energies = np.array([-3.0, -2.0, -1.5, 0.25])
    names = ["A", "B", "ünïcode", "m 3"]
    with Store.create(tmp_path / "s.h5", POTENTIAL) as s:
        s.write_minima(coords, energies, names, metadata={"source": "grid", "tol": 1e-8})
    with Store.open(tmp_path / "s.h5") as s:
        c, e, nm = s.read_minima()
        assert s.minima_metadata() == {"source": "grid", "tol": 1e-8}
    same_array(c, coords)
    same_array(e, energies)
    assert nm == names and all(type(x) is str for x in nm)


def test_minima_validation(tmp_path):
    with Store.create(tmp_path / "s.h5", POTENTIAL) as s:
        with pytest.raises(LandscapeError, match="unique"):
            s.write_minima(np.zeros((2, 2)), np.zeros(2), ["A", "A"])
        with pytest.raises(LandscapeError, match="shape|coords"):
            s.write_minima(np.zeros((2, 2)), np.zeros(3), ["A", "B"])
        with pytest.raises(LandscapeError, match="no minima"):
            s.read_minima()


def test_array_group_round_trip(tmp_path):
    arrays = {
        "edges": np.array([[0, 1], [1, 2]], dtype=np.int64),
        "edge_energies": np.array([1.5, 2.5]),
        "in_tree": np.array([True, False]),
        "saddle_matrix": np.full((3, 3), np.inf),
        "linkage": np.array([[0, 1, 1.5, 2], [2, 3, 2.5, 3]]),
    }
    attrs = {"threshold": 0.5, "label": "level-1", "levels": [1, 2, 3], "opts": {"k": None}, "ok": True}
    with Store.create(tmp_path / "s.h5", POTENTIAL) as s:
        s.write_array_group("graph", arrays, attrs)
        with pytest.raises(LandscapeError, match="reserved"):
            s.write_array_group("paths", {})
    with Store.open(tmp_path / "s.h5") as s:
        back, back_attrs = s.read_array_group("graph")
        assert s.describe()["groups"] == ["graph"]
    assert back.keys() == arrays.keys()
    for k in arrays:
        same_array(back[k], arrays[k])
    assert back_attrs == attrs and type(back_attrs["ok"]) is bool


def test_write_result_replaces_and_extra_attrs(tmp_path):
    write_store(tmp_path / "s.h5")
    with Store.write(tmp_path / "s.h5") as s:
        s.write_result(
            "A-B",
            make_result(seed=5, n_cycles=0),
            "A",
            "B",
            extra_attrs={"units": "nats", "grid": [1, 2], "bn_mode": "eval"},
        )
        with pytest.raises(LandscapeError, match="reserved"):
            s.write_result("x", make_result(), extra_attrs={"status": "bad"})
        with pytest.raises(LandscapeError, match="invalid path name"):
            s.write_result("a/b", make_result())
    with Store.open(tmp_path / "s.h5") as s:
        same_result(make_result(seed=5, n_cycles=0), s.read_result("A-B"))
        info = s.path_info("A-B")
    assert info["units"] == "nats" and info["grid"] == [1, 2] and info["bn_mode"] == "eval"
    assert info["seed"] == 7  # taken from config


def test_append_cycle_commits_incrementally(tmp_path):
    filename = tmp_path / "s.h5"
    write_store(filename)
    final = make_result(seed=3, n_cycles=3)
    for record in final.cycles:
        with Store.write(filename) as s:
            s.append_cycle("C-D", record, start="A", end="B", config=final.config)
        with Store.open(filename) as s:  # after each commit the run so far is readable
            partial = s.read_result("C-D")
            assert partial.status is Status.RUNNING and s.check() == []
            same_array(partial.path.pivots, record.path.pivots)
            assert partial.cycles[-1].index == record.index
    assert partial.nit == sum(c.steps for c in final.cycles)
    assert partial.nfev == final.cycles[-1].nfev  # records count evaluations cumulatively
    expected = Result(
        path=record.path,
        status=Status.RUNNING,
        message=partial.message,
        nit=partial.nit,
        nfev=partial.nfev,
        history=partial.history,
        cycles=final.cycles,
        config=final.config,
        climbing=record.climb,
    )
    same_result(expected, partial)
    with Store.write(filename) as s:
        with pytest.raises(LandscapeError, match="already has cycle"):
            s.append_cycle("C-D", final.cycles[0])
        s.write_result("C-D", final, "A", "B")
        with pytest.raises(LandscapeError, match="finished"):
            s.append_cycle("C-D", final.cycles[0])
    with Store.open(filename) as s:
        same_result(final, s.read_result("C-D"))


def test_cycle_order_is_numeric(tmp_path):
    rng = np.random.default_rng(0)
    cycles = tuple(make_cycle(rng, i, 4, 2, np.float64) for i in (0, 2, 10, 1000))
    result = Result(make_path(rng, 4, 2, np.float64), Status.SCHEDULE_DONE, "", 1, 1, np.zeros(1), cycles=cycles)
    with Store.create(tmp_path / "s.h5", POTENTIAL) as s:
        s.write_result("p", result)
    export_store(tmp_path / "s.h5", tmp_path / "one.h5")
    with h5py.File(tmp_path / "one.h5", "r") as f:
        assert list(f["paths/p/cycles"]) == ["000000", "000002", "000010", "001000"]
    with Store.open(tmp_path / "s.h5") as s:
        assert [c.index for c in s.read_result("p").cycles] == [0, 2, 10, 1000]


def folder_bytes(folder: os.PathLike | str) -> int:
    return sum(os.path.getsize(os.path.join(folder, "units", u)) for u in units(folder))


def test_rewrites_do_not_grow_the_store(tmp_path):
    filename = tmp_path / "s.h5"
    write_store(filename)
    size, count = folder_bytes(filename), len(units(filename))
    for _ in range(4):
        with Store.write(filename) as s:
            s.write_result("A-B", make_result(), start="A", end="B")
    assert folder_bytes(filename) <= size * 1.05 and len(units(filename)) == count


# layout and summaries ---------------------------------------------------------------------
def test_units_are_plain_hdf5_and_the_export_holds_the_layout(tmp_path):
    write_store(tmp_path / "s.h5")
    for unit in units(tmp_path / "s.h5"):  # each unit names its group and holds its arrays
        with h5py.File(tmp_path / "s.h5" / "units" / unit, "r") as f:
            assert f.attrs["group"].startswith("/") and len(f) > 0
    export_store(tmp_path / "s.h5", tmp_path / "one.h5")
    with h5py.File(tmp_path / "one.h5", "r") as f:
        assert f.attrs["format"] == "landscape" and f.attrs["schema_version"] == SCHEMA_VERSION
        assert "created" in f.attrs
        versions = json.loads(f.attrs["library_versions"])
        assert {"landscape", "numpy", "h5py", "python"} <= versions.keys()
        assert json.loads(f["potential"].attrs["description"]) == POTENTIAL
        assert f["minima/coords"].shape == (2, 3) and f["minima/energies"].shape == (2,)
        assert list(f["minima/names"].asstr()[()]) == ["A", "B"]
        p = f["paths/A-B"]
        assert p["pivots"].shape == (6, 3) and p["energies"].shape == (6,) and p["history"].shape == (17,)
        assert p["pivots"].chunks is not None and p["pivots"].chunks[1] == 3
        for key in (
            "start",
            "end",
            "status",
            "message",
            "nit",
            "nfev",
            "saddle_energy",
            "saddle_index",
            "config",
            "seed",
        ):
            assert key in p.attrs, key
        assert p.attrs["start"] == "A" and p.attrs["status"] == "converged"
        assert p.attrs["saddle_energy"] == max(np.max(p["energies"][()]), np.max(p["profile/energies"][()]))
        assert {"t", "energies", "is_pivot"} <= set(p["profile"])
        assert json.loads(p.attrs["config"])["lr"] == 0.1
        c = p["cycles/000001"]
        assert {"pivots", "energies", "dense_t", "dense_energies", "residuals", "inserted"} <= set(c)
        assert {"index", "steps", "lr", "climb", "nfev"} <= set(c.attrs)


def test_torch_is_recorded_only_when_imported(tmp_path):
    write_store(tmp_path / "s.h5")
    with Store.open(tmp_path / "s.h5") as s:
        versions = s.describe()["library_versions"]
    assert ("torch" in versions) == ("torch" in __import__("sys").modules)


def test_describe(tmp_path):
    write_store(tmp_path / "s.h5")
    with Store.open(tmp_path / "s.h5") as s:
        d = s.describe()
        assert s.path_names() == ["A-B"] and s.schema_version == SCHEMA_VERSION
    json.dumps(d)  # JSON-able for `landscape inspect --json`
    assert d["schema_version"] == SCHEMA_VERSION and d["format"] == "landscape"
    assert d["potential"] == POTENTIAL and d["minima"] == {"count": 2, "names": ["A", "B"]}
    (p,) = d["paths"]
    r = make_result()
    assert p["name"] == "A-B" and p["status"] == "converged" and p["start"] == "A" and p["end"] == "B"
    assert p["saddle_energy"] == r.saddle_energy and p["saddle_index"] == r.saddle_index
    assert p["upper_bound"] == r.upper_bound and p["climbing"] is False
    assert (p["n_pivots"], p["dim"], p["cycles"], p["nit"], p["nfev"]) == (6, 3, 2, 123, 4567)


# integrity checks -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "inject, expected",
    [
        (lambda f: f["paths/A-B/pivots"].__setitem__((2, 1), np.nan), "pivots contain NaN"),
        (lambda f: f["paths/A-B/energies"].__setitem__(0, np.inf), "energies contain NaN"),
        (lambda f: f["paths/A-B/cycles/000001/pivots"].__setitem__((1, 0), np.nan), "cycle 000001: pivots"),
        (lambda f: f["paths/A-B"].attrs.__delitem__("status"), "missing attribute 'status'"),
        (lambda f: f["paths/A-B/cycles/000000"].attrs.__delitem__("lr"), "missing attribute 'lr'"),
        (lambda f: f["paths/A-B"].attrs.__setitem__("status", "weird"), "unknown status"),
        (lambda f: f["paths/A-B"].attrs.__setitem__("end", "Z"), "'Z' is not a stored minimum"),
        (lambda f: f["paths/A-B"].attrs.__setitem__("saddle_energy", 99.0), "saddle_energy does not match"),
        (lambda f: f["paths/A-B/cycles/000000"].attrs.__setitem__("saddle_energy", -9.0), "000000: saddle_energy"),
        (lambda f: f["paths/A-B/profile"].__delitem__("is_pivot"), "profile: missing dataset 'is_pivot'"),
        (lambda f: f["paths/A-B"].attrs.__setitem__("config", "{not json"), "unreadable"),
        (lambda f: f["potential"].attrs.__delitem__("description"), "missing attribute 'description'"),
        (lambda f: f.attrs.__delitem__("created"), "missing attribute 'created'"),
        (lambda f: f["minima"].__delitem__("energies"), "missing dataset 'energies'"),
        (
            lambda f: (
                f["paths/A-B"].__delitem__("energies"),
                f["paths/A-B"].create_dataset("energies", data=np.zeros(3)),
            ),
            "do not match 6 pivots",
        ),
    ],
)
def test_check_finds_injected_problems(tmp_path, inject, expected):
    write_store(tmp_path / "s.h5")
    with Store.open(tmp_path / "s.h5") as s:
        assert s.check() == []
    with tamper(tmp_path / "s.h5") as f:
        inject(f)
    with Store.open(tmp_path / "s.h5") as s:
        problems = s.check()
    assert any(expected in p for p in problems), problems
    assert all("\n" not in p for p in problems)


# refusing unusable files ------------------------------------------------------------------
def test_newer_schema_is_refused(tmp_path):
    write_store(tmp_path / "s.h5")
    export_store(tmp_path / "s.h5", tmp_path / "one.h5")
    with tamper(tmp_path / "s.h5") as f:
        f.attrs["schema_version"] = 7
    with h5py.File(tmp_path / "one.h5", "r+") as f:
        f.attrs["schema_version"] = 7
    for opener, name in [(Store.open, "s.h5"), (Store.open, "one.h5"), (Store.write, "s.h5")]:
        with pytest.raises(LandscapeError) as exc:
            opener(tmp_path / name)
        assert f"has schema version 7; this landscape reads up to {SCHEMA_VERSION}" in assert_one_line(exc)
    with pytest.raises(LandscapeError, match="single-file store.*landscape upgrade"):  # files never take writes
        Store.write(tmp_path / "one.h5")
    assert temp_leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "text",
        "truncated",
        "directory",
        "foreign-hdf5",
        "empty",
        "foreign-folder",
        "damaged-index",
        "never-committed",
        "missing-unit",
    ],
)
def test_unusable_files_raise_one_line(tmp_path, kind):
    filename = tmp_path / "s.h5"
    if kind == "text":
        filename.write_text("not an hdf5 file\n")
    elif kind == "truncated":
        write_store(tmp_path / "folder")
        export_store(tmp_path / "folder", filename)
        os.truncate(filename, os.path.getsize(filename) // 2)
    elif kind == "directory":
        filename.mkdir()
    elif kind == "foreign-folder":
        filename.mkdir()
        (filename / "notes.txt").write_text("mine")
    elif kind == "damaged-index":
        write_store(filename)
        (filename / "index.sqlite").write_bytes(b"garbage" * 100)
    elif kind == "never-committed":  # a writer killed while creating the store
        filename.mkdir()
        tree = FolderTree(str(filename), write=True, create=True)
        tree.abort()
    elif kind == "missing-unit":
        write_store(filename)
        os.remove(filename / "units" / units(filename)[0])
        with Store.open(filename) as s:  # opening works; reading what is gone does not
            problems = s.check()
            assert any("missing" in p for p in problems) and all("\n" not in p for p in problems)
        return
    elif kind == "foreign-hdf5":
        with h5py.File(filename, "w") as f:
            f["x"] = np.zeros(3)
    elif kind == "empty":
        filename.write_bytes(b"")
    with pytest.raises(LandscapeError) as exc:
        Store.open(filename)
    msg = assert_one_line(exc)
    assert str(filename) in msg


def test_read_errors_are_one_line(tmp_path):
    write_store(tmp_path / "s.h5")
    with Store.open(tmp_path / "s.h5") as s:
        with pytest.raises(LandscapeError, match="no path 'nope'.*A-B") as exc:
            s.read_result("nope")
        assert_one_line(exc)
        with pytest.raises(LandscapeError, match="read-only"):
            s.write_result("x", make_result())
    with pytest.raises(LandscapeError, match="closed"):
        s.describe()


def test_create_refuses_existing_unless_overwrite(tmp_path):
    write_store(tmp_path / "s.h5")
    with pytest.raises(LandscapeError, match="already exists"):
        Store.create(tmp_path / "s.h5", POTENTIAL)
    with Store.create(tmp_path / "s.h5", {"name": "other"}, overwrite=True):
        pass
    with Store.open(tmp_path / "s.h5") as s:
        assert s.potential_description == {"name": "other"} and s.path_names() == []
    with pytest.raises(LandscapeError, match="does not exist"):
        Store.write(tmp_path / "new.h5")
    with pytest.raises(LandscapeError, match="compression"):
        Store.create(tmp_path / "c.h5", POTENTIAL, compression="zip")


# crash safety -----------------------------------------------------------------------------
def test_exception_inside_transaction_keeps_old_file(tmp_path):
    filename = tmp_path / "s.h5"
    write_store(filename)
    before, before_units = contents(filename), units(filename)
    with pytest.raises(RuntimeError, match="boom"):
        with Store.write(filename) as s:
            s.write_result("A-B", make_result(seed=9))
            s.write_minima(np.zeros((1, 3)), np.zeros(1), ["only"])
            raise RuntimeError("boom")
    assert contents(filename) == before and units(filename) == before_units and temp_leftovers(tmp_path) == []
    with pytest.raises(KeyboardInterrupt):
        with Store.create(tmp_path / "new.h5", POTENTIAL):
            raise KeyboardInterrupt
    assert not (tmp_path / "new.h5").exists() and temp_leftovers(tmp_path) == []


def test_readers_survive_a_commit(tmp_path):
    filename = tmp_path / "s.h5"
    write_store(filename)
    with Store.open(filename) as reader:
        with Store.write(filename) as w:
            w.write_result("X", make_result(seed=2))
        assert reader.path_names() == ["A-B"]  # still the old, complete file
    with Store.open(filename) as s:
        assert s.path_names() == ["A-B", "X"]


def test_concurrent_writers_are_serialised(tmp_path):
    # The second transaction waits for the first to commit, then builds on it: no lost update.
    filename = tmp_path / "s.h5"
    write_store(filename)
    first = Store.write(filename)
    first.write_result("first", make_result())
    events = []

    def second_writer():
        with Store.write(filename) as second:
            events.append(("second began", second.path_names()))
            second.write_result("second", make_result())

    thread = threading.Thread(target=second_writer)
    thread.start()
    time.sleep(0.3)
    events.append(("first commits", None))
    first.commit()
    thread.join(timeout=60)
    assert events == [("first commits", None), ("second began", ["A-B", "first"])]
    with Store.open(filename) as s:
        assert s.path_names() == ["A-B", "first", "second"] and s.check() == []
    assert temp_leftovers(tmp_path) == []


def test_forgotten_writer_leaves_no_temp_file(tmp_path):
    write_store(tmp_path / "s.h5")
    s = Store.write(tmp_path / "s.h5")
    s.close()
    assert temp_leftovers(tmp_path) == []


def _attempt_write(filename) -> int:
    """Try a write transaction; the outcome as one line on stderr for the parent process."""
    try:
        with Store.write(filename) as s:
            s.write_result("X", make_result())
        outcome = "written"
    except LandscapeError as exc:
        outcome = f"LandscapeError: {exc}"
    print(outcome, file=sys.stderr)
    return 0


def _chmod_tree(top, folders: int, files: int) -> None:
    for here, _, names in os.walk(top):
        os.chmod(here, folders)
        for name in names:
            os.chmod(os.path.join(here, name), files)


def test_read_only_directory(tmp_path):
    # As root chmod stops nothing, so the attempt runs in a child for which permissions apply.
    folder = tmp_path / "out"
    folder.mkdir()
    filename = str(folder / "s.h5")
    write_store(filename)
    before = contents(filename)
    _chmod_tree(folder, 0o555, 0o444)
    try:
        code, outcome = unprivileged(lambda: _attempt_write(filename))
    finally:
        _chmod_tree(folder, 0o755, 0o644)
    assert code == 0 and outcome.startswith("LandscapeError: cannot write store") and outcome.count("\n") == 1, outcome
    assert "Permission denied" in outcome
    assert contents(filename) == before and temp_leftovers(folder) == []


def test_permission_denied_injected(tmp_path, monkeypatch):
    # What a read-only units folder does to a non-root user: no unit can be made.
    filename = tmp_path / "s.h5"
    write_store(filename)
    before = contents(filename)

    def denied(self, group):
        raise PermissionError(errno.EACCES, "Permission denied", "units")

    monkeypatch.setattr(FolderTree, "_new_unit", denied)
    with pytest.raises(LandscapeError, match="cannot write path.*Permission denied") as exc:
        with Store.write(filename) as s:
            s.write_result("X", make_result())
    assert_one_line(exc)
    monkeypatch.undo()
    assert contents(filename) == before and temp_leftovers(tmp_path) == []


def test_store_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(LandscapeError, match="cannot write store") as exc:
        Store.create(tmp_path / "afile" / "s.h5", POTENTIAL)
    assert_one_line(exc)
    assert temp_leftovers(tmp_path) == []


@pytest.mark.parametrize("module, name", [(store_tree, "fsync_path"), (os, "rename")])
def test_disk_full_at_commit_keeps_old_file(tmp_path, monkeypatch, module, name):
    filename = tmp_path / "s.h5"
    write_store(filename)
    before, before_units = contents(filename), units(filename)

    with pytest.raises(LandscapeError, match="No space left on device.*unchanged") as exc:
        with Store.write(filename) as s:
            s.write_result("X", make_result())
            monkeypatch.setattr(module, name, full)
    monkeypatch.undo()
    assert_one_line(exc)
    assert contents(filename) == before and units(filename) == before_units and temp_leftovers(tmp_path) == []


def test_disk_full_while_writing_keeps_old_file(tmp_path, monkeypatch):
    filename = tmp_path / "s.h5"
    write_store(filename)
    before = contents(filename)

    monkeypatch.setattr(store_layout, "write_rows", full)
    with pytest.raises(LandscapeError, match="cannot write path: .*No space left") as exc:
        with Store.write(filename) as s:
            s.write_result("X", make_result())
    assert_one_line(exc)
    assert contents(filename) == before and temp_leftovers(tmp_path) == []


def test_failed_write_poisons_the_transaction(tmp_path, monkeypatch):
    # Catching the error inside the block must not commit a half-written path.
    filename = tmp_path / "s.h5"
    write_store(filename)
    before = contents(filename)

    with pytest.raises(LandscapeError, match="No space left.*discarded") as exc:
        with Store.write(filename) as s:
            monkeypatch.setattr(store_layout, "write_rows", full)
            with pytest.raises(LandscapeError):
                s.write_result("X", make_result())
            monkeypatch.undo()
    assert_one_line(exc)
    assert contents(filename) == before and temp_leftovers(tmp_path) == []


def test_non_json_config_is_refused_before_writing(tmp_path):
    filename = tmp_path / "s.h5"
    write_store(filename)
    bad = Result(**{**make_result().__dict__, "config": {"fn": object()}})
    with Store.write(filename) as s:
        with pytest.raises(LandscapeError, match="not JSON-serialisable") as exc:
            s.write_result("bad", bad)
        assert_one_line(exc)
        s.write_result("good", make_result(config_extra={"arr": np.arange(2), "f": np.float32(0.5)}))
    with Store.open(filename) as s:
        assert s.path_names() == ["A-B", "good"] and s.check() == []
        assert s.read_result("good").config["arr"] == [0, 1]


def test_minima_with_nan_are_refused_before_anything_is_written(tmp_path):
    filename = tmp_path / "s.h5"
    with pytest.raises(LandscapeError, match="m1 have NaN") as exc:
        with Store.create(filename, POTENTIAL) as store:
            store.write_minima(np.zeros((2, 2)), np.array([0.0, np.nan]), ["m0", "m1"])
    assert_one_line(exc)
    assert not filename.exists() and temp_leftovers(tmp_path) == []


def test_cli_json_turns_nan_into_null():
    from landscape_cli.common import json_clean

    assert json.loads(
        json.dumps(json_clean({"a": [1.0, float("nan")], "b": {"c": float("inf")}}), allow_nan=False)
    ) == {"a": [1.0, None], "b": {"c": None}}
    assert json_clean({"x": np.float32(np.nan), "n": np.int64(3), "v": np.array([1.5, np.inf])}) == {
        "x": None,
        "n": 3,
        "v": [1.5, None],
    }


def test_check_finds_nan_in_a_history(tmp_path):
    filename = tmp_path / "s.h5"
    write_store(filename)
    with Store.open(filename) as store:
        name = store.path_names()[0]
        assert store.check() == []
    with tamper(filename) as f:
        f[f"paths/{name}/history"][0] = np.nan
    with Store.open(filename) as store:
        assert "history contains NaN or inf" in " ".join(store.check())


def test_no_lock_file_is_left_after_a_writer_finishes(tmp_path):
    from landscape.foundations.lock import WriterLock

    store = tmp_path / "s"
    with WriterLock(store) as lock:
        assert os.path.exists(lock.path)
    assert not os.path.exists(lock.path)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".lock")]


def test_writers_racing_for_a_lock_never_hold_it_together(tmp_path):
    """Each worker takes and releases the lock many times while the holder unlinks the
    file on release; a shared counter file shows whether two ever held it at once."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    procs = [
        ctx.Process(target=_lock_worker, args=(str(tmp_path / "s"), str(tmp_path / "inside"), 200)) for _ in range(3)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    stuck = [p for p in procs if p.is_alive()]
    for p in stuck:  # a hang fails the test without leaving workers behind
        p.terminate()
        p.join()
    assert not stuck and all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]


def _lock_worker(store: str, marker: str, rounds: int) -> None:
    from landscape.foundations.errors import LandscapeError
    from landscape.foundations.lock import WriterLock

    held = 0
    while held < rounds:
        try:
            with WriterLock(store):
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # fails if another holder is inside
                os.close(fd)
                os.unlink(marker)
                held += 1
        except LandscapeError:
            continue
        except FileExistsError:
            os._exit(3)
    os._exit(0)


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(st.text("ab-", min_size=1, max_size=4), min_size=2, max_size=5, unique=True),
    data=st.data(),
)
def test_a_path_name_splits_back_into_its_two_minima_or_says_it_is_ambiguous(names, data):
    """Paths are named f"{a}-{b}"; names may hold '-', so the split is the one where both
    sides are minima, and a name that splits two ways is refused, never guessed."""
    a, b = data.draw(st.sampled_from(names)), data.draw(st.sampled_from(names))
    text = f"{a}-{b}"
    ways = {(text[:i], text[i + 1 :]) for i in range(1, len(text) - 1) if text[i] == "-"}
    ways = {w for w in ways if w[0] in names and w[1] in names}
    if len(ways) == 1:
        assert store_layout.split_pair(text, names) == (a, b)
    else:
        with pytest.raises(LandscapeError, match="more than one pair"):
            store_layout.split_pair(text, names)


def test_a_pair_names_its_unknown_minimum_and_takes_indices():
    names = ["left-well", "right", "2x"]
    assert store_layout.split_pair("left-well-right", names) == ("left-well", "right")
    assert store_layout.split_pair("0-1", names) == ("left-well", "right")
    with pytest.raises(LandscapeError, match="no minimum 'Q'"):
        store_layout.split_pair("right-Q", names)
