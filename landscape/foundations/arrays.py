"""Array-namespace lookup with a fast path for numpy.

numpy >= 2.1 implements the array-API standard itself, so numpy arrays use the
`numpy` module directly; array_api_compat's wrappers cost ~2 us per call, which
dominated a band step on small analytic problems.  Other arrays (torch) go
through array_api_compat.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace
from array_api_compat import device as _compat_device

__all__ = ["namespace", "device", "host_scalars", "to_numpy"]


def namespace(*arrays: Any) -> Any:
    """The array-API namespace of `arrays` (numpy itself for numpy arrays)."""
    if all(isinstance(a, (np.ndarray, np.generic)) for a in arrays):
        return np
    return array_namespace(*arrays)


def device(x: Any) -> Any:
    """The device of `x` ("cpu" for numpy)."""
    if isinstance(x, (np.ndarray, np.generic)):
        return "cpu"
    return _compat_device(x)


def host_scalars(values: Any) -> np.ndarray:
    """Many 0-d values (host numbers or device scalars) as one float64 numpy array.

    Device scalars are stacked where they live and copied to the host in one
    transfer, instead of one synchronisation per value (histories hold one per step).
    """
    values = list(values)
    out = np.empty(len(values), dtype=np.float64)
    on_device = [i for i, v in enumerate(values) if not isinstance(v, (int, float, np.generic, np.ndarray))]
    if on_device:
        xp = array_namespace(values[on_device[0]])
        stacked = xp.stack([xp.reshape(values[i], ()) for i in on_device])
        out[on_device] = np.asarray(stacked.detach().cpu() if hasattr(stacked, "detach") else stacked, dtype=np.float64)
    host = [i for i in range(len(values)) if i not in set(on_device)]
    out[host] = [float(values[i]) for i in host]
    return out


def to_numpy(x: Any) -> np.ndarray:
    """A host numpy copy of a numpy array or (possibly GPU) torch tensor."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)
