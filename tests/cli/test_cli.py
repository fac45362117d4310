"""The `landscape` command through click's CliRunner: results, JSON, one-line errors."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from landscape.store import SCHEMA_VERSION, Store
from landscape_cli.main import cli
from landscape_cli.testing import error_line as one_line_error
from landscape_cli.testing import invoke, run, snapshot

MB_SADDLE = -40.664844


def test_demo_writes_store_pictures_and_reports_the_saddle(tmp_path):
    r = run(["demo", "--out-dir", str(tmp_path), "--json"])
    data = json.loads(r.stdout)
    assert abs(data["saddle_energy"] - MB_SADDLE) <= 1e-3
    assert data["reference_saddle_energy"] == MB_SADDLE
    assert data["evaluations"] > 0 and os.path.exists(data["store"])
    for png in data["pictures"]:
        with open(png, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    with Store.open(data["store"]) as store:
        assert store.schema_version == SCHEMA_VERSION and store.layout == "folder"
        assert "A-B" in store.path_names()


def test_demo_text_output_names_the_reference(tmp_path):
    out = run(["demo", "--out-dir", str(tmp_path)]).stdout
    assert "reference" in out and "-40.664844" in out


@pytest.mark.parametrize("method", ["neb", "string", "autoneb"])
def test_connect_json_for_every_method(tmp_path, method):
    store = tmp_path / "p.h5"
    r = run(
        [
            "connect",
            "mueller-brown",
            "--start",
            "A",
            "--end",
            "B",
            "--method",
            method,
            "--fmax",
            "0.01",
            "--out",
            str(store),
            "--json",
        ]
    )
    data = json.loads(r.stdout)
    for key in ("saddle_energy", "saddle_index", "evaluations", "iterations", "status", "store"):
        assert key in data
    assert data["climbing"] and data["climber_at_top"]  # the climber is the top of its own path
    assert abs(data["saddle_energy"] - MB_SADDLE) <= 1e-3
    assert data["store"] == str(store)
    info = json.loads(run(["inspect", str(store), "--json", "--check"]).stdout)
    assert info["problems"] == [] and info["paths"][0]["name"] == "A-B"
    assert info["paths"][0]["method"] == method == data["method"]  # what made the path, as the store recorded it
    assert f"A-B: A -> B by {method}," in run(["inspect", str(store)]).stdout


def test_connect_with_coordinates_and_options():
    r = run(["connect", "mueller-brown", "-o", "dim=50", "-o", "embed_seed=2", "--start", "A", "--end", "B", "--json"])
    assert abs(json.loads(r.stdout)["saddle_energy"] - MB_SADDLE) <= 1e-3
    # The budget binds before the default tolerance: the result is reported, marked no
    # success, and the command exits 1.  (The ring's straight line, used here before,
    # is an exact symmetric band that now converges at once.)
    r = run(
        [
            "connect",
            "mueller-brown",
            "--start",
            "-0.558,1.442",
            "--end",
            "0.623,0.028",
            "--method",
            "neb",
            "--no-climb",
            "--json",
            "--steps",
            "15",
        ],
        expect=1,
    )
    data = json.loads(r.stdout)
    assert data["status"] == "max_steps" and data["success"] is False
    assert "did not succeed: max_steps" in one_line_error(r)


def test_connect_with_a_schedule_file(tmp_path):
    sched = {
        "name": "tiny",
        "threshold": 0.1,
        "cycles": [
            {"steps": 50, "stepper": {"kind": "fire", "lr": 0.002, "dt_max": 0.02, "max_step": 0.05}},
            {"steps": 200, "climb": True, "stepper": {"kind": "fire", "lr": 0.002, "dt_max": 0.02, "max_step": 0.05}},
        ],
    }
    f = tmp_path / "tiny.json"
    f.write_text(json.dumps(sched))
    data = json.loads(
        run(["connect", "mueller-brown", "--start", "A", "--end", "B", "--schedule", str(f), "--json"]).stdout
    )
    assert data["cycles"] == 2


def test_exact_matches_the_reference_grid_value():
    data = json.loads(run(["exact", "mueller-brown", "--start", "A", "--end", "B", "--json"]).stdout)
    assert abs(data["saddle_energy"] - (-40.6654)) < 1e-3


def test_plugins_lists_the_builtins():
    data = json.loads(run(["plugins", "--json"]).stdout)
    assert {"mueller-brown", "three-hole", "ring", "leps", "gaussian-mixture"} <= set(data)


def test_plot_commands_write_pngs(tmp_path):
    store = tmp_path / "s.h5"
    run(
        [
            "connect",
            "mueller-brown",
            "--start",
            "A",
            "--end",
            "B",
            "--method",
            "neb",
            "--fmax",
            "0.1",
            "--out",
            str(store),
        ]
    )
    for kind in ("profile", "plane"):
        png = tmp_path / f"{kind}.png"
        run(["plot", kind, str(store), "--out", str(png)])
        assert png.stat().st_size > 1000


@pytest.mark.parametrize(
    "args, needle",
    [
        (["connect", "no-such-potential", "--start", "A", "--end", "B"], "unknown potential"),
        (["connect", "mueller-brown", "--start", "A", "--end", "1,2,3"], "dim=2"),
        (["connect", "mueller-brown", "--start", "Z", "--end", "B"], "named minimum"),
        (["connect", "mueller-brown", "--start", "A", "--end", "A"], "same point"),
        (["connect", "mueller-brown", "-o", "colour=red", "--start", "A", "--end", "B"], "unknown option"),
        (["connect", "mueller-brown", "-o", "dim", "--start", "A", "--end", "B"], "key=value"),
        (["connect", "mueller-brown", "--start", "A", "--end", "B", "--pivots", "1"], "at least 3"),
        (["connect", "mueller-brown", "--start", "A", "--end", "B", "--steps", "0"], "positive"),
        (["connect", "mueller-brown", "--start", "A", "--end", "B", "--schedule", "nope"], "unknown schedule"),
        (
            ["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb", "--schedule", "quick"],
            "autoneb only",
        ),
        (["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "bfgs"], "bfgs"),
        (["connect", "mueller-brown", "--start", "A"], "--end"),
        (["exact", "mueller-brown", "-o", "dim=3", "--start", "A", "--end", "B"], "2D"),
        (["inspect", "/no/such/file.h5"], "does not exist"),
        (["plot", "profile", "/no/such/file.h5"], "does not exist"),
    ],
)
def test_bad_input_gives_one_line_and_nonzero_exit(args, needle):
    r = invoke(args)
    assert r.exit_code != 0
    assert needle in one_line_error(r)


def test_unreadable_and_non_hdf5_files(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    r = invoke(["inspect", str(text)])
    assert r.exit_code != 0 and "HDF5" in one_line_error(r)
    folder = tmp_path / "dir.h5"
    folder.mkdir()
    r = invoke(["inspect", str(folder)])
    assert r.exit_code != 0
    one_line_error(r)


def test_failed_run_leaves_an_existing_store_untouched(tmp_path):
    store = tmp_path / "keep.h5"
    run(
        [
            "connect",
            "mueller-brown",
            "--start",
            "A",
            "--end",
            "B",
            "--method",
            "neb",
            "--fmax",
            "0.1",
            "--out",
            str(store),
        ]
    )
    before = snapshot(store)
    r = invoke(["connect", "mueller-brown", "--start", "A", "--end", "A", "--out", str(store)])
    assert r.exit_code != 0
    assert snapshot(store) == before


def test_group_help_lists_commands():
    out = CliRunner().invoke(cli, ["--help"]).output
    for cmd in ("demo", "connect", "exact", "inspect", "plot", "plugins"):
        assert cmd in out


def test_json_stays_json_when_the_potential_prints():
    """What a user's potential prints goes to stderr; stdout holds the JSON alone."""
    spec = f"{os.path.join(os.path.dirname(__file__), '..', 'data', 'noisy_potential.py')}:Noisy"
    r = run(["connect", spec, "--start", "L", "--end", "R", "--method", "neb", "--fmax", "0.1", "--json"])
    data = json.loads(r.stdout)
    assert data["status"] == "converged"
    assert "evaluating" in r.stderr and "building" in r.stderr


