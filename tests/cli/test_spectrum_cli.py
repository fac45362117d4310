"""`landscape spectrum` on a Mueller-Brown store (minima, the path's top, points on and
along the path) and a small network store (per parameter block), and its bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from landscape.analysis.hessian import dense_hessian
from landscape.foundations.arrays import to_numpy
from landscape.potentials.registry import load_potential
from landscape.store import Store
from landscape_cli.testing import error_line, run, snapshot


@pytest.fixture(scope="module")
def mb(tmp_path_factory):
    store = tmp_path_factory.mktemp("spectrum") / "mb"
    run(["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb", "--out", store])
    return store


def _spectrum(*args):
    return json.loads(run(["spectrum", *args, "--json"]).stdout)


def test_at_a_minimum_the_top_and_a_point_on_the_path(mb):
    pot = load_potential("mueller-brown")
    with Store.open(mb) as s:
        path = s.read_result("A-B").path
    pivots, energies = np.asarray(to_numpy(path.pivots)), np.asarray(to_numpy(path.energies))
    top = pivots[int(np.argmax(energies[1:-1])) + 1]
    saddle = _spectrum(mb, "--at", "saddle:A-B", "--trace-samples", 400)["at"]
    exact = np.linalg.eigvalsh(dense_hessian(pot, top))
    np.testing.assert_allclose(saddle["bottom"]["values"], exact, rtol=1e-9)
    assert saddle["bottom"]["values"][0] < 0 < saddle["top"]["values"][-1]  # the path's top: index 1
    assert abs(saddle["trace"]["trace"] - exact.sum()) <= 3 * saddle["trace"]["standard_error"]
    assert "highest pivot" in saddle["point"] and saddle["where"] == "saddle:A-B"
    at_a = _spectrum(mb, "--at", "min:A", "--top", 1, "--bottom", 1, "--trace-samples", 0)["at"]
    start = _spectrum(mb, "--at", "path:A-B@0", "--top", 1, "--bottom", 1, "--trace-samples", 0)["at"]
    assert at_a["top"] == start["top"] and at_a["bottom"]["values"][0] > 0 and at_a["trace"] is None


def test_along_a_path_with_the_density_and_a_picture(mb, tmp_path):
    out = _spectrum(mb, "--along", "A-B", "--points", 3, "--density", "--figure", tmp_path / "s.png")
    along = out["along"]
    assert along["t"] == [0.0, 0.5, 1.0] and len(along["spectra"]) == 3 and "at" not in out
    assert out["figure"] == str(tmp_path / "s.png") and os.path.getsize(out["figure"]) > 1000
    density = along["spectra"][1]["density"]
    assert sum(w for row in density["weights"] for w in row) == pytest.approx(density["starts"])
    text = run(["spectrum", mb, "--at", "min:B", "--bottom", 0]).stdout
    assert "at minimum B" in text and "top 2:" in text and "bottom" not in text and "trace" in text


def test_per_layer_on_a_network_store(tmp_path):
    pytest.importorskip("torch")
    store = tmp_path / "net.h5"
    mlp = ["-o", "hidden=4", "-o", "n_train=32", "-o", "n_test=8", "-o", "dtype=float64"]
    run(["train", "mlp", *mlp, "--minima", 1, "--epochs", 3, "--out", store, "--threads", 1])
    out = _spectrum(store, "--at", "min:0", "--per-layer", "--top", 1, "--bottom", 1, "--threads", 1)["at"]
    blocks = out["blocks"]
    assert {name: b["dim"] for name, b in blocks.items()} == {"0.weight": 8, "0.bias": 4, "2.weight": 8, "2.bias": 2}
    assert out["dim"] == 22
    # the blocks' traces come from the whole Hessian's probes: they add up to its trace
    assert sum(b["trace"]["trace"] for b in blocks.values()) == pytest.approx(out["trace"]["trace"], rel=1e-9)
    assert all(b["top"]["values"][0] >= b["bottom"]["values"][0] for b in blocks.values())


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "say where"),
        (["--at", "A"], "is not one of"),
        (["--at", "max:A"], "is not one of"),
        (["--at", "min:Z"], "no minimum 'Z'"),
        (["--at", "saddle:A-Z"], "no finished path 'A-Z'"),
        (["--at", "path:A-B"], "path:PATH@T"),
        (["--at", "path:A-B@2"], "path:PATH@T"),
        (["--at", "path:A-B@x"], "path:PATH@T"),
        (["--along", "B-A"], "no finished path 'B-A'"),
        (["--at", "min:A", "--top", -1], "--top must be >= 0"),
        (["--at", "min:A", "--starts", 0], "--starts must be >= 1"),
        (["--at", "min:A", "--per-layer"], "names no parameter blocks"),
        (["--at", "min:A", "--figure", "x.png"], "--figure draws"),
        (["--at", "min:A", "--density", "--figure", "/no/such/dir/x.png"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_leaves_the_store_alone(mb, args, needle):
    before = snapshot(mb)
    assert needle in error_line(run(["spectrum", mb, *args], expect=1))
    assert snapshot(mb) == before


def test_a_rerun_reads_the_stored_spectrum_and_other_settings_are_another_entry(mb):
    first = _spectrum(mb, "--at", "min:B", "--top", 1, "--bottom", 1, "--trace-samples", 20, "--density")
    again = _spectrum(mb, "--at", "min:B", "--top", 1, "--bottom", 1, "--trace-samples", 20, "--density")
    assert (first["computed"], first["read_from_store"], again["computed"], again["read_from_store"]) == (1, 0, 0, 1)
    assert again["at"]["from_store"] and {k: v for k, v in again["at"].items() if k != "from_store"} == {
        k: v for k, v in first["at"].items() if k != "from_store"
    }
    other = _spectrum(mb, "--at", "min:B", "--top", 1, "--bottom", 1, "--trace-samples", 20, "--seed", 1)
    assert other["computed"] == 1 and other["at"]["trace"] != first["at"]["trace"]
    redo = _spectrum(mb, "--at", "min:B", "--top", 1, "--bottom", 1, "--trace-samples", 20, "--density", "--recompute")
    assert redo["computed"] == 1 and redo["at"]["trace"] == first["at"]["trace"]  # seeded: the same numbers
    with Store.open(mb) as s:
        assert s.check() == []


def test_a_killed_run_along_a_path_keeps_the_points_it_finished(mb, monkeypatch):
    import landscape.analysis.spectrum as module

    args = ["--along", "A-B", "--points", 4, "--top", 1, "--bottom", 0, "--trace-samples", 10]
    real, calls = module.spectrum, []

    def dies_at_the_third_point(*a, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise LandscapeError("killed")
        return real(*a, **kw)

    from landscape import LandscapeError

    monkeypatch.setattr(module, "spectrum", dies_at_the_third_point)
    assert "killed" in error_line(run(["spectrum", mb, *args], expect=1))
    monkeypatch.setattr(module, "spectrum", real)
    resumed = _spectrum(mb, *args)
    assert resumed["along"]["from_store"] == [True, True, False, False] and resumed["computed"] == 2
    # a point along the path is the place path:A-B@t: --at reads what --along stored
    at = _spectrum(mb, "--at", f"path:A-B@{1 / 3!r}", "--top", 1, "--bottom", 0, "--trace-samples", 10)
    assert at["read_from_store"] == 1 and at["at"]["top"] == resumed["along"]["spectra"][1]["top"]
