"""The records a store holds: its minima, its paths with their AutoNEB cycles and
checkpoints, and named array groups; `Store` (`landscape.store.core`) inherits them.

`Records` reads and writes through the open root group of either layout; `Store`
supplies it (`_f`), the compression, and the checks that the store is open and
writable.  `reporting` turns a failure inside one of these methods into one line.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import h5py
import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.paths.result import CycleRecord, Result, Status
from landscape.store.codec import check_name, decode, dumps, get_attrs, one_line, set_attrs, validate_json
from landscape.store.groups import is_group
from landscape.store.layout import (
    CONTROLS_GROUP,
    CYCLE_ARRAYS,
    PATH_ATTRS,
    PROFILE_ARRAYS,
    RESERVED_GROUPS,
    cycle_groups,
    cycle_key,
    read_cycle,
    read_path,
    read_profile,
    read_samples,
    result_attrs,
    samples_attrs,
    write_path,
    write_rows,
)

if TYPE_CHECKING:
    from landscape.store.tree import FolderTree

__all__ = ["Records", "reporting"]

F = TypeVar("F", bound=Callable[..., Any])


def reporting(action: str, writes: bool = False) -> Callable[[F], F]:
    """Turn h5py/OS failures inside a store method into one-line LandscapeErrors.

    A failed write may leave a half-written group behind, so it poisons the
    transaction: commit then refuses.  (LandscapeErrors are raised before writing.)
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(self: Records, *args: Any, **kwargs: Any) -> Any:
            self._require_open()
            try:
                return fn(self, *args, **kwargs)
            except LandscapeError:
                raise
            except Exception as exc:
                message = f"store {self.filename}: cannot {action}: {one_line(exc)}"
                if writes:
                    self._failed = message
                if isinstance(exc, (OSError, KeyError, ValueError, TypeError, RuntimeError)):
                    raise LandscapeError(message) from exc
                raise

        return wrapper  # type: ignore[return-value]

    return decorate


