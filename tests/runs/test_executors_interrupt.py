"""One Ctrl-C stops an exploration's batch on the local executor: the run it lands in
returns interrupted (`optimize` keeps its state), and the runs after it in the batch
must not start, as a process pool's queued runs do not (its Ctrl-C reaches the waiting
driver).  Before, each of them ran to its end first (every run in flight is discarded
without a store)."""

from __future__ import annotations

import numpy as np
import pytest

import landscape.optimizers.driver as driver
from landscape.exploration.loop import explore
from landscape.exploration.results import ExploreStatus
from landscape.paths.budget import Budget
from landscape.potentials.potential import PotentialWrapper
from landscape_plugins.analytic.surfaces import GaussianMixture

SURFACE = GaussianMixture(14, seed=0)  # 6 minima: a first batch of 4 runs
SETTINGS = dict(batch=4, method="neb", fmax=1e-2, pivots=15, run_budget=Budget(max_steps=500))


class Counted(PotentialWrapper):
    """The surface, counting the runs started and the gradient calls; Ctrl-C at the
    `stop`-th gradient call (mid-step), if given."""

    def __init__(self, stop: int | None = None):
        super().__init__(SURFACE)
        self.runs, self.calls, self.stop = 0, 0, stop

    def restart_stream(self) -> None:  # once at the start of every run (`run_pair`)
        self.runs += 1

    def energy_and_gradient(self, x):
        self.calls += 1
        if self.calls == self.stop:
            raise KeyboardInterrupt
        return self.inner.energy_and_gradient(x)


@pytest.mark.parametrize("store", [False, True])
@pytest.mark.parametrize("where", ["a step", "the final checks"])
def test_one_ctrl_c_stops_the_batch(tmp_path, interrupt_once, where, store):
    minima = np.array(list(SURFACE.minima.values()))
    if where == "a step":
        pot = Counted(stop=5)
    else:
        pot = Counted()
        interrupt_once(driver, "_check_sane")
    ex = explore(pot, minima, store=tmp_path / "s.h5" if store else None, **SETTINGS)
    assert ex.status is ExploreStatus.INTERRUPTED and ex.runs == 0
    assert pot.runs == 1  # the three runs after it in the batch never started
    if where == "a step":
        assert pot.calls == 5
