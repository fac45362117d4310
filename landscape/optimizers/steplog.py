"""A per-step log of a run, as ASE's optimizers write one: one tab-separated line a
step (step, evaluations, highest pivot energy, largest pivot force as fmax measures
it, climbing, AutoNEB cycle), appended to a text file, so a long run can be followed
with `tail -f` and plotted afterwards.  A continued run appends below a `#` line that says so.
"""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone
from types import TracebackType
from typing import IO, Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.optimizers.forces import force_sizes

__all__ = ["StepLog", "COLUMNS"]

COLUMNS = ("step", "evaluations", "highest_energy", "largest_force", "climbing", "cycle")


class StepLog:
    """Driver callback writing one line per step to `path` (use as a context manager)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise LandscapeError(f"cannot write log {self.path}: folder {folder} does not exist")
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):  # a fifo would block, a folder cannot be written
            raise LandscapeError(f"cannot write log {self.path}: it exists and is not a regular file")
        self._file: IO[str] | None = None

    def __enter__(self) -> StepLog:
        try:
            self._file = open(self.path, "a", encoding="utf-8", buffering=1)  # line-buffered: tail -f works
        except OSError as exc:
            raise LandscapeError(f"cannot write log {self.path}: {exc.strerror or exc}") from None
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._file.write(f"# run started {stamp}\n" + "\t".join(COLUMNS) + "\n")
        return self

    def __call__(self, state: Any) -> None:
        if self._file is None:
            return
        band = getattr(state, "inner", state)  # AutoNEB: the band of the running cycle
        forces = getattr(band, "forces", None)
        f = np.asarray(to_numpy(forces), dtype=float) if forces is not None else np.zeros((0, 0))
        sizes = force_sizes(f.reshape(len(f), -1), getattr(band, "particle_dim", 0)) if f.size else None
        largest = float(np.max(sizes)) if sizes is not None else float("nan")  # as the band's fmax test measures
        cycle = getattr(state, "cycle", "")
        self._file.write(
            f"{state.nit}\t{state.nfev}\t{float(to_numpy(state.max_energy)):.10g}\t{largest:.6g}\t"
            f"{int(bool(getattr(band, 'climbing', False)))}\t{cycle}\n"
        )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
