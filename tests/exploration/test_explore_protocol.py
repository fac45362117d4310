"""`explore` computes each path as `connect` computes it alone (one protocol), and a store
explored before that continues with the optimizer its paths were computed with."""

from __future__ import annotations

import numpy as np
import pytest

from landscape import connect
from landscape.exploration.loop import explore
from landscape.exploration.results import ExploreBudget
from landscape.foundations.errors import LandscapeError
from landscape.paths.budget import Budget
from landscape.runs.pair import make_optimizer
from landscape.store import Store
from landscape_plugins.analytic.surfaces import GaussianMixture

SURFACE = GaussianMixture(14, seed=0)  # 6 minima
SETTINGS = {"method": "neb", "fmax": 1e-2, "pivots": 15}
STEPS = Budget(max_steps=500)


def minima() -> np.ndarray:
    return np.array(list(SURFACE.minima.values()))


def stored_configs(f) -> dict[str, dict]:
    """Each stored path's optimizer settings (its config less what the run adds)."""
    with Store.open(f) as store:
        configs = {name: store.read_result(name).config for name in store.path_names()}
    return {name: {k: v for k, v in c.items() if k != "seed"} for name, c in configs.items()}


@pytest.mark.parametrize("method", ["neb", "bezier"])
def test_an_explored_path_is_the_pair_run_alone(tmp_path, method):
    """Same optimizer (NEB's guarded L-BFGS with held pivots, a curve's softmax
    objective on a deterministic surface), same pivots, same evaluations."""
    settings = SETTINGS if method == "neb" else {"method": "bezier", "bends": 2, "steps": 40}
    x = minima()[:3]
    ex = explore(SURFACE, x, store=tmp_path / "s.h5", run_budget=STEPS, **settings)
    assert ex.paths
    with Store.open(tmp_path / "s.h5") as store:
        for (i, j), name in ex.paths.items():
            got = store.read_result(name)
            alone = connect(SURFACE, x[i], x[j], budget=STEPS, **settings)
            assert got.config == alone.config
            np.testing.assert_array_equal(got.path.pivots, alone.path.pivots)
            assert got.nfev == alone.nfev
    expected = "lbfgs" if method == "neb" else "softmax"
    assert expected in str(got.config)


def test_a_store_explored_with_the_earlier_default_continues_with_it(tmp_path):
    """Its paths were computed by FIRE 2.0 without held pivots (`deterministic` False):
    continuing without an optimizer keeps that one, for the old paths and the new ones,
    instead of refusing the store or mixing two protocols in one tree."""
    f = tmp_path / "old.h5"
    earlier = make_optimizer("neb", fmax=1e-2, deterministic=False)
    explore(
        SURFACE, minima(), store=f, optimizer=earlier, pivots=15, run_budget=STEPS, budget=ExploreBudget(max_runs=3)
    )
    first = stored_configs(f)
    assert len(first) == 3
    ex = explore(SURFACE, None, store=f, run_budget=STEPS, **SETTINGS)
    assert ex.complete and ex.runs > 0
    configs = stored_configs(f)
    assert len(configs) > 3
    assert all(c == earlier.to_config() for c in configs.values())
    fresh = explore(SURFACE, minima()[:2], store=tmp_path / "new.h5", run_budget=STEPS, **SETTINGS)
    assert fresh.config["optimizer"] != earlier.to_config()


def test_other_settings_are_still_refused(tmp_path):
    """The earlier default is taken only when it is what the store holds: a store
    computed with other settings is refused as before."""
    f = tmp_path / "old.h5"
    other = make_optimizer("neb", fmax=0.5, deterministic=False)
    explore(SURFACE, minima(), store=f, optimizer=other, pivots=15, run_budget=STEPS, budget=ExploreBudget(max_runs=1))
    with pytest.raises(LandscapeError, match="differs in optimizer"):
        explore(SURFACE, None, store=f, run_budget=STEPS, **SETTINGS)
