"""Small reference systems for tests, benchmarks and docs (ASE needed)."""
from __future__ import annotations

from typing import Any

__all__ = ["adatom_hop"]


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
