"""Entry-point descriptor of the Lennard-Jones cluster plugin (light: numpy on build only)."""

from __future__ import annotations

from typing import Any

from landscape.potentials.registry import PotentialPlugin

__all__ = ["LJ", "lennard_jones"]


def lennard_jones(atoms: int = 7, epsilon: float = 1.0, sigma: float = 1.0, inversion: bool = True) -> Any:
    from .lj import LennardJones

    return LennardJones(atoms, epsilon=epsilon, sigma=sigma, inversion=inversion)


LJ = PotentialPlugin(
    name="lj",
    summary="Lennard-Jones cluster of N atoms (reduced units); aligned modulo rotation, translation, "
    "inversion and relabelling",
    target="landscape_plugins.clusters.descriptor:lennard_jones",
    options={
        "atoms": (int, 7, "number of atoms"),
        "epsilon": (float, 1.0, "depth of the pair well"),
        "sigma": (float, 1.0, "separation where the pair energy is zero"),
        "inversion": (bool, True, "mirror images are one structure"),
    },
)
