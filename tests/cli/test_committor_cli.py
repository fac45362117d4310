"""`landscape plot dgraph --committor A,B --temperature T` on an explored Mueller-Brown store:
the leaves' committors against the chain's closed form, the picture, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from landscape.analysis.hessian import refine_saddle
from landscape.analysis.rates import SaddleNetwork, Transition, stationary_point
from landscape_cli.explore import _committor_colours
from landscape_cli.testing import error_line, run
from landscape_plugins.analytic.surfaces import MuellerBrown


@pytest.fixture(scope="module")
def explored(tmp_path_factory):
    out = tmp_path_factory.mktemp("committor") / "mb"
    run(["minima", "mueller-brown", "--starts", "20", "--out", out])
    run(["explore", out, "--method", "neb", "--fmax", "1e-2", "--pivots", "15", "--steps", "500"])
    return out


@pytest.mark.parametrize("theory", ["htst", "kramers-langer"])
def test_leaves_take_the_committor_of_the_chain(explored, theory):
    mb = MuellerBrown()  # the store's m0, m1, m2 are Mueller-Brown's A, B, C
    minima = [stationary_point(mb, mb.minima[k]) for k in "ACB"]
    saddles = [stationary_point(mb, refine_saddle(mb, x)[0]) for x in ([-0.822, 0.624], [0.212, 0.293])]
    chain = SaddleNetwork(
        ["A", "C", "B"], minima, [Transition(saddles[0], 0, 1, "ac"), Transition(saddles[1], 1, 2, "cb")]
    )
    k = np.exp(chain.log_rates(20.0, theory, friction=2.0))
    q_c = k[2, 1] / (k[0, 1] + k[2, 1])  # C -> B over all of C's exits
    friction = 2.0 if theory == "kramers-langer" else None  # HTST's rates have none: refused
    colouring = _committor_colours(str(explored), ["m0", "m1", "m2"], "m0,m1", 20.0, theory, friction)
    np.testing.assert_allclose(colouring["values"], [0.0, 1.0, q_c], rtol=1e-6)
    assert colouring["values_range"] == (0.0, 1.0) and "reach m1 before m0" in colouring["values_label"]
    both = _committor_colours(str(explored), ["m0", "m1", "m2"], "m1+m2,m0", 20.0, theory, friction)
    assert both["values"] == [1.0, 0.0, 0.0]


def test_the_picture_is_written(explored, tmp_path):
    png = tmp_path / "q.png"
    args = ["plot", "dgraph", explored, "--committor", "m0,m1", "--temperature", "20", "--figure", png]
    assert run(args).stdout.strip() == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--committor", "m0"], "needs A,B"),
        (["--committor", "m0,m1"], "positive finite --temperature"),
        (["--committor", "m0,m1", "--temperature", "-1"], "positive finite --temperature"),
        (["--committor", "m0,m9", "--temperature", "1"], "no minima m9"),
        (["--committor", "m0,m0", "--temperature", "1"], "disjoint"),
        (["--committor", "m0+,m1", "--temperature", "1"], "comma-separated"),
        (["--temperature", "1"], "applies to --committor only"),
    ],
)
def test_bad_input_is_one_line(explored, tmp_path, args, message):
    png = tmp_path / "bad.png"
    assert message in error_line(run(["plot", "dgraph", explored, "--figure", png, *args], 1))
    assert not png.exists()
