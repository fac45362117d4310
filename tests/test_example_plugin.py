"""The example third-party plugin, installed the way a user installs one (CI does)."""

from __future__ import annotations

import numpy as np
import pytest

from landscape.potentials.registry import available, load_potential
from landscape.runs.pair import connect
from landscape.testing import check_potential

pytest.importorskip("landscape_example_plugin", reason="pip install ./examples/third_party_plugin to run this check")


def test_installed_plugin_is_registered_and_conforms():
    assert "tilted-double-well" in available()
    pot = load_potential("tilted-double-well")
    check_potential(pot)
    names = sorted(pot.minima)
    r = connect(pot, pot.minima[names[0]], pot.minima[names[1]], method="neb", climb=True, fmax=1e-3)
    assert r.success
    assert np.isclose(r.saddle_energy, pot.reference_energies["AB"], atol=1e-3)  # the closed-form saddle


def test_installed_plugin_adds_a_command():
    """The plugin's `landscape.commands` entry point: listed by `landscape --help`, and its
    closed-form barrier agrees with the grid-exact minimax path of the plugin's potential."""
    import json

    from landscape.paths.exact import grid_minimax
    from landscape_cli.testing import run

    assert "tilted-barrier" in run(["--help"]).stdout
    out = json.loads(run(["tilted-barrier", "--tilt", "0.5", "--json"]).stdout)
    pot = load_potential("tilted-double-well", {"tilt": "0.5"})
    path = grid_minimax(pot, pot.minima["A"], pot.minima["B"], grid=401)
    assert out["saddle_energy"] == pytest.approx(path.saddle_energy, abs=path.tolerance)
    e_a = float(pot.energy_and_gradient(pot.minima["A"][None])[0][0])
    assert out["barrier_from_A"] == pytest.approx(path.saddle_energy - e_a, abs=path.tolerance)
