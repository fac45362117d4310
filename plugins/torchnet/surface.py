"""A network's values on a loss surface's grid (`landscape plot surface`,
`landscape.analysis.planes.evaluate_surface`): the toolkit's one evaluation of a network.

A grid point is evaluated as every point of a path is (`evaluate.evaluate_points`): on
the whole data set, not the optimiser's current mini-batch, in inference mode, with
BatchNorm's running statistics recomputed for that point from the potential's fixed
calibration set.  So a grid point on a path or at a minimum has the value `evaluate`
and Table 1 give there, and a mini-batch potential's surface is not one batch's.
`NetworkPotential.surface_function` names this function, so the core and the CLI
import no plugin.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape.foundations.errors import LandscapeError

from .evaluate import evaluate_points
from .potential import NetworkPotential

__all__ = ["surface_values"]


def surface_values(potential: NetworkPotential, points: Any, metric: str = "loss") -> np.ndarray:
    """Per point (n,): "loss", the data loss (no L2 penalty, as `evaluate` reports it)
    on the whole training set; "error", the error fraction on the whole test set.
    The samples forward (calibration and data) are counted in `potential.cost()`."""
    if metric == "loss":
        return evaluate_points(potential, points, "train").loss
    if metric == "error":
        return evaluate_points(potential, points, "test").error
    raise LandscapeError(f"metric must be loss or error, got {metric!r}")
