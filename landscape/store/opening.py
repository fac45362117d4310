"""Where stores are: opening one of either layout (one-line errors for everything that
is not one), the targets a writer refuses, and removing a store.

A store is a folder (`landscape.store.tree`: written by this version) or a single HDF5
file (a schema-1 store written before the folder layout, or `landscape export`'s
output), which opens read-only.  A folder counts as a store once its first transaction
committed the root group; before that (a writer killed while creating it) it is an
unfinished store that a writer may take over and a reader refuses.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from typing import Any

import h5py

from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import store_path
from landscape.store.codec import decode, one_line
from landscape.store.layout import FORMAT, SCHEMA_VERSION
from landscape.store.tree import INDEX, UNITS, FolderTree, is_unit_name

__all__ = [
    "OURS",
    "README",
    "layout_of",
    "open_reader",
    "check_version",
    "unfinished_folder",
    "is_store",
    "vacant",
    "enclosing_store",
    "check_writable",
    "write_readme",
    "remove_file",
    "remove_store",
]

# What a store folder may hold: anything else means the folder belongs to someone else.
OURS = frozenset({INDEX, f"{INDEX}-wal", f"{INDEX}-shm", f"{INDEX}-journal", UNITS, "README.txt"})
#: What README.txt in a store folder says.
README = """This folder is a landscape store.  index.sqlite (SQLite) names every group,
attribute and array; the arrays live in units/*.h5, one immutable HDF5 file per group
and transaction.  Read it with `landscape inspect FOLDER`; share it as one HDF5 file
with `landscape export FOLDER FILE.h5`.  Do not edit or remove files in it by hand.
"""


def layout_of(filename: str) -> str | None:
    """'folder', 'file' or None (nothing there, or a folder without an index)."""
    if os.path.isdir(filename):
        return "folder" if os.path.isfile(os.path.join(filename, INDEX)) else None
    return "file" if os.path.lexists(filename) else None


def unfinished_folder(filename: str) -> bool:
    """A folder a writer may (re)create a store in: empty, or ours without a committed
    root and without committed units (units beside an index that lost its root mean a
    damaged store, whose data a new store must not sweep away)."""
    if not os.path.isdir(filename):
        return False
    entries = set(os.listdir(filename))
    if not entries:
        return True
    if not entries <= OURS or INDEX not in entries or _holds_units(filename):
        return False
    try:
        tree = FolderTree(filename, write=False)
    except sqlite3.Error:
        return True  # an index that never got its tables
    try:
        return tree.attrs("") is None
    except sqlite3.Error:
        return True
    finally:
        tree.close()


def _holds_units(filename: str) -> bool:
    try:
        return any(is_unit_name(name) for name in os.listdir(os.path.join(filename, UNITS)))
    except OSError:
        return False


def vacant(filename: str) -> bool:
    """Whether a writer may make a new store at `filename` without replacing anything:
    nothing is there, or a store folder that was never committed.  Anything else that
    is not a sound store (a damaged index, a stranger's file) is the user's to judge,
    so writers refuse it unless asked to replace it."""
    return not os.path.lexists(filename) or unfinished_folder(filename)


def enclosing_store(path: str) -> str | None:
    """The store folder that `path` lies inside, if any: a store's folder holds only what
    its own writers made, so nothing else may be written there."""
    folder = os.path.dirname(os.path.abspath(path))
    while True:
        if os.path.isfile(os.path.join(folder, INDEX)):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def is_store(filename: str) -> bool:
    """Whether `filename` holds a committed store (of either layout)."""
    try:
        root, tree = open_reader(filename)
    except LandscapeError:
        return False
    (tree or root).close()
    return True


def open_reader(filename: str) -> tuple[Any, FolderTree | None]:
    """(root group, folder tree or None) of the store at `filename`, read-only."""
    if not os.path.lexists(filename):
        raise LandscapeError(f"store {filename} does not exist")
    if os.path.isdir(filename):
        return _open_folder(filename)
    return _open_file(filename), None


def _open_folder(filename: str) -> tuple[Any, FolderTree]:
    if not os.path.isfile(os.path.join(filename, INDEX)):
        raise LandscapeError(f"{filename} is a folder but not a landscape store (no {INDEX})")
    try:
        tree = FolderTree(filename, write=False)
    except sqlite3.Error as exc:
        raise LandscapeError(f"store {filename}: cannot read its index ({one_line(exc)})") from exc
    try:
        if tree.attrs("") is None:
            raise LandscapeError(
                f"store {filename} was never committed (a writer stopped while creating it); "
                "run the command again or remove it"
            )
        root = tree.root()
        check_version(root.attrs, filename)
    except BaseException:  # DamagedIndex (an sqlite3 error) names the store already
        tree.close()
        raise
    return root, tree


def _open_file(filename: str) -> h5py.File:
    try:
        with open(filename, "rb"):
            pass
        is_hdf5 = h5py.is_hdf5(filename)
    except OSError as exc:
        raise LandscapeError(f"cannot read store {filename}: {one_line(exc)}") from exc
    if not is_hdf5:
        raise LandscapeError(f"{filename} is not an HDF5 file, so not a landscape store")
    try:
        f = h5py.File(filename, "r")
    except Exception as exc:  # h5py reports damage as OSError, sometimes others
        raise LandscapeError(f"store {filename} is damaged or truncated ({one_line(exc)})") from exc
    try:
        check_version(f.attrs, filename)
    except BaseException:
        f.close()
        raise
    return f


def check_version(attrs: Any, filename: str) -> None:
    try:
        fmt = decode(attrs.get("format"))
        version = decode(attrs.get("schema_version"))
    except Exception as exc:
        raise LandscapeError(f"store {filename} is damaged ({one_line(exc)})") from exc
    if fmt != FORMAT:
        raise LandscapeError(f"{filename} is an HDF5 file but not a landscape store (no format='{FORMAT}' attribute)")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise LandscapeError(f"store {filename} has an invalid schema version {version!r}")
    if version > SCHEMA_VERSION:
        raise LandscapeError(
            f"store {filename} has schema version {version}; this landscape reads up to "
            f"{SCHEMA_VERSION} — upgrade landscape"
        )


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
        raise LandscapeError(
            f"{filename} lies inside the store {outer}, whose folder holds only what its own "
            "writers made; choose a name outside it"
        )


def write_readme(folder: str) -> None:
    """Leave a README.txt in a new store folder for whoever opens it without this library."""
    name = os.path.join(folder, "README.txt")
    if not os.path.exists(name):
        with open(name, "w", encoding="utf-8") as fh:
            fh.write(README)


def remove_file(filename: str) -> None:
    """Delete a single-file store that a folder replaces (one line when it cannot)."""
    try:
        os.remove(filename)
    except OSError as exc:
        raise LandscapeError(f"cannot replace store {filename}: {one_line(exc)}") from exc


def remove_store(path: str | os.PathLike[str]) -> None:
    """Delete the store at `path` (a folder of ours, or a single-file store); a folder
    holding anything else is left alone."""
    filename = store_path(path)
    if layout_of(filename) == "file":
        remove_file(filename)
    elif os.path.isdir(filename) and set(os.listdir(filename)) <= OURS:
        shutil.rmtree(filename, ignore_errors=True)
