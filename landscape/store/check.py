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

from landscape.optimizers.curves import CURVE_SNAPSHOT_ARRAYS, CURVE_SNAPSHOT_NUMBERS
from landscape.optimizers.snapshot import SNAPSHOT_ARRAYS, SNAPSHOT_NUMBERS
from landscape.paths.climber import climber_energy
from landscape.paths.result import Status
from landscape.store.codec import decode, get_attrs, one_line
from landscape.store.groups import is_group
from landscape.store.layout import (
    CYCLE_ARRAYS,
    CYCLE_ATTRS,
    PROFILE_ARRAYS,
    SPECTRUM_GROUP,
    SURFACE_GROUPS,
    cycle_groups,
    nonfinite,
    surface_group,
)

__all__ = ["check_store"]


def check_store(root: Any, path_names: Sequence[str]) -> list[str]:
    """Integrity problems of the store whose root group is `root`, one line each."""
    problems: list[str] = []
    for where, fn in [("/", _check_root), ("/potential", _check_potential), ("/minima", _check_minima)]:
        _collect(problems, where, fn, root)
    minima_names = _minima_names(root)
    for name in path_names:
        _collect(problems, f"/paths/{name}", _check_path, root["paths"][name], minima_names)
    prefix = SURFACE_GROUPS["grid"].format("")
    for group in sorted(k for k in root if k.startswith(prefix)):
        _collect(problems, f"/{group}", _check_surface, root, group[len(prefix) :])
    for group in sorted(k for k in root if k.startswith(SPECTRUM_GROUP.format(""))):
        _collect(problems, f"/{group}", _check_spectrum, root[group])
    return problems


def _check_spectrum(g: Any) -> list[str]:
    """A stored Hessian spectrum (`landscape.analysis.spectra_store`): its JSON parses and
    every stored eigenvector array is (dim, k) for the k eigenvalues it belongs to."""
    problems = _missing(g, ("spectrum",), "dataset") + _missing(g, ("place", "settings", "point"), "attribute")
    if problems:
        return problems
    data = json.loads(bytes(g["spectrum"][()]).decode())
    parts = {"": data, **{f"{name}.": b for name, b in data.get("blocks", {}).items()}}
    for key in (k for k in g if k != "spectrum"):
        prefix, _, which = key.rpartition(".")
        prefix = prefix + "." if prefix else ""
        pairs = parts.get(prefix, {}).get(which) if which in ("top", "bottom") else None
        if pairs is None or g[key].shape != (parts[prefix]["dim"], len(pairs["values"])):
            problems.append(f"eigenvectors {key!r} of shape {g[key].shape} belong to no stored eigenvalues")
    return problems


def _check_surface(root: Any, name: str) -> list[str]:
    """A loss surface (`landscape.analysis.planes`): its grid's arrays agree in shape,
    and its energies group belongs to this grid and holds one energy per grid point."""
    g = root[surface_group(name, "grid")]
    problems = _missing(g, ("origin", "directions"), "dataset") + _missing(g, ("digest", "kind"), "attribute")
    if problems:
        return problems
    k, dim = g["directions"].shape if g["directions"].ndim == 2 else (0, -1)
    if k not in (1, 2) or g["origin"].shape != (dim,):
        return [f"directions {g['directions'].shape} and origin {g['origin'].shape} do not form a 1D or 2D slice"]
    axes = [f"axis{i}" for i in range(k)]
    problems += _missing(g, axes, "dataset")
    energies = surface_group(name, "energies")
    if problems or energies not in root:
        return problems + ([] if energies in root else [f"no energies group /{energies}"])
    size = int(np.prod([g[a].shape[0] for a in axes]))
    e = root[energies]
    if "energies" not in e or e["energies"].shape != (size,):
        problems.append(f"/{energies} does not hold {size} energies, one per grid point")
    if decode(e.attrs.get("digest")) != decode(g.attrs["digest"]):
        problems.append(f"/{energies} belongs to another grid (digest)")
    if not 0 <= int(e.attrs.get("filled", -1)) <= size:
        problems.append(f"/{energies} says {e.attrs.get('filled')} of {size} points are filled")
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
        problems.append(
            f"inconsistent shapes coords {g['coords'].shape}, energies {g['energies'].shape}, names {g['names'].shape}"
        )
    elif len(set(g["names"].asstr()[()])) != m:
        problems.append("duplicate names")
    problems += [f"{k} contain NaN or inf" for k in ("coords", "energies") if nonfinite(g[k])]
    return problems


def _minima_names(f: Any) -> list[str] | None:
    try:
        return [str(n) for n in f["minima"]["names"].asstr()[()]]
    except Exception:
        return None


