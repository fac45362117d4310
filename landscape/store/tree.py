"""The folder layout: groups and attributes in an SQLite index, arrays in immutable HDF5 units.

    <store>/index.sqlite    groups (path -> attributes), arrays (group, name -> unit, dataset)
    <store>/units/<id>.h5   the arrays one group wrote in one transaction; never changed

A write transaction is one SQLite transaction, begun IMMEDIATE, so two writers' commits
never interleave while readers go on (WAL mode) with the snapshot they opened.  Arrays
go to a unit file under a temporary name; at commit every unit still named by the index
is flushed, fsynced and renamed, the folder is fsynced, and only then does the index
commit (synchronous=FULL).  Kill -9 anywhere before that commit leaves the transaction
unwritten (its units are orphans that the next writer removes); after it, everything is
there.  Units that the index no longer names are deleted after the commit, so a commit
costs the bytes it writes and a few fsyncs, whatever the store already holds.

`FolderTree.root()` shows the tree as h5py groups (`landscape.store.groups`), so one set
of store methods and integrity checks reads this layout and the single-file one alike.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import uuid
from typing import Any
from urllib.parse import quote

import h5py

from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import fsync_path
from landscape.store.codec import one_line
from landscape.store.groups import Group, is_group, join_path, split_path

# Group and is_group live in landscape.store.groups; named here too, where they were first.
__all__ = ["INDEX", "UNITS", "LIBVER", "FolderTree", "Group", "is_group", "is_unit_name", "DamagedIndex"]

INDEX = "index.sqlite"
UNITS = "units"
# HDF5 1.8 format or newer (large attributes) but nothing newer than 1.10 readers know.
LIBVER = ("v108", "v110")
# The only names a unit (or its temporary file) ever has: a writer removes nothing else, so a
# damaged index or a user's own file in units/ can never make it delete a file it did not write.
_UNIT_NAME = re.compile(r"[0-9a-f]{32}\.h5")
_TEMP_NAME = re.compile(r"\.tmp-[0-9a-f]{32}\.h5")
# How long a writer waits for another process's commit (commits take seconds at most).
_BUSY_SECONDS = 120.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS groups (path TEXT PRIMARY KEY, attrs TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS arrays (grp TEXT NOT NULL, name TEXT NOT NULL, unit TEXT NOT NULL,
                                   dataset TEXT NOT NULL, PRIMARY KEY (grp, name)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS arrays_by_unit ON arrays (unit);
"""


def _subtree(path: str) -> tuple[str, tuple[str, ...]]:
    """SQL condition and parameters for `path` and everything below it ('0' follows '/')."""
    return "(path = ? OR (path > ? AND path < ?))", (path, path + "/", path + "0")


class DamagedIndex(LandscapeError, sqlite3.DatabaseError):
    """The index could not be read: one line for the user, and still an sqlite3 error for
    the code that tells an index that never got its tables from a sound one."""


def is_unit_name(name: str) -> bool:
    """Whether `name` is a unit's name as writers make them (no folder, no link out)."""
    return _UNIT_NAME.fullmatch(name) is not None


def _remove(name: str) -> None:
    try:
        os.remove(name)
    except OSError:
        pass


