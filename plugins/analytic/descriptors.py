"""Entry-point descriptors of the analytic surfaces (light: numpy is imported only on build).

Registered in pyproject.toml under `landscape.potentials` exactly as a third-party
plugin would be.  Every surface accepts `dim` (default 2; above 2 the surface is
embedded by a seeded random rotation, see `embedding.Embedded`), `embed_seed` and
`stiffness` (of the added harmonic directions).
"""

from __future__ import annotations

from typing import Any

from landscape.potentials.registry import OptionSpec, PotentialPlugin

__all__ = [
    "MUELLER_BROWN",
    "THREE_HOLE",
    "RING",
    "LEPS",
    "GAUSSIAN_MIXTURE",
    "mueller_brown",
    "three_hole",
    "ring",
    "leps",
    "gaussian_mixture",
]

_EMBED: dict[str, OptionSpec] = {
    "dim": (int, 2, "dimension; above 2 the surface is embedded by a seeded random rotation"),
    "embed_seed": (int, 0, "seed of the random rotation (dim > 2)"),
    "stiffness": (float, 1.0, "curvature of the added harmonic directions (dim > 2)"),
}


def _embed(base: Any, dim: int, embed_seed: int, stiffness: float) -> Any:
    """`base` itself in 2D, else `base` embedded in `dim` dimensions."""
    if dim == 2:
        return base
    from .embedding import Embedded

    return Embedded(base, dim=dim, seed=embed_seed, stiffness=stiffness)


def mueller_brown(dim: int = 2, embed_seed: int = 0, stiffness: float = 1.0) -> Any:
    from .surfaces import MuellerBrown

    return _embed(MuellerBrown(), dim, embed_seed, stiffness)


def three_hole(dim: int = 2, embed_seed: int = 0, stiffness: float = 1.0) -> Any:
    from .surfaces import ThreeHole

    return _embed(ThreeHole(), dim, embed_seed, stiffness)


def ring(dim: int = 2, embed_seed: int = 0, stiffness: float = 1.0) -> Any:
    from .surfaces import Ring

    return _embed(Ring(), dim, embed_seed, stiffness)


def leps(dim: int = 2, embed_seed: int = 0, stiffness: float = 1.0) -> Any:
    from .surfaces import LepsHO

    return _embed(LepsHO(), dim, embed_seed, stiffness)


def gaussian_mixture(
    wells: int = 8,
    seed: int = 0,
    box: float = 2.0,
    confinement: float = 0.5,
    dim: int = 2,
    embed_seed: int = 0,
    stiffness: float = 1.0,
) -> Any:
    from .surfaces import GaussianMixture

    base = GaussianMixture(n_wells=wells, seed=seed, box=box, confinement=confinement)
    return _embed(base, dim, embed_seed, stiffness)


_MODULE = "landscape_plugins.analytic.descriptors"


def _surface(name: str, summary: str, factory: str) -> PotentialPlugin:
    """Descriptor of a fixed 2D surface: only the embedding options."""
    return PotentialPlugin(name=name, summary=summary, target=f"{_MODULE}:{factory}", options=dict(_EMBED))


MUELLER_BROWN = _surface(
    "mueller-brown", "Mueller-Brown surface: minima A, B, C; saddles AC (-40.664844), CB", "mueller_brown"
)
THREE_HOLE = _surface(
    "three-hole", "three-hole surface: the MEP between the deep minima takes the upper channel", "three_hole"
)
RING = _surface("ring", "(1-r^2)^2 + y^2/r^2: minima (+-1, 0), saddles (0, +-1) at 1, MEP the unit circle", "ring")
LEPS = _surface("leps", "LEPS + harmonic oscillator (Henkelman & Jonsson): saddle at -0.875225", "leps")
GAUSSIAN_MIXTURE = PotentialPlugin(
    name="gaussian-mixture",
    summary="seeded random sum of Gaussian wells in a weak quartic confinement",
    target=f"{_MODULE}:gaussian_mixture",
    options={
        "wells": (int, 8, "number of Gaussian wells"),
        "seed": (int, 0, "seed of the wells' centres, depths and widths"),
        "box": (float, 2.0, "half-width of the square the centres are drawn from"),
        "confinement": (float, 0.5, "strength of the quartic confinement"),
        **_EMBED,
    },
)
