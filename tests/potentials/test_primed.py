"""The end check's evaluations reused by the band's first step (landscape.potentials.primed)."""

from __future__ import annotations

import numpy as np
import pytest

from landscape import CountingPotential, PrimedPotential, connect, load_potential
from landscape.optimizers.endpoints import check_and_relax
from landscape.potentials.potential import Potential
from landscape.runs.pair import check_endpoints


def _run(pot: Potential, start, end, pivots: int, primed: bool, method: str = "neb"):
    """(result, energy+gradient points, energy-only points) of the CLI's sequence:
    the end check, then `connect`, on a potential that counts every call it receives."""
    counter = CountingPotential(pot)
    run = PrimedPotential(counter) if primed else counter
    a, b, _ = check_and_relax(run, *check_endpoints(counter, start, end))
    result = connect(run, a, b, method=method, pivots=pivots, fmax=0.05)
    return result, counter.gradient_points, counter.energy_points


@pytest.mark.parametrize(("pivots", "reused"), [(7, 3), (8, 2)])
def test_the_band_is_the_same_to_the_bit_and_costs_exactly_the_reused_points_less(pivots, reused):
    """Both ends always; the straight line's middle, which the check also evaluates,
    only when it is a pivot (an odd number of pivots)."""
    pot = load_potential("mueller-brown")
    plain, g0, e0 = _run(pot, pot.minima["A"], pot.minima["B"], pivots, primed=False)
    reusing, g1, e1 = _run(pot, pot.minima["A"], pot.minima["B"], pivots, primed=True)
    assert plain.success and reusing.success
    assert np.array_equal(plain.path.pivots, reusing.path.pivots)
    assert np.array_equal(plain.path.energies, reusing.path.energies)
    assert np.array_equal(plain.profile.energies, reusing.profile.energies)
    assert (plain.nit, plain.nfev) == (reusing.nit, reusing.nfev)
    assert (g0 - g1, e0 - e1) == (reused, 0)


def test_a_relaxed_end_is_taken_from_its_relaxation():
    """The band starts from where the end relaxed to: the relaxation's last evaluation
    is there (the straight line's middle moved with it, so it is evaluated again); the
    drop in energy is reported from that evaluation, with no energy call of its own."""
    pot = load_potential("mueller-brown")
    runs = [_run(pot, np.array([-0.3, 1.2]), pot.minima["B"], 9, primed=p, method="string") for p in (False, True)]
    (plain, g0, e0), (reusing, g1, e1) = runs
    assert np.array_equal(plain.path.pivots, reusing.path.pivots)
    assert (g0 - g1, e0 - e1) == (2, 0)
    counter = CountingPotential(pot)
    a, _, (start, _) = check_and_relax(counter, np.array([-0.3, 1.2]), pot.minima["B"])
    truth = pot.energy(np.stack([np.array([-0.3, 1.2]), a]))
    assert start.relaxed and counter.energy_points == 0
    assert start.energy_drop == pytest.approx(float(truth[0] - truth[1]), rel=1e-12)


def test_rows_served_are_the_inner_values_once_and_others_evaluated():
    pot = load_potential("mueller-brown")
    counter = CountingPotential(pot)
    points = np.array([[0.1, 0.4], [-0.6, 1.3], [0.5, 0.0]])
    known = pot.energy_and_gradient(points[[0, 2]])
    primed = PrimedPotential(counter)
    primed.prime(points[[0, 2]], *known)
    e, g = primed.energy_and_gradient(points)
    truth = pot.energy_and_gradient(points)
    assert np.array_equal(e, truth[0]) and np.array_equal(g, truth[1])
    assert (primed.served, counter.gradient_points) == (2, 1)
    nudged = points.copy()
    nudged[0, 0] = np.nextafter(nudged[0, 0], 1.0)  # one bit off: no match
    primed.prime(points[:1], *pot.energy_and_gradient(points[:1]))
    primed.energy_and_gradient(nudged[:1])
    assert (primed.served, counter.gradient_points) == (2, 2)
    primed.energy_and_gradient(points)  # forgotten after one call: everything evaluated
    assert (primed.served, counter.gradient_points) == (2, 5)


