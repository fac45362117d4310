"""Hypothesis strategies of the analytic surfaces, for property tests of optimizers.

Each drawn surface has at least two minima and a 2D domain, so
`landscape.paths.exact.grid_minimax` gives its exact saddles:

    from hypothesis import given
    from landscape_plugins.analytic.strategies import gaussian_surfaces

    @given(gaussian_surfaces())
    def test_my_optimizer(surface): ...
"""

from __future__ import annotations

from typing import Any

__all__ = ["gaussian_surfaces"]


def gaussian_surfaces(min_wells: int = 3, max_wells: int = 8) -> Any:
    """Seeded random Gaussian-mixture surfaces with >= 2 minima."""
    from hypothesis import strategies as st

    from .surfaces import GaussianMixture

    return st.builds(GaussianMixture, n_wells=st.integers(min_wells, max_wells), seed=st.integers(0, 10_000)).filter(
        lambda s: len(s.minima) >= 2
    )
