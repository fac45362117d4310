"""The landscape store: a versioned, self-describing tree of minima, paths and AutoNEB cycles.

A store is a folder (`landscape.store.tree`): an SQLite index of groups and attributes
and one immutable HDF5 file per group written in a transaction, so a commit costs what
it writes and kill -9 at any instant leaves every committed unit intact.  The layout of
groups, arrays and attributes is `landscape.store.layout`.  A single HDF5 file in the
same layout (`landscape export`, or a schema-1 store from before the folder) opens
read-only; `landscape upgrade` turns a schema-1 file into a folder.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import store_path
from landscape.store.check import check_store
from landscape.store.codec import dumps, get_attrs, library_versions, now, one_line, set_attrs
from landscape.store.layout import FORMAT, RESERVED_GROUPS, SCHEMA_VERSION
from landscape.store.opening import (
    check_writable,
    is_store,
    layout_of,
    open_reader,
    remove_file,
    remove_store,
    unfinished_folder,
    write_readme,
)
from landscape.store.records import reporting
from landscape.store.running import RunningRecords
from landscape.store.tree import INDEX, UNITS, FolderTree

# check_writable and remove_store live in landscape.store.opening; named here too, where they were first.
__all__ = ["Store", "remove_store", "check_writable"]

_COMPRESSIONS = (None, "gzip", "lzf")


def _check_compression(compression: str | None) -> None:
    if compression not in _COMPRESSIONS:
        raise LandscapeError(f"unknown compression {compression!r}; use one of {_COMPRESSIONS}")


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


class Store(RunningRecords):
    """A landscape store, open for reading (`Store.open`) or in a write transaction.

    Writers (`Store.create`, `Store.write`) hold one transaction; `commit()` (or leaving
    a `with` block normally) makes it durable at once, while an exception in the block,
    `abort()` or `close()` discards every change.  Readers see the store as it was when
    they opened it, while writers commit.  Its minima, paths and array groups are
    `Records` (`landscape.store.records`).
    """

    def __init__(
        self,
        root: Any,
        filename: str,
        *,
        tree: FolderTree | None = None,
        writable: bool = False,
        compression: str | None = None,
        created: bool = False,
    ):
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
    def create(
        cls,
        path: str | os.PathLike[str],
        potential_description: Mapping[str, Any],
        *,
        overwrite: bool = False,
        compression: str | None = None,
    ) -> Store:
        """Start a transaction that writes a new store (or replaces one with `overwrite`)."""
        filename = store_path(path)
        _check_compression(compression)
        if overwrite and layout_of(filename) == "file" and is_store(filename):
            remove_file(filename)  # replacing a single-file store by a folder, as asked
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
            set_attrs(
                store._file,
                {
                    "format": FORMAT,
                    "schema_version": SCHEMA_VERSION,
                    "created": stamp,
                    "modified": stamp,
                    "library_versions": dumps(library_versions()),
                },
            )
            store._file.create_group("potential").attrs["description"] = dumps(dict(potential_description))
            write_readme(filename)
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
            raise LandscapeError(
                f"store {filename} is damaged: its index names {foreign[0]!r} as a unit, which is "
                "not a file of its units/ folder; `landscape inspect --check` lists the damage"
            )
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
        if tree is None:  # Store.create and Store.write always open the tree they write into
            raise LandscapeError(f"internal error: store {self.filename} is writable without a transaction to commit")
        self._file = None
        try:
            tree.root().attrs["modified"] = now()
            tree.commit()
        except BaseException as exc:
            tree.abort()
            self._remove_if_created()
            if isinstance(exc, Exception) and not isinstance(exc, LandscapeError):
                raise LandscapeError(
                    f"cannot write store {self.filename}: {one_line(exc)}; the store is unchanged"
                ) from exc
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

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
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
    @reporting("read the potential description")
    def potential_description(self) -> dict[str, Any]:
        description = json.loads(self._f["potential"].attrs["description"])
        if not isinstance(description, dict):  # every reader takes it as a mapping
            raise ValueError(f"it is a JSON {type(description).__name__}, not an object")
        return description

    # summaries --------------------------------------------------------------------------
    @reporting("describe")
    def describe(self) -> dict[str, Any]:
        """A JSON-able summary: schema, potential, minima, paths (sorted list) with saddles and status."""
        root = get_attrs(self._f)
        minima = self._f.get("minima")
        names = [str(n) for n in minima["names"].asstr()[()]] if minima is not None else []
        keep = (
            "name",
            "start",
            "end",
            "status",
            "message",
            "saddle_energy",
            "upper_bound",
            "saddle_index",
            "climbing",
            "n_pivots",
            "dim",
            "nit",
            "nfev",
            "samples_gradient",
            "samples_forward",
            "cycles",
            "seed",
        )
        paths = []
        for name in self.path_names():
            info = self.path_info(name)
            entry = {k: info[k] for k in (*keep, *info.get("extras", ())) if k in info}
            optimizer = info["config"].get("optimizer", info["config"])  # a run's settings, or the optimizer's
            if isinstance(optimizer, dict) and isinstance(optimizer.get("method"), str):
                entry["method"] = optimizer["method"]  # what made the path: neb, autoneb, bezier, ...
            paths.append(entry)
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
