"""A slow user potential for the signal tests: a double well in a curved valley (through
(0, bend), so a band has to move) that sleeps $SLOW_POTENTIAL_DELAY seconds per
evaluation call, and appends a line per call to $SLOW_POTENTIAL_TRACE when set (so a test
sees a worker process computing).  Neither is an option, so a slow run and a fast one
are the same surface to a store (the same command continues either)."""

import os
import time

import numpy as np

from landscape import Potential


class Slow(Potential):
    dim = 2
    name = "slow"
    minima = {"L": np.array([-1.0, 0.0]), "R": np.array([1.0, 0.0])}

    def __init__(self, bend: float = 0.6):
        self.bend = bend
        self.delay = float(os.environ.get("SLOW_POTENTIAL_DELAY", "0"))
        self.trace = os.environ.get("SLOW_POTENTIAL_TRACE")

    def energy_and_gradient(self, x):
        time.sleep(self.delay)
        if self.trace:
            with open(self.trace, "a") as fh:
                fh.write(f"{len(x)}\n")
        u = x[:, 1] - self.bend * (1 - x[:, 0] ** 2)
        e = (x[:, 0] ** 2 - 1) ** 2 + 2 * u**2
        gx = 4 * x[:, 0] * (x[:, 0] ** 2 - 1) + 8 * u * self.bend * x[:, 0]
        return e, np.stack([gx, 4 * u], axis=1)
