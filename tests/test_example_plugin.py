"""The example third-party plugin, installed the way a user installs one (CI does)."""
from __future__ import annotations

import numpy as np
import pytest

from landscape.runs.pair import connect
from landscape.potentials.registry import available, load_potential
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
