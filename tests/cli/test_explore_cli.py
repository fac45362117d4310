"""`landscape minima | explore | report | plot dgraph` through click's CliRunner, bad input included."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from landscape.paths.exact import pairwise_minimax
from landscape.store import Store
from landscape_cli.testing import error_line, run, snapshot
from landscape_plugins.analytic.surfaces import GaussianMixture, MuellerBrown

FAST = ["--method", "neb", "--fmax", "1e-2", "--pivots", "15", "--steps", "500"]


def error_of(args, expect=1) -> str:
    return error_line(run(args, expect))


@pytest.fixture(scope="module")
def gm_store(tmp_path_factory):
    """Minima of a 9-minimum Gaussian mixture in a fresh store."""
    out = tmp_path_factory.mktemp("cli") / "gm.h5"
    data = json.loads(
        run(
            ["minima", "gaussian-mixture", "-o", "wells=12", "-o", "seed=7", "--starts", "48", "--out", out, "--json"]
        ).stdout
    )
    assert data["count"] == 9 and data["names"][0] == "m0"
    return out


def test_minima_store_rebuilds_its_potential(gm_store):
    with Store.open(gm_store) as store:
        desc = store.potential_description
        coords, energies, names = store.read_minima()
    from landscape.potentials.registry import available

    declared = set(available()["gaussian-mixture"].options)
    assert desc["name"] == "gaussian-mixture" and desc["plugin"]["name"] == "gaussian-mixture"
    options = desc["plugin"]["options"]  # every declared option, coerced, defaults included
    assert set(options) == declared and options["wells"] == 12 and options["seed"] == 7
    assert desc["options"]["wells"] == 12  # describe() speaks the plugin's option names
    assert np.all(np.diff(energies) > 0) and names == [f"m{i}" for i in range(9)]
    np.testing.assert_allclose(GaussianMixture(12, seed=7).energy(coords), energies, atol=1e-12)


@pytest.mark.parametrize(
    "spec, options",
    [
        ("mueller-brown", {}),
        ("three-hole", {}),
        ("ring", {}),
        ("leps", {}),
        ("gaussian-mixture", {"wells": 9, "seed": 4, "box": 1.5, "confinement": 0.7}),
        ("gaussian-mixture", {"wells": 9, "seed": 4, "dim": 7, "embed_seed": 2}),
        ("mueller-brown", {"dim": 30, "stiffness": 2.0}),
    ],
)
def test_descriptions_rebuild_every_analytic_plugin(spec, options):
    """`explore` rebuilds a store's potential with load_potential(d["name"], d["options"])."""
    from landscape.potentials.registry import load_potential
    from landscape_cli.explore import potential_from_description

    pot = load_potential(spec, options)
    again, source = potential_from_description(pot.describe())
    x = np.random.default_rng(0).normal(size=(5, pot.dim))
    np.testing.assert_array_equal(pot.energy(x), again.energy(x))
    assert source.name == spec


def test_explore_in_steps_then_report_and_plot(gm_store, tmp_path):
    f = tmp_path / "gm.h5"
    shutil.copytree(gm_store, f)
    first = json.loads(run(["explore", f, *FAST, "--max-runs", "5", "--json"]).stdout)
    assert first["status"] == "max_runs" and first["runs"] == 5 and first["pairs_computed"] == 5
    # continuing reuses the stored settings (neb, fmax, steps) without repeating them
    second = json.loads(run(["explore", f, "--pairs-per-round", "2", "--json"]).stdout)
    assert second["complete"] and second["pairs_computed"] <= 36
    assert all(len(b) <= 2 for b in second["batches"])
    report = json.loads(run(["report", f, "--clusters-at", "-2.5", "--json"]).stdout)
    assert report["complete"] and report["final_edges"] == report["tree_edges"] == 8
    assert report["clusters"][:2] == [0, 0] and len(set(report["clusters"])) == 8  # m0, m1 join at -2.96
    exact = pairwise_minimax(
        GaussianMixture(12, seed=7),
        np.array([GaussianMixture(12, seed=7).minima[k] for k in GaussianMixture(12, seed=7).minima]),
        grid=401,
    )
    bounds = np.array(report["bounds"], dtype=float)[:8, :8]  # m8 is a minimum the centre search misses
    off = ~np.eye(8, dtype=bool)
    assert np.abs(bounds - exact)[off].max() < 2e-3
    text = run(["report", f]).stdout
    assert "minimum spanning tree (8 of 8 edges final)" in text and "saddle bounds" in text
    png = tmp_path / "d.png"
    assert run(["plot", "dgraph", f, "--figure", png, "--guide-levels", "3"]).stdout.strip() == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run(["inspect", f, "--check"]).exit_code == 0


