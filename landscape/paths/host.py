"""Path maths on the host for potentials that compute on CPU tensors.

A band step is a hundred small array operations (tangents, projections, the stepper,
the string's redistribution, the fault check).  On torch CPU tensors each costs a few
microseconds of dispatch, which on a small network is as much as its forward and
backward (bench/bench_torch.py); on numpy arrays of the same size it costs a fraction
of that.  `on_host` therefore gives the core a numpy view of a potential whose arrays
are CPU tensors: the path, the band's forces and the stepper's state are numpy, and
only the evaluation crosses over, without copies (CPU tensors and numpy arrays share
memory).  Potentials on an accelerator keep their arrays there, so a GPU band never
syncs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape.foundations.arrays import device, to_numpy
from landscape.paths.path import Path
from landscape.potentials.potential import Potential, PotentialWrapper

__all__ = ["HostArrays", "on_host", "host_job"]


class HostArrays(PotentialWrapper):
    """`inner` seen through numpy arrays of its own dtype: evaluations convert at the
    boundary, zero-copy; everything else is the inner potential's."""

    def asarray(self, x: Any) -> Any:
        return to_numpy(self.inner.asarray(to_numpy(x)))

    def energy_and_gradient(self, x: Any) -> tuple[Any, Any]:
        e, g = self.inner.energy_and_gradient(self.inner.asarray(x))
        return to_numpy(e), to_numpy(g)

    def energy(self, x: Any) -> Any:
        return to_numpy(self.inner.energy(self.inner.asarray(x)))


def _cpu_tensor(x: Any) -> bool:
    return not isinstance(x, (np.ndarray, np.generic)) and str(device(x)) == "cpu"


def on_host(potential: Potential, probe: Any = None) -> Potential:
    """`HostArrays(potential)` when the potential computes on CPU tensors; the
    potential itself when it computes on numpy arrays or on an accelerator.  `probe`
    is an array the potential made (`asarray`); without one, a point at the origin."""
    if isinstance(potential, HostArrays):
        return potential
    if probe is None:
        probe = potential.asarray(np.zeros((1, potential.dim)))
    return HostArrays(potential) if _cpu_tensor(probe) else potential


def host_job(potential: Potential, path: Path) -> tuple[Potential, Path]:
    """The potential a band should step on (`on_host`, judged by the path's own
    arrays) and `path` on its arrays."""
    view = on_host(potential, path.pivots)
    if view is potential:
        return potential, path
    energies = None if path.energies is None else to_numpy(path.energies)
    return view, Path(view.asarray(path.pivots), energies)
