"""`Store.read_result` gives back what the optimizer kept beside the path
(`Result.arrays`: a curve's control points), as the run itself returned it."""

from __future__ import annotations

import numpy as np
import pytest

from landscape import Store
from landscape.runs.stored import connect_stored
from landscape_plugins.analytic.surfaces import MuellerBrown


@pytest.fixture(scope="module")
def mb():
    return MuellerBrown()


def test_a_stored_curve_reads_back_its_own_control_points_exactly(mb, tmp_path):
    a, b = mb.minima["A"], mb.minima["B"]
    out = str(tmp_path / "store")
    run = connect_stored(out, mb, ("A", "B"), a, b, method="bezier", bends=2, steps=20, checkpoint_seconds=None)
    want_arrays, want_attrs = run.result.arrays
    with Store.open(out) as store:
        got_arrays, got_attrs = store.read_result("A-B").arrays
    assert sorted(got_arrays) == sorted(want_arrays) == ["controls", "t"]
    for key, value in want_arrays.items():
        assert got_arrays[key].dtype == np.asarray(value).dtype
        np.testing.assert_array_equal(got_arrays[key], value)
    assert got_attrs == want_attrs == {"kind": "bezier", "bends": 2}


def test_a_stored_band_has_no_arrays(mb, tmp_path):
    a, b = mb.minima["A"], mb.minima["B"]
    out = str(tmp_path / "store")
    run = connect_stored(out, mb, ("A", "B"), a, b, method="neb", pivots=5, fmax=0.5, checkpoint_seconds=None)
    assert run.result.arrays is None
    with Store.open(out) as store:
        assert store.read_result("A-B").arrays is None
