"""The store's layout, the same in the folder and the single file (schema version 2).

    /                     attrs: format="landscape", schema_version, created, modified
                                 (ISO 8601 UTC), library_versions (JSON)
    /potential            attrs: description (JSON of Potential.describe(), or the record
                                 of `landscape.potentials.identity` that rebuilds it)
    /minima               coords (m, dim), energies (m,), names (m,) UTF-8
                          attrs: metadata (JSON)
    /paths/<name>         pivots (N+2, dim) row-chunked, energies (N+2,), history (steps,)
                          attrs: status, message, nit, nfev, config (JSON), climbing,
                                 samples_gradient, samples_forward (Result.samples, when
                                 the potential counts samples; absent in older stores),
                                 saddle_energy (Result.saddle_energy), upper_bound,
                                 saddle_index, and when given start, end, seed, and extras
                                 (e.g. a network potential's bn_mode: Potential.result_attrs),
                                 whose names `extras` lists
    /paths/<name>/profile t, energies, is_pivot (the final energy profile, when computed)
    /paths/<name>/cycles/<k>   (k zero-padded to 6 digits, so lexical order is cycle order)
                          pivots, energies, dense_t, dense_energies, residuals, inserted
                          attrs: index, steps, lr, climb, nfev, saddle_energy,
                                 samples_gradient, samples_forward (as for the path)
    /paths/<name>/checkpoint   what a running path needs to resume (arrays and attrs)
    /surface-<name>       a loss surface's grid (origin, directions, axes); its energies in
                          /energies-of-surface-<name> (`SURFACE_GROUPS`)
    /<group>              generic array groups via write_array_group; those the library
                          and its plugins write are named below (GRAPH_GROUP, ...)

Attributes follow `landscape.store.codec`.  The functions here work on a group of
either layout (an h5py group, or `landscape.store.groups.Group`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.paths.path import Path, Profile
from landscape.paths.result import CycleRecord, Result, Status
from landscape.potentials.identity import points_digest

__all__ = [
    "SCHEMA_VERSION",
    "FORMAT",
    "CHUNK_BYTES",
    "PATH_ATTRS",
    "CYCLE_ARRAYS",
    "CYCLE_ATTRS",
    "PROFILE_ARRAYS",
    "RESERVED_GROUPS",
    "result_attrs",
    "write_rows",
    "write_path",
    "read_path",
    "cycle_key",
    "cycle_groups",
    "read_profile",
    "read_cycle",
    "nonfinite",
    "SAMPLE_ATTRS",
    "samples_attrs",
    "read_samples",
    "TRAINING_GROUP",
    "CURVES_GROUP",
    "MINIMA_METRICS_GROUP",
    "EVALUATION_GROUPS",
    "evaluation_group",
    "evaluation_digest",
    "SURFACE_GROUPS",
    "surface_group",
    "CONTROLS_GROUP",
    "SPECTRUM_GROUP",
    "split_pair",
]

#: Schema version written by this library (2: the folder store); higher ones are refused.
SCHEMA_VERSION = 2
#: Value of the root `format` attribute that marks a landscape store.
FORMAT = "landscape"
# Target bytes per pivot chunk: one row for network-sized dims, many rows for small ones.
CHUNK_BYTES = 1 << 20
_CYCLE_DIGITS = 6
PATH_ATTRS = frozenset(
    {
        "status",
        "message",
        "nit",
        "nfev",
        "config",
        "climbing",
        "saddle_energy",
        "saddle_index",
        "upper_bound",
        "start",
        "end",
        "seed",
        "json_attrs",
        "extras",
        "samples_gradient",
        "samples_forward",
    }
)
#: The attribute of each counter of `Result.samples` and `CycleRecord.samples` (plain
#: integers, so any HDF5 reader shows them).
SAMPLE_ATTRS = {"gradient": "samples_gradient", "forward": "samples_forward"}
CYCLE_ARRAYS = ("dense_t", "dense_energies", "residuals", "inserted")
PROFILE_ARRAYS = ("t", "energies", "is_pivot")
CYCLE_ATTRS = ("index", "steps", "lr", "climb", "nfev")
RESERVED_GROUPS = frozenset({"potential", "minima", "paths"})

# The array groups written beside the records above, each named here once (but /graph,
# an exploration's graph, named by `landscape.exploration.state.GRAPH_GROUP`, which
# imports the store only when it opens one).
#: Network training: its settings and the checkpoint of the minimum in progress.
TRAINING_GROUP = "training"
#: Network training: one (epochs,) array "<minimum>.<metric>" per minimum and metric.
CURVES_GROUP = "learning_curves"
#: Table 1: the train/test loss and error of every minimum.
MINIMA_METRICS_GROUP = "minima_metrics"
#: A network evaluation along a stored path, a straight line between two minima, or the
#: line to the second minimum's weight-matched image: kind -> group name pattern.
EVALUATION_GROUPS = {
    "path": "evaluation-{}",
    "line": "evaluation-line-{}",
    "aligned": "evaluation-aligned-line-{}",
    "repaired": "evaluation-repaired-{}",  # a path's points REPAIRed (plugins/torchnet/repair.py)
}


#: A loss surface on a 1D or 2D slice (`landscape.analysis.planes`): its grid (written
#: once) and its energies (rewritten chunk by chunk as they are evaluated): part -> pattern.
SURFACE_GROUPS = {"grid": "surface-{}", "energies": "energies-of-surface-{}"}


def surface_group(name: str, part: str) -> str:
    """The group of a surface's "grid" or "energies" (`SURFACE_GROUPS`)."""
    if part not in SURFACE_GROUPS:  # a bug in the caller, not a user's input
        raise ValueError(f"unknown surface part {part!r}")
    return SURFACE_GROUPS[part].format(name)


