"""A user potential that prints at import, in __init__ and per evaluation."""

import numpy as np

from landscape import Potential

print("loading my potential")


class Noisy(Potential):
    dim = 2
    minima = {"L": np.array([-1.0, 0.0]), "R": np.array([1.0, 0.0])}

    def __init__(self):
        print("building")

    def energy_and_gradient(self, x):
        print("evaluating", len(x))
        e = (x[:, 0] ** 2 - 1) ** 2 + 2 * x[:, 1] ** 2
        return e, np.stack([4 * x[:, 0] * (x[:, 0] ** 2 - 1), 4 * x[:, 1]], axis=1)
