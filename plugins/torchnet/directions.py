"""Filter-normalised random directions (Li et al. 2018, "Visualizing the Loss Landscape of
Neural Nets"), in a network potential's flat parameter coordinates.

A seeded Gaussian direction is drawn for every parameter tensor; in every tensor with
two or more dimensions (the weight of a linear or convolutional layer) each filter, its
slice along the first dimension (a linear layer's output unit, a convolution's output
channel), is rescaled to the norm of the same filter of the minimum:
d_f <- d_f |w_f| / |d_f|.  A filter of the minimum that is zero gets a zero direction.

Tensors with one dimension (biases, and the scales and shifts of BatchNorm and other
normalisation layers) follow `bias`:

- "ignore" (the default, as Li et al. do: their code zeroes the direction of every
  parameter with one dimension, option `ignore='biasbn'`): the direction is zero, so
  the picture moves only the weights;
- "weights": the direction is the minimum's tensor itself (what their code does when
  not told to ignore them, which tomgoldstein/loss-landscape issue #3 asks about);
- "filter": every entry is its own filter of one weight: d_i = sign(g_i) |w_i|.

Directions are drawn by numpy from `seed` in the order of the parameters
(`ParamSpec.names`), the first direction's tensors then the second's, so the same seed
gives the same directions on every device and dtype.  The two directions of a 2D
picture are independent draws (Li et al. do not orthogonalise them either: in many
dimensions two random directions are nearly orthogonal).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError

__all__ = ["BIAS_RULES", "filter_directions", "filter_normalise", "layout"]

#: What a parameter tensor with one dimension gets (the module docstring says why).
BIAS_RULES = ("ignore", "weights", "filter")


def layout(potential: Any) -> list[tuple[str, tuple[int, ...], slice]]:
    """(name, shape, where in the flat vector) of each parameter tensor of a network potential."""
    spec = getattr(potential, "spec", None)
    if spec is None or not hasattr(spec, "names"):
        raise LandscapeError(f"{potential.name} is not a network potential: filter-normalised directions need layers")
    out, at = [], 0
    for name, shape, size in zip(spec.names, spec.shapes, spec.sizes):
        out.append((name, tuple(shape), slice(at, at + size)))
        at += size
    return out


def filter_normalise(
    direction: np.ndarray, weights: np.ndarray, parts: list[tuple[str, tuple[int, ...], slice]], bias: str = "ignore"
) -> np.ndarray:
    """`direction` (dim,) rescaled filter by filter to `weights` (dim,) (a new array)."""
    if bias not in BIAS_RULES:
        raise LandscapeError(f"unknown bias rule {bias!r}; use one of {', '.join(BIAS_RULES)}")
    out = np.empty_like(direction, dtype=np.float64)
    for _, shape, where in parts:
        d, w = direction[where].astype(np.float64), weights[where].astype(np.float64)
        if len(shape) >= 2:  # one filter per row of (filters, everything else)
            d, w = d.reshape(shape[0], -1), w.reshape(shape[0], -1)
            norm_d = np.linalg.norm(d, axis=1, keepdims=True)
            scale = np.divide(
                np.linalg.norm(w, axis=1, keepdims=True), norm_d, out=np.zeros_like(norm_d), where=norm_d > 0
            )
            out[where] = (d * scale).ravel()
        elif bias == "ignore":
            out[where] = 0.0
        elif bias == "weights":
            out[where] = w
        else:
            out[where] = np.sign(d) * np.abs(w)
    return out


def filter_directions(potential: Any, minimum: Any, count: int = 2, seed: int = 0, bias: str = "ignore") -> np.ndarray:
    """`count` (1 or 2) filter-normalised random directions (count, dim), float64, around
    `minimum` (a flat parameter vector of `potential`, a `NetworkPotential`)."""
    parts = layout(potential)
    w = np.asarray(to_numpy(minimum), dtype=np.float64).ravel()
    if w.size != potential.dim:
        raise LandscapeError(f"the minimum has {w.size} coordinates, the network {potential.dim}")
    if count not in (1, 2):
        raise LandscapeError(f"a picture has 1 or 2 directions, not {count}")
    rng = np.random.default_rng(seed)
    return np.stack([filter_normalise(rng.standard_normal(w.size), w, parts, bias) for _ in range(count)])
