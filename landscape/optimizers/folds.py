"""Where an NEB band folds back on itself, and the band spread out again.

A band whose two segments at a pivot point almost straight back at each other
(`FOLD_COS`) no longer approximates a path there: the tangent at that pivot is
meaningless, the nudged springs push its neighbours past each other, and on random
surfaces every band that ran up the confining wall (status `diverged`) had folded that
way first.  The band is then spread evenly along its own polyline and the stepper
restarted (`ElasticBand.unfold`), at most `MAX_SPREADS` times.  Measured on 1,000
random surfaces (docs/benchmarks.md, "Bands that fold back"): the default NEB's runs
without success fell from 37 to 23 of 2,000, diverged from 7 to 1, no wrong saddle,
7% fewer evaluations on average; no band on the smooth benchmark surfaces, on
Mueller-Brown at ASE's tolerance or on the EMT hop folded, so their counts are as before.
"""

from __future__ import annotations

from typing import Any

from landscape.foundations.arrays import namespace as array_namespace
from landscape.foundations.arrays import to_numpy
from landscape.paths import geometry
from landscape.paths.path import Path

__all__ = ["FOLD_COS", "MAX_SPREADS", "folded", "spread_out"]

#: A band folds at a pivot whose two segments meet at cos phi below this (phi > 171.9
#: degrees).  -0.95 (measured with the highest pivot held in place) rescued as many
#: random-surface bands for 3.5% more evaluations than -0.99 (1,431 against 1,382 a run).
FOLD_COS = -0.99

#: At most this many spreads a band, a bound rather than a tuned value: some bands fold
#: again after every spread (tests/optimizers/test_folds.py has one), and uncapped such a
#: band was spread at every step for thousands of steps.  Of 130 random-surface runs, 25
#: were spread, 7 of them 20 times; 4 of those 7 converged after it.
MAX_SPREADS = 20


def folded(pivots: Any) -> bool:
    """Whether the band folds back on itself at some interior pivot.  One host read."""
    if int(pivots.shape[0]) < 3:
        return False
    return bool(to_numpy(array_namespace(pivots).min(geometry.bend_cosines(pivots))) < FOLD_COS)


def spread_out(path: Path) -> Path:
    """`path`'s pivots at equal arc length along its own polyline, ends kept; the energies
    are the old ones, to be evaluated again except at the ends.  No pivot is held in
    place: where the band folds at its highest pivot, holding that one kept the fold (an
    exploration's band between two wells of a Gaussian mixture folded again at every step
    and ran away; spread evenly it converged)."""
    return Path(geometry.redistribute(path.pivots), path.energies)
