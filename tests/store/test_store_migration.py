"""Schema-1 stores (one HDF5 file, written by the previous version) keep opening, and
`landscape upgrade` turns them into store folders; `landscape export` makes one file of
a folder.  The oracle is tests/data/store_v1.expected.json: what the previous version's
own code read back from tests/data/store_v1.h5."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import h5py
import pytest

from landscape.foundations.errors import LandscapeError
from landscape.store import Store
from landscape.store.export import export_store
from landscape.store.migrate import upgrade_store
from landscape_cli.testing import error_line, invoke, run, snapshot

DATA = Path(__file__).resolve().parents[1] / "data"
EXPECTED = json.loads((DATA / "store_v1.expected.json").read_text())


@pytest.fixture
def v1(tmp_path) -> Path:
    path = tmp_path / "run.h5"
    shutil.copyfile(DATA / "store_v1.h5", path)
    return path


def matches_the_oracle(filename: os.PathLike | str) -> None:
    """Everything the previous version read from the file, read again from `filename`."""
    with Store.open(filename) as s:
        assert s.check() == []
        describe = s.describe()
        for key in ("potential", "minima", "groups", "created", "library_versions"):
            assert describe[key] == EXPECTED["describe"][key], key
        # the previous version's fields, unchanged; since then each path also names its method
        assert [{k: v for k, v in p.items() if k != "method"} for p in describe["paths"]] == EXPECTED["describe"][
            "paths"
        ]
        # the fixture's paths are an exploration's AutoNEB runs, and one run whose settings hold no method
        methods = {p["name"]: p.get("method") for p in describe["paths"]}
        assert methods == {"m0-m1": "autoneb", "m0-m2": "autoneb", "m0-running": None, "m1-m2": "autoneb"}
        coords, energies, names = s.read_minima()
        assert [coords.tolist(), energies.tolist(), names] == EXPECTED["minima"]
        assert s.minima_metadata() == EXPECTED["minima_metadata"]
        assert s.path_names() == sorted(EXPECTED["paths"])
        for name, want in EXPECTED["paths"].items():
            r = s.read_result(name)
            assert (r.status.value, r.nit, r.nfev, r.config) == (
                want["status"],
                want["nit"],
                want["nfev"],
                want["config"],
            )
            assert r.path.pivots.tolist() == want["pivots"] and r.history.tolist() == want["history"]
            assert (None if r.path.energies is None else r.path.energies.tolist()) == want["energies"]
            assert (None if r.profile is None else r.profile.energies.tolist()) == want["profile"]
            got = [[c.index, c.steps, c.nfev, c.path.pivots.tolist(), c.dense_energies.tolist()] for c in r.cycles]
            assert got == want["cycles"], name
            info = {k: v for k, v in s.path_info(name).items()}
            assert info == want["info"], name
        arrays, attrs = s.read_checkpoint("m0-running")
        assert [{k: v.tolist() for k, v in arrays.items()}, attrs] == EXPECTED["checkpoint"]
        arrays, attrs = s.read_array_group("graph")
        assert attrs == EXPECTED["graph"][1]
        for key, value in EXPECTED["graph"][0].items():
            got = arrays[key]
            got = (
                [x.decode() if isinstance(x, bytes) else str(x) for x in got] if got.dtype.kind == "O" else got.tolist()
            )
            assert got == value, key


def test_a_schema_1_file_opens_read_only_as_it_is(v1):
    before = snapshot(v1)
    matches_the_oracle(v1)
    with Store.open(v1) as s:
        assert s.schema_version == 1 and s.layout == "file"
    with pytest.raises(LandscapeError, match=r"single-file store.*landscape upgrade") as exc:
        Store.write(v1)
    assert "\n" not in str(exc.value)
    assert snapshot(v1) == before


def test_upgrade_in_place_keeps_the_file_and_reproduces_everything(v1):
    original = v1.read_bytes()
    assert upgrade_store(v1) == str(v1)
    assert v1.is_dir() and (v1.parent / "run.h5.v1").read_bytes() == original
    matches_the_oracle(v1)
    with Store.open(v1) as s:
        assert s.layout == "folder" and s.schema_version == 2
        assert s._f.attrs["upgraded_from"] == 1
    with Store.write(v1) as s:  # a folder takes writes: the interrupted path can go on
        running = s.read_result("m0-running")
        s.write_result("m0-running", running, start="m0", end="m1")
    with pytest.raises(LandscapeError, match="already a store folder"):
        upgrade_store(v1)


def test_upgrade_to_another_folder_and_refusals(v1, tmp_path):
    target = tmp_path / "new"
    upgrade_store(v1, target)
    assert v1.is_file() and target.is_dir()
    matches_the_oracle(target)
    with pytest.raises(LandscapeError, match="already exists"):
        upgrade_store(v1, target)
    (tmp_path / "run.h5.v1").write_text("in the way")
    with pytest.raises(LandscapeError, match="run.h5.v1 exists"):
        upgrade_store(v1)
    assert v1.is_file()


def test_a_damaged_file_is_not_upgraded(v1, tmp_path):
    damaged = tmp_path / "damaged.h5"
    data = v1.read_bytes()
    damaged.write_bytes(data[: len(data) // 3])
    with pytest.raises(LandscapeError, match="damaged or truncated"):
        upgrade_store(damaged)
    assert damaged.read_bytes() == data[: len(data) // 3]
    assert [p.name for p in tmp_path.iterdir() if "upgrade" in p.name] == []


def test_export_round_trip_is_exact(v1, tmp_path):
    folder = tmp_path / "folder"
    upgrade_store(v1, folder)
    one = tmp_path / "shared.h5"
    assert export_store(folder, one) == str(one)
    matches_the_oracle(one)
    with h5py.File(one, "r") as f:  # any HDF5 tool reads the layout
        assert f.attrs["format"] == "landscape" and f.attrs["schema_version"] == 2
        assert f["paths/m0-m1/cycles/000004/pivots"].shape[1] == 2
        assert f.attrs["exported_from"] == str(folder)
    with pytest.raises(LandscapeError, match="already exists"):
        export_store(folder, one)
    export_store(folder, one, overwrite=True)
    with pytest.raises(LandscapeError, match="is a folder"):
        export_store(folder, folder)


def test_cli_upgrade_export_then_inspect_report_and_plot(v1, tmp_path):
    out = json.loads(run(["upgrade", v1, "--json"]).stdout)
    assert out["store"] == str(v1) and out["kept"] == f"{v1}.v1"
    run(["inspect", v1, "--check"])
    shared = tmp_path / "shared.h5"
    out = json.loads(run(["export", v1, shared, "--json"]).stdout)
    assert out["file"] == str(shared) and out["bytes"] == os.path.getsize(shared)
    for store in (v1, shared):
        report = json.loads(run(["report", store, "--json"]).stdout)
        assert report["pairs_computed"] == 3
        run(["plot", "profile", store, "--figure", tmp_path / f"{store.name}.png"])
    assert "already exists" in error_line(invoke(["export", v1, shared]))
    assert "does not exist" in error_line(invoke(["upgrade", tmp_path / "nothing.h5"]))


def test_writers_on_a_v1_file_get_one_line_naming_upgrade(v1):
    before = snapshot(v1)
    line = error_line(invoke(["explore", v1, "--method", "neb", "--steps", "10"]))
    assert f"{v1} is a single-file store" in line and f"landscape upgrade {v1}" in line
    assert snapshot(v1) == before
