"""`with_protocol`: the optimizer default `connect` and `explore` share, by what the
potential is (deterministic or mini-batch, a loss over data or not)."""

from __future__ import annotations

import pytest

from landscape.runs.pair import make_optimizer, with_protocol
from landscape_plugins.analytic.surfaces import MuellerBrown


def _fast(potential, method):
    return with_protocol(potential, method, {}).get("deterministic")


def test_an_analytic_surface_gets_the_fast_band_and_the_softmax_curve():
    pot = MuellerBrown()
    assert _fast(pot, "neb") and _fast(pot, "bezier") and _fast(pot, "polychain")
    assert with_protocol(pot, "autoneb", {}) == {}  # AutoNEB's schedule decides its steppers
    assert with_protocol(pot, "neb", {"deterministic": False}) == {"deterministic": False}  # given wins
    band = make_optimizer("neb", **with_protocol(pot, "neb", {}))
    assert band.stepper.kind == "fire2-lbfgs" and band.freeze == 1.0


@pytest.mark.parametrize("batch_size, neb, curve", [(0, False, True), (16, False, False)])
def test_a_network_loss_runs_neb_with_fire2(batch_size, neb, curve):
    """A full-batch loss is deterministic (a curve's softmax objective), but NEB's
    guarded L-BFGS fell behind FIRE 2.0 there; a mini-batch loss is neither."""
    pytest.importorskip("torch")
    from landscape_plugins.torchnet.descriptors import MLP

    pot = MLP.build(hidden="4", n_train=32, n_test=32, batch_size=batch_size, minima=0)
    assert pot.stochastic == (batch_size > 0)
    assert _fast(pot, "neb") is neb and _fast(pot, "bezier") is curve
    assert make_optimizer("neb", **with_protocol(pot, "neb", {})).stepper.kind == "fire2"
