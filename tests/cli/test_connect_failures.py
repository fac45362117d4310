"""A run that is not a success is still reported, marked so, and exits 1 with one line
saying why; a Hessian that cannot be formed loses only its own report."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from landscape.potentials.registry import load_potential
from landscape_cli.testing import error_line, run

NAN_TOP = f"{Path(__file__).resolve().parents[1] / 'data' / 'nan_top_potential.py'}:NanTop"


def test_a_diverged_run_is_reported_and_exits_1():
    r = run(
        [
            "connect",
            "gaussian-mixture",
            "-o",
            "wells=5",
            "-o",
            "seed=11",
            "--start",
            "m0",
            "--end",
            "m1",
            "--method",
            "neb",
            "--pivots",
            "3",
            "--json",
        ],
        expect=1,
    )
    data = json.loads(r.stdout)
    assert data["status"] == "diverged" and data["success"] is False
    assert "did not succeed: diverged" in error_line(r)


def test_a_failed_run_prints_no_saddle_energy():
    r = run(
        [
            "connect",
            "gaussian-mixture",
            "-o",
            "wells=5",
            "-o",
            "seed=11",
            "--start",
            "m0",
            "--end",
            "m1",
            "--method",
            "neb",
            "--pivots",
            "3",
        ],
        expect=1,
    )
    assert "saddle energy" not in r.stdout and "not a saddle estimate" in r.stdout


def test_the_rings_maximum_is_no_success_and_its_true_saddle_is():
    truth = load_potential("ring").reference_energies["AB_upper"]  # 1.0
    r = run(["connect", "ring", "--start", "A", "--end", "B", "--json"], expect=1)
    data = json.loads(r.stdout)
    assert data["status"] == "not_a_saddle" and data["hessian"]["saddle_index_of_hessian"] == 2
    assert abs(data["upper_bound"] - 2.0) < 1e-9 and "not_a_saddle" in error_line(r)
    ok = json.loads(
        run(["connect", "ring", "--start", "A", "--end", "B", "--via", "0,1", "--certify", "--json"]).stdout
    )
    assert ok["success"] and abs(ok["saddle_energy"] - truth) < 1e-6
    assert ok["hessian"]["refined"]["saddle_index_of_hessian"] == 1


def test_certify_on_a_maximum_exits_1():
    r = run(
        [
            "connect",
            "ring",
            "--start",
            "A",
            "--end",
            "B",
            "--method",
            "neb",
            "--spring",
            "50",
            "--spring-min",
            "1",
            "--certify",
        ],
        expect=1,
    )
    assert "index 2" in r.stdout and "not_a_saddle" in error_line(r)


#: Plain SGD at lr 1 on Mueller-Brown, whose curvature reaches about 750: it runs off the
#: box on every machine (the `quick` preset's lr 0.05 runs off or not with the last bits
#: of exp, docs/concepts.md).
RUNAWAY = '{"cycles": [{"steps": 50, "stepper": {"kind": "sgd", "lr": 1}}]}'


def test_mueller_brown_run_off_its_box_is_diverged(tmp_path):
    truth = load_potential("mueller-brown").reference_energies["AC"]  # -40.6648, the B-A path's highest point
    (tmp_path / "runaway.json").write_text(RUNAWAY)
    args = ["--schedule", tmp_path / "runaway.json", "--json"]
    r = run(["connect", "mueller-brown", "--start", "B", "--end", "A", *args], expect=1)
    data = json.loads(r.stdout)
    assert data["status"] == "diverged" and data["upper_bound"] > truth + 1e4
    line = error_line(r)  # one line: no RuntimeWarning from the overflowing exponential either
    assert "did not succeed: diverged" in line and "(energy diverged)" in line


def test_a_nan_gradient_beside_the_top_marks_only_the_hessian_unavailable():
    r = run(["connect", NAN_TOP, "--start", "L", "--end", "R", "--method", "neb", "--json"])
    data = json.loads(r.stdout)
    assert data["success"] and abs(data["saddle_energy"] - 1.0) < 1e-12  # the band is reported
    assert "NaN" in data["hessian"]["unavailable"] and r.stderr == ""
    text = run(["connect", NAN_TOP, "--start", "L", "--end", "R", "--method", "neb"]).stdout
    assert "Hessian at the climbing image: unavailable" in text and "saddle energy 1.000000" in text
    r = run(["connect", NAN_TOP, "--start", "L", "--end", "R", "--method", "neb", "--certify", "--json"], expect=1)
    assert json.loads(r.stdout)["success"] and "--certify could not certify the saddle" in error_line(r)


def test_complex_starting_pivots_are_refused(tmp_path):
    f = tmp_path / "c.npy"
    np.save(f, np.array([[-0.558 + 1j, 1.442], [0.0, 0.5], [0.623, 0.028]]))
    r = run(["connect", "mueller-brown", "--init", str(f)], expect=1)
    assert "complex numbers" in error_line(r)


def test_far_points_end_in_one_line_without_warnings():
    for args in (["--end", "50,0"], ["--end", "1e300,0"], ["--end", "B", "--via", "1e300,0"]):
        with warnings.catch_warnings(record=True) as caught:  # pytest would hide them from stderr
            warnings.simplefilter("always")
            r = run(["connect", "mueller-brown", "--start", "A", *args], expect=1)
        assert [str(w.message) for w in caught] == [] and error_line(r)


def test_a_run_off_the_box_warns_nothing(tmp_path):
    (tmp_path / "runaway.json").write_text(RUNAWAY)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(
            ["connect", "mueller-brown", "--start", "B", "--end", "A", "--schedule", tmp_path / "runaway.json"],
            expect=1,
        )
    assert [str(w.message) for w in caught] == []


def test_an_exploration_with_failed_paths_says_how_many_and_exits_1(tmp_path):
    store = str(tmp_path / "gm")
    run(["minima", "gaussian-mixture", "-o", "wells=5", "-o", "seed=11", "--out", store])
    for _ in range(2):  # the run that computes the paths, then one that only reads them
        r = run(["explore", store, "--method", "neb", "--pivots", "3", "--json"], expect=1)
        data = json.loads(r.stdout)
        assert data["paths_failed"] == 1 and data["pairs_computed"] == 10  # 2 before the fold check
        assert "1 of 10 paths failed (diverged" in error_line(r)


def test_an_exploration_stopped_by_its_budgets_is_no_failure(tmp_path):
    store = str(tmp_path / "gm")
    run(["minima", "gaussian-mixture", "-o", "wells=5", "-o", "seed=11", "--out", store])
    data = json.loads(run(["explore", store, "--method", "neb", "--steps", "5", "--json"]).stdout)
    assert data["paths_failed"] == 0 and data["pairs_computed"] >= 1


def test_atoms_on_one_spot_end_in_one_line_without_emts_warnings(tmp_path):
    pytest.importorskip("ase")
    from ase import Atoms
    from ase.io import write

    write(tmp_path / "a.xyz", Atoms("Cu2", positions=[[0, 0, 0], [2.5, 0, 0]]))
    write(tmp_path / "b.xyz", Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 0]]))  # EMT divides by zero here
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = run(
            [
                "connect",
                "ase",
                "-o",
                f"start={tmp_path / 'a.xyz'}",
                "-o",
                f"end={tmp_path / 'b.xyz'}",
                "--start",
                "start",
                "--end",
                "end",
                "--method",
                "neb",
            ],
            expect=1,
        )
    assert [str(w.message) for w in caught] == [] and "NaN or infinite" in error_line(r)


def test_a_starting_path_too_long_to_measure_is_refused(tmp_path):
    f = tmp_path / "far.txt"
    f.write_text("-0.5582236346 1.4417258418\n1e300 0\n0.6234994049 0.0280377585\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = run(["connect", "mueller-brown", "--init", str(f), "--method", "string"], expect=1)
    assert [str(w.message) for w in caught] == [] and "too long to measure" in error_line(r)


def test_a_numerical_fault_is_reported_and_exits_1(tmp_path):
    f = tmp_path / "nanmid.py"
    f.write_text(
        "import numpy as np\n"
        "from landscape import Potential\n"
        "class NanMid(Potential):\n"
        "    '''A tilted double well that turns NaN near its middle after 40 evaluations.'''\n"
        "    dim = 2\n"
        "    minima = {'L': np.array([-1.0, 0.0]), 'R': np.array([1.0, 0.0])}\n"
        "    calls = 0\n"
        "    def energy_and_gradient(self, x):\n"
        "        NanMid.calls += len(x)\n"
        "        e = (x[:, 0] ** 2 - 1) ** 2 + 2 * x[:, 1] ** 2 + 0.1 * x[:, 0] * x[:, 1]\n"
        "        g = np.stack([4 * x[:, 0] * (x[:, 0] ** 2 - 1) + 0.1 * x[:, 1], 4 * x[:, 1] + 0.1 * x[:, 0]], 1)\n"
        "        if NanMid.calls > 40:\n"
        "            e = np.where(np.abs(x[:, 0]) < 0.3, np.nan, e)\n"
        "        return e, g\n"
    )
    r = run(
        ["connect", f"{f}:NanMid", "--start", "L", "--end", "R", "--method", "neb", "--no-relax-ends", "--json"],
        expect=1,
    )
    assert json.loads(r.stdout)["status"] == "numerical_fault" and "did not succeed: numerical_fault" in error_line(r)