def test_explore_text_output_and_process_executor(tmp_path):
    f = tmp_path / "mb.h5"
    run(["minima", "mueller-brown", "--starts", "20", "--out", f])
    out = run(["explore", f, *FAST, "--executor", "process", "--workers", "2"]).stdout
    assert "complete" in out and "process executor" in out and "m1 - m2" in out
    data = json.loads(run(["report", f, "--json"]).stdout)
    mb = MuellerBrown()
    assert abs(data["bounds"][0][1] - mb.reference_energies["AC"]) < 1e-3
    assert abs(data["bounds"][1][2] - mb.reference_energies["CB"]) < 1e-3


def test_explore_embedded_potential_with_autoneb(tmp_path):
    f = tmp_path / "mb5.h5"
    run(["minima", "mueller-brown", "-o", "dim=5", "--starts", "9", "--out", f])
    data = json.loads(run(["explore", f, "--json"]).stdout)  # AutoNEB, analytic schedule
    assert data["complete"] and data["pairs_computed"] == 3
    with Store.open(f) as store:  # AutoNEB on a deterministic potential, where connect's default is NEB
        assert {store.read_result(p).config["method"] for p in store.path_names()} == {"autoneb"}
    top = max(edge["energy"] for edge in data["tree"])
    assert abs(top - MuellerBrown().reference_energies["AC"]) < 1e-3


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """A folder of stores that commands must refuse, each in its own way."""
    tmp = tmp_path_factory.mktemp("bad")
    (tmp / "text.h5").write_text("not hdf5")
    with Store.create(tmp / "empty.h5", {"name": "mueller-brown"}):
        pass
    with Store.create(tmp / "alien.h5", {"name": "alien-surface", "dim": 2}) as store:
        store.write_minima(np.eye(2), np.zeros(2), ["a", "b"])
    run(["minima", "mueller-brown", "--starts", "12", "--out", tmp / "mb.h5"])
    shutil.copytree(tmp / "mb.h5", tmp / "done.h5")
    run(["explore", tmp / "done.h5", *FAST])
    return tmp


@pytest.mark.parametrize(
    "args, message",
    [
        (["minima", "no-such-potential", "--out", "{tmp}/x.h5"], "unknown potential"),
        (["minima", "mueller-brown", "--starts", "0", "--out", "{tmp}/x.h5"], "--starts must be from 1 to 1000000"),
        (["minima", "mueller-brown", "--out", "{tmp}/missing/x.h5"], "does not exist"),
        (["minima", "mueller-brown", "-o", "wells=3", "--out", "{tmp}/x.h5"], "unknown option"),
        (["explore", "{tmp}/nothing.h5"], "does not exist"),
        (["explore", "{tmp}/text.h5"], "not an HDF5 file"),
        (["explore", "{tmp}/empty.h5"], "holds no minima"),
        (["explore", "{tmp}/alien.h5"], "cannot rebuild the store's potential"),
        (
            ["explore", "{tmp}/mb.h5", "--method", "neb", "--schedule", "quick"],
            "--schedule applies to --method autoneb",
        ),
        (["explore", "{tmp}/mb.h5", "--address", "auto"], "--address and --gpus-per-task apply to --executor ray"),
        (["explore", "{tmp}/mb.h5", "--max-runs", "-1"], "--max-runs must be >= 0"),
        (["explore", "{tmp}/mb.h5", "--pairs-per-round", "0"], "--pairs-per-round must be positive"),
        (["explore", "{tmp}/mb.h5", "--schedule", "nope"], "unknown schedule"),
        (["report", "{tmp}/text.h5"], "not an HDF5 file"),
        (["report", "{tmp}/mb.h5", "--clusters-at", "nan"], "--clusters-at must be a finite energy"),
        (["plot", "dgraph", "{tmp}/mb.h5"], "holds no paths"),
        (["plot", "dgraph", "{tmp}/done.h5", "--emin", "0"], "both --emin and --emax"),
    ],
)
def test_bad_input_gives_one_line_errors(bad, args, message):
    line = error_of([a.format(tmp=bad) for a in args])
    assert message in line, line


