"""The HDF5 store: a versioned, self-describing tree of minima, paths and AutoNEB cycles.

Layout, schema version 1 (readable with plain h5py; JSON attributes are UTF-8 strings)::

    /                     attrs: format="landscape", schema_version=1, created, modified
                                 (ISO 8601 UTC), library_versions (JSON)
    /potential            attrs: description (JSON of Potential.describe())
    /minima               coords (m, dim), energies (m,), names (m,) UTF-8
                          attrs: metadata (JSON)
    /paths/<name>         pivots (N+2, dim) row-chunked, energies (N+2,), history (steps,)
                          attrs: status, message, nit, nfev, config (JSON), climbing,
                                 saddle_energy (Result.saddle_energy), upper_bound,
                                 saddle_index, and when given start, end, seed, bn_mode, extras
    /paths/<name>/profile t, energies, is_pivot (the final energy profile, when computed)
    /paths/<name>/cycles/<k>   (k zero-padded to 6 digits, so lexical order is cycle order)
                          pivots, energies, dense_t, dense_energies, residuals, inserted
                          attrs: index, steps, lr, climb, nfev, saddle_energy
    /<group>              generic array groups (e.g. /graph) via write_array_group

An attribute that is not a plain str/int/float/bool is stored as JSON and its name is
listed in the group's `json_attrs` attribute, so reading it back is unambiguous.

Crash safety: a writer works on a temporary sibling copy ``.<name>.tmp-<pid>-<n>`` that
is flushed, fsync'ed and atomically renamed onto the target on commit, so a crash at any
moment leaves either the old or the new complete file.  One writer at a time: a commit
refuses (and writes nothing) when the target changed since its transaction began.
"""
from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from enum import Enum
from types import TracebackType
from typing import Any, TypeVar

import h5py
import numpy as np

from .climber import climber_energy
from .errors import LandscapeError
from .files import store_file
from .path import Path, Profile, to_numpy
from .result import CycleRecord, Result, Status

__all__ = ["SCHEMA_VERSION", "FORMAT", "Store"]

#: Schema version written by this library; stores with a higher one are refused.
SCHEMA_VERSION = 1
#: Value of the root `format` attribute that marks a landscape store.
FORMAT = "landscape"

# HDF5 1.8 format or newer (large attributes) but nothing newer than 1.10 readers know.
_LIBVER = ("v108", "v110")
# Target bytes per pivot chunk: one row for network-sized dims, many rows for small ones.
_CHUNK_BYTES = 1 << 20
_CYCLE_DIGITS = 6
_COMPRESSIONS = (None, "gzip", "lzf")
_PATH_ATTRS = frozenset(
    {"status", "message", "nit", "nfev", "config", "climbing", "saddle_energy", "saddle_index",
     "upper_bound", "start", "end", "seed", "bn_mode", "json_attrs"}
)
_CYCLE_ARRAYS = ("dense_t", "dense_energies", "residuals", "inserted")
_PROFILE_ARRAYS = ("t", "energies", "is_pivot")
_CYCLE_ATTRS = ("index", "steps", "lr", "climb", "nfev")
_RESERVED_GROUPS = frozenset({"potential", "minima", "paths"})
_temp_counter = itertools.count()

F = TypeVar("F", bound=Callable[..., Any])


# ---------------------------------------------------------------------------------------
# small helpers
def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _now() -> str:
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


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, sort_keys=True)


