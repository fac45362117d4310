"""landscape: minimum energy paths between minima of any energy surface.

Every public name comes from here, whatever module it lives in::

    from landscape import NEB, Store, connect, load_potential

The core imports numpy and scipy only; torch lives in the plugins that need it.  Names
load on first use (PEP 562), so `import landscape` stays light and imports the
potential and path types only.  The modules live in topic folders (README,
"Architecture"); names they had before the folders still import, with a warning.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings
from typing import Any

# Loaded eagerly: the types every user needs (the rest load on first use, below).
from landscape.foundations.errors import LandscapeError  # noqa: F401
from landscape.paths.path import Path, Profile  # noqa: F401
from landscape.potentials.potential import (  # noqa: F401
    CachedPotential,
    ChunkedPotential,
    CountingPotential,
    Potential,
    PotentialWrapper,
)

__version__ = "0.1.0"

# The public API by home module (relative to this package).  A name listed twice shows
# up twice in `__all__`, which tests/test_public_api.py refuses.
_HOMES: dict[str, tuple[str, ...]] = {
    "foundations.errors": ("LandscapeError", "Interrupted", "DamagedCheckpoint"),
    "potentials.potential": (
        "Potential",
        "PotentialWrapper",
        "CountingPotential",
        "CachedPotential",
        "ChunkedPotential",
        "gradient_error",
    ),
    "potentials.guard": ("GuardedPotential",),
    "potentials.primed": ("PrimedPotential",),
    "potentials.registry": ("load_potential", "PotentialPlugin", "OptionSpec"),
    "paths.path": ("Path", "Profile"),
    "foundations.arrays": ("to_numpy",),
    "paths.result": ("Result", "Status", "CycleRecord"),
    "optimizers.driver": ("optimize",),
    "paths.budget": ("Budget",),
    "optimizers.base": ("PathOptimizer",),
    "optimizers.band": ("ElasticBand", "NEB", "StringMethod"),
    "optimizers.forces": ("auto_spring",),
    "optimizers.autoneb": ("AutoNEB",),
    "optimizers.curves": ("Curve", "BezierCurve", "PolyChain", "curve_weights"),
    "optimizers.steppers": ("Stepper", "SGD", "Adam", "FIRE", "FIRE2", "LBFGS", "stepper_from_config"),
    "optimizers.schedules": ("Schedule", "Cycle", "get_schedule", "load_schedule"),
    "runs.pair": ("connect", "make_optimizer"),
    "runs.stored": ("connect_stored",),
    "analysis.minima": ("find_minima", "Minima"),
    "analysis.basinhopping": ("basin_hopping", "BasinHopping"),
    "analysis.rates": (
        "saddle_network",
        "SaddleNetwork",
        "Transition",
        "stationary_point",
        "StationaryPoint",
        "log_rate",
    ),
    "analysis.kinetics": ("graph_transformation", "master_equation", "Passage"),
    "analysis.planes": (
        "plane_through",
        "slice_along",
        "random_directions",
        "evaluate_surface",
        "read_surface",
        "project_onto",
        "Slice",
        "Surface",
    ),
    "exploration.loop": ("explore", "load_exploration"),
    "exploration.results": ("Exploration", "ExploreBudget", "ExploreStatus"),
    "runs.executors": ("Executor", "LocalExecutor", "ProcessExecutor", "RayExecutor", "make_executor"),
    "runs.tasks": ("PotentialSpec", "PairTask"),
    "store": ("Store", "remove_store", "is_store"),
    "paths.exact": ("grid_minimax", "pairwise_minimax", "Grid", "ExactPath"),
    "analysis.hessian": (
        "certify",
        "SaddleCertificate",
        "refine_saddle",
        "dense_hessian",
        "lowest_modes",
        "hessian_products",
    ),
    "analysis.spectrum": (
        "spectrum",
        "Spectrum",
        "eigenpairs",
        "Eigenpairs",
        "hutchinson",
        "TraceEstimate",
        "spectra_along",
        "SpectraAlong",
        "parameter_blocks",
    ),
    "analysis.curvature": ("extreme_eigenvalues", "count_near_zero", "curvature_along", "path_end_tangents"),
    "analysis.reports": ("HessianReport", "analyse_point", "minimum_report", "climbing_image_analysis", "analyse_path"),
    "analysis.spectra_store": ("read_spectrum", "write_spectrum", "stored_spectrum"),
    "analysis.density": ("slq_density", "Density"),
    "analysis.graphs": ("saddle_matrix", "SaddleMatrix", "minimum_spanning_edges", "is_ultrametric"),
    "analysis.linkage": ("single_linkage",),
    "analysis.disconnectivity": ("disconnectivity_tree",),
    "plotting.dgraph": ("plot_disconnectivity",),
    "plotting.figures": ("plot_profile", "plot_plane", "save_figure"),
    "potentials.symmetry": ("Symmetry", "symmetry_of", "align", "distance", "distance_matrix", "compare_lines"),
    "paths.geometry": ("redistribute",),
    "paths.host": ("host_job",),
    "testing": ("check_potential", "check_optimizer"),
}
_HOME_OF: dict[str, str] = {name: home for home, names in _HOMES.items() for name in names}
# Modules that moved into topic folders: old name -> new home (relative to this package).
# Code written against the flat layout keeps importing; it is told where the module went.
_MOVED: dict[str, str] = {
    "errors": "foundations.errors",
    "arrays": "foundations.arrays",
    "values": "foundations.values",
    "memory": "foundations.memory",
    "files": "foundations.files",
    "lock": "foundations.lock",
    "potential": "potentials.potential",
    "guard": "potentials.guard",
    "host": "paths.host",
    "symmetry": "potentials.symmetry",
    "identity": "potentials.identity",
    "registry": "potentials.registry",
    "path": "paths.path",
    "geometry": "paths.geometry",
    "result": "paths.result",
    "climber": "paths.climber",
    "endpoints": "optimizers.endpoints",
    "exact": "paths.exact",
    "steppers": "optimizers.steppers",
    "schedules": "optimizers.schedules",
    "driver": "optimizers.driver",
    "steplog": "optimizers.steplog",
    "connect": "runs.pair",
    "executors": "runs.executors",
    "sanity": "paths.sanity",
    "explore": "exploration.loop",
    "hessian": "analysis.hessian",
    "minima": "analysis.minima",
    "graphs": "analysis.graphs",
    "plot": "plotting.figures",
    "dgraph": "plotting.dgraph",
    # end of moved modules
}
# Functions named like a module's old name (`landscape.connect`): importing that name
# must not rebind the function.
_SHADOWED = frozenset(_HOME_OF) & frozenset(_MOVED)

__all__ = ["__version__", *(name for names in _HOMES.values() for name in names)]


def __getattr__(name: str) -> Any:
    """Import a public name's home module on its first use and keep the name here."""
    home = _HOME_OF.get(name)
    if home is None:  # AttributeError, so that `from landscape import geometry` finds the submodule
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """What `dir` shows for any module, plus the public names not loaded yet (tab completion)."""
    return sorted(set(globals()) | set(__all__))


class _Root(types.ModuleType):
    """This package's module type.  Importing the old module name `landscape.connect` makes
    the import system set the package's `connect` to that module; it stays the function,
    so `from landscape import connect` never depends on what was imported before."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Root

_HOME_SPECS: dict[str, Any] = {}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves `landscape.<old>` to the module's new home: one module object under
    both names, so state and `isinstance` agree whichever name imported it."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        package, _, old = fullname.partition(".")
        if package != __name__ or old not in _MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> types.ModuleType:
        new = f"{__name__}.{_MOVED[spec.name.partition('.')[2]]}"
        warnings.warn(
            f"{spec.name} moved to {new}; import it from there, or its public names from {__name__}",
            DeprecationWarning,
            stacklevel=3,
        )
        module = importlib.import_module(new)
        _HOME_SPECS[new] = module.__spec__  # the import system sets the alias's spec on it next
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """The new home already ran; it keeps its own spec."""
        module.__spec__ = _HOME_SPECS[module.__name__]


sys.meta_path.append(_MovedFinder())