def test_a_mini_batch_loss_is_never_primed():
    class Noisy(Potential):
        dim = 2
        name = "noisy"
        stochastic = True

        def energy_and_gradient(self, x):
            return np.sum(x**2, axis=1), 2 * x

    counter = CountingPotential(Noisy())
    primed = PrimedPotential(counter)
    points = np.array([[1.0, 2.0]])
    primed.prime(points, *counter.energy_and_gradient(points))
    primed.energy_and_gradient(points)
    assert (primed.served, counter.gradient_points) == (0, 2)


def test_a_torch_potential_reuses_the_points_through_the_host_view():
    """CPU tensors are stepped on through numpy (`landscape.paths.host`): the memory
    holds the potential's tensors and serves the rows it is asked for in tensors."""
    torch = pytest.importorskip("torch")

    class Wells(Potential):
        dim = 2
        name = "torch-wells"
        minima = {"L": np.array([-1.0, 0.0]), "R": np.array([1.0, 0.0])}

        def asarray(self, x):
            return torch.as_tensor(x if torch.is_tensor(x) else np.asarray(x), dtype=torch.float64)

        def energy_and_gradient(self, x):  # two exact minima, a bent path between them
            u, v = x[:, 0], x[:, 1]
            e = (u**2 - 1) ** 2 + 2 * v**2 + v * (1 - u**2)
            return e, torch.stack([4 * u * (u**2 - 1) - 2 * u * v, 4 * v + 1 - u**2], 1)

    pot = Wells()
    plain, g0, _ = _run(pot, pot.minima["L"], pot.minima["R"], 9, primed=False)
    reusing, g1, _ = _run(pot, pot.minima["L"], pot.minima["R"], 9, primed=True)
    assert reusing.success and np.array_equal(plain.path.pivots, reusing.path.pivots)
    assert g0 - g1 == 3


def test_a_stored_run_records_its_ends_from_the_check(tmp_path):
    """`connect --out` writes the ends' energies into the new store before the band
    starts: from the check's evaluations, with no energy call, and the same numbers."""
    from landscape.runs.stored import connect_stored

    pot = load_potential("mueller-brown")
    counts = []
    for primed in (False, True):
        counter = CountingPotential(pot)
        run = PrimedPotential(counter) if primed else counter
        a, b, _ = check_and_relax(run, *check_endpoints(counter, pot.minima["A"], pot.minima["B"]))
        stored = connect_stored(str(tmp_path / f"p{primed}.h5"), run, ("A", "B"), a, b, method="neb", pivots=7)
        counts.append((counter.energy_points, counter.gradient_points, stored.result.path.energies))
    (e0, g0, path0), (e1, g1, path1) = counts
    assert (e0 - e1, g0 - g1) == (2, 3) and np.array_equal(path0, path1)


class _Crash(Exception):
    """Stands for the process dying after a commit."""


def test_a_resumed_band_evaluates_what_the_end_check_primed_afresh(tmp_path):
    """A primed row is a smaller batch's value (a matrix product rounds by batch size),
    so a resumed band must not take its next step's rows from memory: the
    uninterrupted run evaluated them in its own batch.  Primed here with the very
    rows the step after the checkpoint evaluates, the resumed run serves none of them
    and ends where the uninterrupted one does, bit for bit."""
    from landscape.runs.stored import connect_stored

    pot = load_potential("mueller-brown")
    a, b = pot.minima["A"], pot.minima["B"]
    seen: dict[int, np.ndarray] = {}

    def record(state) -> None:  # a callback's true answer would stop the run
        seen[state.nit] = np.array(state.path.pivots)

    want = connect_stored(
        str(tmp_path / "ref"),
        pot,
        ("A", "B"),
        a,
        b,
        method="neb",
        checkpoint_seconds=0,
        callbacks=[record],
    ).result

    def crash(state):
        if state.nit == 4:
            raise _Crash

    out = str(tmp_path / "run")
    with pytest.raises(_Crash):
        connect_stored(out, pot, ("A", "B"), a, b, method="neb", checkpoint_seconds=0, callbacks=[crash])
    primed = PrimedPotential(pot)
    rows = seen[5][1:-1]
    primed.prime(rows, *pot.energy_and_gradient(rows))
    run = connect_stored(out, primed, ("A", "B"), a, b, method="neb", checkpoint_seconds=0)
    assert run.resumed_from_step == 4 and primed.served == 0
    assert np.array_equal(run.result.path.pivots, want.path.pivots) and run.result.nfev == want.nfev