def _decode(value: Any) -> Any:
    """A plain Python value from an h5py attribute."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _set_attrs(obj: h5py.HLObject, attrs: Mapping[str, Any]) -> None:
    """Store scalars natively and anything else as JSON listed in `json_attrs`."""
    as_json = set(json.loads(obj.attrs.get("json_attrs", "[]")))
    for key, value in attrs.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (str, bool, int, float)):
            obj.attrs[key] = value
            as_json.discard(key)
        else:
            obj.attrs[key] = _dumps(value)
            as_json.add(key)
    if as_json:
        obj.attrs["json_attrs"] = _dumps(sorted(as_json))


def _get_attrs(obj: h5py.HLObject) -> dict[str, Any]:
    as_json = set(json.loads(obj.attrs.get("json_attrs", "[]")))
    out = {}
    for key, value in obj.attrs.items():
        if key != "json_attrs":
            value = _decode(value)
            out[key] = json.loads(value) if key in as_json else value
    return out


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise LandscapeError(f"invalid {what} {name!r}: use a non-empty name without '/'")
    return name


def _validate_json(attrs: Mapping[str, Any], what: str) -> None:
    try:
        _dumps({k: v for k, v in attrs.items() if not isinstance(v, (str, bool, int, float, np.generic))})
    except (TypeError, ValueError) as exc:
        raise LandscapeError(f"cannot store the {what}: {_one_line(exc)}") from exc


def _result_attrs(result: Result, start: Any, end: Any, seed: int | None, bn_mode: str | None) -> dict[str, Any]:
    """The attributes of /paths/<name> for `result`; `seed` defaults to config["seed"]."""
    attrs: dict[str, Any] = {
        "status": Status(result.status).value, "message": str(result.message), "nit": int(result.nit),
        "nfev": int(result.nfev), "config": dict(result.config), "climbing": bool(result.climbing),
    }
    if result.path.energies is not None:
        attrs.update(saddle_energy=float(result.saddle_energy), upper_bound=float(result.upper_bound))
    seed = result.config.get("seed") if seed is None else seed
    optional = {"start": start, "end": end, "seed": seed, "bn_mode": bn_mode}
    attrs.update({k: v for k, v in optional.items() if v is not None})
    return attrs


def _write_rows(group: h5py.Group, name: str, array: Any, compression: str | None) -> None:
    """A (rows, dim) dataset chunked by whole rows, so one pivot reads in one chunk."""
    a = to_numpy(array)
    if a.ndim == 2 and a.size > 0:
        rows = max(1, min(a.shape[0], _CHUNK_BYTES // (a.shape[1] * a.itemsize)))
        group.create_dataset(name, data=a, chunks=(rows, a.shape[1]), compression=compression)
    else:
        group.create_dataset(name, data=a)


def _write_path(group: h5py.Group, path: Path, compression: str | None) -> None:
    """Pivots and energies; `saddle_index` too, since it follows from the energies alone."""
    _write_rows(group, "pivots", path.pivots, compression)
    if path.energies is not None:
        energies = to_numpy(path.energies)
        group.create_dataset("energies", data=energies)
        group.attrs["saddle_index"] = int(np.argmax(energies))


def _read_path(group: h5py.Group) -> Path:
    energies = group["energies"][()] if "energies" in group else None
    return Path(group["pivots"][()], energies)


def _cycle_key(index: int) -> str:
    return f"{index:0{_CYCLE_DIGITS}d}"


def _cycle_groups(group: h5py.Group) -> list[h5py.Group]:
    cycles = group.get("cycles")
    if cycles is None:
        return []
    return [cycles[k] for k in sorted(cycles, key=int)]


def _read_profile(group: h5py.Group) -> Profile | None:
    g = group.get("profile")
    return None if g is None else Profile(*(g[k][()] for k in _PROFILE_ARRAYS))


def _read_cycle(group: h5py.Group) -> CycleRecord:
    a = group.attrs
    return CycleRecord(
        index=int(a["index"]), steps=int(a["steps"]), lr=float(a["lr"]), climb=bool(a["climb"]),
        path=_read_path(group), nfev=int(a["nfev"]),
        **{name: group[name][()] for name in _CYCLE_ARRAYS},
    )


def _nonfinite(ds: h5py.Dataset) -> bool:
    """Whether a float dataset holds NaN or inf, read in row blocks to bound memory."""
    if ds.dtype.kind not in "fc" or ds.size == 0:
        return False
    if ds.ndim < 2:
        return not np.all(np.isfinite(ds[()]))
    step = max(1, _CHUNK_BYTES // max(1, ds.shape[1] * ds.dtype.itemsize))
    return any(not np.all(np.isfinite(ds[i:i + step])) for i in range(0, ds.shape[0], step))


def _fingerprint(filename: str) -> tuple[int, ...] | None:
    """Identity and version of a file, to notice a concurrent writer; None when absent."""
    try:
        st = os.stat(filename)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _remove(filename: str | None) -> None:
    if filename:
        try:
            os.remove(filename)
        except OSError:
            pass


def _fsync(filename: str) -> None:
    fd = os.open(filename, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(dirname: str) -> None:
    # Makes the rename durable; some file systems cannot fsync directories: not fatal.
    try:
        _fsync(dirname)
    except OSError:
        pass


def _library_versions() -> dict[str, str]:
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


def _open_existing(filename: str) -> h5py.File:
    """Open a landscape store read-only, or raise a one-line LandscapeError."""
    if not os.path.exists(filename):
        raise LandscapeError(f"store {filename} does not exist")
    if os.path.isdir(filename):
        raise LandscapeError(f"store {filename} is a directory, not a file")
    try:
        with open(filename, "rb"):
            pass
        is_hdf5 = h5py.is_hdf5(filename)
    except OSError as exc:
        raise LandscapeError(f"cannot read store {filename}: {_one_line(exc)}") from exc
    if not is_hdf5:
        raise LandscapeError(f"{filename} is not an HDF5 file, so not a landscape store")
    try:
        f = h5py.File(filename, "r")
    except Exception as exc:  # h5py reports damage as OSError, sometimes others
        raise LandscapeError(f"store {filename} is damaged or truncated ({_one_line(exc)})") from exc
    try:
        _check_version(f, filename)
    except BaseException:
        f.close()
        raise
    return f


def _check_version(f: h5py.File, filename: str) -> None:
    try:
        fmt = _decode(f.attrs.get("format"))
        version = _decode(f.attrs.get("schema_version"))
    except Exception as exc:
        raise LandscapeError(f"store {filename} is damaged ({_one_line(exc)})") from exc
    if fmt != FORMAT:
        raise LandscapeError(f"{filename} is an HDF5 file but not a landscape store (no format='{FORMAT}' attribute)")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise LandscapeError(f"store {filename} has an invalid schema version {version!r}")
    if version > SCHEMA_VERSION:
        raise LandscapeError(
            f"store {filename} has schema version {version}; this landscape reads up to "
            f"{SCHEMA_VERSION} — upgrade landscape"
        )


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
                message = f"store {self.filename}: cannot {action}: {_one_line(exc)}"
                if writes:
                    self._failed = message
                if isinstance(exc, (OSError, KeyError, ValueError, TypeError, RuntimeError)):
                    raise LandscapeError(message) from exc
                raise

        return wrapper  # type: ignore[return-value]

    return decorate


# ---------------------------------------------------------------------------------------
class Store:
    """A landscape HDF5 store, open for reading (`Store.open`) or in a write transaction.

    Writers (`Store.create`, `Store.write`) work on a temporary copy; `commit()` (or
    leaving a `with` block normally) replaces the target atomically, while an exception
    in the block, `abort()` or `close()` discards every change.  Readers are plain
    read-only h5py files and may stay open while a writer commits.
    """

    def __init__(self, file: h5py.File, filename: str, *, temp: str | None = None,
                 baseline: tuple[int, ...] | None = None, compression: str | None = None):
        """Internal: use `Store.open`, `Store.create` or `Store.write`."""
        self._file: h5py.File | None = file
        self.filename = filename
        self._temp = temp
        self._baseline = baseline
        self._compression = compression
        self._deleted = False  # deleting leaves dead space in HDF5: compact on commit
        self._failed: str | None = None  # set by a failed write: commit must refuse

    # opening --------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Store:
        """Open an existing store read-only; one-line LandscapeError when unusable."""
        filename = store_file(path)
        return cls(_open_existing(filename), filename)

    @classmethod
    def create(cls, path: str | os.PathLike[str], potential_description: Mapping[str, Any], *,
               overwrite: bool = False, compression: str | None = None) -> Store:
        """Start a transaction that writes a new store (or replaces one with `overwrite`)."""
        filename = store_file(path)
        _check_compression(compression)
        if os.path.isdir(filename):
            raise LandscapeError(f"cannot create store {filename}: it is a directory")
        if os.path.lexists(filename) and not overwrite:
            raise LandscapeError(f"store {filename} already exists; pass overwrite=True to replace it")
        baseline = _fingerprint(filename)
        temp = _temp_name(filename)
        file = _begin(filename, temp, lambda: h5py.File(temp, "w", libver=_LIBVER))
        store = cls(file, filename, temp=temp, baseline=baseline, compression=compression)
        try:
            now = _now()
            _set_attrs(file, {"format": FORMAT, "schema_version": SCHEMA_VERSION, "created": now,
                              "modified": now, "library_versions": _dumps(_library_versions())})
            file.create_group("potential").attrs["description"] = _dumps(dict(potential_description))
        except BaseException as exc:
            store.abort()
            if isinstance(exc, TypeError):
                raise LandscapeError(f"cannot store the potential description: {_one_line(exc)}") from exc
            raise
        return store

    @classmethod
    def write(cls, path: str | os.PathLike[str], *, compression: str | None = None) -> Store:
        """Start a transaction on an existing store: all writes land in one atomic replace."""
        filename = store_file(path)
        _check_compression(compression)
        baseline = _fingerprint(filename)
        if baseline is None:
            raise LandscapeError(f"store {filename} does not exist; create it with Store.create")
        _open_existing(filename).close()  # never build on a damaged or newer store

        def copy_and_open() -> h5py.File:
            shutil.copyfile(filename, temp)
            shutil.copymode(filename, temp)
            return h5py.File(temp, "r+", libver=_LIBVER)

        temp = _temp_name(filename)
        return cls(_begin(filename, temp, copy_and_open), filename, temp=temp,
                   baseline=baseline, compression=compression)

    # transaction ----------------------------------------------------------------------
    @property
    def writable(self) -> bool:
        return self._temp is not None and self._file is not None

    def commit(self) -> None:
        """Flush, fsync and atomically replace the target; the store is closed afterwards."""
        self._require_writable()
        if self._failed is not None:
            message = self._failed
            self.abort()
            raise LandscapeError(f"{message}; the transaction was discarded and the previous file is unchanged")
        file, temp = self._file, self._temp
        assert file is not None and temp is not None
        self._file = None
        try:
            file.attrs["modified"] = _now()
            if self._deleted:
                _compact(file, temp)
            else:
                file.flush()
                file.close()
            _fsync(temp)
            if _fingerprint(self.filename) != self._baseline:
                raise LandscapeError(
                    f"store {self.filename} changed on disk during this transaction (another writer?); "
                    "nothing was written"
                )
            os.replace(temp, self.filename)
        except BaseException as exc:
            _close_quietly(file)
            _remove(temp)
            self._temp = None
            if isinstance(exc, Exception) and not isinstance(exc, LandscapeError):
                raise LandscapeError(
                    f"cannot write store {self.filename}: {_one_line(exc)}; the previous file is unchanged"
                ) from exc
            raise
        self._temp = None
        _fsync_dir(os.path.dirname(self.filename))

    def abort(self) -> None:
        """Discard the transaction: the target stays as it was, the temporary file goes."""
        if self._file is not None:
            _close_quietly(self._file)
            self._file = None
        _remove(self._temp)
        self._temp = None

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
        # A forgotten writer must not leave its temporary file behind.
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
        if self._temp is None:
            raise LandscapeError(f"store {self.filename} is open read-only; use Store.write to change it")

    @property
    def _f(self) -> h5py.File:
        self._require_open()
        assert self._file is not None
        return self._file

    # root and potential -----------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return int(self._f.attrs["schema_version"])

    @property
    @_reporting("read the potential description")
    def potential_description(self) -> dict[str, Any]:
        return json.loads(self._f["potential"].attrs["description"])

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
        _write_rows(g, "coords", coords, self._compression)
        g.create_dataset("energies", data=energies)
        g.create_dataset("names", data=np.array(names, dtype=object), dtype=h5py.string_dtype("utf-8"))
        _set_attrs(g, {"metadata": _dumps(dict(metadata or {}))})

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
                     seed: int | None = None, bn_mode: str | None = None) -> None:
        """Store `result` as /paths/<name>, replacing a path of that name.

        `start`/`end` name (or index) the minima it joins; `seed` defaults to
        ``result.config["seed"]``; `extra_attrs` are further attributes.  The optimizer
        `state` is not stored.
        """
        self._require_writable()
        _check_name(name, "path name")
        extra = dict(extra_attrs or {})
        clash = sorted(_PATH_ATTRS & extra.keys())
        if clash:
            raise LandscapeError(f"extra_attrs may not use reserved names: {', '.join(clash)}")
        attrs = {**_result_attrs(result, start, end, seed, bn_mode), **extra}
        _validate_json(attrs, f"attributes of path {name!r}")  # fail before writing anything
        paths = self._f.require_group("paths")
        self._delete(f"paths/{name}")
        g = paths.create_group(name)
        _write_path(g, result.path, self._compression)
        g.create_dataset("history", data=to_numpy(result.history))
        if result.profile is not None:
            p = g.create_group("profile")
            for key in _PROFILE_ARRAYS:
                p.create_dataset(key, data=to_numpy(getattr(result.profile, key)))
        _set_attrs(g, attrs)
        cycles = g.create_group("cycles")
        for record in result.cycles:
            self._write_cycle(cycles, record)

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
        _check_name(name, "path name")
        _validate_json({"config": dict(config or {})}, f"config of path {name!r}")
        paths = self._f.require_group("paths")
        if name not in paths:
            self._new_running_path(paths, name, start, end, config)
        g = paths[name]
        status = _decode(g.attrs.get("status"))
        if status != Status.RUNNING.value:
            raise LandscapeError(f"path {name!r} is finished (status {status}); write_result replaces it")
        cycles = g.require_group("cycles")
        if _cycle_key(record.index) in cycles:
            raise LandscapeError(f"path {name!r} already has cycle {record.index}")
        self._write_cycle(cycles, record)
        for key in ("pivots", "energies", "profile"):
            self._delete(f"paths/{name}/{key}")
        _write_path(g, record.path, self._compression)
        for key in ("saddle_energy", "upper_bound"):  # pivots only: a running path has no profile
            if record.path.energies is not None:
                g.attrs[key] = float(record.path.saddle_energy)
            elif key in g.attrs:
                del g.attrs[key]
        g.attrs["climbing"] = bool(record.climb)
        g.attrs["nit"] = int(g.attrs["nit"]) + int(record.steps)
        g.attrs["nfev"] = int(record.nfev)  # a record counts evaluations since the run began

    def _new_running_path(self, paths: h5py.Group, name: str, start: Any, end: Any,
                          config: Mapping[str, Any] | None) -> None:
        g = paths.create_group(name)
        g.create_dataset("history", data=np.zeros(0))
        attrs = {"status": Status.RUNNING.value, "message": "AutoNEB cycles in progress", "nit": 0,
                 "nfev": 0, "config": dict(config or {})}
        attrs.update({k: v for k, v in {"start": start, "end": end}.items() if v is not None})
        _set_attrs(g, attrs)

    def _write_cycle(self, cycles: h5py.Group, record: CycleRecord) -> None:
        c = cycles.create_group(_cycle_key(int(record.index)))
        _write_path(c, record.path, self._compression)
        for key in _CYCLE_ARRAYS:
            c.create_dataset(key, data=to_numpy(getattr(record, key)))
        c.attrs.update({"index": int(record.index), "steps": int(record.steps), "lr": float(record.lr),
                        "climb": bool(record.climb), "nfev": int(record.nfev)})
        if record.path.energies is not None:
            c.attrs["saddle_energy"] = float(record.saddle_energy)

    @_reporting("read path")
    def read_result(self, name: str) -> Result:
        """The stored Result (with `state=None`): arrays come back with their dtypes."""
        g = self._path_group(name)
        a = g.attrs
        status = _decode(a["status"])
        try:
            status = Status(status)
        except ValueError:
            raise LandscapeError(f"store {self.filename}: path {name!r} has unknown status {status!r}") from None
        return Result(
            path=_read_path(g), status=status, message=str(_decode(a["message"])),
            nit=int(a["nit"]), nfev=int(a["nfev"]), history=g["history"][()],
            profile=_read_profile(g), climbing=bool(a.get("climbing", False)),
            cycles=tuple(_read_cycle(c) for c in _cycle_groups(g)),
            config=json.loads(a["config"]), state=None,
        )

    def write_checkpoint(self, name: str, arrays: Mapping[str, Any], attrs: Mapping[str, Any]) -> None:
        """Store (replacing) what a run needs to resume path `name`, under
        /paths/<name>/checkpoint: the arrays (e.g. the next cycle's starting pivots)
        and JSON-able attributes (cycle index, counts, settings)."""
        self._require_writable()
        g = self._path_group(name)
        self._delete(f"paths/{name}/checkpoint")
        c = g.create_group("checkpoint")
        for key, value in arrays.items():
            c.create_dataset(_check_name(key, "array name"), data=to_numpy(value))
        _validate_json(dict(attrs), f"checkpoint of path {name!r}")
        _set_attrs(c, dict(attrs))

    def read_checkpoint(self, name: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """(arrays, attrs) of the checkpoint of path `name`, or None when it has none."""
        g = self._path_group(name)
        c = g.get("checkpoint")
        if not isinstance(c, h5py.Group):
            return None
        return {k: v[()] for k, v in c.items() if isinstance(v, h5py.Dataset)}, _get_attrs(c)

    @_reporting("read path")
    def path_info(self, name: str) -> dict[str, Any]:
        """Attributes and shapes of one path, without reading its arrays."""
        g = self._path_group(name)
        info = {k: v for k, v in _get_attrs(g).items() if k != "config"}
        info["config"] = json.loads(g.attrs.get("config", "{}"))
        n, dim = g["pivots"].shape if "pivots" in g else (0, 0)
        info.update(name=name, n_pivots=int(n), dim=int(dim), cycles=len(_cycle_groups(g)))
        return info

    def _path_group(self, name: str) -> h5py.Group:
        g = self._f.get("paths", {}).get(name)
        if not isinstance(g, h5py.Group):
            known = ", ".join(self.path_names()) or "none"
            raise LandscapeError(f"store {self.filename} has no path {name!r} (paths: {known})")
        return g

    # generic groups ---------------------------------------------------------------------
    @_reporting("write group", writes=True)
    def write_array_group(self, name: str, arrays: Mapping[str, Any],
                          attrs: Mapping[str, Any] | None = None) -> None:
        """Store (replacing) a top-level group of named arrays and attributes, e.g. /graph."""
        self._require_writable()
        if _check_name(name, "group name") in _RESERVED_GROUPS:
            raise LandscapeError(f"group name {name!r} is reserved by the store layout")
        for key in arrays:
            _check_name(key, "array name")
        self._delete(name)
        g = self._f.create_group(name)
        for key, value in arrays.items():
            g.create_dataset(key, data=to_numpy(value))
        _set_attrs(g, dict(attrs or {}))

    @_reporting("read group")
    def read_array_group(self, name: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(arrays, attrs) of a group written by `write_array_group`."""
        g = self._f.get(name)
        if not isinstance(g, h5py.Group):
            raise LandscapeError(f"store {self.filename} has no group {name!r}")
        return {k: v[()] for k, v in g.items() if isinstance(v, h5py.Dataset)}, _get_attrs(g)

    def _delete(self, name: str) -> None:
        if name in self._f:
            del self._f[name]
            self._deleted = True

    # summaries --------------------------------------------------------------------------
    @_reporting("describe")
    def describe(self) -> dict[str, Any]:
        """A JSON-able summary: schema, potential, minima, paths (sorted list) with saddles and status."""
        root = _get_attrs(self._f)
        minima = self._f.get("minima")
        names = [str(n) for n in minima["names"].asstr()[()]] if minima is not None else []
        keep = ("name", "start", "end", "status", "message", "saddle_energy", "upper_bound", "saddle_index",
                "climbing", "n_pivots", "dim", "nit", "nfev", "cycles", "seed", "bn_mode")
        paths = []
        for name in self.path_names():
            info = self.path_info(name)
            paths.append({k: info[k] for k in keep if k in info})
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
            "groups": sorted(k for k in self._f if k not in _RESERVED_GROUPS),
        }

    def check(self) -> list[str]:
        """Integrity problems, one line each; an empty list when the store is sound."""
        self._require_open()
        problems: list[str] = []
        for where, fn in [("/", _check_root), ("/potential", _check_potential), ("/minima", _check_minima)]:
            _collect(problems, where, fn, self._f)
        minima_names = _minima_names(self._f)
        for name in self.path_names():
            _collect(problems, f"/paths/{name}", _check_path, self._f["paths"][name], minima_names)
        return problems


