"""One HDF5 file from a store folder: the whole tree, self-describing, to share or archive.

The file has the layout of `landscape.store.layout` as plain HDF5 groups, datasets and
attributes (the same attribute codec), so `Store.open`, `landscape inspect`, `report`
and `plot` read it, and so does any HDF5 tool.  It is written to a temporary name,
fsynced and renamed: an interrupted export leaves no half file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import h5py

from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import bytes_under, fsync_path, stale_temporaries, store_path
from landscape.store.codec import decode, now, one_line
from landscape.store.groups import is_group
from landscape.store.layout import SCHEMA_VERSION
from landscape.store.opening import enclosing_store
from landscape.store.tree import LIBVER

__all__ = ["export_store", "walk"]


def walk(group: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path, group or dataset) for everything below `group`, parents first, in name order."""
    for key in sorted(group.keys()):
        obj = group[key]
        path = f"{prefix}{key}"
        yield path, obj
        if is_group(obj):
            yield from walk(obj, path + "/")


def copy_tree(source: Any, target: Any) -> None:
    """Copy attributes, groups and datasets (chunking and compression kept) verbatim."""
    _copy_attrs(source, target)
    for path, obj in walk(source):
        if is_group(obj):
            _copy_attrs(obj, target.require_group(path))
        else:
            head, _, name = path.rpartition("/")
            parent = target.require_group(head) if head else target
            parent.create_dataset(name, data=obj[()], dtype=obj.dtype, chunks=obj.chunks, compression=obj.compression)


def _copy_attrs(source: Any, target: Any) -> None:
    target.attrs.update({k: decode(v) for k, v in source.attrs.items()})


def _target(path: str | os.PathLike[str], overwrite: bool) -> str:
    target = store_path(path)
    if os.path.isdir(target):
        raise LandscapeError(f"{target} is a folder; export writes one file")
    if os.path.lexists(target) and not overwrite:
        raise LandscapeError(f"{target} already exists; pass --force to replace it")
    if not os.path.isdir(os.path.dirname(target)):
        raise LandscapeError(f"output folder {os.path.dirname(target)} does not exist")
    outer = enclosing_store(target)
    if outer is not None:
        raise LandscapeError(
            f"{target} lies inside the store {outer}, whose folder holds only what its own "
            "writers made; export to a name outside it"
        )
    return target


def _require_space(source: str, target: str) -> None:
    """Refuse an export that cannot fit: HDF5 meets a full disk half-way through with a
    crash (a segmentation fault after pages of messages), not with an error to catch.
    The export is about the size of what the store holds; a margin covers HDF5's overhead."""
    try:
        free = shutil.disk_usage(os.path.dirname(target)).free
        need = bytes_under(source) + (1 << 20)
    except OSError:
        return  # no figure to judge by: HDF5's own error (or crash) is all there is
    if free < need:
        raise LandscapeError(
            f"cannot export {source} to {target}: No space left on device (about {need:,} bytes needed, {free:,} free)"
        )


def export_store(source: str | os.PathLike[str], path: str | os.PathLike[str], *, overwrite: bool = False) -> str:
    """Write the store at `source` as one HDF5 file at `path`; returns its name."""
    from landscape.store.core import Store

    target = _target(path, overwrite)
    prefix = f".{os.path.basename(target)}.tmp-"
    for stale in stale_temporaries(os.path.dirname(target), prefix):  # left by a killed export
        os.remove(stale)
    temp = os.path.join(os.path.dirname(target), f"{prefix}{os.getpid()}")
    with Store.open(source) as store:
        if os.path.realpath(store.filename) == target:
            raise LandscapeError(f"cannot export {target} onto itself")
        _require_space(store.filename, target)
        try:
            with h5py.File(temp, "w", libver=LIBVER) as out:
                copy_tree(store._f, out)
                out.attrs.update({"schema_version": SCHEMA_VERSION, "exported": now(), "exported_from": store.filename})
            fsync_path(temp)
            os.replace(temp, target)
        except BaseException as exc:
            try:
                os.remove(temp)
            except OSError:
                pass
            if isinstance(exc, (OSError, ValueError, TypeError, RuntimeError)):
                raise LandscapeError(f"cannot export {store.filename} to {target}: {one_line(exc)}") from exc
            raise
    return target
