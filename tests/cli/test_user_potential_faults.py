"""A user's potential that breaks the interface ends with exit 1 and one line that names
it, says what it returned and what was expected (landscape/potentials/guard.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from landscape.foundations.errors import LandscapeError
from landscape.potentials.guard import GuardedPotential
from landscape.potentials.registry import load_potential
from landscape_cli.testing import error_line, invoke

SPEC = f"{Path(__file__).resolve().parents[1] / 'data' / 'faulty_potential.py'}:Faulty"


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("scalar", "returned energies as a float; expected an array of shape ("),
        ("list", "returned energies as a list"),
        ("none", "returned a NoneType; expected a tuple"),
        ("gradshape", "gradients as an array of shape (3, 1); expected an array of shape (3, 2)"),
        ("runtime", "raised RuntimeError in energy_and_gradient(): solver failed to converge"),
        ("keyerror", "raised KeyError"),
        ("memory", "ran out of memory"),
        ("exit", "called sys.exit(2)"),
    ],
)
def test_each_fault_is_one_line_naming_the_potential(tmp_path, mode, expected):
    out = tmp_path / "f.h5"
    r = invoke(
        ["connect", SPEC, "-o", f"mode={mode}", "--start", "L", "--end", "R", "--method", "neb", "--out", out, "--json"]
    )
    assert r.exit_code == 1 and r.stdout == ""
    line = error_line(r)
    assert "potential faulty" in line and expected in line, line
    assert not out.exists()  # a failed fresh run leaves no store


def test_a_sound_potential_passes_through_unchanged():
    pot = load_potential(SPEC, {"mode": "ok"})
    assert isinstance(pot, GuardedPotential)
    x = np.array([[0.5, 0.1], [0.0, 0.0]])
    e, g = pot.energy_and_gradient(x)
    np.testing.assert_array_equal(e, pot.inner.energy_and_gradient(x)[0])
    with pytest.raises(LandscapeError, match="expected an array of shape"):
        load_potential(SPEC, {"mode": "scalar"}).energy(x)


@pytest.mark.parametrize(
    "body, expected",
    [
        ("import sys\nsys.exit(4)\n", "error while loading"),
        (
            "import sys\nfrom landscape import Potential\nclass Faulty(Potential):\n    dim = 2\n"
            "    def __init__(self):\n        sys.exit(5)\n    def energy_and_gradient(self, x):\n        pass\n",
            "could not build",
        ),
    ],
)
def test_sys_exit_at_import_or_in_init_is_one_line(tmp_path, body, expected):
    path = tmp_path / "exits.py"
    path.write_text(body)
    r = invoke(["connect", f"{path}:Faulty", "--start", "0,0", "--end", "1,1", "--json"])
    assert r.exit_code == 1 and r.stdout == "" and expected in error_line(r) and "SystemExit" in error_line(r)
