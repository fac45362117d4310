"""Small reference systems for tests, benchmarks and docs (ASE needed)."""

from __future__ import annotations

from typing import Any

__all__ = ["adatom_hop", "ase_neb_barrier"]


def adatom_hop(size: tuple[int, int, int] = (2, 2, 3)) -> tuple[Any, Any]:
    """ASE's diffusion tutorial, kept small: an Au adatom in a hollow site of an Al(100)
    slab and in the neighbouring hollow site, the bottom layers fixed, both relaxed
    under EMT with ASE's BFGS to fmax 0.01.  Returns (initial, final) `Atoms`."""
    from ase.build import add_adsorbate, fcc100
    from ase.calculators.emt import EMT
    from ase.constraints import FixAtoms
    from ase.optimize import BFGS

    initial = fcc100("Al", size=size)
    add_adsorbate(initial, "Au", 1.7, "hollow")
    initial.center(axis=2, vacuum=4.0)
    initial.set_constraint(FixAtoms(mask=[atom.tag > 1 for atom in initial]))
    final = initial.copy()
    final[-1].x += initial.cell[0, 0] / 2
    for atoms in (initial, final):
        atoms.calc = EMT()
        BFGS(atoms, logfile=None).run(fmax=0.01)
    return initial, final


def ase_neb_barrier(
    initial: Any, final: Any, images: int, fmax: float, optimizer: str = "fire", steps: int = 5000
) -> tuple[float, int, bool]:
    """ASE's own climbing-image NEB (improved tangent, linear interpolation, EMT) between
    two structures, the reference this plugin is checked against: (barrier from the
    initial state, EMT force calls, converged to `fmax` within `steps`)."""
    from ase.calculators.emt import EMT
    from ase.mep import NEB
    from ase.optimize import BFGS, FIRE

    calls = [0]

    class CountingEMT(EMT):
        def calculate(self, *args: Any, **kwargs: Any) -> None:
            calls[0] += 1
            super().calculate(*args, **kwargs)

    band = [initial.copy() for _ in range(images - 1)] + [final.copy()]
    for atoms in band:
        atoms.calc = CountingEMT()
    neb = NEB(band, climb=True, method="improvedtangent")
    neb.interpolate()
    converged = {"fire": FIRE, "bfgs": BFGS}[optimizer](neb, logfile=None).run(fmax=fmax, steps=steps)
    energies = [atoms.get_potential_energy() for atoms in band]
    return max(energies) - energies[0], calls[0], bool(converged)
