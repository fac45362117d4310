"""`landscape upgrade`: a single-file store (schema 1, or an export) becomes a store folder.

Every group, attribute and dataset is copied verbatim into a folder built beside the
file under a temporary name; the folder's root records the schema it came from.  Only
when the copy is committed and reads back with the same minima, paths and cycles does
it take the file's name; the file is kept beside it as `<name>.v1`.  In place, the
commands that used the file (`--out run.h5`) go on working with the folder.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Any

from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import stale_temporaries, store_path
from landscape.foundations.lock import WriterLock
from landscape.store.codec import decode, now
from landscape.store.export import copy_tree
from landscape.store.layout import SCHEMA_VERSION
from landscape.store.opening import layout_of, remove_store

if TYPE_CHECKING:
    from landscape.store.core import Store

__all__ = ["upgrade_store"]


def _summary(store: Store) -> dict[str, Any]:
    """What must survive the copy: minima, potential, groups, and each path's summary."""
    info = store.describe()
    return {key: info[key] for key in ("minima", "potential", "groups", "paths")}


def upgrade_store(source: str | os.PathLike[str], target: str | os.PathLike[str] | None = None) -> str:
    """Turn the single-file store `source` into a store folder at `target` (default: in
    place, keeping the file as `<source>.v1`); returns the folder's name."""
    from landscape.store.core import Store

    filename = store_path(source)
    if not os.path.lexists(filename):
        raise LandscapeError(f"store {filename} does not exist")
    if layout_of(filename) != "file":
        raise LandscapeError(
            f"{filename} is not a single-file store"
            + (" (it is already a store folder)" if layout_of(filename) == "folder" else "")
        )
    folder = filename if target is None else store_path(target)
    backup = f"{filename}.v1"
    if target is None and os.path.lexists(backup):
        raise LandscapeError(f"{backup} exists; move it away so the original can be kept there")
    if target is not None and os.path.lexists(folder):
        raise LandscapeError(f"{folder} already exists; choose a new folder name")
    prefix = f".{os.path.basename(folder)}.upgrade-"
    temp = os.path.join(os.path.dirname(folder), f"{prefix}{os.getpid()}")
    with WriterLock(filename):
        for stale in stale_temporaries(os.path.dirname(folder), prefix):  # left by a killed upgrade
            remove_store(stale)
        shutil.rmtree(temp, ignore_errors=True)
        with Store.open(filename) as old:
            before = _summary(old)
            version = decode(old._f.attrs.get("schema_version"))
            try:
                with Store.create(temp, old.potential_description) as new:
                    copy_tree(old._f, new._f)
                    new._f.attrs.update(
                        {
                            "schema_version": SCHEMA_VERSION,
                            "upgraded_from": int(version),
                            "upgraded": now(),
                            "modified": now(),
                        }
                    )
                with Store.open(temp) as new:
                    after = _summary(new)
                    problems = new.check()
            except BaseException:
                shutil.rmtree(temp, ignore_errors=True)
                raise
        if after != before or problems:
            shutil.rmtree(temp, ignore_errors=True)
            raise LandscapeError(
                f"upgrading {filename} did not reproduce it ({'; '.join(problems) or 'contents differ'}); "
                "the file is unchanged"
            )
        if target is None:
            os.rename(filename, backup)
        os.rename(temp, folder)
    return folder
