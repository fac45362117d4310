"""A user potential that "receives Ctrl-C": KeyboardInterrupt at its `after`-th
evaluation (or in its constructor with `at_start`), for the interrupt tests."""
import numpy as np
from landscape import Potential


class Interrupting(Potential):
    dim = 2
    name = "interrupting"
    minima = {"L": np.array([-1.0, 0.0]), "R": np.array([1.0, 0.0])}

    def __init__(self, after: int = 10**9, at_start: bool = False):
        if at_start:
            raise KeyboardInterrupt
        self.after, self.calls = after, 0

    def energy_and_gradient(self, x):
        self.calls += 1
        if self.calls >= self.after:
            raise KeyboardInterrupt
        e = (x[:, 0] ** 2 - 1) ** 2 + 2 * x[:, 1] ** 2
        return e, np.stack([4 * x[:, 0] * (x[:, 0] ** 2 - 1), 4 * x[:, 1]], axis=1)
