"""A user potential that "receives Ctrl-C": KeyboardInterrupt at its `after`-th
evaluation (or in its constructor with `at_start`), for the interrupt tests.  `bend`
curves the valley between the minima (through (0, bend)), so that a band has to move."""

import numpy as np

from landscape import Potential


class Interrupting(Potential):
    dim = 2
    name = "interrupting"
    minima = {"L": np.array([-1.0, 0.0]), "R": np.array([1.0, 0.0])}

    def __init__(self, after: int = 10**9, at_start: bool = False, bend: float = 0.0):
        if at_start:
            raise KeyboardInterrupt
        self.after, self.calls, self.bend = after, 0, bend

    def energy_and_gradient(self, x):
        self.calls += 1
        if self.calls >= self.after:
            raise KeyboardInterrupt
        u = x[:, 1] - self.bend * (1 - x[:, 0] ** 2)
        e = (x[:, 0] ** 2 - 1) ** 2 + 2 * u**2
        gx = 4 * x[:, 0] * (x[:, 0] ** 2 - 1) + 8 * u * self.bend * x[:, 0]
        return e, np.stack([gx, 4 * u], axis=1)
