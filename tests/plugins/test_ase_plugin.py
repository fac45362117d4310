"""The ASE plugin against independent truth: central differences, ASE's own NEB on the
adatom hop of its diffusion tutorial (Au on Al(100), EMT), ASE's energies at the ends,
and the command line's one-line errors."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ase")

from ase import Atoms  # noqa: E402
from ase.build import fcc100  # noqa: E402
from ase.calculators.calculator import Calculator, all_changes  # noqa: E402
from ase.calculators.emt import EMT  # noqa: E402
from ase.constraints import FixAtoms, FixBondLength  # noqa: E402
from ase.io import write  # noqa: E402

from landscape.foundations.errors import LandscapeError  # noqa: E402
from landscape.optimizers.steppers import stepper_from_config  # noqa: E402
from landscape.potentials.potential import gradient_error  # noqa: E402
from landscape.potentials.registry import load_potential  # noqa: E402
from landscape.potentials.symmetry import align, distance  # noqa: E402
from landscape.runs.pair import connect  # noqa: E402
from landscape_cli.testing import error_line, invoke, run  # noqa: E402
from landscape_plugins.atoms.calculator import AtomsPotential, LatticeSymmetry  # noqa: E402
from landscape_plugins.atoms.systems import ase_neb_barrier  # noqa: E402
from landscape_plugins.clusters.alignment import ClusterSymmetry  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hop() -> tuple[Atoms, Atoms]:
    """ASE's diffusion tutorial on a 2x2x3 slab: the Au adatom in a hollow site and in
    the neighbouring one, bottom two layers fixed, relaxed with BFGS to fmax 0.01."""
    from landscape_plugins.atoms.systems import adatom_hop

    return adatom_hop()


@pytest.fixture(scope="module")
def pot(hop) -> AtomsPotential:
    return AtomsPotential(hop[0], EMT, minima={"start": hop[0], "end": hop[1]})


@pytest.fixture
def files(hop, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write("initial.traj", hop[0])
    write("final.traj", hop[1])
    write("band.traj", list(hop))
    return tmp_path


def _ase_barrier(initial: Atoms, final: Atoms, images: int, fmax: float) -> float:
    barrier, _, converged = ase_neb_barrier(initial, final, images, fmax, steps=2000)
    assert converged
    return barrier


def test_energies_are_ases_and_gradients_match_central_differences(pot, hop):
    ends = np.stack([pot.minima["start"], pot.minima["end"]])
    e, g = pot.energy_and_gradient(ends)
    assert e.dtype == g.dtype == np.float64 and g.shape == (2, 15)
    np.testing.assert_allclose(e, [hop[0].get_potential_energy(), hop[1].get_potential_energy()], atol=1e-12)
    free = pot.free
    np.testing.assert_allclose(-g[0].reshape(-1, 3), hop[0].get_forces()[free], atol=1e-12)
    x = ends.mean(0) + 0.05 * np.random.default_rng(0).standard_normal((3, pot.dim))
    assert gradient_error(pot, np.vstack([ends, x])) < 1e-6
    np.testing.assert_array_equal(pot.energy(x), pot.energy_and_gradient(x)[0])


def test_fixed_atoms_are_no_coordinates_and_never_move(pot, hop):
    fixed = [a.index for a in hop[0] if a.tag > 1]
    assert pot.dim == 3 * (len(hop[0]) - len(fixed)) == 15
    assert not set(fixed) & set(pot.free.tolist())
    desc = pot.describe()
    assert desc["free_atoms"] == 5 and desc["atoms"] == 13 and desc["formula"] == "Al12Au"
    assert desc["calculator"] == "EMT" and desc["pbc"] == [True, True, False]
    r = connect(
        pot,
        pot.minima["start"],
        pot.minima["end"],
        method="neb",
        pivots=5,
        stepper=stepper_from_config({"kind": "lbfgs"}),
        fmax=0.05,
    )
    # what the calculator saw last: the fixed atoms where the reference has them
    np.testing.assert_array_equal(pot._work.positions[fixed], hop[0].positions[fixed])
    for x in r.path.pivots:
        atoms = pot.atoms_at(x)
        np.testing.assert_array_equal(atoms.positions[fixed], hop[0].positions[fixed])
        np.testing.assert_array_equal(pot.point(atoms), x)
        assert isinstance(atoms.constraints[0], FixAtoms)
    shifted = hop[1].copy()
    shifted.positions[fixed[0]] += 0.1
    with pytest.raises(LandscapeError, match="fixed atom"):
        pot.point(shifted)


@pytest.mark.parametrize("method, kind", [("neb", "lbfgs"), ("neb", "fire"), ("string", "fire2")])
def test_barrier_of_the_adatom_hop_is_ases(pot, hop, method, kind):
    ase = _ase_barrier(*hop, images=7, fmax=0.01)
    r = connect(
        pot,
        pot.minima["start"],
        pot.minima["end"],
        method=method,
        pivots=7,
        stepper=stepper_from_config({"kind": kind}),
        fmax=0.01,
    )
    assert r.success and r.climber_at_top
    assert abs(r.forward_barrier - ase) < 1e-3
    assert ase == pytest.approx(0.3744, abs=1e-3)  # ASE's EMT value for this small slab


def test_symmetry_relabels_free_atoms_and_wraps_lattice_vectors(pot, hop):
    assert isinstance(pot.symmetry, LatticeSymmetry) and pot.symmetry.zero_modes == 0
    b = pot.minima["end"]
    image = pot.atoms_at(b)
    al = [i for i in pot.free if image.numbers[i] == 13]
    image.positions[[al[0], al[1]]] = image.positions[[al[1], al[0]]]  # relabel two Al
    image.positions[al[2]] += image.cell[0] - image.cell[1]  # and move one by lattice vectors
    image.positions[-1] += 2 * image.cell[1]  # the adatom too
    y = pot.point(image)
    assert np.abs(y - b).max() > 1.0
    np.testing.assert_allclose(align(pot, b, y), b, atol=1e-12)
    assert distance(pot, b, y) < 1e-12
    np.testing.assert_allclose(pot.energy(y[None]), pot.energy(b[None]), atol=1e-10)
    assert distance(pot, pot.minima["start"], b) > 1.0


def test_symmetry_of_a_free_cluster_and_of_a_bulk_cell():
    cluster = Atoms("Cu3Au", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.5, 0], [0, 0, 2.5]])
    sym = AtomsPotential(cluster, EMT).symmetry
    assert isinstance(sym, ClusterSymmetry) and sym.rotations and sym.inversion and sym.zero_modes == 6
    assert sym.species == (29, 29, 29, 79)
    bulk = Atoms(
        "Cu4", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]], cell=[3.6] * 3, pbc=True
    )
    p = AtomsPotential(bulk, EMT)
    assert isinstance(p.symmetry, LatticeSymmetry) and p.symmetry.zero_modes == 3
    x = p.point(bulk) + 0.02 * np.random.default_rng(1).standard_normal(12)
    moved = (x.reshape(-1, 3)[[2, 0, 3, 1]] + [0.7, -0.3, 0.2] + np.array([[0, 3.6, 0]] * 4)).reshape(-1)
    assert distance(p, x, moved) < 1e-10
    np.testing.assert_allclose(p.energy(moved[None]), p.energy(x[None]), atol=1e-10)


class _Failing(Calculator):
    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        raise RuntimeError("SCF did not converge\nafter 100 iterations")


def _one_line(call, match: str) -> str:
    with pytest.raises(LandscapeError, match=match) as info:
        call()
    assert "\n" not in str(info.value)
    return str(info.value)


def test_bad_input_is_one_line(pot, hop):
    _one_line(lambda: pot.energy_and_gradient(np.zeros((2, 14))), r"shape \(n, 15\)")
    _one_line(lambda: pot.energy(np.zeros(15)), r"shape \(n, 15\)")
    failing = AtomsPotential(hop[0], _Failing())
    message = _one_line(lambda: failing.energy_and_gradient(pot.minima["start"][None]), "_Failing failed on point 0")
    assert "SCF did not converge after 100 iterations" in message
    bond = hop[0].copy()
    bond.set_constraint(FixBondLength(0, 1))
    _one_line(lambda: AtomsPotential(bond, EMT), "only FixAtoms")
    _one_line(lambda: AtomsPotential(hop[0], EMT, minima={"m": np.zeros(3)}), "dim=15")
    _one_line(lambda: AtomsPotential(hop[0], EMT, minima={"m": ["a", "b"]}), "not a structure or numbers")
    _one_line(lambda: AtomsPotential(hop[0], "EMT"), "ASE calculator")
    other = fcc100("Cu", size=(2, 2, 3))
    _one_line(lambda: pot.point(other), "same order")


def test_the_cli_connects_two_files_or_one_trajectory(files):
    args = ["--start", "start", "--end", "end", "--method", "neb", "--stepper", "lbfgs", "--fmax", "0.05", "--json"]
    for options in (["-o", "start=initial.traj", "-o", "end=final.traj"], ["-o", "start=band.traj"]):
        out = run(["connect", "ase", *options, *args]).stdout
        assert abs(float(re.search(r'"forward_barrier": ([0-9.e-]+)', out).group(1)) - 0.3744) < 2e-3
    pot = load_potential("ase", {"start": "initial.traj", "end": "final.traj"})
    assert pot.origin["options"]["start"] == str(files / "initial.traj")  # a store rebuilds it anywhere


@pytest.mark.parametrize(
    "options, message",
    [
        ([], "option start is required"),
        (["-o", "start=missing.traj"], "no such file"),
        (["-o", "start=initial.traj"], "holds one image"),
        (["-o", "start=garbage.traj", "-o", "end=final.traj"], "cannot read"),
        (["-o", "start=initial.traj", "-o", "end=copper.traj"], "same order"),
        (["-o", "start=initial.traj", "-o", "end=final.traj", "-o", "calculator=gpaw"], "choose one of emt, lj"),
        (["-o", "start=band.traj", "-o", "temperature=300"], "unknown option 'temperature'"),
    ],
)
def test_bad_options_are_one_line_errors(files, options, message):
    (files / "garbage.traj").write_text("not a trajectory\n")
    write("copper.traj", fcc100("Cu", size=(2, 2, 3)))
    result = invoke(["connect", "ase", *options, "--start", "start", "--end", "end"])
    assert result.exit_code != 0
    assert message in error_line(result)


def test_the_docs_run_as_written(tmp_path, monkeypatch):
    """docs/ase.md: its Python blocks in order, in one namespace, then its `landscape`
    command lines, in a fresh folder (as tests/test_docs.py runs the other docs)."""
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "docs" / "ase.md").read_text()
    namespace: dict = {"__name__": "__doc__"}
    for k, code in enumerate(re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)):
        exec(compile(code, f"docs/ase.md block {k + 1}", "exec"), namespace)  # noqa: S102 - the docs' own code
    commands = [
        line
        for block in re.findall(r"^```bash\n(.*?)^```", text, re.M | re.S)
        for line in block.splitlines()
        if line.startswith("landscape ")
    ]
    assert commands
    for line in commands:
        run(shlex.split(line, comments=True)[1:])
