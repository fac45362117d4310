"""What a store records of its potential, and when two records are the same potential.

A store keeps `record(potential)`: the potential's `describe()` plus, when it was built
by `landscape.registry.load_potential`, the spec and every option value (defaults
included) that rebuilds it (`"plugin": {"name": ..., "options": {...}}`, file paths
made absolute).  Two records are the same potential when their `identity` agrees: the plugin spec with all
its options when both have one, else the whole description.  A mismatch is refused
with the differing keys named (`require_same`), so `-o scale=1` and `-o scale=2` on one
store never mix.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import LandscapeError

__all__ = ["record", "identity", "differences", "require_same", "spec_of", "rebuild", "points_digest"]


def points_digest(points: Any, tag: Any = None) -> str:
    """A short digest of host points (as float64) and a tag: what a store keeps instead
    of the points themselves when only "the same points?" matters."""
    a = np.ascontiguousarray(np.asarray(points, dtype=np.float64))
    return hashlib.sha1(a.tobytes() + f"{a.shape}|{tag}".encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    """JSON round trip: what a store gives back."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def record(potential: Any) -> dict[str, Any]:
    """The description a store keeps: `describe()` plus the origin, when known."""
    desc = dict(potential.describe())
    origin = getattr(potential, "origin", None)
    if origin is not None:
        desc["plugin"] = _plain(origin)
    return _plain(desc)


def identity(description: Mapping[str, Any]) -> dict[str, Any]:
    """What must match for a store to be continued by a potential.  Option values are
    compared as values: "12" (as stores made from command-line strings hold them),
    12 and 12.0 are one."""
    plugin = description.get("plugin")
    if not plugin:
        return _plain(dict(description))
    plugin = _plain(plugin)
    plugin["options"] = {k: _value(v) for k, v in dict(plugin.get("options") or {}).items()}
    return {"plugin": plugin}


def _value(v: Any) -> Any:
    if not isinstance(v, str):
        return v
    text = v.strip()
    if text.lower() in ("true", "yes", "on"):
        return True
    if text.lower() in ("false", "no", "off"):
        return False
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return v


def differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted keys at which two JSON-like values differ."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in a or key not in b:
                out.append(where)
            else:
                out += differences(a[key], b[key], where)
        return out
    return [] if a == b else [prefix or "(value)"]


def require_same(stored: Mapping[str, Any], current: Mapping[str, Any], filename: str) -> None:
    """Refuse (one line, naming the differing keys) a store of another potential."""
    old, new = identity(stored), identity(current)
    if "plugin" in old and "plugin" not in new or "plugin" in new and "plugin" not in old:
        old, new = _plain(stored), _plain(current)  # one side lacks a spec: compare descriptions
        old.pop("plugin", None)
        new.pop("plugin", None)
    elif "plugin" in old:
        # Stores written before every option was recorded hold only the options given:
        # an option one side does not name is not a difference.
        o, n = old["plugin"]["options"], new["plugin"]["options"]
        for key in set(o) ^ set(n):
            o.pop(key, None)
            n.pop(key, None)
    diff = differences(old, new)
    if diff:
        shown = ", ".join(diff[:5]) + (f" and {len(diff) - 5} more" if len(diff) > 5 else "")
        raise LandscapeError(f"{filename} holds results of another potential (differs in {shown}); "
                             "choose another --out or pass --force")


def spec_of(description: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(plugin or file spec, options) that rebuild the potential a store describes: its
    recorded origin, else ``describe()``'s name and options."""
    plugin = description.get("plugin")
    if isinstance(plugin, Mapping) and plugin.get("name"):
        return str(plugin["name"]), dict(plugin.get("options") or {})
    if description.get("name"):
        return str(description["name"]), dict(description.get("options") or {})
    raise LandscapeError("the store does not say which potential it holds (no name in its description)")


def rebuild(description: Mapping[str, Any]) -> Any:
    """The potential a store describes, rebuilt with `load_potential`."""
    from .registry import load_potential

    name, options = spec_of(description)
    try:
        return load_potential(name, options)
    except LandscapeError as exc:
        raise LandscapeError(f"cannot rebuild the store's potential {name!r}: {exc}") from None