# ---------------------------------------------------------------------------------------
# transaction internals
def _check_compression(compression: str | None) -> None:
    if compression not in _COMPRESSIONS:
        raise LandscapeError(f"unknown compression {compression!r}; use one of {_COMPRESSIONS}")


def _temp_name(filename: str) -> str:
    head, tail = os.path.split(filename)
    return os.path.join(head, f".{tail}.tmp-{os.getpid()}-{next(_temp_counter)}")


def _begin(filename: str, temp: str, opener: Callable[[], h5py.File]) -> h5py.File:
    """Open the temporary file of a transaction; one-line error and no leftovers on failure."""
    try:
        return opener()
    except BaseException as exc:
        _remove(temp)
        if isinstance(exc, Exception):
            raise LandscapeError(f"cannot write store {filename}: {_one_line(exc)}") from exc
        raise


def _close_quietly(file: h5py.File) -> None:
    try:
        file.close()
    except Exception:
        pass


def _compact(file: h5py.File, temp: str) -> None:
    """Rewrite `temp` without the dead space that deleted objects leave in HDF5 files."""
    compact = temp + "-compact"
    try:
        with h5py.File(compact, "w", libver=_LIBVER) as out:
            for key, value in file.attrs.items():
                out.attrs[key] = value
            for key in file:
                file.copy(file[key], out, name=key)
        file.close()
        os.replace(compact, temp)
    except BaseException:
        _remove(compact)
        raise