#: The control points of a curve stored as path <name> (`PathOptimizer.result_arrays`):
#: controls (bends + 2, dim), their parameters t; attrs kind, bends.
CONTROLS_GROUP = "curve-controls-{}"


#: A Hessian spectrum at one place (`landscape.analysis.spectra_store`): "<place>-<digest of
#: its settings>", e.g. "spectrum-min-0-3f2a..."; arrays: the spectrum's JSON (as bytes) and
#: its eigenvectors; attrs: place, settings (JSON), the point's digest.
SPECTRUM_GROUP = "spectrum-{}"


def evaluation_group(name: str, kind: str = "path") -> str:
    """The group of an evaluation (`EVALUATION_GROUPS`): a path's, or a line's ("a-b")."""
    if kind not in EVALUATION_GROUPS:  # a bug in the caller, not a user's input
        raise ValueError(f"unknown evaluation kind {kind!r}")
    return EVALUATION_GROUPS[kind].format(name)


def split_pair(text: str, names: Sequence[str]) -> tuple[str, str]:
    """'a-b' (a path's name, the way paths are named) as two of the minima `names`, the
    split chosen where both sides are names, so a name may hold '-' itself; the bare
    number i names the i-th minimum where no minimum is called i."""

    def known(part: str) -> str | None:
        if part in names:
            return part
        return names[int(part)] if part.isdigit() and int(part) < len(names) else None

    cuts = [i for i, c in enumerate(text) if c == "-" and 0 < i < len(text) - 1]
    found = {(a, b) for i in cuts if (a := known(text[:i])) and (b := known(text[i + 1 :]))}
    if len(found) > 1:
        raise LandscapeError(f"{text!r} splits into more than one pair of minima: {sorted(found)}")
    if not found:
        shown = ", ".join(names[:20]) or "none"
        parts = [text[: cuts[0]], text[cuts[0] + 1 :]] if len(cuts) == 1 else []
        unknown = ", ".join(repr(p) for p in parts if known(p) is None)
        what = f"no minimum {unknown}" if unknown else f"{text!r} names no pair of minima as a-b"
        raise LandscapeError(f"{what} (minima: {shown})")
    return found.pop()