class FolderTree:
    """An open folder store: a read snapshot, or one write transaction."""

    def __init__(self, folder: str, *, write: bool, create: bool = False, edit_units: bool = False):
        """`edit_units` opens existing units writable: only for tests and repair tools,
        since it breaks the promise that a committed unit never changes."""
        self.folder = folder
        self._unit_mode = "r+" if edit_units else "r"
        self.writable = write
        self.units_dir = os.path.join(folder, UNITS)
        if write and os.path.islink(self.units_dir):
            raise LandscapeError(
                f"store {folder}: units/ is a symbolic link; a writer manages the files in "
                "its units folder, so it must be the store's own folder"
            )
        index = os.path.join(folder, INDEX)
        if write:
            db = self._connect(index, "rwc" if create else "rw")
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                if create:
                    os.makedirs(self.units_dir, exist_ok=True)
                    db.executescript(_SCHEMA)
                db.execute("BEGIN IMMEDIATE")
            except BaseException:
                db.close()
                raise
        else:
            try:
                db = self._reader(index, "")
            except sqlite3.OperationalError as exc:
                if "readonly" not in str(exc) or os.access(folder, os.W_OK):
                    raise
                # Read-only media: SQLite cannot set up its shared memory beside a WAL index
                # there; nobody can write such a store, so reading it as immutable is exact.
                db = self._reader(index, "&immutable=1")
        self._db: sqlite3.Connection | None = db
        self._pending: dict[str, tuple[h5py.File, str]] = {}  # unit -> (open file, temporary name)
        self._group_unit: dict[str, str] = {}  # group -> the unit it writes in this transaction
        self._released: set[str] = set()  # units whose arrays this transaction dropped
        self._readers: dict[str, h5py.File] = {}
        if write:
            self._remove_orphans()

    @staticmethod
    def _connect(index: str, mode: str, extra: str = "") -> sqlite3.Connection:
        return sqlite3.connect(
            f"file:{quote(index)}?mode={mode}{extra}", uri=True, isolation_level=None, timeout=_BUSY_SECONDS
        )

    @classmethod
    def _reader(cls, index: str, extra: str) -> sqlite3.Connection:
        db = cls._connect(index, "ro", extra)
        try:
            db.execute("BEGIN")
            db.execute("SELECT count(*) FROM groups").fetchone()  # pins the snapshot
        except BaseException:
            db.close()
            raise
        return db

    # sql --------------------------------------------------------------------------------
    def _sql(self, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Every row of `query`, fetched at once, so that damage met on any page of the
        index surfaces here, as one error naming the store."""
        if self._db is None:
            raise LandscapeError(f"store {self.folder} is closed")
        try:
            return self._db.execute(query, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise  # another writer, not damage: the callers say so
            raise DamagedIndex(f"store {self.folder}: its index is damaged ({one_line(exc)})") from exc
        except sqlite3.DatabaseError as exc:
            raise DamagedIndex(f"store {self.folder}: its index is damaged ({one_line(exc)})") from exc

    def _row(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        rows = self._sql(query, params)
        return rows[0] if rows else None

    def unit_file(self, unit: str) -> str:
        if not is_unit_name(unit):
            raise LandscapeError(
                f"store {self.folder} is damaged: its index names {unit!r} as a unit, "
                "which is not a file of its units/ folder"
            )
        return os.path.join(self.units_dir, unit)

    def _remove_unit(self, unit: str) -> None:
        """Delete a unit this store wrote; a name a damaged index made up is left alone."""
        if is_unit_name(unit):
            _remove(os.path.join(self.units_dir, unit))

    def _named(self, unit: str) -> bool:
        return self._row("SELECT 1 FROM arrays WHERE unit = ? LIMIT 1", (unit,)) is not None

    def _referenced(self) -> set[str]:
        return {u for (u,) in self._sql("SELECT DISTINCT unit FROM arrays")}

    def _remove_orphans(self) -> None:
        """Units of crashed writers: temporary files, and finished ones the index never named.
        Safe here: this transaction holds the write lock, so no other one is in flight."""
        try:
            names = os.listdir(self.units_dir)
        except FileNotFoundError:
            return
        referenced = self._referenced()
        for name in names:
            if _TEMP_NAME.fullmatch(name) or (is_unit_name(name) and name not in referenced):
                _remove(os.path.join(self.units_dir, name))

    # groups -----------------------------------------------------------------------------
    def attrs(self, path: str) -> dict[str, Any] | None:
        row = self._row("SELECT attrs FROM groups WHERE path = ?", (path,))
        return None if row is None else json.loads(row[0])

    def set_attrs(self, path: str, attrs: dict[str, Any]) -> None:
        self._sql("UPDATE groups SET attrs = ? WHERE path = ?", (json.dumps(attrs), path))

    def create_group(self, path: str) -> None:
        if self.attrs(path) is not None or self.ref(*split_path(path)) is not None:
            raise ValueError(f"unable to create group /{path} (name already exists)")
        parent = split_path(path)[0]
        if path and self.attrs(parent) is None:
            self.create_group(parent)
        self._sql("INSERT INTO groups (path, attrs) VALUES (?, '{}')", (path,))

    def children(self, path: str) -> list[str]:
        if not path:
            rows = self._sql("SELECT path FROM groups WHERE path != '' AND instr(path, '/') = 0")
            return [r[0] for r in rows]
        start = len(path) + 2
        rows = self._sql(
            "SELECT substr(path, ?) FROM groups WHERE path > ? AND path < ? AND instr(substr(path, ?), '/') = 0",
            (start, path + "/", path + "0", start),
        )
        return [r[0] for r in rows]

    def delete(self, path: str) -> None:
        """Remove a group with everything below it."""
        cond, params = _subtree(path)
        self._released.update(
            u for (u,) in self._sql(f"SELECT DISTINCT unit FROM arrays WHERE {cond.replace('path', 'grp')}", params)
        )
        self._sql(f"DELETE FROM arrays WHERE {cond.replace('path', 'grp')}", params)
        self._sql(f"DELETE FROM groups WHERE {cond}", params)
        for group in [g for g in self._group_unit if g == path or g.startswith(path + "/")]:
            del self._group_unit[group]  # a group written again starts a fresh unit

    def clear(self) -> None:
        """Remove every group and array (a store created over an old one)."""
        self._released.update(self._referenced())
        self._sql("DELETE FROM arrays")
        self._sql("DELETE FROM groups")
        self._group_unit.clear()

    # arrays -----------------------------------------------------------------------------
    def array_names(self, group: str) -> list[str]:
        return [r[0] for r in self._sql("SELECT name FROM arrays WHERE grp = ?", (group,))]

    def ref(self, group: str, name: str) -> tuple[str, str] | None:
        row = self._row("SELECT unit, dataset FROM arrays WHERE grp = ? AND name = ?", (group, name))
        return None if row is None else (row[0], row[1])

    def set_ref(self, group: str, name: str, ref: tuple[str, str]) -> None:
        """Name an existing unit's dataset as array `name` of `group` (no bytes copied)."""
        old = self.ref(group, name)
        if old is not None:
            self._released.add(old[0])
        self._sql("INSERT OR REPLACE INTO arrays (grp, name, unit, dataset) VALUES (?, ?, ?, ?)", (group, name, *ref))

    def delete_array(self, group: str, name: str) -> None:
        old = self.ref(group, name)
        if old is not None:
            self._released.add(old[0])
            self._sql("DELETE FROM arrays WHERE grp = ? AND name = ?", (group, name))

    def dataset(self, group: str, name: str) -> h5py.Dataset | None:
        ref = self.ref(group, name)
        if ref is None:
            return None
        unit, dataset = ref
        return self._open_unit(unit, f"/{group}/{name}")[dataset]

    def create_dataset(self, group: str, name: str, **kwargs: Any) -> h5py.Dataset:
        if self.ref(group, name) is not None or self.attrs(join_path(group, name)) is not None:
            raise ValueError(f"unable to create dataset /{group}/{name} (name already exists)")
        unit = self._group_unit.get(group) or self._new_unit(group)
        file = self._pending[unit][0]
        dataset = name if name not in file else f"{name}.{len(file)}"
        ds = file.create_dataset(dataset, **kwargs)
        self.set_ref(group, name, (unit, dataset))
        return ds

    def _new_unit(self, group: str) -> str:
        unit = f"{uuid.uuid4().hex}.h5"
        temp = os.path.join(self.units_dir, f".tmp-{unit}")
        file = h5py.File(temp, "w", libver=LIBVER)
        file.attrs["group"] = f"/{group}"  # for people reading a unit on its own
        self._pending[unit] = (file, temp)
        self._group_unit[group] = unit
        return unit

    def _open_unit(self, unit: str, what: str) -> h5py.File:
        if unit in self._pending:
            return self._pending[unit][0]
        if unit not in self._readers:
            try:
                self._readers[unit] = h5py.File(self.unit_file(unit), self._unit_mode)
            except (OSError, FileNotFoundError) as exc:
                raise LandscapeError(
                    f"store {self.folder}: cannot read {what} from units/{unit} ({one_line(exc)}); "
                    "the store changed while open, or it is damaged"
                ) from exc
        return self._readers[unit]

    def missing_units(self) -> list[str]:
        """Integrity: every unit the index names is a unit's name, and there."""
        rows = self._sql("SELECT unit, min(grp || '/' || name) FROM arrays GROUP BY unit")
        problems = [
            f"units/: the index names {unit!r} (for /{where}), which is not a unit's name"
            for unit, where in rows
            if not is_unit_name(unit)
        ]
        if os.path.islink(self.units_dir):
            problems.append("units/: a symbolic link, not the store's own folder")
        return problems + [
            f"units/{unit}: missing (holds /{where})"
            for unit, where in rows
            if is_unit_name(unit) and not os.path.isfile(self.unit_file(unit))
        ]

    def orphan_rows(self) -> list[str]:
        """Integrity: every array's group, and every group's parent, is in the index (a
        group row deleted by hand leaves its arrays and children behind)."""
        groups = {p for (p,) in self._sql("SELECT path FROM groups")}
        problems = [
            f"/{grp}/{name}: its group is not in the index"
            for grp, name in self._sql("SELECT grp, name FROM arrays")
            if grp not in groups
        ]
        return problems + [
            f"/{path}: its parent group is not in the index"
            for path in sorted(groups)
            if path and split_path(path)[0] not in groups
        ]

    def foreign_units(self) -> list[str]:
        """Names the index gives as units that no writer made (a damaged or edited index)."""
        return sorted(u for u in self._referenced() if not is_unit_name(u))

    # transaction ------------------------------------------------------------------------
    def commit(self) -> None:
        """Make units durable, then commit the index; dropped units go afterwards."""
        finished = []
        try:
            for unit, (file, temp) in list(self._pending.items()):
                file.close()
                if self._named(unit):
                    fsync_path(temp)
                    os.rename(temp, self.unit_file(unit))
                    finished.append(unit)
                else:
                    _remove(temp)
            self._pending.clear()
            if finished:
                fsync_path(self.units_dir)
            self._sql("COMMIT")
        except BaseException:
            for unit in finished:
                self._remove_unit(unit)
            self.abort()
            raise
        for unit in [u for u in self._released if not self._named(u)]:
            self._remove_unit(unit)
        self.close()

    def abort(self) -> None:
        """Discard the transaction: the index rolls back and this transaction's units go."""
        for file, temp in self._pending.values():
            try:
                file.close()
            except Exception:
                pass
            _remove(temp)
        self._pending.clear()
        if self._db is not None and self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        self.close()

    def close(self) -> None:
        for file in self._readers.values():
            try:
                file.close()
            except Exception:
                pass
        self._readers.clear()
        if self._pending:
            self.abort()
            return
        if self._db is not None:
            db, self._db = self._db, None
            if db.in_transaction:
                db.execute("ROLLBACK")
            db.close()

    @property
    def closed(self) -> bool:
        return self._db is None

    def root(self) -> Group:
        return Group(self, "")
