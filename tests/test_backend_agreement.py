"""The band's path maths gives the same steps on numpy and on torch (float64): one
implementation over the array API, so a network's path never leaves its device and
never changes its answer by doing so."""
from __future__ import annotations

import numpy as np
import pytest

from landscape.arrays import namespace
from landscape.connect import connect
from landscape.driver import Budget
from landscape.potential import Potential
from landscape.steppers import stepper_from_config

torch = pytest.importorskip("torch")


class _Valley(Potential):
    """A curved double well in 4-D, written once for both array libraries."""

    dim = 4
    name = "valley"

    def __init__(self, use_torch: bool):
        self.use_torch = use_torch

    def asarray(self, x):
        return torch.as_tensor(np.asarray(x), dtype=torch.float64) if self.use_torch else np.asarray(x, np.float64)

    def energy_and_gradient(self, x):
        xp = namespace(x)
        u, v, w, z = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
        bend = v - 0.5 * u ** 2
        e = (u ** 2 - 1) ** 2 + 3.0 * bend ** 2 + 0.5 * w ** 2 + 2.0 * z ** 2 + 0.3 * u * w
        g = xp.stack([4 * u * (u ** 2 - 1) - 6.0 * bend * u + 0.3 * w, 6.0 * bend, w + 0.3 * u, 4.0 * z], axis=1)
        return e, g


@pytest.mark.parametrize("method", ["neb", "string"])
@pytest.mark.parametrize("stepper", ["fire", "fire2", "lbfgs"])
def test_numpy_and_torch_take_the_same_band_steps(method, stepper):
    a, b = np.array([-1.0, 0.5, 0.2, 0.1]), np.array([1.0, 0.5, -0.2, -0.1])
    steps: dict[bool, list] = {False: [], True: []}
    for use_torch in (False, True):
        pot = _Valley(use_torch)
        connect(pot, pot.asarray(a), pot.asarray(b), method=method, pivots=9, climb=True, fmax=1e-12,
                stepper=stepper_from_config({"kind": stepper}), budget=Budget(max_steps=40),
                callbacks=[lambda state, seen=steps[use_torch]: seen.append(state.path.pivots)])
    assert len(steps[False]) == len(steps[True]) >= 25  # L-BFGS reaches fmax 1e-12 in 29-37 steps
    assert all(isinstance(p, torch.Tensor) for p in steps[True])  # the path stayed a torch tensor
    for plain, on_torch in zip(steps[False], steps[True]):
        np.testing.assert_allclose(on_torch.numpy(), plain, rtol=0, atol=1e-12)
