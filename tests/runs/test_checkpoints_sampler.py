"""A stored run Ctrl-C'd in the middle of a step or of its final checks keeps the last
step's state (`optimize`); on a potential whose draws move on with every call (a
mini-batch loss), its checkpoint must keep the sampler where that step left it, not
where the interrupted work left it, or the rerun draws other batches than the
uninterrupted run."""

from __future__ import annotations

import numpy as np
import pytest

import landscape.optimizers.driver as driver
from landscape.paths.budget import Budget
from landscape.paths.result import Status
from landscape.potentials.registry import load_potential
from landscape.runs.stored import connect_stored
from landscape.testing import SeededNoise


class Drawing(SeededNoise):
    """Mueller-Brown plus seeded noise drawn at every call, energies too (as a
    mini-batch loss draws a batch), marked stochastic; Ctrl-C at the `stop_in_gradient`-th
    gradient call, after its draw, before the step has its forces."""

    def __init__(self, stop_in_gradient: int | None = None):
        super().__init__(load_potential("mueller-brown"), stochastic=True)
        self.gradients, self.stop_in_gradient = 0, stop_in_gradient

    def energy_and_gradient(self, x):
        self.gradients += 1
        if self.gradients == self.stop_in_gradient:
            self._noise(len(x))
            raise KeyboardInterrupt
        return super().energy_and_gradient(x)


SETTINGS = dict(method="neb", fmax=0.5, budget=Budget(max_steps=30), checkpoint_seconds=None)


def _run(filename: str, pot: Drawing):
    a, b = pot.minima["A"], pot.minima["B"]
    return connect_stored(filename, pot, ("A", "B"), a, b, **SETTINGS)


@pytest.mark.parametrize("where", ["a step", "the final profile"])
def test_the_rerun_draws_what_the_uninterrupted_run_drew(tmp_path, monkeypatch, where):
    whole = _run(str(tmp_path / "whole"), Drawing()).result
    if where == "a step":
        cut = _run(str(tmp_path / "cut"), Drawing(stop_in_gradient=15)).result
    else:
        real = driver._final_profile

        def interrupted(state, potential, per_segment):
            potential.energy(state.path.pivots)  # part of the profile drawn, then Ctrl-C
            raise KeyboardInterrupt

        monkeypatch.setattr(driver, "_final_profile", interrupted)
        cut = _run(str(tmp_path / "cut"), Drawing()).result
        monkeypatch.setattr(driver, "_final_profile", real)
    assert cut.status is Status.INTERRUPTED and 0 < cut.nit <= whole.nit
    again = _run(str(tmp_path / "cut"), Drawing())
    assert again.resumed_from_step == cut.nit
    assert (again.result.status, again.result.nit, again.result.nfev) == (whole.status, whole.nit, whole.nfev)
    np.testing.assert_array_equal(again.result.path.pivots, whole.path.pivots)
    np.testing.assert_array_equal(again.result.path.energies, whole.path.energies)
    np.testing.assert_array_equal(again.result.profile.energies, whole.profile.energies)