def test_minima_refuses_to_overwrite_without_force(tmp_path):
    f = tmp_path / "mb.h5"
    run(["minima", "mueller-brown", "--starts", "12", "--out", f])
    assert "pass --force" in error_of(["minima", "mueller-brown", "--out", f])
    data = json.loads(run(["minima", "three-hole", "--starts", "30", "--out", f, "--force", "--json"]).stdout)
    assert data["count"] == 3
    with Store.open(f) as store:
        assert store.potential_description["name"] == "three-hole"


def test_a_continuation_keeps_the_path_settings_and_may_change_the_rest(gm_store, tmp_path):
    """Options that decide how a path is computed are refused when they differ from the
    stored exploration's, naming them, before any work; pairs per round, rule, order and
    executor may change; a finished exploration keeps its record."""
    f = tmp_path / "gm.h5"
    shutil.copytree(gm_store, f)
    run(["explore", f, *FAST, "--max-runs", "2"])
    before = snapshot(f)
    for args, said in (
        (["--method", "string"], "it has --method neb, this call --method string"),
        (["--fmax", "0.5"], "it has --fmax 0.01, this call --fmax 0.5"),
        (["--pivots", "9"], "--pivots 15, this call --pivots 9"),
        (["--steps", "100"], "--steps 500, this call --steps 100"),
        (["--no-climb"], "it has --climb, this call --no-climb"),
    ):
        line = error_of(["explore", f, *args])
        assert said in line and f"`landscape explore {f}` continues it" in line, line
    assert snapshot(f) == before
    done = json.loads(
        run(
            [
                "explore",
                f,
                "--pairs-per-round",
                "3",
                "--rule",
                "lowest",
                "--order",
                "nearest",
                "--checkpoint-every",
                "5",
                "--json",
            ]
        ).stdout
    )
    assert done["complete"] and all(len(b) <= 3 for b in done["batches"])
    finished = snapshot(f)
    assert "--fmax 0.01, this call --fmax 0.5" in error_of(["explore", f, "--fmax", "0.5"])
    assert json.loads(run(["explore", f, "--pairs-per-round", "1", "--rule", "closest", "--json"]).stdout)["runs"] == 0
    assert snapshot(f) == finished  # its stored config is never rewritten


def test_an_edited_schedule_file_does_not_continue_an_exploration(tmp_path):
    from landscape.runs.pair import make_optimizer

    f = tmp_path / "mb.h5"
    run(["minima", "mueller-brown", "--starts", "20", "--out", f])
    schedule = make_optimizer("autoneb", schedule="analytic").to_config()["schedule"]
    sched = tmp_path / "s.json"
    sched.write_text(json.dumps(schedule))
    assert json.loads(run(["explore", f, "--schedule", sched, "--max-runs", "1", "--json"]).stdout)["runs"] == 1
    before = snapshot(f)
    schedule["cycles"][0]["steps"] += 1
    sched.write_text(json.dumps(schedule))  # the same name, another schedule
    for args in ([], ["--schedule", sched]):  # stored, or given again
        line = error_of(["explore", f, *args])
        assert "other settings (differs in optimizer.schedule.cycles" in line, line
    assert snapshot(f) == before