# ---------------------------------------------------------------------------------------
# integrity checks: each returns problems relative to its object
def _collect(problems: list[str], where: str, fn: Callable[..., list[str]], *args: Any) -> None:
    try:
        problems.extend(f"{where}: {p}" for p in fn(*args))
    except Exception as exc:  # a check must report, never raise
        problems.append(f"{where}: unreadable ({_one_line(exc)})")


def _missing(obj: h5py.HLObject, names: Sequence[str], kind: str) -> list[str]:
    have = obj.attrs if kind == "attribute" else obj
    return [f"missing {kind} {n!r}" for n in names if n not in have]


def _check_root(f: h5py.File) -> list[str]:
    problems = _missing(f, ("format", "schema_version", "created", "library_versions"), "attribute")
    if "library_versions" in f.attrs:
        json.loads(f.attrs["library_versions"])
    return problems


def _check_potential(f: h5py.File) -> list[str]:
    if "potential" not in f:
        return ["missing group"]
    problems = _missing(f["potential"], ("description",), "attribute")
    if not problems and not isinstance(json.loads(f["potential"].attrs["description"]), dict):
        problems.append("description is not a JSON object")
    return problems


def _check_minima(f: h5py.File) -> list[str]:
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
    problems += [f"{k} contain NaN or inf" for k in ("coords", "energies") if _nonfinite(g[k])]
    return problems


