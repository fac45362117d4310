"""Any ASE `Atoms` with a calculator as a landscape potential.

A point is the Cartesian coordinates (Å) of the atoms that are free to move (not held
by a `FixAtoms` constraint), flattened as (x1, y1, z1, x2, ...); fixed atoms stay
where the reference `Atoms` puts them and are no coordinates, so bands never spend
images on them.  Energies are the calculator's potential energy (eV), gradients
minus its forces (eV/Å) on the free atoms.  A batch is evaluated point by point on
one working copy: ASE calculators take one structure at a time.

`symmetry` is what the energy is invariant under: a free cluster (no fixed atom, no
periodic axis) is aligned modulo rotation, inversion, translation and relabelling of
identical atoms (`ClusterSymmetry`); anything pinned in space or periodic modulo
relabelling of identical free atoms, lattice vectors on each periodic axis and, with
no atom fixed, translation of the whole (`LatticeSymmetry`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from landscape.foundations.errors import LandscapeError, collapse
from landscape.potentials.potential import Potential, as_batch
from landscape.potentials.symmetry import Symmetry
from landscape_plugins.clusters.alignment import ClusterSymmetry, assign

__all__ = ["AtomsPotential", "LatticeSymmetry", "free_indices"]

_MAX_REFINE = 50  # assignment / translation alternations of LatticeSymmetry.align


def free_indices(atoms: Any) -> np.ndarray:
    """Indices of the atoms no `FixAtoms` holds; other constraints are refused, since a
    point has no way to express them (a band would move what they forbid)."""
    from ase.constraints import FixAtoms

    fixed = np.zeros(len(atoms), dtype=bool)
    for c in atoms.constraints:
        if not isinstance(c, FixAtoms):
            raise LandscapeError(f"only FixAtoms constraints are supported, the atoms have {type(c).__name__}")
        fixed[c.get_indices()] = True
    return np.flatnonzero(~fixed)


def _calculator(calculator: Any) -> Any:
    """A calculator instance, or what a zero-argument factory (a class, say) returns."""
    if isinstance(calculator, type) or not hasattr(calculator, "get_potential_energy") and callable(calculator):
        try:
            calculator = calculator()
        except Exception as exc:  # noqa: BLE001 - user factory: report any failure in one line
            raise LandscapeError(collapse(f"the calculator factory failed: {type(exc).__name__}: {exc}")) from exc
    if not hasattr(calculator, "get_potential_energy"):
        raise LandscapeError(f"expected an ASE calculator or a factory of one, got {type(calculator).__name__}")
    return calculator


class AtomsPotential(Potential):
    """`atoms` under `calculator` (an ASE calculator, or a zero-argument factory of one).

    `minima` names known structures (ASE `Atoms` of the same atoms, or points), so
    `connect(pot, pot.minima["start"], ...)` and `landscape connect --start NAME` find
    them.  `point(atoms)` and `atoms_at(x)` convert between the two forms.
    `--fmax` bounds the force on each free atom, as ASE's fmax does.
    """

    stochastic = False
    particle_dim = 3

    def __init__(self, atoms: Any, calculator: Any, minima: Mapping[str, Any] | None = None, name: str = "ase"):
        if not hasattr(atoms, "get_positions") or len(atoms) == 0:
            raise LandscapeError(f"expected a non-empty ase.Atoms, got {type(atoms).__name__}")
        self.free = free_indices(atoms)
        if len(self.free) == 0:
            raise LandscapeError("every atom is fixed: there is nothing to move")
        self.reference = atoms.copy()
        self.reference.calc = None
        self.calculator = _calculator(calculator)
        self._work = self.reference.copy()
        self._work.set_constraint()  # raw positions and forces; fixed atoms are simply never moved
        self._work.calc = self.calculator
        self.dim = 3 * len(self.free)
        self.name = name
        self.symmetry = self._symmetry()
        self.minima = {
            key: self.point(value) if hasattr(value, "get_positions") else self._vector(value, key)
            for key, value in (minima or {}).items()
        }

    def _vector(self, value: Any, key: str) -> np.ndarray:
        try:
            v = np.asarray(value, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise LandscapeError(f"minimum {key!r} is not a structure or numbers ({collapse(exc)})") from None
        if v.shape != (self.dim,):
            raise LandscapeError(f"minimum {key!r} has {v.size} coordinates, the potential has dim={self.dim}")
        return v

    def _symmetry(self) -> Symmetry:
        species = tuple(int(z) for z in self.reference.numbers[self.free])
        pbc = tuple(bool(p) for p in self.reference.pbc)
        fixed = len(self.free) < len(self.reference)
        if not fixed and not any(pbc):
            return ClusterSymmetry(len(self.free), species, rotations=True, inversion=True)
        cell = tuple(tuple(float(v) for v in row) for row in self.reference.cell.array)
        return LatticeSymmetry(species, cell, pbc, translations=not fixed)

    # conversions ----------------------------------------------------------------------
    def point(self, atoms: Any) -> np.ndarray:
        """The free-atom coordinates (dim,) of `atoms`: the same atoms as the reference,
        with the fixed ones where the reference has them (else a one-line error)."""
        if len(atoms) != len(self.reference) or not np.array_equal(atoms.numbers, self.reference.numbers):
            raise LandscapeError(
                f"structure {atoms.get_chemical_formula()} does not have the atoms of "
                f"{self.reference.get_chemical_formula()} in the same order"
            )
        if not np.array_equal(np.asarray(atoms.pbc), np.asarray(self.reference.pbc)) or not np.allclose(
            atoms.cell.array, self.reference.cell.array, atol=1e-6
        ):
            raise LandscapeError("structure has another cell or periodicity than the reference")
        fixed = np.setdiff1d(np.arange(len(atoms)), self.free)
        moved = np.abs(atoms.positions[fixed] - self.reference.positions[fixed]).max(initial=0.0)
        if moved > 1e-6:
            raise LandscapeError(f"a fixed atom of the structure is {moved:.3g} Å away from the reference's")
        return np.array(atoms.positions[self.free], dtype=np.float64).reshape(-1)

    def atoms_at(self, x: Any) -> Any:
        """A copy of the reference `Atoms` (constraints kept, no calculator) at point `x`."""
        atoms = self.reference.copy()
        positions = atoms.positions.copy()
        positions[self.free] = np.asarray(x, dtype=np.float64).reshape(-1, 3)
        atoms.set_positions(positions, apply_constraint=False)
        return atoms

    # evaluation -------------------------------------------------------------------------
    def _batch(self, x: Any) -> np.ndarray:
        return np.asarray(as_batch(x, self.dim), dtype=np.float64)

    def _evaluate(self, x: np.ndarray, grads: np.ndarray | None) -> np.ndarray:
        """The energies of the points `x` (a batch), and their gradients into `grads`
        when given (forces are computed only then)."""
        energies = np.empty(len(x))
        positions = self.reference.positions.copy()
        for i, row in enumerate(x):
            positions[self.free] = row.reshape(-1, 3)
            self._work.set_positions(positions)
            try:  # two atoms on one spot divide by zero in EMT: the NaN it gives is handled as such
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    energies[i] = self._work.get_potential_energy()
                    if grads is not None:
                        grads[i] = -self._work.get_forces()[self.free].reshape(-1)
            except Exception as exc:  # noqa: BLE001 - calculators fail in many ways: one line
                raise LandscapeError(
                    collapse(
                        f"calculator {type(self.calculator).__name__} failed on point {i} "
                        f"of {len(x)}: {type(exc).__name__}: {exc}"
                    )
                ) from exc
        return energies

    def energy_and_gradient(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        x = self._batch(x)
        grads = np.empty_like(x)
        return self._evaluate(x, grads), grads

    def energy(self, x: Any) -> np.ndarray:
        return self._evaluate(self._batch(x), None)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "calculator": type(self.calculator).__name__,
            "formula": self.reference.get_chemical_formula(),
            "atoms": len(self.reference),
            "free_atoms": len(self.free),
            "pbc": [bool(p) for p in self.reference.pbc],
            "units": {"energy": "eV", "length": "Å"},
            "symmetry": self.symmetry.describe(),
        }

    def __repr__(self) -> str:
        return (
            f"AtomsPotential({self.reference.get_chemical_formula()}, {type(self.calculator).__name__}, "
            f"free_atoms={len(self.free)})"
        )


@dataclass(frozen=True)
class LatticeSymmetry(Symmetry):
    """Free atoms in a frame: relabelling identical ones, moving any one by a lattice
    vector along the periodic axes and, when `translations` (no atom fixed), moving all
    of them together.  Assignment (Hungarian, minimum-image distances) and the mean
    minimum-image residual alternate, so a true image is recovered exactly."""

    species: tuple[int, ...]
    cell: tuple[tuple[float, ...], ...]
    pbc: tuple[bool, bool, bool]
    translations: bool = False
    _labels: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_labels", np.asarray(self.species))

    @property
    def zero_modes(self) -> int:  # type: ignore[override]
        return 3 if self.translations else 0

    def _mic(self, v: np.ndarray) -> np.ndarray:
        if not any(self.pbc):
            return v
        from ase.geometry import find_mic

        return find_mic(v.reshape(-1, 3), np.array(self.cell), self.pbc)[0].reshape(v.shape)

    def align(self, reference: np.ndarray, x: np.ndarray) -> np.ndarray:
        ref, y = reference.reshape(-1, 3), x.reshape(-1, 3)
        shift, perm = np.zeros(3), None
        for _ in range(_MAX_REFINE):
            new = assign(ref, y + shift, self._labels, wrap=self._mic)
            step = self._mic(ref - (y[new] + shift)).mean(axis=0) if self.translations else np.zeros(3)
            done = perm is not None and np.array_equal(perm, new) and np.abs(step).max() <= 1e-12
            perm, shift = new, shift + step
            if done or not self.translations:
                break
        moved = y[perm] + shift
        return (ref - self._mic(ref - moved)).reshape(-1)  # each atom onto its nearest lattice image

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "atoms": len(self.species),
            "pbc": list(self.pbc),
            "translations": self.translations,
        }
