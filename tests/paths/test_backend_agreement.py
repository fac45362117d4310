"""The band's path maths gives the same steps on numpy and on torch (float64): one
implementation over the array API, so a network's path on an accelerator never leaves
it and never changes its answer by doing so; on CPU tensors `connect` steps on numpy
views (landscape.paths.host), bit for bit the numpy steps."""

from __future__ import annotations

import numpy as np
import pytest

from landscape.foundations.arrays import namespace
from landscape.optimizers.driver import optimize
from landscape.optimizers.steppers import stepper_from_config
from landscape.paths.budget import Budget
from landscape.paths.host import HostArrays, on_host
from landscape.potentials.potential import Potential
from landscape.runs.pair import connect, plan

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
        bend = v - 0.5 * u**2
        e = (u**2 - 1) ** 2 + 3.0 * bend**2 + 0.5 * w**2 + 2.0 * z**2 + 0.3 * u * w
        g = xp.stack([4 * u * (u**2 - 1) - 6.0 * bend * u + 0.3 * w, 6.0 * bend, w + 0.3 * u, 4.0 * z], axis=1)
        return e, g


def _steps(pot, method, stepper, host_path_maths):
    """The pivots after every step: through `connect` (which steps a CPU tensor potential
    on host numpy views, landscape.paths.host) or through `optimize` on the potential's own
    arrays (what a GPU potential gets)."""
    a, b = np.array([-1.0, 0.5, 0.2, 0.1]), np.array([1.0, 0.5, -0.2, -0.1])
    seen: list = []
    settings = dict(
        method=method,
        pivots=9,
        climb=True,
        fmax=1e-12,
        stepper=stepper_from_config({"kind": stepper}),
        budget=Budget(max_steps=40),
    )
    if host_path_maths:
        connect(
            pot, pot.asarray(a), pot.asarray(b), callbacks=[lambda state: seen.append(state.path.pivots)], **settings
        )
    else:
        job = plan(pot, pot.asarray(a), pot.asarray(b), **settings)
        optimize(
            job.optimizer,
            pot,
            job.start_path,
            budget=job.budget,
            callbacks=[lambda state: seen.append(state.path.pivots)],
        )
    return seen


@pytest.mark.parametrize("method", ["neb", "string"])
@pytest.mark.parametrize("stepper", ["fire", "fire2", "lbfgs"])
def test_numpy_and_torch_take_the_same_band_steps(method, stepper):
    plain = _steps(_Valley(False), method, stepper, True)
    on_torch = _steps(_Valley(True), method, stepper, False)
    on_host = _steps(_Valley(True), method, stepper, True)
    assert len(plain) == len(on_torch) == len(on_host) >= 25  # L-BFGS reaches fmax 1e-12 in 29-37 steps
    assert all(isinstance(p, torch.Tensor) for p in on_torch)  # the path stayed a torch tensor
    assert all(isinstance(p, np.ndarray) for p in on_host)  # connect stepped on numpy views
    for x, t, h in zip(plain, on_torch, on_host):
        np.testing.assert_allclose(t.numpy(), x, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(h, x)  # the same numpy maths, bit for bit


def test_on_host_keeps_numpy_and_accelerator_potentials_as_they_are():
    numpy_pot, cpu_pot = _Valley(False), _Valley(True)
    assert on_host(numpy_pot) is numpy_pot
    view = on_host(cpu_pot)
    assert isinstance(view, HostArrays) and on_host(view) is view and view.name == cpu_pot.name

    class _Elsewhere(_Valley):  # tensors on a device other than the CPU ("meta": shapes only)
        def asarray(self, x):
            return torch.as_tensor(np.asarray(x), dtype=torch.float64, device="meta")

    elsewhere = _Elsewhere(True)
    assert on_host(elsewhere) is elsewhere
    e, g = view.energy_and_gradient(view.asarray(np.zeros((3, 4))))
    assert type(e) is np.ndarray and type(g) is np.ndarray and g.shape == (3, 4)
