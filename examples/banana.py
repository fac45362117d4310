"""The Banana potential of docs/plugins.md, as a file: `landscape connect examples/banana.py:Banana`.

Kept identical to the first code block of docs/plugins.md (tests/test_docs.py checks).
"""

import numpy as np

from landscape import Potential


class Banana(Potential):
    dim = 2
    name = "banana"
    minima = {"A": np.array([-1.0, 1.0]), "B": np.array([1.0, 1.0])}
    bounds = ((-2.0, 2.0), (-1.0, 3.0))  # optional: enables exact/plot plane

    def __init__(self, stiffness: float = 5.0):  # options: `-o stiffness=2` on the command line
        self.stiffness = stiffness

    def energy_and_gradient(self, x):  # x: (n, 2)
        u, v = x[:, 0], x[:, 1]
        k = self.stiffness
        e = (u**2 - 1) ** 2 + k * (v - u**2) ** 2
        g = np.stack([4 * u * (u**2 - 1) - 4 * k * u * (v - u**2), 2 * k * (v - u**2)], axis=1)
        return e, g  # (n,), (n, 2)

    def describe(self):  # stored with every result
        return {**super().describe(), "options": {"stiffness": self.stiffness}}
