"""An exploration's curves in lockstep (`LockstepExecutor`) store what one pair after
another (`LocalExecutor`) stores: the same paths, profiles, histories, records and
sample counts, and a group stopped after its first step resumes to them."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape import LandscapeError, Store, explore
from landscape.exploration.results import ExploreStatus
from landscape.optimizers.curves import Curve
from landscape.optimizers.steppers import Adam
from landscape.paths.result import Status
from landscape.runs.executors import LocalExecutor
from landscape.runs.tasks import run_pair
from landscape_plugins.torchnet.lockstep_runs import LockstepExecutor
from landscape_plugins.torchnet.models import CifarResNet
from landscape_plugins.torchnet.params import flatten_parameters
from landscape_plugins.torchnet.potential import NetworkPotential
from landscape_plugins.torchnet.train import init_parameters

# two t per step, Adam with Garipov's decay, the pivots sampled at step 3 and at the end
CURVE = Curve(bends=2, steps=6, samples_per_step=2, stepper=Adam(lr=0.05), lr_decay="garipov", sample_every=3)
BATCH, PIVOTS = 8, 5


def _potential():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 3, 8, 8, generator=g, dtype=torch.float64), torch.randint(0, 10, (32,), generator=g)
    return NetworkPotential(CifarResNet(8, 2).double(), (x, y), batch_size=BATCH, l2=1e-3, batched="loop")


def _explore(store, executor, **options):
    pot = _potential()
    m = np.stack([flatten_parameters(init_parameters(pot.module, s), pot.spec).numpy() for s in range(3)])
    ex = explore(pot, m, store=store, optimizer=CURVE, pivots=PIVOTS, executor=executor, **options)
    return ex, pot.cost()


def _stored(store):
    with Store.open(store) as s:
        return {n: (s.read_result(n), s.path_info(n)) for n in s.path_names()}


def _assert_same(got, want, atol):
    assert sorted(got) == sorted(want) == ["m0-m1", "m0-m2", "m1-m2"]
    for name, (r, info) in got.items():
        r0, info0 = want[name]
        np.testing.assert_allclose(r.path.pivots, r0.path.pivots, rtol=0, atol=atol)
        np.testing.assert_allclose(r.path.energies, r0.path.energies, rtol=0, atol=atol)
        np.testing.assert_allclose(r.profile.energies, r0.profile.energies, rtol=0, atol=atol)
        np.testing.assert_allclose(r.history, r0.history, rtol=0, atol=atol)
        assert info.keys() == info0.keys()  # the same record: its numbers up to the joint call's rounding
        for key, value in info.items():
            assert value == (pytest.approx(info0[key], rel=0, abs=atol) if isinstance(value, float) else info0[key])
        assert (r.status, r.nit, r.nfev, r.samples) == (r0.status, r0.nit, r0.nfev, r0.samples)


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    store = str(tmp_path_factory.mktemp("alone") / "s.h5")
    return _explore(store, LocalExecutor()), _stored(store)


@pytest.mark.parametrize("batched, atol", [("loop", 0.0), ("vmap", 1e-10)])
def test_lockstep_stores_what_one_pair_after_another_stores(alone, tmp_path, batched, atol):
    (ex0, spent0), want = alone
    executor = LockstepExecutor(3, batched)
    ex, spent = _explore(str(tmp_path / "s.h5"), executor)
    got = _stored(str(tmp_path / "s.h5"))
    _assert_same(got, want, atol)
    # Algorithm 3 on 3 minima: the tree's two pairs in one batch (in lockstep), then the third alone
    assert ex.batches == (((0, 1), (0, 2)), ((1, 2),)) and executor.ran == [batched, "alone"]
    assert spent == spent0 and ex.edges == pytest.approx(ex0.edges, abs=max(atol, 1e-300))
    # the hand count of one path: 6 steps x 2 t x 8 images; the pivots (5 x 8, forward) at
    # the start, at step 3 and at the end, then the final profile's 9 points per segment
    r = got["m0-m1"][0]
    assert r.samples == {"gradient": 6 * 2 * BATCH, "forward": 3 * PIVOTS * BATCH + (PIVOTS - 1) * 9 * BATCH}


def test_a_group_stopped_after_its_first_step_resumes_to_the_same_paths(alone, tmp_path):
    _, want = alone
    store = str(tmp_path / "s.h5")
    executor = LockstepExecutor(3, "loop")
    steps = []

    def stop(i, j, step, top):  # the executor's step hook, as bench/gpu_paper.py's deadline
        steps.append(step)
        raise KeyboardInterrupt

    executor.on_step = stop
    ex, _ = _explore(store, executor)
    assert ex.status is ExploreStatus.INTERRUPTED and steps == [1, 1]  # both runs of the group, at step 1
    with Store.open(store) as s:
        assert all(s.read_checkpoint(n)[1]["nit"] == 1 for n in ("m0-m1", "m0-m2"))
    executor.on_step = None
    ex, _ = _explore(store, executor)
    assert ex.status is ExploreStatus.COMPLETE and ex.runs_resumed == 2
    _assert_same(_stored(store), want, 0.0)


def test_bad_input():
    with pytest.raises(LandscapeError, match="workers must be a positive integer"):
        LockstepExecutor(0)
    with pytest.raises(LandscapeError, match="batched must be one of"):
        LockstepExecutor(3, "fast")
    from landscape_plugins.analytic.surfaces import MuellerBrown

    with pytest.raises(LandscapeError, match="on a network potential"):
        LockstepExecutor().start(MuellerBrown())


@pytest.fixture
def ctrl_c():
    """A Ctrl-C that a run's thread presses and waits to see reach the main thread (there,
    as Python's own handler, it raises KeyboardInterrupt). Without the wait the group may
    finish its steps before the main thread, which polls every 0.1 s, gets to it."""
    seen = threading.Event()

    def handler(signum, frame):
        seen.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)

    def press():
        os.kill(os.getpid(), signal.SIGINT)
        assert seen.wait(30), "the main thread never took the Ctrl-C"

    yield press
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_stops_the_group_at_its_next_step_and_the_rerun_resumes(alone, tmp_path, ctrl_c):
    """Ctrl-C reaches the main thread, which waits for the group: every run stops at its
    next step and commits its state, and the exploration says interrupted."""
    _, want = alone
    store = str(tmp_path / "s.h5")
    executor = LockstepExecutor(3, "vmap")
    pressed = []

    def press(i, j, step, top):  # a run's step hook presses Ctrl-C once, after step 1
        if not pressed:
            pressed.append((i, j, step))
            ctrl_c()

    executor.on_step = press
    ex, _ = _explore(store, executor)
    assert ex.status is ExploreStatus.INTERRUPTED and pressed
    with Store.open(store) as s:
        assert sorted(s.path_names()) == ["m0-m1", "m0-m2"]
        assert all(1 <= s.read_checkpoint(n)[1]["nit"] < CURVE.steps for n in ("m0-m1", "m0-m2"))
    executor.on_step = None
    ex, _ = _explore(store, executor)
    assert ex.status is ExploreStatus.COMPLETE and ex.runs_resumed == 2
    _assert_same(_stored(store), want, 1e-10)


def test_ctrl_c_after_the_groups_last_step_still_stops_the_exploration(alone, tmp_path, monkeypatch, ctrl_c):
    """A Ctrl-C that lands when every run of the group has finished interrupts nothing in
    the group; before, the executor swallowed it and the exploration went on to the next
    batch (the third pair) and said complete."""
    import landscape_plugins.torchnet.lockstep_runs as lockstep_runs

    _, want = alone
    store = str(tmp_path / "s.h5")
    finished = []

    def run_then_press(*args, **kwargs):
        result = run_pair(*args, **kwargs)
        finished.append(result.status)
        if len(finished) == 2:  # the group's last run is done: Ctrl-C now
            ctrl_c()
        return result

    monkeypatch.setattr(lockstep_runs, "run_pair", run_then_press)
    ex, _ = _explore(store, LockstepExecutor(3, "vmap"))
    assert ex.status is ExploreStatus.INTERRUPTED and len(finished) == 2 and Status.INTERRUPTED not in finished
    with Store.open(store) as s:
        assert "m1-m2" not in s.path_names()  # the next batch never started
    monkeypatch.undo()
    ex, _ = _explore(store, LockstepExecutor(3, "vmap"))
    assert ex.status is ExploreStatus.COMPLETE
    _assert_same(_stored(store), want, 1e-10)


def test_ctrl_c_in_a_batch_run_in_turn_stops_the_batch(tmp_path):
    """A batch that is no group of curves (here NEB bands) runs one pair after another:
    the Ctrl-C that the first run returns as interrupted stops the batch there, as on
    the local executor; before, the second run started and ran too."""
    from landscape.paths.budget import Budget

    executor = LockstepExecutor(2, "loop")
    seen = []

    def stop(i, j, step, top):  # Ctrl-C at every run's first step
        seen.append((i, j))
        raise KeyboardInterrupt

    executor.on_step = stop
    pot = _potential()
    m = np.stack([flatten_parameters(init_parameters(pot.module, s), pot.spec).numpy() for s in range(3)])
    ex = explore(pot, m, method="neb", pivots=PIVOTS, run_budget=Budget(max_steps=3), executor=executor, batch=2)
    assert ex.status is ExploreStatus.INTERRUPTED and executor.ran == ["alone"]
    assert len(seen) == 1  # the batch's second run never started
