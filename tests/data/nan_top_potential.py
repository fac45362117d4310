"""A user potential whose gradient is NaN just beside its saddle, for the Hessian tests."""

import numpy as np

from landscape import Potential


class NanTop(Potential):
    """(x^2 - 1)^2 + 2 y^2: minima L, R at 0, saddle (0, 0) at 1, and the straight line
    L-R its minimum energy path.  The gradient is NaN at points within 1e-4 of the saddle
    (the saddle itself excluded), exactly where a finite-difference Hessian probes."""

    dim = 2
    name = "nan-top"
    minima = {"L": np.array([-1.0, 0.0]), "R": np.array([1.0, 0.0])}

    def energy_and_gradient(self, x):
        e = (x[:, 0] ** 2 - 1) ** 2 + 2 * x[:, 1] ** 2
        g = np.stack([4 * x[:, 0] * (x[:, 0] ** 2 - 1), 4 * x[:, 1]], axis=1)
        r = np.hypot(x[:, 0], x[:, 1])
        g[(r > 0) & (r < 1e-4)] = np.nan
        return e, g
