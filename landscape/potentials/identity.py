"""What a store records of its potential, and when two records are the same potential.

A store keeps `record(potential)`: the potential's `describe()` plus, when it was built
by `landscape.potentials.registry.load_potential`, the spec and every option value (defaults
included) that rebuilds it (`"plugin": {"name": ..., "options": {...}}`, file paths
made absolute), each option's declared type, and for code loaded from a file or a
module the digest of its source (`"sha256"`, with the file digested as `"source"`).
Two records are the same potential when their `identity` agrees: the plugin spec with
all its options, each compared as its declared type, and the source digest, when both
have one; else the whole description.  A mismatch is refused with the differing keys
named (`require_same`), so `-o scale=1` and `-o scale=2`, or a file before and after an
edit, never share a store.

Stores written before a key was recorded stay usable: an option one side does not name
is not compared, nor is a digest one side lacks (a store that predates digests is
continued by the file as it is now: refusing would strand every such store, and its
content then is not known).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from landscape.foundations.errors import LandscapeError

__all__ = [
    "same_points",
    "record",
    "identity",
    "differences",
    "shown",
    "require_same",
    "spec_of",
    "rebuild",
    "points_digest",
]


def same_points(a: Any, b: Any) -> bool:
    """Whether two sets of host points are the same ones as a store gives them back: equal
    shapes and values up to the round-off of a float64 round trip (a store, a JSON file)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-10, atol=1e-12))


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


#: Origin keys that describe rather than identify: the declared option types (they say
#: how to compare the values) and where the digested source lay (it moves with a venv).
_DESCRIPTIVE = ("types", "source")
_KINDS: dict[str, type] = {"bool": bool, "int": int, "float": float}


def identity(description: Mapping[str, Any], types: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What must match for a store to be continued by a potential.  A string option
    value is compared as its declared type (`types`, default the description's own):
    "12" (as stores made from command-line strings hold them), 12 and 12.0 are one int
    or float, "yes" and "on" one bool, while a `str` option's "1" and "1.0" differ.
    An option of no known type is compared as it is."""
    plugin = description.get("plugin")
    if not plugin:
        return _plain(dict(description))
    plugin = _plain(plugin)
    declared = dict(types if types is not None else plugin.get("types") or {})
    for key in _DESCRIPTIVE:
        plugin.pop(key, None)
    plugin["options"] = {k: _value(k, v, declared.get(k)) for k, v in dict(plugin.get("options") or {}).items()}
    return {"plugin": plugin}


def _value(name: str, value: Any, kind: str | None) -> Any:
    """A stored option value as its declared type; a string of another or unknown type,
    or one that does not convert, stays as it is (never guessed into a number)."""
    if not isinstance(value, str) or kind not in _KINDS:
        return value
    from landscape.potentials.registry import coerce_option  # the same conversion as the plugin's own

    try:
        return coerce_option(name, value, _KINDS[kind])
    except LandscapeError:
        return value


def _declared(description: Mapping[str, Any]) -> dict[str, str]:
    plugin = description.get("plugin")
    return dict(plugin.get("types") or {}) if isinstance(plugin, Mapping) else {}


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
    return [] if a == b or _both_nan(a, b) else [prefix or "(value)"]


def _both_nan(a: Any, b: Any) -> bool:
    """NaN equals NaN here: `-o x=nan` names one setting, which a store must match."""
    return isinstance(a, float) and isinstance(b, float) and a != a and b != b


def require_same(stored: Mapping[str, Any], current: Mapping[str, Any], filename: str) -> None:
    """Refuse (one line, naming the differing keys) a store of another potential.
    Option values are compared as the types the current potential declares (else as
    the stored ones)."""
    types = _declared(current) or _declared(stored)
    old, new = identity(stored, types), identity(current, types)
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
        if "sha256" not in old["plugin"] or "sha256" not in new["plugin"]:  # written before digests
            old["plugin"].pop("sha256", None)
            new["plugin"].pop("sha256", None)
    diff = differences(old, new)
    if diff:
        raise LandscapeError(
            f"{filename} holds results of another potential{_edited(diff, current)} "
            f"(differs in {shown(diff)}); choose another --out or pass --force"
        )


def shown(keys: list[str], limit: int = 5) -> str:
    """The first `limit` differing keys, and how many more."""
    return ", ".join(keys[:limit]) + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _edited(diff: list[str], current: Mapping[str, Any]) -> str:
    """Names the edited source when its digest is what differs."""
    if "plugin.sha256" not in diff:
        return ""
    return f": {current['plugin'].get('source') or 'its source'} changed since the store was written"


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
    """The potential a store describes, rebuilt with `load_potential`; refused when its
    source was edited since (readers would compute on another surface than the store's)."""
    from landscape.potentials.registry import load_potential

    name, options = spec_of(description)
    try:
        potential = load_potential(name, options)
    except LandscapeError as exc:
        raise LandscapeError(f"cannot rebuild the store's potential {name!r}: {exc}") from None
    stored, now = _digest(description), _digest(record(potential))
    if stored and now and stored != now:  # its results belong to the code as it was
        source = description["plugin"].get("source") or name
        raise LandscapeError(
            f"cannot rebuild the store's potential {name!r}: {source} changed since the store "
            "was written; compute the results again (--force) with the code as it is now"
        )
    return potential


def _digest(description: Mapping[str, Any]) -> str | None:
    plugin = description.get("plugin")
    return plugin.get("sha256") if isinstance(plugin, Mapping) else None
