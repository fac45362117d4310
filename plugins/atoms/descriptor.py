"""Entry-point descriptor of the ASE plugin (light: ase is imported on build only).

    landscape connect ase -o start=initial.traj -o end=final.traj --start start --end end

Structure files are recorded as absolute paths, so a store rebuilds its potential from
any folder.  Other calculators than the two named here take a few lines of Python: a
potential plugin whose factory returns `AtomsPotential(atoms, MyCalculator)`
(docs/ase.md).
"""

from __future__ import annotations

import os
from typing import Any

from landscape.foundations.errors import LandscapeError, collapse
from landscape.potentials.registry import PotentialPlugin

__all__ = ["ASE", "StructureFile", "ase_potential", "CALCULATORS"]

#: Calculators by option value: (module, class), ASE's defaults for every parameter.
CALCULATORS = {"emt": ("ase.calculators.emt", "EMT"), "lj": ("ase.calculators.lj", "LennardJones")}


class StructureFile(str):
    """A file name made absolute (empty stays empty: no file)."""

    def __new__(cls, value: Any) -> StructureFile:
        text = str(value).strip()
        return super().__new__(cls, os.path.abspath(os.path.expanduser(text)) if text else "")


def _read(path: str, what: str, index: Any) -> Any:
    from ase.io import read

    if not os.path.isfile(path):
        raise LandscapeError(f"option {what}: no such file {path}")
    try:
        return read(path, index=index)
    except Exception as exc:  # noqa: BLE001 - ase.io fails in many ways on a bad file: one line
        message = collapse(f"{type(exc).__name__}: {exc}")
        raise LandscapeError(f"option {what}: cannot read {path} with ase.io.read ({message})") from exc


def ase_potential(start: str = "", end: str = "", calculator: str = "emt") -> Any:
    """The free atoms of `start` under `calculator`, with minima "start" and "end": the
    two files' last images, or the first and last image of `start` alone."""
    import importlib

    from .calculator import AtomsPotential

    if calculator not in CALCULATORS:
        raise LandscapeError(f"option calculator={calculator!r}: choose one of {', '.join(CALCULATORS)}")
    if not start:
        raise LandscapeError("option start is required: -o start=FILE (a structure or a trajectory)")
    if end:
        first, last = _read(start, "start", -1), _read(end, "end", -1)
    else:
        images = _read(start, "start", ":")
        if len(images) < 2:
            raise LandscapeError(
                f"option start: {start} holds one image; give -o end=FILE or a trajectory of two or more"
            )
        first, last = images[0], images[-1]
    module, cls = CALCULATORS[calculator]
    factory = getattr(importlib.import_module(module), cls)
    return AtomsPotential(first, factory, minima={"start": first, "end": last})


ASE = PotentialPlugin(
    name="ase",
    summary="ASE atoms under an ASE calculator (eV, Å); a point is the free atoms' Cartesian coordinates",
    target="landscape_plugins.atoms.descriptor:ase_potential",
    options={
        "start": (
            StructureFile,
            "",
            "structure file read by ase.io.read (its last image; FixAtoms kept), or a "
            "trajectory whose first and last images are the ends",
        ),
        "end": (StructureFile, "", "second structure file (its last image); empty: the last image of start"),
        "calculator": (str, "emt", f"one of {', '.join(CALCULATORS)} (ASE's EMT, LennardJones with defaults)"),
    },
    requires=("ase",),
)
