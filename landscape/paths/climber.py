"""Is the climbing image the top of its own path?

A climbing image converges onto *a* saddle: the one on the bump where the highest
pivot happened to sit.  When a path crosses two passes and the higher one falls
between pivots, the climber settles on the lower pass while the path itself goes
higher (docs/concepts.md, "When the climber is not the top").  A path's maximum
bounds the minimax energy from above, so such a climber's energy is below what the
path certifies: reporting it as the saddle would be wrong.

This module holds the one test every optimizer and every result uses: the climber
must lie within `climber_tolerance` of the highest energy seen on its path (pivots
and points between them), and where it does not, `ClimberCheck.segment` says where
the path's maximum is, for a repair to insert a pivot there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CLIMBER_RTOL", "climber_energy", "climber_tolerance", "ClimberCheck", "check_climber"]

#: Relative tolerance of the test, as a fraction of the energy rise from the lower
#: end to the climber.  A converged climber sits at a maximum along its path, so the
#: points next to it lie below it up to the path's curvature; anything higher by more
#: than this is another bump.
CLIMBER_RTOL = 1e-4


def climber_energy(pivot_energies: np.ndarray) -> float:
    """Energy of the climbing image: the highest interior pivot."""
    e = np.asarray(pivot_energies, dtype=float)
    return float(np.max(e[1:-1])) if e.size > 2 else float(np.max(e))


def climber_tolerance(pivot_energies: np.ndarray) -> float:
    """How far the path's maximum may exceed the climber (the highest interior pivot)
    before the climber no longer counts as its top."""
    e = np.asarray(pivot_energies, dtype=float)
    top = climber_energy(e)
    rise = top - float(min(e[0], e[-1]))
    return CLIMBER_RTOL * max(rise, 0.0) + 1e-10 * max(1.0, abs(top))


@dataclass(frozen=True)
class ClimberCheck:
    """The outcome of `check_climber`.

    climber: energy of the highest interior pivot; top: highest energy on the path
    (pivots and dense points); segment: the segment (0 = between pivots 0 and 1)
    holding `top` when it is a dense point, else None; dense_index: its index in the
    dense array; tolerance: the allowed excess.
    """

    climber: float
    top: float
    tolerance: float
    segment: int | None
    dense_index: int | None

    @property
    def ok(self) -> bool:
        return self.top - self.climber <= self.tolerance

    def message(self) -> str:
        where = (
            "an end of the path"
            if self.segment is None
            else f"a point between pivots {self.segment} and {self.segment + 1}"
        )
        return (
            f"the climbing image (E={self.climber:.8g}) is not the top of its path: {where} reaches "
            f"E={self.top:.8g} ({self.top - self.climber:.3g} higher, tolerance {self.tolerance:.3g})"
        )


def check_climber(pivot_energies: np.ndarray, dense_energies: np.ndarray, per_segment: int) -> ClimberCheck:
    """Compare the climber with the ends and the highest dense point between pivots.

    `dense_energies` ((N+1) * per_segment,) are ordered by segment, as
    `geometry.dense_points` makes them.
    """
    e = np.asarray(pivot_energies, dtype=float)
    d = np.asarray(dense_energies, dtype=float)
    climber = climber_energy(e)
    tol = climber_tolerance(e)
    end = float(max(e[0], e[-1]))
    j = int(np.argmax(d)) if d.size and per_segment >= 1 else None
    if j is not None and d[j] > max(climber, end):
        return ClimberCheck(climber, float(d[j]), tol, j // per_segment, j)
    return ClimberCheck(climber, max(climber, end), tol, None, None)
