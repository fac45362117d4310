"""A user potential that breaks the interface in the way `mode` names, for the guard tests."""
import sys

import numpy as np
from landscape import Potential


class Faulty(Potential):
    dim = 2
    name = "faulty"
    minima = {"L": np.array([-1.0, 0.0]), "R": np.array([1.0, 0.0])}

    def __init__(self, mode: str = "none"):
        self.mode = mode

    def energy_and_gradient(self, x):
        e = (x[:, 0] ** 2 - 1) ** 2 + 2 * x[:, 1] ** 2
        g = np.stack([4 * x[:, 0] * (x[:, 0] ** 2 - 1), 4 * x[:, 1]], axis=1)
        if self.mode == "scalar":
            return float(e.sum()), g
        if self.mode == "list":
            return e.tolist(), g.tolist()
        if self.mode == "none":
            return None
        if self.mode == "gradshape":
            return e, g[:, :1]
        if self.mode == "runtime":
            raise RuntimeError("solver failed to converge")
        if self.mode == "keyerror":
            return {"e": e}["energy"], g
        if self.mode == "memory":
            raise MemoryError
        if self.mode == "exit":
            sys.exit(2)
        return e, g