def _minima_names(f: h5py.File) -> list[str] | None:
    try:
        return [str(n) for n in f["minima"]["names"].asstr()[()]]
    except Exception:
        return None


def _check_arrays(g: h5py.Group, dim: int | None, extra_energies: Sequence[str] = (),
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
    if _nonfinite(p):
        problems.append("pivots contain NaN or inf")
    if "energies" in g:
        e = g["energies"]
        if e.shape != (p.shape[0],):
            problems.append(f"energies of shape {e.shape} do not match {p.shape[0]} pivots")
        elif _nonfinite(e):
            problems.append("energies contain NaN or inf")
        elif "saddle_energy" in g.attrs:
            highest = max([float(np.max(e[()]))] + [float(np.max(g[k][()], initial=-np.inf))
                                                    for k in extra_energies if k in g])
            # a climbing image at the top of its path reports its own energy
            climber = climber_energy(e[()]) if climbing else highest
            if float(g.attrs["saddle_energy"]) not in (highest, climber):
                problems.append("saddle_energy does not match the stored energies")
    return problems


def _check_path(g: h5py.Group, minima_names: list[str] | None) -> list[str]:
    problems = _missing(g, ("status", "message", "nit", "nfev", "config"), "attribute")
    problems += _missing(g, ("pivots", "history"), "dataset")
    if "status" in g.attrs and _decode(g.attrs["status"]) not in {s.value for s in Status}:
        problems.append(f"unknown status {_decode(g.attrs['status'])!r}")
    if "config" in g.attrs:
        json.loads(g.attrs["config"])
    for key in ("start", "end"):
        problems += _check_endpoint(key, _decode(g.attrs.get(key)), minima_names)
    if "history" in g and isinstance(g["history"], h5py.Dataset) and _nonfinite(g["history"]):
        problems.append("history contains NaN or inf")
    climbing = bool(_decode(g.attrs.get("climbing", False)))
    problems += [p for p in _check_arrays(g, None, ("profile/energies",), climbing) if not p.startswith("missing")]
    if "profile" in g:
        problems += [f"profile: {p}" for p in _check_profile(g["profile"])]
    dim = g["pivots"].shape[1] if "pivots" in g and g["pivots"].ndim == 2 else None
    for c in _cycle_groups(g):
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


def _check_profile(p: h5py.Group) -> list[str]:
    problems = _missing(p, _PROFILE_ARRAYS, "dataset")
    shapes = {p[k].shape for k in _PROFILE_ARRAYS if k in p}
    if len(shapes) > 1:
        problems.append(f"t, energies and is_pivot differ in shape: {sorted(shapes)}")
    return problems


def _check_cycle(c: h5py.Group, dim: int | None) -> list[str]:
    problems = _missing(c, _CYCLE_ATTRS, "attribute") + _missing(c, _CYCLE_ARRAYS, "dataset")
    problems += _check_arrays(c, dim, ("dense_energies",))
    if "dense_t" in c and "dense_energies" in c and c["dense_t"].shape != c["dense_energies"].shape:
        problems.append(f"dense_t {c['dense_t'].shape} and dense_energies {c['dense_energies'].shape} differ")
    return problems

