"""A stochastic potential's path depends on nothing that ran before it in the process.

Each pair an exploration runs restarts the potential's seeded mini-batch stream
(`Potential.restart_stream`), so the same pair gives the same path whichever executor,
worker or earlier run came first, and a path resumed after a restart equals the same
path in one uninterrupted call.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from landscape import Budget, load_potential, make_optimizer  # noqa: E402
from landscape.runs.tasks import PairTask, run_pair  # noqa: E402

OPTIONS = {"hidden": "6", "n_train": 64, "n_test": 32, "minima": 2, "epochs": 30, "batch_size": 16, "dtype": "float64"}


def _task(pot) -> PairTask:
    return PairTask(
        pot.minimum("0"), pot.minimum("1"), make_optimizer("neb", climb=False), pivots=5, budget=Budget(max_steps=15)
    )


def test_the_same_pair_twice_in_one_process_gives_the_same_path():
    pot = load_potential("mlp", OPTIONS)
    first = run_pair(pot, _task(pot))
    second = run_pair(pot, _task(pot))  # the stream went on during the first run
    np.testing.assert_array_equal(first.path.pivots, second.path.pivots)


def test_a_run_after_another_equals_a_run_in_a_fresh_potential():
    pot = load_potential("mlp", OPTIONS)
    run_pair(
        pot,
        PairTask(pot.minimum("1"), pot.minimum("0"), make_optimizer("string"), pivots=4, budget=Budget(max_steps=7)),
    )
    after = run_pair(pot, _task(pot))
    fresh_pot = load_potential("mlp", OPTIONS)
    fresh = run_pair(fresh_pot, _task(fresh_pot))
    # Two potential objects batch their points alike on the CPU (`batched="auto"` takes
    # a rule there, not a timing): equal to round-off, where another stream differs at 1e-3.
    np.testing.assert_allclose(after.path.pivots, fresh.path.pivots, rtol=1e-12, atol=1e-15)


def test_without_the_restart_the_stream_would_differ():
    """Guards the test: the batches really do depend on the stream's position."""
    pot = load_potential("mlp", OPTIONS)
    x = pot.minimum("0")
    e0 = float(pot.energy_and_gradient(x[None])[0][0])
    e1 = float(pot.energy_and_gradient(x[None])[0][0])
    pot.restart_stream()
    e2 = float(pot.energy_and_gradient(x[None])[0][0])
    assert e0 != e1 and e2 == e0
