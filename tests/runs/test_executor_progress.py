"""Executors report the runs in flight: pair, step and highest energy, as they go."""

from __future__ import annotations

import numpy as np
import pytest

from landscape.paths.budget import Budget
from landscape.potentials.registry import load_potential
from landscape.runs.executors import LocalExecutor, ProcessExecutor
from landscape.runs.pair import make_optimizer
from landscape.runs.tasks import PairTask, PotentialSpec


@pytest.mark.parametrize("make", [LocalExecutor, lambda: ProcessExecutor(workers=2)])
def test_runs_in_flight_report_their_steps(make):
    pot = load_potential("mueller-brown")
    task = PairTask(
        np.asarray(pot.minimum("A")),
        np.asarray(pot.minimum("B")),
        make_optimizer("neb", fmax=1e-6),
        9,
        Budget(max_steps=3000),
    )
    heard: list[tuple] = []
    with make() as ex:
        ex.start(PotentialSpec("mueller-brown", {}))
        plain = ex.submit([(0, 1, task)])[0]
        ex.on_step = lambda *m: heard.append(m)
        reported = ex.submit([(0, 1, task), (1, 0, task)])
    assert heard and {m[:2] for m in heard} <= {(0, 1), (1, 0)}
    steps = [m[2] for m in heard if m[:2] == (0, 1)]
    assert steps == sorted(steps) and max(steps) <= reported[0].nit
    assert all(np.isfinite(m[3]) for m in heard)  # the highest energy on the band at that step
    assert reported[0].saddle_energy == plain.saddle_energy  # reporting changes nothing


def test_exploring_with_a_bar_gives_the_callers_executor_its_own_listener_back():
    from landscape.analysis.minima import find_minima
    from landscape.exploration.loop import explore

    pot = load_potential("three-hole")
    minima = find_minima(pot, 30, seed=0)
    mine = []

    def listener(*m):
        mine.append(m)

    with LocalExecutor() as ex:
        ex.on_step = listener
        explore(pot, minima.coords[:3], method="neb", fmax=1e-2, executor=ex, progress=True)
        assert ex.on_step is listener  # the bar's hook was taken off, the caller's put back
