"""A user potential with a constructor option, for the store-identity tests."""

import numpy as np

from landscape import Potential


class Scaled(Potential):
    """A double well in x (minima near x = -1 and 1), times `scale`."""

    dim = 2
    name = "scaled"
    minima = {"L": np.array([-1.0, 0.0]), "R": np.array([1.0, 0.0])}

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def energy_and_gradient(self, x):
        e = self.scale * ((x[:, 0] ** 2 - 1) ** 2 + 2 * x[:, 1] ** 2 - 0.3 * x[:, 0] * x[:, 1] ** 2)
        gx = self.scale * (4 * x[:, 0] * (x[:, 0] ** 2 - 1) - 0.3 * x[:, 1] ** 2)
        gy = self.scale * (4 * x[:, 1] - 0.6 * x[:, 0] * x[:, 1])
        return e, np.stack([gx, gy], axis=1)