def _check_arrays(g: Any, dim: int | None, extra_energies: Sequence[str] = (), climbing: bool = False) -> list[str]:
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
            # as floats: an int-valued potential's energies have no -inf to start from
            highest = max(
                [float(np.max(e[()]))]
                + [float(np.max(np.asarray(g[k][()], dtype=float), initial=-np.inf)) for k in extra_energies if k in g]
            )
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
    problems += [
        f"{key} is {value!r}, not a finite number"
        for key in ("saddle_energy", "upper_bound")
        if key in g.attrs and not _finite_number(value := decode(g.attrs[key]))
    ]
    climbing = bool(decode(g.attrs.get("climbing", False)))
    problems += [p for p in _check_arrays(g, None, ("profile/energies",), climbing) if not p.startswith("missing")]
    if "profile" in g:
        problems += [f"profile: {p}" for p in _check_profile(g["profile"])]
    dim = g["pivots"].shape[1] if "pivots" in g and g["pivots"].ndim == 2 else None
    cycles = cycle_groups(g)
    for position, c in enumerate(cycles):
        where = f"cycle {c.name.rsplit('/', 1)[-1]}"
        problems += [f"{where}: {p}" for p in _check_cycle(c, dim)]
        if int(c.name.rsplit("/", 1)[-1]) != position or decode(c.attrs.get("index", position)) != position:
            problems.append(f"{where}: cycles are not numbered 0 to {len(cycles) - 1} (one was lost)")
    if is_group(g.get("checkpoint")):
        problems += [f"checkpoint: {p}" for p in _check_checkpoint(g["checkpoint"], dim, len(cycles))]
    return problems


# What a checkpoint holds (landscape/runs/stored.py writes them): a band's exact state mid-run
# (kind "state", from landscape/optimizers/snapshot.py), a curve's (kind "state" with its
# control points, landscape/optimizers/curves.py), or the path AutoNEB's next cycle
# starts from (schema-1 stores hold no energies or climbing flag there: not required).
_CHECKPOINT_ARRAYS = {
    "state": (*SNAPSHOT_ARRAYS, "history"),
    "curve": (*CURVE_SNAPSHOT_ARRAYS, "history"),
    "cycle": ("pivots", "history"),
}
_CHECKPOINT_NUMBERS = {"state": SNAPSHOT_NUMBERS, "curve": CURVE_SNAPSHOT_NUMBERS, "cycle": ("cycle", "nit", "nfev")}
# Attributes that are not numbers: the stepper's own numbers, a potential's sampler state,
# and the samples spent so far (a mapping of counts, checked on its own).
_CHECKPOINT_OTHER = frozenset({"kind", "stepper_numbers", "potential_state", "samples"})


def _check_checkpoint(c: Any, dim: int | None, n_cycles: int) -> list[str]:
    """What resuming from checkpoint `c` needs: its arrays, finite, of the path's shape,
    and its counters as numbers (a resume reads them back as such)."""
    attrs = get_attrs(c)
    kind = ("curve" if "controls" in c else "state") if attrs.get("kind") == "state" else "cycle"
    problems = _missing(c, _CHECKPOINT_ARRAYS[kind], "dataset") + _missing(c, _CHECKPOINT_NUMBERS[kind], "attribute")
    # inf is a counter's "not yet" (the starting force before the first step); NaN is damage
    problems += [
        f"attribute {k!r} is {v!r}, not a number"
        for k, v in attrs.items()
        if k not in _CHECKPOINT_OTHER and not (_number(v) and not np.isnan(v))
    ]
    samples = attrs.get("samples", {})
    if not (isinstance(samples, dict) and all(isinstance(v, int) and v >= 0 for v in samples.values())):
        problems.append(f"attribute 'samples' is {samples!r}, not counts of samples")
    problems += [f"{k} contains NaN or inf" for k in sorted(c) if isinstance(c[k], h5py.Dataset) and nonfinite(c[k])]
    shape = c["pivots"].shape if "pivots" in c else None
    if shape is not None and dim is not None and shape[1:] != (dim,):
        problems.append(f"pivots of shape {shape} do not fit the path's dim {dim}")
    if "controls" in c and dim is not None and c["controls"].shape[1:] != (dim,):
        problems.append(f"controls of shape {c['controls'].shape} do not fit the path's dim {dim}")
    interior = None if shape is None else (shape[0] - 2, *shape[1:])  # forces act on the movable pivots
    problems += [
        f"{k} of shape {c[k].shape} do not fit {shape[0]} pivots"
        for k in ("gradients", "forces")
        if interior is not None and k in c and c[k].shape != interior
    ]
    if kind == "cycle" and _number(attrs.get("cycle")) and attrs["cycle"] > n_cycles:
        problems.append(f"resumes after cycle {attrs['cycle']}, but {n_cycles} cycles are stored (some were lost)")
    return problems


def _number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating))


def _finite_number(value: Any) -> bool:
    """A stored energy: int or float, finite."""
    return _number(value) and bool(np.isfinite(value))


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