@pytest.mark.parametrize("method", ["neb", "string"])
def test_a_band_without_a_tolerance_stops_by_itself(method):
    """No --fmax: the largest force falls to 1e-4 of the straight line's, not 5,000 steps."""
    data = json.loads(
        run(["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", method, "--json"]).stdout
    )
    assert data["status"] == "converged" and "frtol" in data["message"] and data["iterations"] < 1000
    assert abs(data["saddle_energy"] - MB_SADDLE) <= 1e-3


def test_pictures_take_their_format_from_the_extension_and_say_what_they_wrote(tmp_path):
    store = tmp_path / "mb"
    run(["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "string", "--out", store])
    heads = {".pdf": b"%PDF", ".svg": b"<?xml", ".png": b"\x89PNG"}
    for name, ext in (("p.pdf", ".pdf"), ("p.svg", ".svg"), ("pfile", ".png")):
        printed = run(["plot", "profile", store, "--figure", tmp_path / name]).stdout.strip()
        assert printed.endswith(ext) and open(printed, "rb").read(len(heads[ext])) == heads[ext]
    assert run(["plot", "plane", store]).stdout.strip() == str(tmp_path / "mb-plane.png")


def test_connect_reports_barriers_both_ways_and_the_reaction_energy():
    from landscape_plugins.analytic.surfaces import MuellerBrown

    ref = MuellerBrown.reference_energies
    out = json.loads(
        run(["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb", "--json"]).stdout
    )
    assert out["forward_barrier"] == pytest.approx(ref["AC"] - ref["A"], abs=1e-5)
    assert out["backward_barrier"] == pytest.approx(ref["AC"] - ref["B"], abs=1e-5)
    assert out["reaction_energy"] == pytest.approx(ref["B"] - ref["A"], abs=1e-8)


def test_via_starts_the_path_in_another_valley_and_is_part_of_a_stored_run(tmp_path):
    from landscape_plugins.analytic.surfaces import ThreeHole

    ref = ThreeHole.reference_energies
    direct = json.loads(
        run(["connect", "three-hole", "--start", "A", "--end", "B", "--method", "string", "--json"]).stdout
    )
    assert direct["saddle_energy"] == pytest.approx(ref["AB"], abs=1e-4)  # the straight line's valley
    out = tmp_path / "th"
    through = json.loads(
        run(
            [
                "connect",
                "three-hole",
                "--start",
                "A",
                "--end",
                "B",
                "--method",
                "string",
                "--via",
                "C",
                "--out",
                out,
                "--json",
            ]
        ).stdout
    )
    assert through["saddle_energy"] == pytest.approx(ref["AC"], abs=1e-4)  # the minimum energy path, over C
    line = one_line_error(
        invoke(["connect", "three-hole", "--start", "A", "--end", "B", "--method", "string", "--out", out])
    )
    assert "other settings" in line and "via" in line


def test_every_spring_gives_the_same_saddle_and_the_automatic_one_is_reported():
    auto, stiff, soft = (
        json.loads(
            run(
                ["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb", "--spring", k, "--json"]
            ).stdout
        )
        for k in ("auto", "1", "0.1")
    )
    assert soft["saddle_energy"] == pytest.approx(stiff["saddle_energy"], abs=1e-5)
    assert auto["saddle_energy"] == pytest.approx(stiff["saddle_energy"], abs=1e-5)
    assert (stiff["spring"], soft["spring"]) == (1.0, 0.1) and auto["spring"] > 100  # Mueller-Brown is stiff
    string = json.loads(
        run(["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "string", "--json"]).stdout
    )
    assert string["spring"] is None
    text = run(["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb", "--spring", "0.5"]).stdout
    assert ", spring 0.5" in text
    for bad, words in (
        ("0", "--spring must be a finite number > 0"),
        ("stiff", "--spring must be a number > 0 or auto"),
    ):
        assert words in one_line_error(
            invoke(["connect", "mueller-brown", "--start", "A", "--end", "B", "--spring", bad])
        )
    assert "--spring applies to --method neb only" in one_line_error(
        invoke(["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "string", "--spring", "2"])
    )
    assert "--spring-min needs a numeric --spring" in one_line_error(
        invoke(["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb", "--spring-min", "0.1"])
    )


def test_log_writes_one_line_per_step_and_appends_when_continued(tmp_path):
    log = tmp_path / "run.log"
    out = json.loads(
        run(
            ["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "string", "--log", log, "--json"]
        ).stdout
    )
    lines = log.read_text().splitlines()
    assert lines[0].startswith("# run started") and lines[1].split("\t")[:4] == [
        "step",
        "evaluations",
        "highest_energy",
        "largest_force",
    ]
    rows = [line.split("\t") for line in lines[2:]]
    assert [int(r[0]) for r in rows] == list(range(1, out["iterations"] + 1))
    assert float(rows[-1][2]) == pytest.approx(out["saddle_energy"], abs=1e-6)
    assert float(rows[-1][3]) < float(rows[0][3])  # the largest force fell
    run(["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "string", "--log", log])
    assert log.read_text().count("# run started") == 2
    assert "is not a regular file" in one_line_error(
        invoke(["connect", "mueller-brown", "--start", "A", "--end", "B", "--log", tmp_path])
    )


def test_renamed_options_still_work_with_a_note(tmp_path):
    """One vocabulary (--out a store, --figure a picture, --out-dir a folder); the old
    names are rewritten with a note, so scripts written before keep running."""
    import subprocess
    import sys

    from landscape_cli.common import RENAMED

    store = str(tmp_path / "mb")
    old = subprocess.run(
        [
            sys.executable,
            "-m",
            "landscape_cli.main",
            "minima",
            "mueller-brown",
            "--n",
            "12",
            "--out",
            store,
            "--no-progress",
        ],
        capture_output=True,
        text=True,
    )
    assert old.returncode == 0 and "note: minima --n is now --starts" in old.stderr
    new = subprocess.run(
        [
            sys.executable,
            "-m",
            "landscape_cli.main",
            "minima",
            "mueller-brown",
            "--starts",
            "12",
            "--out",
            store,
            "--force",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
    )
    assert new.returncode == 0 and "note:" not in new.stderr
    from landscape_cli.reference import commands

    by_name = {name.split()[-1]: cmd for name, cmd in commands()}  # plugin commands and `plot`'s included
    for command, table in RENAMED.items():
        options = {o for p in by_name[command].params for o in p.opts}
        for old_name, new_name in table.items():
            assert new_name in options and old_name not in options, (command, old_name)
