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
        if mode == "badmin":  # a minimum with one coordinate too many
            self.minima = {"L": np.array([-1.0, 0.0, 0.0]), "R": np.array([1.0, 0.0])}
        if mode == "nodim":
            self.dim = None

    def describe(self):
        if self.mode == "describe":
            raise ValueError("no description today")
        return super().describe()

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
        if self.mode in ("int64", "bool", "str", "complex128"):  # values of a dtype that is no real float
            return e.astype(self.mode), g
        return e, g
