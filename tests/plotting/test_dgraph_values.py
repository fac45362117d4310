"""Disconnectivity graph coloured by a value per minimum (a committor): each minimum's line
and dot take its colour, NaN is grey, a colourbar is drawn, bad values are one-line errors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import colormaps  # noqa: E402

from landscape.analysis.graphs import saddle_matrix  # noqa: E402
from landscape.foundations.errors import LandscapeError  # noqa: E402
from landscape.plotting.dgraph import plot_disconnectivity  # noqa: E402

MB = saddle_matrix(3, [(0, 2, -40.664844), (2, 1, -72.248940)], [-146.699517, -108.166724, -80.767818])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_each_minimum_takes_the_colour_of_its_value():
    values = [0.0, 1.0, np.nan]
    ax = plot_disconnectivity(MB, values=values, values_label="q", values_range=(0.0, 1.0), cmap="viridis")
    lines = next(c for c in ax.collections if c.get_gid() == "dgraph-minima")
    dots = next(c for c in ax.collections if c.get_gid() == "dgraph-minima-ends")
    viridis = colormaps["viridis"]
    expected = [viridis(0.0), viridis(1.0), (0.6, 0.6, 0.6, 1.0)]  # index order, NaN grey
    np.testing.assert_allclose(lines.get_colors(), expected)
    np.testing.assert_allclose(dots.get_facecolors(), expected)
    (bar,) = [a for a in ax.figure.axes if a.get_gid() == "dgraph-colourbar"]
    assert bar.get_ylabel() == "q" and bar.get_ylim() == (0.0, 1.0)
    connectors = next(c for c in ax.collections if c.get_gid() == "dgraph-connectors")
    np.testing.assert_allclose(connectors.get_colors(), [(0, 0, 0, 1)])  # joins stay black


def test_default_range_is_the_values_own():
    ax = plot_disconnectivity(MB, values=[2.0, 4.0, 3.0])
    (bar,) = [a for a in ax.figure.axes if a.get_gid() == "dgraph-colourbar"]
    assert bar.get_ylim() == (2.0, 4.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"values": [0.0, 1.0]}, "3 numbers, one per minimum"),
        ({"values": [0.0, np.inf, 1.0]}, "finite or NaN"),
        ({"values": [0.0, 0.5, 1.0], "values_range": (1.0, 0.0)}, "low <= high"),
    ],
)
def test_bad_values(kwargs, message):
    with pytest.raises(LandscapeError, match=message):
        plot_disconnectivity(MB, **kwargs)
