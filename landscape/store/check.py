"""The store's integrity check: every problem one line, never an exception.

Each check works on a group of either layout and returns problems relative to it;
`check_store` runs them all.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import h5py
import numpy as np

from ..climber import climber_energy
from ..result import Status
from .codec import decode, one_line
from .layout import CYCLE_ARRAYS, CYCLE_ATTRS, PROFILE_ARRAYS, cycle_groups, nonfinite

__all__ = ["check_store"]


def check_store(root: Any, path_names: Sequence[str]) -> list[str]:
    """Integrity problems of the store whose root group is `root`, one line each."""
    problems: list[str] = []
    for where, fn in [("/", _check_root), ("/potential", _check_potential), ("/minima", _check_minima)]:
        _collect(problems, where, fn, root)
    minima_names = _minima_names(root)
    for name in path_names:
        _collect(problems, f"/paths/{name}", _check_path, root["paths"][name], minima_names)
    return problems


def _collect(problems: list[str], where: str, fn: Callable[..., list[str]], *args: Any) -> None:
    try:
        problems.extend(f"{where}: {p}" for p in fn(*args))
    except Exception as exc:  # a check must report, never raise
        problems.append(f"{where}: unreadable ({one_line(exc)})")


def _missing(obj: Any, names: Sequence[str], kind: str) -> list[str]:
    have = obj.attrs if kind == "attribute" else obj
    return [f"missing {kind} {n!r}" for n in names if n not in have]


def _check_root(f: Any) -> list[str]:
    problems = _missing(f, ("format", "schema_version", "created", "library_versions"), "attribute")
    if "library_versions" in f.attrs:
        json.loads(f.attrs["library_versions"])
    return problems


def _check_potential(f: Any) -> list[str]:
    if "potential" not in f:
        return ["missing group"]
    problems = _missing(f["potential"], ("description",), "attribute")
    if not problems and not isinstance(json.loads(f["potential"].attrs["description"]), dict):
        problems.append("description is not a JSON object")
    return problems


def _check_minima(f: Any) -> list[str]:
    if "minima" not in f:
        return []
    g = f["minima"]
    problems = _missing(g, ("coords", "energies", "names"), "dataset")
    if problems:
        return problems
    m = g["names"].shape[0] if g["names"].ndim == 1 else -1
    if g["coords"].ndim != 2 or g["coords"].shape[0] != m or g["energies"].shape != (m,):
        problems.append(f"inconsistent shapes coords {g['coords'].shape}, energies {g['energies'].shape}, "
                        f"names {g['names'].shape}")
    elif len(set(g["names"].asstr()[()])) != m:
        problems.append("duplicate names")
    problems += [f"{k} contain NaN or inf" for k in ("coords", "energies") if nonfinite(g[k])]
    return problems


def _minima_names(f: Any) -> list[str] | None:
    try:
        return [str(n) for n in f["minima"]["names"].asstr()[()]]
    except Exception:
        return None


def _check_arrays(g: Any, dim: int | None, extra_energies: Sequence[str] = (),
                  climbing: bool = False) -> list[str]:
    """Pivots (n >= 2, dim) and energies (n,) of a path or cycle, all finite.

    `saddle_energy`, when stored, must be the highest of the pivot energies and the
    datasets named in `extra_energies` (dense points of a cycle or profile), or, with
    `climbing`, the climbing image's energy.
    """
    problems = _missing(g, ("pivots",), "dataset")
    if problems:
        return problems
    p = g["pivots"]
    if p.ndim != 2 or p.shape[0] < 2:
        return [f"pivots of shape {p.shape} are not (n >= 2, dim)"]
    if dim is not None and p.shape[1] != dim:
        problems.append(f"pivots have dim {p.shape[1]}, the path has {dim}")
    if nonfinite(p):
        problems.append("pivots contain NaN or inf")
    if "energies" in g:
        e = g["energies"]
        if e.shape != (p.shape[0],):
            problems.append(f"energies of shape {e.shape} do not match {p.shape[0]} pivots")
        elif nonfinite(e):
            problems.append("energies contain NaN or inf")
        elif "saddle_energy" in g.attrs:
            highest = max([float(np.max(e[()]))] + [float(np.max(g[k][()], initial=-np.inf))
                                                    for k in extra_energies if k in g])
            # a climbing image at the top of its path reports its own energy
            climber = climber_energy(e[()]) if climbing else highest
            if float(g.attrs["saddle_energy"]) not in (highest, climber):
                problems.append("saddle_energy does not match the stored energies")
    return problems


def _check_path(g: Any, minima_names: list[str] | None) -> list[str]:
    problems = _missing(g, ("status", "message", "nit", "nfev", "config"), "attribute")
    problems += _missing(g, ("pivots", "history"), "dataset")
    if "status" in g.attrs and decode(g.attrs["status"]) not in {s.value for s in Status}:
        problems.append(f"unknown status {decode(g.attrs['status'])!r}")
    if "config" in g.attrs:
        json.loads(g.attrs["config"])
    for key in ("start", "end"):
        problems += _check_endpoint(key, decode(g.attrs.get(key)), minima_names)
    if "history" in g and isinstance(g["history"], h5py.Dataset) and nonfinite(g["history"]):
        problems.append("history contains NaN or inf")
    climbing = bool(decode(g.attrs.get("climbing", False)))
    problems += [p for p in _check_arrays(g, None, ("profile/energies",), climbing) if not p.startswith("missing")]
    if "profile" in g:
        problems += [f"profile: {p}" for p in _check_profile(g["profile"])]
    dim = g["pivots"].shape[1] if "pivots" in g and g["pivots"].ndim == 2 else None
    for c in cycle_groups(g):
        where = f"cycle {c.name.rsplit('/', 1)[-1]}"
        problems += [f"{where}: {p}" for p in _check_cycle(c, dim)]
    return problems


def _check_endpoint(key: str, value: Any, minima_names: list[str] | None) -> list[str]:
    if value is None or minima_names is None:
        return []
    if isinstance(value, str) and value not in minima_names:
        return [f"{key} {value!r} is not a stored minimum"]
    if isinstance(value, int) and not 0 <= value < len(minima_names):
        return [f"{key} index {value} is out of range for {len(minima_names)} minima"]
    return []


def _check_profile(p: Any) -> list[str]:
    problems = _missing(p, PROFILE_ARRAYS, "dataset")
    shapes = {p[k].shape for k in PROFILE_ARRAYS if k in p}
    if len(shapes) > 1:
        problems.append(f"t, energies and is_pivot differ in shape: {sorted(shapes)}")
    return problems


def _check_cycle(c: Any, dim: int | None) -> list[str]:
    problems = _missing(c, CYCLE_ATTRS, "attribute") + _missing(c, CYCLE_ARRAYS, "dataset")
    problems += _check_arrays(c, dim, ("dense_energies",))
    if "dense_t" in c and "dense_energies" in c and c["dense_t"].shape != c["dense_energies"].shape:
        problems.append(f"dense_t {c['dense_t'].shape} and dense_energies {c['dense_energies'].shape} differ")
    return problems