class Records:
    """Minima, paths (results, running paths, their cycles and checkpoints) and array
    groups of an open store: the methods `Store` inherits."""

    filename: str
    _compression: str | None
    _tree: FolderTree | None
    _failed: str | None  # set by a failed write: commit must refuse

    if TYPE_CHECKING:  # supplied by Store

        @property
        def _f(self) -> Any: ...

        def _require_open(self) -> None: ...

        def _require_writable(self) -> None: ...

    # minima -----------------------------------------------------------------------------
    @reporting("write minima", writes=True)
    def write_minima(
        self, coords: Any, energies: Any, names: Sequence[str], *, metadata: Mapping[str, Any] | None = None
    ) -> None:
        """Store (replacing any earlier) minima: coords (m, dim), energies (m,), unique names."""
        self._require_writable()
        coords, energies, names = to_numpy(coords), to_numpy(energies), [str(n) for n in names]
        m = len(names)
        if coords.ndim != 2 or coords.shape[0] != m or energies.shape != (m,):
            raise LandscapeError(
                f"minima need coords (m, dim), energies (m,) and m names; got {coords.shape}, "
                f"{energies.shape} and {m} names"
            )
        if len(set(names)) != m:
            raise LandscapeError("minima names must be unique")
        bad = [names[i] for i in np.flatnonzero(~np.isfinite(energies) | ~np.all(np.isfinite(coords), axis=1))]
        if bad:  # a NaN in the store would poison every bound and report built on it
            raise LandscapeError(f"minima {', '.join(bad[:5])} have NaN or infinite coordinates or energies")
        self._delete("minima")
        g = self._f.create_group("minima")
        write_rows(g, "coords", coords, self._compression)
        g.create_dataset("energies", data=energies)
        g.create_dataset("names", data=np.array(names, dtype=object), dtype=h5py.string_dtype("utf-8"))
        set_attrs(g, {"metadata": dumps(dict(metadata or {}))})

    @reporting("read minima")
    def read_minima(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(coords (m, dim), energies (m,), names) as stored."""
        g = self._f.get("minima")
        if g is None:
            raise LandscapeError(f"store {self.filename} holds no minima")
        return g["coords"][()], g["energies"][()], [str(n) for n in g["names"].asstr()[()]]

    @reporting("read minima metadata")
    def minima_metadata(self) -> dict[str, Any]:
        g = self._f.get("minima")
        return {} if g is None else json.loads(g.attrs.get("metadata", "{}"))

    # paths ------------------------------------------------------------------------------
    def path_names(self) -> list[str]:
        """Names of the stored paths, sorted."""
        self._require_open()
        return sorted(self._f.get("paths", {}))

    @reporting("write path", writes=True)
    def write_result(
        self,
        name: str,
        result: Result,
        start: str | int | None = None,
        end: str | int | None = None,
        extra_attrs: Mapping[str, Any] | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        """Store `result` as /paths/<name>, replacing a path of that name.

        `start`/`end` name (or index) the minima it joins; `seed` defaults to
        ``result.config["seed"]``; `extra_attrs` are further attributes.  The optimizer
        `state` is not stored.
        """
        self._require_writable()
        check_name(name, "path name")
        extra = dict(extra_attrs or {})
        clash = sorted(PATH_ATTRS & extra.keys())
        if clash:
            raise LandscapeError(f"extra_attrs may not use reserved names: {', '.join(clash)}")
        attrs = {**result_attrs(result, start, end, seed), **extra}
        if extra:  # named, so summaries show them without knowing what they are
            attrs["extras"] = sorted(extra)
        validate_json(attrs, f"attributes of path {name!r}")  # fail before writing anything
        paths = self._f.require_group("paths")
        stored = self._stored_cycles(name)
        self._delete(f"paths/{name}")
        g = paths.create_group(name)
        write_path(g, result.path, self._compression)
        g.create_dataset("history", data=to_numpy(result.history))
        if result.profile is not None:
            p = g.create_group("profile")
            for key in PROFILE_ARRAYS:
                p.create_dataset(key, data=to_numpy(getattr(result.profile, key)))
        set_attrs(g, attrs)
        cycles = g.create_group("cycles")
        for record in result.cycles:
            self._write_cycle(cycles, record, stored.get(cycle_key(int(record.index))))

    def _stored_cycles(self, name: str) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        """The cycles a running path already holds: (attrs, where its arrays live) by key,
        so the final result re-uses the bytes its cycles committed instead of copying them."""
        g = self._f.get("paths", {}).get(name) if self._tree is not None else None
        if g is None or decode(g.attrs.get("status")) != Status.RUNNING.value:
            return {}
        return {c.name.rsplit("/", 1)[-1]: (dict(c.attrs), c.refs()) for c in cycle_groups(g)}

    @reporting("append cycle", writes=True)
    def append_cycle(
        self,
        name: str,
        record: CycleRecord,
        *,
        start: str | int | None = None,
        end: str | int | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        """Commit one finished AutoNEB cycle to /paths/<name>/cycles as a run goes.

        A missing path is created with status "running" (with `start`, `end`, `config`);
        while a path is running its pivots and energies are the latest cycle's, `nit`
        sums the cycles' steps and `nfev` is the latest record's (cumulative) count, so
        a crashed run still shows its last state.  A final `write_result`
        replaces it.  Appending to a finished path is refused.
        """
        self._require_writable()
        check_name(name, "path name")
        validate_json({"config": dict(config or {})}, f"config of path {name!r}")
        paths = self._f.require_group("paths")
        if name not in paths:
            self._new_running_path(paths, name, start, end, config)
        g = paths[name]
        status = decode(g.attrs.get("status"))
        if status != Status.RUNNING.value:
            raise LandscapeError(f"path {name!r} is finished (status {status}); write_result replaces it")
        cycles = g.require_group("cycles")
        if cycle_key(record.index) in cycles:
            raise LandscapeError(f"path {name!r} already has cycle {record.index}")
        c = self._write_cycle(cycles, record)
        for key in ("pivots", "energies", "profile"):
            self._delete(f"paths/{name}/{key}")
        for key in ("pivots", "energies"):  # the latest cycle's arrays, shared, not copied
            if key in c:
                g.link(key, c, key)
        if "saddle_index" in c.attrs:
            g.attrs["saddle_index"] = c.attrs["saddle_index"]
        for key in ("saddle_energy", "upper_bound"):  # pivots only: a running path has no profile
            if record.path.energies is not None:
                g.attrs[key] = float(record.path.saddle_energy)
            elif key in g.attrs:
                del g.attrs[key]
        g.attrs["climbing"] = bool(record.climb)
        g.attrs["nit"] = int(g.attrs["nit"]) + int(record.steps)
        g.attrs["nfev"] = int(record.nfev)  # a record counts evaluations since the run began
        g.attrs.update(samples_attrs(record.samples))  # ... and samples

    def _new_running_path(
        self,
        paths: Any,
        name: str,
        start: Any,
        end: Any,
        config: Mapping[str, Any] | None,
        message: str = "AutoNEB cycles in progress",
    ) -> None:
        g = paths.create_group(name)
        g.create_dataset("history", data=np.zeros(0))
        attrs = {"status": Status.RUNNING.value, "message": message, "nit": 0, "nfev": 0, "config": dict(config or {})}
        attrs.update({k: v for k, v in {"start": start, "end": end}.items() if v is not None})
        set_attrs(g, attrs)

    def _write_cycle(
        self, cycles: Any, record: CycleRecord, stored: tuple[dict[str, Any], dict[str, Any]] | None = None
    ) -> Any:
        attrs = {
            "index": int(record.index),
            "steps": int(record.steps),
            "lr": float(record.lr),
            "climb": bool(record.climb),
            "nfev": int(record.nfev),
            **samples_attrs(record.samples),
        }
        if record.path.energies is not None:
            attrs["saddle_energy"] = float(record.saddle_energy)
        c = cycles.create_group(cycle_key(int(record.index)))
        if stored is not None and {k: stored[0].get(k) for k in attrs} == attrs:
            c.adopt(stored[1])  # this very cycle, committed while the run went
            c.attrs.update(stored[0])
            return c
        write_path(c, record.path, self._compression)
        for key in CYCLE_ARRAYS:
            c.create_dataset(key, data=to_numpy(getattr(record, key)))
        c.attrs.update(attrs)
        return c

    @reporting("write a verdict", writes=True)
    def set_status(self, name: str, status: Status, message: str) -> None:
        """Replace the status and message of finished path `name`, nothing else: a verdict
        reached after the run (a climber whose Hessian is not index 1 is no saddle)."""
        self._require_writable()
        g = self._path_group(name)
        g.attrs.update({"status": Status(status).value, "message": str(message)})

    @reporting("delete path", writes=True)
    def delete_path(self, name: str) -> None:
        """Remove /paths/<name> with its cycles and checkpoint, and its curve's control
        points: a path computed again by another method must not keep stale ones."""
        self._require_writable()
        self._path_group(name)  # a one-line error naming the paths when it is not there
        self._delete(f"paths/{name}")
        self._delete(CONTROLS_GROUP.format(name))

    @reporting("read path")
    def read_result(self, name: str) -> Result:
        """The stored Result (with `state=None`): arrays come back with their dtypes, and
        `arrays` is what the optimizer kept beside the path (a curve's control points,
        group `CONTROLS_GROUP`) as `Result.arrays` holds it, None when it kept nothing."""
        g = self._path_group(name)
        a = g.attrs
        controls = CONTROLS_GROUP.format(name)
        kept = self.read_array_group(controls) if is_group(self._f.get(controls)) else None
        status = decode(a["status"])
        try:
            status = Status(status)
        except ValueError:
            raise LandscapeError(f"store {self.filename}: path {name!r} has unknown status {status!r}") from None
        return Result(
            path=read_path(g),
            status=status,
            message=str(decode(a["message"])),
            nit=int(a["nit"]),
            nfev=int(a["nfev"]),
            history=g["history"][()],
            profile=read_profile(g),
            climbing=bool(a.get("climbing", False)),
            cycles=tuple(read_cycle(c) for c in cycle_groups(g)),
            config=json.loads(a["config"]),
            state=None,
            samples=read_samples(a),
            arrays=kept,
        )

    @reporting("read path")
    def path_info(self, name: str) -> dict[str, Any]:
        """Attributes and shapes of one path, without reading its arrays."""
        g = self._path_group(name)
        info = {k: v for k, v in get_attrs(g).items() if k != "config"}
        info["config"] = json.loads(g.attrs.get("config", "{}"))
        n, dim = g["pivots"].shape if "pivots" in g else (0, 0)
        info.update(name=name, n_pivots=int(n), dim=int(dim), cycles=len(cycle_groups(g)))
        return info

    def _path_group(self, name: str) -> Any:
        g = self._f.get("paths", {}).get(name)
        if not is_group(g):
            known = ", ".join(self.path_names()) or "none"
            raise LandscapeError(f"store {self.filename} has no path {name!r} (paths: {known})")
        return g

    # generic groups ---------------------------------------------------------------------
    @reporting("write group", writes=True)
    def write_array_group(self, name: str, arrays: Mapping[str, Any], attrs: Mapping[str, Any] | None = None) -> None:
        """Store (replacing) a top-level group of named arrays and attributes, e.g. /graph."""
        self._require_writable()
        if check_name(name, "group name") in RESERVED_GROUPS:
            raise LandscapeError(f"group name {name!r} is reserved by the store layout")
        for key in arrays:
            check_name(key, "array name")
        self._delete(name)
        g = self._f.create_group(name)
        for key, value in arrays.items():
            g.create_dataset(key, data=to_numpy(value))
        set_attrs(g, dict(attrs or {}))

    @reporting("read group")
    def read_array_group(self, name: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(arrays, attrs) of a group written by `write_array_group`."""
        g = self._f.get(name)
        if not is_group(g):
            raise LandscapeError(f"store {self.filename} has no group {name!r}")
        return {k: v[()] for k, v in g.items() if isinstance(v, h5py.Dataset)}, get_attrs(g)

    def _delete(self, name: str) -> None:
        if name in self._f:
            del self._f[name]
