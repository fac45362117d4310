"""Array-namespace lookup with a fast path for numpy.

numpy >= 2.1 implements the array-API standard itself, so numpy arrays use the
`numpy` module directly; array_api_compat's wrappers cost ~2 us per call, which
dominated a band step on small analytic problems.  Other arrays (torch) go
through array_api_compat.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, device as _compat_device

__all__ = ["namespace", "device"]


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
