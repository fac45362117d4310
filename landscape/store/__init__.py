"""The landscape store: minima, paths and AutoNEB cycles in a crash-safe folder.

`Store` is the API; `export_store` writes one shareable HDF5 file and `upgrade_store`
turns a schema-1 file into a folder.  Modules: `codec` (attributes), `layout` (groups
and arrays), `tree` (the folder: SQLite index + HDF5 units), `groups` (the folder's
groups as h5py shows them), `opening` (opening, refusing and removing stores), `check`
(integrity), `records` (minima and paths), `core` (`Store`), `export` and `migrate`.
"""

from __future__ import annotations

from landscape.store.core import Store
from landscape.store.layout import FORMAT, SCHEMA_VERSION
from landscape.store.opening import check_writable, is_store, remove_store, vacant

__all__ = ["SCHEMA_VERSION", "FORMAT", "Store", "is_store", "remove_store", "vacant", "check_writable"]
