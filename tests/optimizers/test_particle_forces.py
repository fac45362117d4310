"""Force tolerances per particle (`Potential.particle_dim`): what `fmax` compares with, in
the band's stopping test, its holding of converged pivots, its snapshots and its step
log, checked against sizes computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from landscape import Budget, CountingPotential, ElasticBand, Path, load_potential, optimize
from landscape.foundations.errors import LandscapeError
from landscape.optimizers.forces import force_sizes, largest_force
from landscape.optimizers.holding import held_pivots
from landscape.optimizers.steplog import StepLog
from landscape.paths.result import Status
from landscape.potentials.potential import PotentialWrapper, particle_dim_of


class Particles(PotentialWrapper):
    """Mueller-Brown read as two particles on a line: fmax bounds each coordinate's force."""

    particle_dim = 1


def _by_hand(forces: np.ndarray, d: int) -> np.ndarray:
    return np.array([max(np.linalg.norm(row[i : i + d]) for i in range(0, row.size, d)) for row in forces])


@pytest.mark.parametrize("d", [0, 1, 3, 6])
def test_force_sizes_are_row_norms_or_the_largest_block_norm(d):
    forces = np.random.default_rng(d).normal(size=(5, 6))
    expected = np.linalg.norm(forces, axis=1) if d == 0 else _by_hand(forces, d)
    np.testing.assert_allclose(force_sizes(forces, d), expected, rtol=1e-12)
    assert largest_force(forces, d) == pytest.approx(expected.max(), rel=1e-12)
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(force_sizes(torch.from_numpy(forces), d).numpy(), expected, rtol=1e-12)


def test_the_stopping_test_measures_what_the_potential_says():
    """One pivot with forces (0.03, 0.03, 0.03, 0.03): its norm 0.06 is above fmax 0.05,
    each particle's 0.042 (two coordinates a particle) below it."""
    pot = load_potential("mueller-brown")
    band = ElasticBand(method="neb", climb=False, fmax=0.05)
    state = band.init(Path.straight(pot.minimum("A"), pot.minimum("B"), 3), pot)
    from dataclasses import replace

    forces = np.full((1, 4), 0.03)
    assert band.terminate(replace(state, forces=forces)) is None
    status, message = band.terminate(replace(state, forces=forces, particle_dim=2))
    assert status is Status.CONVERGED and "force on one particle 0.0424" in message


def test_holding_measures_per_particle():
    """A pivot whose particles are each under the tolerance but whose whole force is not
    is held per particle, and steps when measured as a whole."""
    forces = np.array([[0.03, 0.03], [0.03, 0.03], [0.03, 0.03], [0.9, 0.0]])  # norms 0.042 x 3, 0.9
    assert held_pivots(forces, 0.04, 1.0) is None  # as wholes, nothing is converged
    # per particle the first three are; the third's neighbour is not, so it steps
    np.testing.assert_array_equal(held_pivots(forces, 0.04, 1.0, 1), [False, False, True, True])


def test_a_band_on_particles_stops_on_the_largest_particle_force():
    pot = load_potential("mueller-brown")
    a, b, fmax = pot.minimum("A"), pot.minimum("B"), 0.5
    path = Path.straight(a, b, 9)
    whole = optimize(ElasticBand(method="neb", climb=True, fmax=fmax), pot, path, budget=Budget(max_steps=3000))
    parts = CountingPotential(Particles(pot))
    each = optimize(ElasticBand(method="neb", climb=True, fmax=fmax), parts, path, budget=Budget(max_steps=3000))
    assert whole.status is each.status is Status.CONVERGED
    assert np.linalg.norm(whole.state.forces, axis=1).max() <= fmax
    assert np.abs(each.state.forces).max() <= fmax and "one particle" in each.message
    assert each.state.particle_dim == 1 and whole.state.particle_dim == 0


def test_a_snapshot_restores_the_potentials_particles_and_resumes_exactly():
    pot = Particles(load_potential("mueller-brown"))
    band = ElasticBand(method="neb", climb=True, fmax=0.05, freeze=1.0)
    path = Path.straight(pot.minimum("A"), pot.minimum("B"), 9)
    whole = optimize(band, pot, path, budget=Budget(max_steps=3000), per_segment=0)
    half = optimize(band, pot, path, budget=Budget(max_steps=whole.nit // 2), per_segment=0)
    arrays, attrs = band.snapshot(half.state)
    restored = band.restore(arrays, attrs, pot)
    assert restored.particle_dim == 1
    rest = optimize(band, pot, path, budget=Budget(max_steps=3000), per_segment=0, state=restored)
    np.testing.assert_array_equal(rest.path.pivots, whole.path.pivots)
    assert (rest.nit, rest.nfev) == (whole.nit, whole.nfev)


def test_the_step_log_shows_the_force_fmax_compares(tmp_path):
    pot = Particles(load_potential("mueller-brown"))
    band = ElasticBand(method="neb", climb=False, fmax=0.05)
    state = band.init(Path.straight(pot.minimum("A"), pot.minimum("B"), 5), pot)
    with StepLog(tmp_path / "log") as log:
        log(state)
    row = (tmp_path / "log").read_text().splitlines()[-1].split("\t")
    assert float(row[3]) == pytest.approx(np.abs(state.forces).max(), rel=1e-5)


@pytest.mark.parametrize("value", [-1, 4, 1.5, True, "3"])
def test_a_particle_size_that_does_not_divide_the_coordinates_is_refused(value):
    class Odd(Particles):
        particle_dim = value

    with pytest.raises(LandscapeError, match="particle_dim must be 0 or a whole number dividing dim=2"):
        particle_dim_of(Odd(load_potential("mueller-brown")))


def test_wrappers_pass_the_particles_through_and_plain_objects_have_none():
    pot = load_potential("mueller-brown")
    assert particle_dim_of(CountingPotential(Particles(pot))) == 1
    assert particle_dim_of(CountingPotential(pot)) == 0

    class Bare:  # a user's potential need not derive from Potential
        dim = 2

    assert particle_dim_of(Bare()) == 0


def test_atoms_and_clusters_are_particles_in_space():
    from landscape_plugins.clusters.lj import LennardJones

    assert particle_dim_of(LennardJones(5)) == 3
    atoms = pytest.importorskip("landscape_plugins.atoms.calculator")
    assert atoms.AtomsPotential.particle_dim == 3