def evaluation_digest(points: Any, per_segment: int | None = None) -> str:
    """A short digest of the points (and points per segment) an evaluation belongs to,
    kept in its group's `digest` attribute: an evaluation whose digest differs is stale."""
    return points_digest(points, per_segment)


def result_attrs(result: Result, start: Any, end: Any, seed: int | None) -> dict[str, Any]:
    """The attributes of /paths/<name> for `result`; `seed` defaults to config["seed"]."""
    attrs: dict[str, Any] = {
        "status": Status(result.status).value,
        "message": str(result.message),
        "nit": int(result.nit),
        "nfev": int(result.nfev),
        "config": dict(result.config),
        "climbing": bool(result.climbing),
    }
    if result.path.energies is not None:
        attrs.update(saddle_energy=float(result.saddle_energy), upper_bound=float(result.upper_bound))
    attrs.update(samples_attrs(result.samples))
    seed = result.config.get("seed") if seed is None else seed
    optional = {"start": start, "end": end, "seed": seed}
    attrs.update({k: v for k, v in optional.items() if v is not None})
    return attrs


def samples_attrs(samples: Any) -> dict[str, int]:
    """The attributes of `samples` ({"gradient": n, "forward": m}); none for None."""
    return {} if samples is None else {attr: int(samples[kind]) for kind, attr in SAMPLE_ATTRS.items()}


def read_samples(attrs: Any) -> dict[str, int] | None:
    """`samples` back from a group's attributes; None where they are absent (a store
    written before the counters, or a potential that counts none)."""
    if not all(attr in attrs for attr in SAMPLE_ATTRS.values()):
        return None
    return {kind: int(attrs[attr]) for kind, attr in SAMPLE_ATTRS.items()}


def write_rows(group: Any, name: str, array: Any, compression: str | None) -> None:
    """A (rows, dim) dataset chunked by whole rows, so one pivot reads in one chunk."""
    a = to_numpy(array)
    if a.ndim == 2 and a.size > 0:
        rows = max(1, min(a.shape[0], CHUNK_BYTES // (a.shape[1] * a.itemsize)))
        group.create_dataset(name, data=a, chunks=(rows, a.shape[1]), compression=compression)
    else:
        group.create_dataset(name, data=a)


def write_path(group: Any, path: Path, compression: str | None) -> None:
    """Pivots and energies; `saddle_index` too, since it follows from the energies alone."""
    write_rows(group, "pivots", path.pivots, compression)
    if path.energies is not None:
        energies = to_numpy(path.energies)
        group.create_dataset("energies", data=energies)
        group.attrs["saddle_index"] = int(np.argmax(energies))


def read_path(group: Any) -> Path:
    energies = group["energies"][()] if "energies" in group else None
    return Path(group["pivots"][()], energies)


def cycle_key(index: int) -> str:
    return f"{index:0{_CYCLE_DIGITS}d}"


def cycle_groups(group: Any) -> list[Any]:
    cycles = group.get("cycles")
    if cycles is None:
        return []
    return [cycles[k] for k in sorted(cycles, key=int)]


def read_profile(group: Any) -> Profile | None:
    g = group.get("profile")
    return None if g is None else Profile(*(g[k][()] for k in PROFILE_ARRAYS))


def read_cycle(group: Any) -> CycleRecord:
    a = group.attrs
    return CycleRecord(
        index=int(a["index"]),
        steps=int(a["steps"]),
        lr=float(a["lr"]),
        climb=bool(a["climb"]),
        path=read_path(group),
        nfev=int(a["nfev"]),
        samples=read_samples(a),
        **{name: group[name][()] for name in CYCLE_ARRAYS},
    )


def nonfinite(ds: Any) -> bool:
    """Whether a float dataset holds NaN or inf, read in row blocks to bound memory."""
    if ds.dtype.kind not in "fc" or ds.size == 0:
        return False
    if ds.ndim < 2:
        return not np.all(np.isfinite(ds[()]))
    step = max(1, CHUNK_BYTES // max(1, ds.shape[1] * ds.dtype.itemsize))
    return any(not np.all(np.isfinite(ds[i : i + step])) for i in range(0, ds.shape[0], step))
