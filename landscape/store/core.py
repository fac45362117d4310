"""The landscape store: a versioned, self-describing tree of minima, paths and AutoNEB cycles.

A store is a folder (`landscape.store.tree`): an SQLite index of groups and attributes
and one immutable HDF5 file per group written in a transaction, so a commit costs what
it writes and kill -9 at any instant leaves every committed unit intact.  The layout of
groups, arrays and attributes is `landscape.store.layout`.  A single HDF5 file in the
same layout (`landscape export`, or a schema-1 store from before the folder) opens
read-only; `landscape upgrade` turns a schema-1 file into a folder.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import h5py
import numpy as np

from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import store_path
from landscape.foundations.arrays import to_numpy
from landscape.paths.result import CycleRecord, Result, Status
from landscape.store.check import check_store
from landscape.store.codec import check_name, decode, dumps, get_attrs, library_versions, now, one_line, set_attrs, validate_json
from landscape.store.layout import (CYCLE_ARRAYS, FORMAT, PATH_ATTRS, PROFILE_ARRAYS, RESERVED_GROUPS, SCHEMA_VERSION, cycle_groups,
                     read_samples, samples_attrs,
                     cycle_key, read_cycle, read_path, read_profile, result_attrs, write_path, write_rows)
from landscape.store.opening import OURS, enclosing_store, is_store, layout_of, open_reader, unfinished_folder
from landscape.store.tree import INDEX, UNITS, FolderTree, is_group

__all__ = ["Store", "remove_store", "check_writable"]

_COMPRESSIONS = (None, "gzip", "lzf")
_README = """This folder is a landscape store.  index.sqlite (SQLite) names every group,
attribute and array; the arrays live in units/*.h5, one immutable HDF5 file per group
and transaction.  Read it with `landscape inspect FOLDER`; share it as one HDF5 file
with `landscape export FOLDER FILE.h5`.  Do not edit or remove files in it by hand.
"""

F = TypeVar("F", bound=Callable[..., Any])


def _reporting(action: str, writes: bool = False) -> Callable[[F], F]:
    """Turn h5py/OS failures inside a store method into one-line LandscapeErrors.

    A failed write may leave a half-written group behind, so it poisons the
    transaction: commit then refuses.  (LandscapeErrors are raised before writing.)
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
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


def _check_compression(compression: str | None) -> None:
    if compression not in _COMPRESSIONS:
        raise LandscapeError(f"unknown compression {compression!r}; use one of {_COMPRESSIONS}")


def check_writable(path: str | os.PathLike[str]) -> None:
    """Refuse, in one line, a target a writer must not touch (before any other check, so
    the user learns first that no run can write there)."""
    filename = store_path(path)
    kind = layout_of(filename)
    if kind == "file":
        raise LandscapeError(
            f"{filename} is a single-file store (schema 1, or an export), which opens read-only; "
            f"`landscape upgrade {filename}` turns it into a store folder"
        )
    if os.path.isdir(filename) and kind is None and not unfinished_folder(filename):
        raise LandscapeError(f"{filename} is a folder that is not a landscape store; choose another name")
    outer = enclosing_store(filename)
    if outer is not None:
        raise LandscapeError(f"{filename} lies inside the store {outer}, whose folder holds only what its own "
                             "writers made; choose a name outside it")


def _begin(filename: str, *, create: bool) -> FolderTree:
    index = os.path.join(filename, INDEX)
    for name in (filename, os.path.join(filename, UNITS), index):
        if os.path.exists(name) and not os.access(name, os.W_OK):  # SQLite would say less
            raise LandscapeError(f"cannot write store {filename}: Permission denied ({name})")
    try:
        return FolderTree(filename, write=True, create=create)
    except LandscapeError:
        raise
    except Exception as exc:  # sqlite3.Error, OSError
        raise LandscapeError(f"cannot write store {filename}: {one_line(exc)}") from exc


# ---------------------------------------------------------------------------------------
class Store:
    """A landscape store, open for reading (`Store.open`) or in a write transaction.

    Writers (`Store.create`, `Store.write`) hold one transaction; `commit()` (or leaving
    a `with` block normally) makes it durable at once, while an exception in the block,
    `abort()` or `close()` discards every change.  Readers see the store as it was when
    they opened it, while writers commit.
    """

    def __init__(self, root: Any, filename: str, *, tree: FolderTree | None = None,
                 writable: bool = False, compression: str | None = None, created: bool = False):
        """Internal: use `Store.open`, `Store.create` or `Store.write`."""
        self._file: Any = root
        self._tree = tree
        self.filename = filename
        self._writable = writable
        self._compression = compression
        self._created = created  # this transaction made the folder: abort removes it
        self._failed: str | None = None  # set by a failed write: commit must refuse

    # opening --------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Store:
        """Open an existing store read-only; one-line LandscapeError when unusable."""
        filename = store_path(path)
        root, tree = open_reader(filename)
        return cls(root, filename, tree=tree)

    @classmethod
    def create(cls, path: str | os.PathLike[str], potential_description: Mapping[str, Any], *,
               overwrite: bool = False, compression: str | None = None) -> Store:
        """Start a transaction that writes a new store (or replaces one with `overwrite`)."""
        filename = store_path(path)
        _check_compression(compression)
        if overwrite and layout_of(filename) == "file" and is_store(filename):
            _remove_file(filename)  # replacing a single-file store by a folder, as asked
        check_writable(filename)
        if layout_of(filename) == "folder" and not overwrite and not unfinished_folder(filename):
            raise LandscapeError(f"store {filename} already exists; pass overwrite=True to replace it")
        created = not os.path.exists(filename)
        try:
            if created:
                os.mkdir(filename)
            tree = _begin(filename, create=True)
        except BaseException as exc:
            if created:
                shutil.rmtree(filename, ignore_errors=True)
            if isinstance(exc, OSError):
                raise LandscapeError(f"cannot write store {filename}: {one_line(exc)}") from exc
            raise
        store = cls(tree.root(), filename, tree=tree, writable=True, compression=compression, created=created)
        try:
            tree.clear()
            tree.create_group("")
            stamp = now()
            set_attrs(store._file, {"format": FORMAT, "schema_version": SCHEMA_VERSION, "created": stamp,
                                    "modified": stamp, "library_versions": dumps(library_versions())})
            store._file.create_group("potential").attrs["description"] = dumps(dict(potential_description))
            _write_readme(filename)
        except BaseException as exc:
            store.abort()
            if isinstance(exc, TypeError):
                raise LandscapeError(f"cannot store the potential description: {one_line(exc)}") from exc
            if isinstance(exc, OSError):
                raise LandscapeError(f"cannot write store {filename}: {one_line(exc)}") from exc
            raise
        return store

    @classmethod
    def write(cls, path: str | os.PathLike[str], *, compression: str | None = None) -> Store:
        """Start a transaction on an existing store: its writes commit together or not at all."""
        filename = store_path(path)
        _check_compression(compression)
        check_writable(filename)
        if layout_of(filename) is None:
            raise LandscapeError(f"store {filename} does not exist; create it with Store.create")
        root, tree = open_reader(filename)  # never build on a damaged or newer store
        try:
            foreign = tree.foreign_units() if tree is not None else []
        finally:
            (tree or root).close()
        if foreign:
            raise LandscapeError(f"store {filename} is damaged: its index names {foreign[0]!r} as a unit, which is "
                                 "not a file of its units/ folder; `landscape inspect --check` lists the damage")
        tree = _begin(filename, create=False)
        return cls(tree.root(), filename, tree=tree, writable=True, compression=compression)

    # transaction ----------------------------------------------------------------------
    @property
    def writable(self) -> bool:
        return self._writable and self._file is not None

    def commit(self) -> None:
        """Make the transaction durable; the store is closed afterwards."""
        self._require_writable()
        if self._failed is not None:
            message = self._failed
            self.abort()
            raise LandscapeError(f"{message}; the transaction was discarded and the store is unchanged")
        tree = self._tree
        assert tree is not None
        self._file = None
        try:
            tree.root().attrs["modified"] = now()
            tree.commit()
        except BaseException as exc:
            tree.abort()
            self._remove_if_created()
            if isinstance(exc, Exception) and not isinstance(exc, LandscapeError):
                raise LandscapeError(f"cannot write store {self.filename}: {one_line(exc)}; "
                                     "the store is unchanged") from exc
            raise

    def abort(self) -> None:
        """Discard the transaction (or close a reader): the store stays as it was."""
        if self._tree is not None:
            self._tree.abort()
        elif self._file is not None:
            _close_quietly(self._file)
        was_open = self._file is not None
        self._file = None
        if was_open and self._writable:
            self._remove_if_created()

    def _remove_if_created(self) -> None:
        if self._created:  # nothing was committed in a folder this transaction made
            shutil.rmtree(self.filename, ignore_errors=True)
            self._created = False

    def close(self) -> None:
        """Close a reader; a writer that was not committed is aborted."""
        self.abort()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None and self.writable:
            self.commit()
        else:
            self.abort()

    def __del__(self) -> None:
        # A forgotten writer must not hold the index's write lock or leave units behind.
        try:
            self.abort()
        except Exception:
            pass

    def __repr__(self) -> str:
        mode = "write" if self.writable else ("read" if self._file is not None else "closed")
        return f"Store({self.filename!r}, {mode})"

    def _require_open(self) -> None:
        if self._file is None:
            raise LandscapeError(f"store {self.filename} is closed")

    def _require_writable(self) -> None:
        self._require_open()
        if not self._writable:
            raise LandscapeError(f"store {self.filename} is open read-only; use Store.write to change it")

    @property
    def _f(self) -> Any:
        self._require_open()
        return self._file

    @property
    def layout(self) -> str:
        """'folder', or 'file' for a single-file store (schema 1 or an export)."""
        return "folder" if self._tree is not None else "file"

    # root and potential -----------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return int(self._f.attrs["schema_version"])

    @property
    @_reporting("read the potential description")
    def potential_description(self) -> dict[str, Any]:
        description = json.loads(self._f["potential"].attrs["description"])
        if not isinstance(description, dict):  # every reader takes it as a mapping
            raise ValueError(f"it is a JSON {type(description).__name__}, not an object")
        return description

    # minima -----------------------------------------------------------------------------
    @_reporting("write minima", writes=True)
    def write_minima(self, coords: Any, energies: Any, names: Sequence[str], *,
                     metadata: Mapping[str, Any] | None = None) -> None:
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

    @_reporting("read minima")
    def read_minima(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(coords (m, dim), energies (m,), names) as stored."""
        g = self._f.get("minima")
        if g is None:
            raise LandscapeError(f"store {self.filename} holds no minima")
        return g["coords"][()], g["energies"][()], [str(n) for n in g["names"].asstr()[()]]

    @_reporting("read minima metadata")
    def minima_metadata(self) -> dict[str, Any]:
        g = self._f.get("minima")
        return {} if g is None else json.loads(g.attrs.get("metadata", "{}"))

    # paths ------------------------------------------------------------------------------
    def path_names(self) -> list[str]:
        """Names of the stored paths, sorted."""
        self._require_open()
        return sorted(self._f.get("paths", {}))

    @_reporting("write path", writes=True)
    def write_result(self, name: str, result: Result, start: str | int | None = None,
                     end: str | int | None = None, extra_attrs: Mapping[str, Any] | None = None, *,
                     seed: int | None = None) -> None:
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

    @_reporting("append cycle", writes=True)
    def append_cycle(self, name: str, record: CycleRecord, *, start: str | int | None = None,
                     end: str | int | None = None, config: Mapping[str, Any] | None = None) -> None:
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

    def _new_running_path(self, paths: Any, name: str, start: Any, end: Any,
                          config: Mapping[str, Any] | None, message: str = "AutoNEB cycles in progress") -> None:
        g = paths.create_group(name)
        g.create_dataset("history", data=np.zeros(0))
        attrs = {"status": Status.RUNNING.value, "message": message, "nit": 0,
                 "nfev": 0, "config": dict(config or {})}
        attrs.update({k: v for k, v in {"start": start, "end": end}.items() if v is not None})
        set_attrs(g, attrs)

    def _write_cycle(self, cycles: Any, record: CycleRecord,
                     stored: tuple[dict[str, Any], dict[str, Any]] | None = None) -> Any:
        attrs = {"index": int(record.index), "steps": int(record.steps), "lr": float(record.lr),
                 "climb": bool(record.climb), "nfev": int(record.nfev), **samples_attrs(record.samples)}
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

    @_reporting("write a verdict", writes=True)
    def set_status(self, name: str, status: Status, message: str) -> None:
        """Replace the status and message of finished path `name`, nothing else: a verdict
        reached after the run (a climber whose Hessian is not index 1 is no saddle)."""
        self._require_writable()
        g = self._path_group(name)
        g.attrs.update({"status": Status(status).value, "message": str(message)})

    @_reporting("delete path", writes=True)
    def delete_path(self, name: str) -> None:
        """Remove /paths/<name> with its cycles and checkpoint."""
        self._require_writable()
        self._path_group(name)  # a one-line error naming the paths when it is not there
        self._delete(f"paths/{name}")

    @_reporting("read path")
    def read_result(self, name: str) -> Result:
        """The stored Result (with `state=None`): arrays come back with their dtypes."""
        g = self._path_group(name)
        a = g.attrs
        status = decode(a["status"])
        try:
            status = Status(status)
        except ValueError:
            raise LandscapeError(f"store {self.filename}: path {name!r} has unknown status {status!r}") from None
        return Result(
            path=read_path(g), status=status, message=str(decode(a["message"])),
            nit=int(a["nit"]), nfev=int(a["nfev"]), history=g["history"][()],
            profile=read_profile(g), climbing=bool(a.get("climbing", False)),
            cycles=tuple(read_cycle(c) for c in cycle_groups(g)),
            config=json.loads(a["config"]), state=None, samples=read_samples(a),
        )

    @_reporting("write progress", writes=True)
    def write_progress(self, name: str, arrays: Mapping[str, Any], attrs: Mapping[str, Any], *,
                       nit: int, nfev: int, climbing: bool, start: str | int | None = None,
                       end: str | int | None = None, config: Mapping[str, Any] | None = None) -> None:
        """Commit a running path's state mid-run: the checkpoint (`arrays`, which hold
        the current "pivots" and "energies", and `attrs`), and the path's pivots,
        energies and counters, which are the checkpoint's arrays, shared, not copied.
        A missing path is created with status "running"."""
        self._require_writable()
        check_name(name, "path name")
        validate_json({"config": dict(config or {})}, f"config of path {name!r}")
        paths = self._f.require_group("paths")
        if name not in paths:
            self._new_running_path(paths, name, start, end, config, "in progress")
        g = paths[name]
        status = decode(g.attrs.get("status"))
        if status != Status.RUNNING.value:
            raise LandscapeError(f"path {name!r} is finished (status {status}); write_result replaces it")
        self.write_checkpoint(name, arrays, attrs)
        c = g["checkpoint"]
        for key in ("pivots", "energies", "profile"):
            self._delete(f"paths/{name}/{key}")
        g.link("pivots", c, "pivots")
        g.link("energies", c, "energies")
        energies = np.asarray(arrays["energies"])
        g.attrs.update({"nit": int(nit), "nfev": int(nfev), "climbing": bool(climbing),
                        "saddle_energy": float(energies.max()), "upper_bound": float(energies.max()),
                        "saddle_index": int(np.argmax(energies))})

    def write_checkpoint(self, name: str, arrays: Mapping[str, Any], attrs: Mapping[str, Any]) -> None:
        """Store (replacing) what a run needs to resume path `name`, under
        /paths/<name>/checkpoint: the arrays (e.g. the next cycle's starting pivots)
        and JSON-able attributes (cycle index, counts, settings)."""
        self._require_writable()
        g = self._path_group(name)
        self._delete(f"paths/{name}/checkpoint")
        c = g.create_group("checkpoint")
        for key, value in arrays.items():
            c.create_dataset(check_name(key, "array name"), data=to_numpy(value))
        validate_json(dict(attrs), f"checkpoint of path {name!r}")
        set_attrs(c, dict(attrs))

    def read_checkpoint(self, name: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """(arrays, attrs) of the checkpoint of path `name`, or None when it has none."""
        g = self._path_group(name)
        c = g.get("checkpoint")
        if not is_group(c):
            return None
        return {k: v[()] for k, v in c.items() if isinstance(v, h5py.Dataset)}, get_attrs(c)

    @_reporting("read path")
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
    @_reporting("write group", writes=True)
    def write_array_group(self, name: str, arrays: Mapping[str, Any],
                          attrs: Mapping[str, Any] | None = None) -> None:
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

    @_reporting("read group")
    def read_array_group(self, name: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(arrays, attrs) of a group written by `write_array_group`."""
        g = self._f.get(name)
        if not is_group(g):
            raise LandscapeError(f"store {self.filename} has no group {name!r}")
        return {k: v[()] for k, v in g.items() if isinstance(v, h5py.Dataset)}, get_attrs(g)

    def _delete(self, name: str) -> None:
        if name in self._f:
            del self._f[name]

    # summaries --------------------------------------------------------------------------
    @_reporting("describe")
    def describe(self) -> dict[str, Any]:
        """A JSON-able summary: schema, potential, minima, paths (sorted list) with saddles and status."""
        root = get_attrs(self._f)
        minima = self._f.get("minima")
        names = [str(n) for n in minima["names"].asstr()[()]] if minima is not None else []
        keep = ("name", "start", "end", "status", "message", "saddle_energy", "upper_bound", "saddle_index",
                "climbing", "n_pivots", "dim", "nit", "nfev", "samples_gradient", "samples_forward", "cycles", "seed")
        paths = []
        for name in self.path_names():
            info = self.path_info(name)
            paths.append({k: info[k] for k in (*keep, *info.get("extras", ())) if k in info})
        return {
            "filename": self.filename,
            "format": root.get("format"),
            "schema_version": root.get("schema_version"),
            "created": root.get("created"),
            "modified": root.get("modified"),
            "library_versions": json.loads(root.get("library_versions", "{}")),
            "potential": self.potential_description,
            "minima": {"count": len(names), "names": names},
            "paths": paths,
            "groups": sorted(k for k in self._f if k not in RESERVED_GROUPS),
        }

    def check(self) -> list[str]:
        """Integrity problems, one line each; an empty list when the store is sound."""
        self._require_open()
        problems = check_store(self._f, self.path_names())
        if self._tree is not None:
            problems += self._tree.missing_units() + self._tree.orphan_rows()
        return problems


def _close_quietly(file: Any) -> None:
    try:
        file.close()
    except Exception:
        pass


def _write_readme(folder: str) -> None:
    name = os.path.join(folder, "README.txt")
    if not os.path.exists(name):
        with open(name, "w", encoding="utf-8") as fh:
            fh.write(_README)


def _remove_file(filename: str) -> None:
    try:
        os.remove(filename)
    except OSError as exc:
        raise LandscapeError(f"cannot replace store {filename}: {one_line(exc)}") from exc


def remove_store(path: str | os.PathLike[str]) -> None:
    """Delete the store at `path` (a folder of ours, or a single-file store); a folder
    holding anything else is left alone."""
    filename = store_path(path)
    if layout_of(filename) == "file":
        _remove_file(filename)
    elif os.path.isdir(filename) and set(os.listdir(filename)) <= OURS:
        shutil.rmtree(filename, ignore_errors=True)
