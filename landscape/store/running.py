"""A running path's records: its progress (the band so far, committed as it goes) and its
checkpoints (the optimizer state a resumed run continues from); `Store` inherits them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.paths.result import Status
from landscape.store.codec import check_name, decode, get_attrs, set_attrs, validate_json
from landscape.store.groups import is_group
from landscape.store.records import Records, reporting

__all__ = ["RunningRecords"]


class RunningRecords(Records):
    """Progress and checkpoints of running paths, on top of `Records`."""

    @reporting("write progress", writes=True)
    def write_progress(
        self,
        name: str,
        arrays: Mapping[str, Any],
        attrs: Mapping[str, Any],
        *,
        nit: int,
        nfev: int,
        climbing: bool,
        start: str | int | None = None,
        end: str | int | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
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
        g.attrs.update(
            {
                "nit": int(nit),
                "nfev": int(nfev),
                "climbing": bool(climbing),
                "saddle_energy": float(energies.max()),
                "upper_bound": float(energies.max()),
                "saddle_index": int(np.argmax(energies)),
            }
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
