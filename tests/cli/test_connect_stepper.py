"""`connect --stepper lbfgs-guarded`: the guarded L-BFGS start of `Hybrid`, NEB's default on a
deterministic potential; `--stepper fire2-lbfgs` the FIRE 2.0 start."""

from __future__ import annotations

import json

from landscape import connect, load_potential
from landscape.optimizers.hybrid import guarded_start
from landscape_cli.testing import error_line, invoke, run

MB = ["connect", "mueller-brown", "--start", "A", "--end", "B"]
MB_SADDLE = -40.664844  # docs/concepts.md: the A-B MEP's highest point, the A-C saddle


def test_lbfgs_guarded_is_the_guarded_start_of_the_library():
    out = json.loads(run([*MB, "--stepper", "lbfgs-guarded", "--json"]).stdout)
    pot = load_potential("mueller-brown")
    same = connect(pot, pot.minima["A"], pot.minima["B"], method="neb", stepper=guarded_start())
    assert out["method"] == "neb" and out["status"] == "converged" and abs(out["saddle_energy"] - MB_SADDLE) < 1e-3
    assert (out["iterations"], out["evaluations"]) == (same.nit, same.nfev)
    assert out["saddle_energy"] == same.saddle_energy
    default = json.loads(run([*MB, "--json"]).stdout)  # connect's default on a deterministic potential
    assert (default["iterations"], default["evaluations"], default["saddle_energy"]) == (
        out["iterations"],
        out["evaluations"],
        out["saddle_energy"],
    )
    fire2 = json.loads(run([*MB, "--stepper", "fire2-lbfgs", "--json"]).stdout)  # the FIRE 2.0 start steps otherwise
    assert (fire2["iterations"], fire2["evaluations"]) != (out["iterations"], out["evaluations"])


NOISY = """
import numpy as np
from landscape import Potential


class Batches(Potential):
    dim = 2
    stochastic = True
    minima = {"L": np.array([-1.0, 0.0]), "R": np.array([1.0, 0.0])}

    def energy_and_gradient(self, x):
        return (x[:, 0] ** 2 - 1) ** 2 + 2 * x[:, 1] ** 2, np.stack([4 * x[:, 0] * (x[:, 0] ** 2 - 1), 4 * x[:, 1]], 1)
"""


def test_lbfgs_guarded_is_refused_on_a_mini_batch_loss(tmp_path):
    (tmp_path / "batches.py").write_text(NOISY)
    spec = f"{tmp_path / 'batches.py'}:Batches"
    r = invoke(["connect", spec, "--start", "L", "--end", "R", "--method", "neb", "--stepper", "lbfgs-guarded"])
    assert r.exit_code == 1
    assert error_line(r) == "error: --stepper lbfgs-guarded needs a deterministic potential, not a mini-batch loss"
