"""The checks of an elastic band's settings, each refused in one line (`ElasticBand`)."""

from __future__ import annotations

from typing import Any

from landscape.foundations.errors import LandscapeError
from landscape.foundations.values import check_flag, check_number

__all__ = ["check_band_settings"]

METHODS = ("neb", "string")


def check_band_settings(band: Any) -> None:
    """Refuse an `ElasticBand` whose settings contradict each other or lie out of range."""
    for name in ("climb", "check_all", "kinks", "unfold"):  # "no" would count as on
        check_flag(name, getattr(band, name))
    if band.method not in METHODS:
        raise LandscapeError(f"unknown band method {band.method!r}; choose neb or string")
    if band.kinks and band.method != "neb":
        raise LandscapeError("kinks (the springs' pull across a bent band) applies to NEB only")
    if band.climb_after < 0 or band.patience < 1 or band.fault_check_every < 1:
        raise LandscapeError("climb_after must be >= 0, patience and fault_check_every >= 1")
    # the check evaluates (pivots - 1) x check_per_segment points in one batch: bounded
    check_number("check_per_segment", band.check_per_segment, lambda v: 1 <= v <= 1000, "from 1 to 1000", integer=True)
    if band.max_repairs < 0:
        raise LandscapeError("max_repairs must be >= 0")
    check_number("freeze", band.freeze, lambda v: 0 <= v <= 1, "in [0, 1] (0: off)")
    for name in ("fmax", "frtol", "etol"):
        if getattr(band, name) is not None:
            check_number(name, getattr(band, name), lambda v: v > 0, "> 0")
    if band.spring != "auto":
        check_number("spring", band.spring, lambda v: v > 0, '> 0 (or "auto")')
    if band.spring_min is not None:
        if band.spring == "auto":
            raise LandscapeError('spring_min (energy-weighted springs) needs a numeric spring, not "auto"')
        check_number("spring_min", band.spring_min, lambda v: 0 < v <= band.spring, f"in (0, spring={band.spring}]")
