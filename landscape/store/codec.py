"""How values become HDF5-style attributes, the same in every layout of the store.

A plain str/int/float/bool is stored as itself; anything else as JSON text whose
attribute name is listed in the object's `json_attrs` attribute, so reading it back is
unambiguous.  The folder layout keeps these attributes in its SQLite index and the
single-file layout in HDF5 attributes: one codec, so copying between them is verbatim.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from enum import Enum
from typing import Any

import h5py
import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError

__all__ = [
    "dumps",
    "decode",
    "set_attrs",
    "get_attrs",
    "one_line",
    "now",
    "library_versions",
    "check_name",
    "validate_json",
]


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type when it has none)."""
    lines = str(exc).strip().splitlines()
    line = lines[0] if lines else type(exc).__name__
    if line == "database or disk is full":  # SQLite's words for ENOSPC: say it as the OS does
        return "No space left on device (SQLite: database or disk is full)"
    return line


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _json_default(obj: Any) -> Any:
    # Tolerate the usual near-JSON values so a long run never fails at storage time.
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray) or hasattr(obj, "detach"):
        return to_numpy(obj).tolist()
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    raise TypeError(f"{type(obj).__name__} value is not JSON-serialisable")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, sort_keys=True)


def decode(value: Any) -> Any:
    """A plain Python value from an h5py attribute."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def set_attrs(obj: Any, attrs: Mapping[str, Any]) -> None:
    """Store scalars natively and anything else as JSON listed in `json_attrs`."""
    as_json = set(json.loads(obj.attrs.get("json_attrs", "[]")))
    for key, value in attrs.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (str, bool, int, float)):
            obj.attrs[key] = value
            as_json.discard(key)
        else:
            obj.attrs[key] = dumps(value)
            as_json.add(key)
    if as_json:
        obj.attrs["json_attrs"] = dumps(sorted(as_json))


def get_attrs(obj: Any) -> dict[str, Any]:
    as_json = set(json.loads(obj.attrs.get("json_attrs", "[]")))
    out = {}
    for key, value in obj.attrs.items():
        if key != "json_attrs":
            value = decode(value)
            out[key] = json.loads(value) if key in as_json else value
    return out


def check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise LandscapeError(f"invalid {what} {name!r}: use a non-empty name without '/'")
    return name


def validate_json(attrs: Mapping[str, Any], what: str) -> None:
    try:
        dumps({k: v for k, v in attrs.items() if not isinstance(v, (str, bool, int, float, np.generic))})
    except (TypeError, ValueError) as exc:
        raise LandscapeError(f"cannot store the {what}: {one_line(exc)}") from exc


def library_versions() -> dict[str, str]:
    pkg = sys.modules.get("landscape")
    versions = {
        "landscape": str(getattr(pkg, "__version__", "unknown")),
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "hdf5": h5py.version.hdf5_version,
        "python": sys.version.split()[0],
    }
    torch = sys.modules.get("torch")  # never imported here: only recorded when in use
    if torch is not None:
        versions["torch"] = str(getattr(torch, "__version__", "unknown"))
    return versions
