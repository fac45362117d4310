"""An example third-party plugin for landscape: the descriptor only (cheap to import).

`landscape potentials` (or `landscape.potentials.registry.available()`) lists it once this
package is installed; `build(**options)` imports the potential on demand.
"""

from __future__ import annotations

from typing import Any

from landscape import PotentialPlugin

__all__ = ["TILTED_DOUBLE_WELL", "build"]


def build(tilt: float = 0.25, stiffness: float = 2.0, curvature: float = 0.5) -> Any:
    """The factory named in the descriptor's target: heavy imports go here."""
    from .potential import TiltedDoubleWell

    return TiltedDoubleWell(tilt=tilt, stiffness=stiffness, curvature=curvature)


TILTED_DOUBLE_WELL = PotentialPlugin(
    name="tilted-double-well",
    summary="tilted double well in a curved valley: minima (+-1, c), saddle (-t, c t^2)",
    target="landscape_example_plugin:build",
    options={
        "tilt": (float, 0.25, "tilt t in (-1, 1); the right well is lower for t > 0"),
        "stiffness": (float, 2.0, "curvature k of the valley across the path"),
        "curvature": (float, 0.5, "bend c of the valley floor y = c x^2"),
    },
)
