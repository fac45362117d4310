"""A user potential that does what C, Fortran and async libraries behind a calculator do,
in the way `mode` names: `fd1` writes to file descriptor 1 at build and at every
evaluation (as compiled code does, past sys.stdout), `timeout` raises a library's timeout
class deriving from BaseException (`build-timeout`: when built), `generatorexit` raises
GeneratorExit."""

import os

import numpy as np

from landscape import Potential


class Timeout(BaseException):
    """As some libraries' timeout and cancellation classes: not an Exception."""


class LowLevel(Potential):
    dim = 2
    name = "lowlevel"
    minima = {"L": np.array([-1.0, 0.0]), "R": np.array([1.0, 0.0])}

    def __init__(self, mode: str = "none"):
        self.mode = mode
        if mode == "build-timeout":
            raise Timeout("the licence server did not answer")
        if mode == "fd1":
            os.write(1, b"compiled code says hello\n")

    def energy_and_gradient(self, x):
        if self.mode == "fd1":
            os.write(1, b"SCF converged\n")
        if self.mode == "timeout":
            raise Timeout("no answer within 30 s")
        if self.mode == "generatorexit":
            raise GeneratorExit
        e = (x[:, 0] ** 2 - 1) ** 2 + 2 * x[:, 1] ** 2
        return e, np.stack([4 * x[:, 0] * (x[:, 0] ** 2 - 1), 4 * x[:, 1]], axis=1)
