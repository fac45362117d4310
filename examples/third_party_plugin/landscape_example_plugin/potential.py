"""A tilted double well in a curved valley, with closed-form minima and saddle.

V(x, y) = x^4/4 - x^2/2 + t (x^3/3 - x) + k/2 (y - c x^2)^2.
dV/dx along the valley floor y = c x^2 is (x^2 - 1)(x + t), so for |t| < 1 the
minima are A = (-1, c) and B = (1, c) and the saddle is AB = (-t, c t^2), with
V(A) = -1/4 + 2t/3, V(B) = -1/4 - 2t/3, V(AB) = t^2/2 - t^4/12.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape import LandscapeError, Potential

__all__ = ["TiltedDoubleWell"]


class TiltedDoubleWell(Potential):
    """Batched numpy potential in 2D; see the module docstring for the formula."""

    dim = 2
    name = "tilted-double-well"

    def __init__(self, tilt: float = 0.25, stiffness: float = 2.0, curvature: float = 0.5):
        if not -1.0 < tilt < 1.0 or stiffness <= 0:
            raise LandscapeError(f"need -1 < tilt < 1 and stiffness > 0, got tilt={tilt}, stiffness={stiffness}")
        self.tilt, self.stiffness, self.curvature = float(tilt), float(stiffness), float(curvature)
        t, c = self.tilt, self.curvature
        self.minima = {"A": np.array([-1.0, c]), "B": np.array([1.0, c])}
        self.saddles = {"AB": np.array([-t, c * t * t])}
        self.reference_energies = {"A": -0.25 + 2 * t / 3, "B": -0.25 - 2 * t / 3, "AB": t * t / 2 - t**4 / 12}
        self.bounds = ((-2.0, 2.0), (-1.0, 1.0 + 2.5 * abs(c)))

    def energy_and_gradient(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != 2:
            raise LandscapeError(f"expected points of shape (n, 2), got {x.shape}")
        u, v = x[:, 0], x[:, 1]
        t, k, c = self.tilt, self.stiffness, self.curvature
        off = v - c * u * u
        e = u**4 / 4 - u**2 / 2 + t * (u**3 / 3 - u) + 0.5 * k * off * off
        gu = u**3 - u + t * (u * u - 1) - 2 * k * c * u * off
        return e, np.stack([gu, k * off], axis=1)

    def describe(self) -> dict[str, Any]:
        opts = {"tilt": self.tilt, "stiffness": self.stiffness, "curvature": self.curvature}
        return {**super().describe(), "options": opts}
