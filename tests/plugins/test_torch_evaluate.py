"""Evaluation along paths: BatchNorm recalibration, endpoint metrics, barriers, plots, storage."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")
from torch import nn  # noqa: E402
from torch.optim.swa_utils import update_bn  # noqa: E402

from landscape.paths.path import Path  # noqa: E402
from landscape_plugins.torchnet.evaluate import (  # noqa: E402
    barriers,
    evaluate_path,
    evaluate_points,
    load_evaluation,
    module_metrics,
    outputs_at,
    plot_profile,
    save_evaluation,
)
from landscape_plugins.torchnet.mlp import make_dataset  # noqa: E402
from landscape_plugins.torchnet.models import make_mlp  # noqa: E402
from landscape_plugins.torchnet.params import load_parameters  # noqa: E402
from landscape_plugins.torchnet.potential import NetworkPotential  # noqa: E402
from landscape_plugins.torchnet.train import TrainConfig, train_minimum  # noqa: E402


@pytest.fixture(scope="module")
def bn_setup():
    train, test = make_dataset("blobs", 200, 100, noise=0.3, classes=3, seed=1)
    torch.manual_seed(0)
    net = make_mlp(2, (16, 16), 3, "relu", batchnorm=True).double()
    p = NetworkPotential(net, train, test_data=test, calibration_size=150, calibration_batch=40, chunk=3)
    cfg = TrainConfig(epochs=15, lr=0.05, batch_size=50, schedule="constant")
    a, b = train_minimum(p, 0, cfg).params, train_minimum(p, 1, cfg).params
    return p, a, b


@pytest.fixture(scope="module")
def mlp_minimum():
    train, test = make_dataset("spirals", 128, 64, seed=2)
    p = NetworkPotential(make_mlp(2, (16,), 2, "tanh"), train, test_data=test)
    return p, train_minimum(p, 3, TrainConfig(epochs=60, lr=0.02, optimizer="adam", batch_size=None))


def _reference(p: NetworkPotential, point: torch.Tensor) -> nn.Module:
    """The module with the point's parameters and running stats from update_bn."""
    m = copy.deepcopy(p.module)
    load_parameters(m, point, p.spec)
    update_bn(p.calibration_inputs(), m)
    return m.eval()


def test_torch_bn_recalibration_reproduces_update_bn_at_the_endpoints(bn_setup):
    p, a, b = bn_setup
    inputs = p.test_data.inputs[:32]
    out = outputs_at(p, torch.stack([a, b, 0.5 * (a + b)]), inputs)
    for i, point in enumerate((a, b, 0.5 * (a + b))):
        with torch.no_grad():
            ref = _reference(p, point)(inputs)
        torch.testing.assert_close(out[i], ref, rtol=1e-10, atol=1e-10)


def test_torch_bn_endpoint_metrics_equal_the_recalibrated_module(bn_setup):
    p, a, b = bn_setup
    ev = evaluate_path(p, Path.straight(a, b, 4), per_segment=2)
    for end, point in ((0, a), (-1, b)):
        m = _reference(p, point)
        for split, data in (("train", p.train_data), ("test", p.test_data)):
            own = module_metrics(m, data, p.loss, p.error)
            assert ev[f"{split}_loss"][end] == pytest.approx(own["loss"], rel=1e-10)
            assert ev[f"{split}_error"][end] == pytest.approx(own["error"], abs=1e-12)
    assert "calibration" in ev.bn_mode


def test_torch_bn_evaluation_vmap_and_loop_agree(bn_setup):
    p, a, b = bn_setup
    pts = torch.stack([a, b, 0.3 * a + 0.7 * b])
    v = evaluate_points(p, pts, "test", batch_size=64, batched="vmap")
    lo = evaluate_points(p, pts, "test", batch_size=64, batched="loop")
    np.testing.assert_allclose(v.loss, lo.loss, rtol=1e-10)
    np.testing.assert_allclose(v.error, lo.error, atol=1e-12)


@pytest.mark.parametrize("batched", ["loop", "vmap"])
def test_torch_bn_statistics_computed_once_equal_update_bn_per_point_and_split(bn_setup, batched):
    """evaluate_path recomputes each point's statistics once for both sets, in loop mode
    as in vmap mode; every point's metrics equal update_bn on that point, then each set."""
    p, a, b = bn_setup
    q = NetworkPotential(
        p.module, p.train_data, test_data=p.test_data, calibration_size=150, calibration_batch=40, batched=batched
    )
    ev = evaluate_path(q, Path.straight(a, b, 3), per_segment=1)
    assert ev.t.size == 5
    for k, t in enumerate(ev.t):  # a straight path: arc fraction t is the point (1 - t) a + t b
        m = _reference(q, (1 - t) * a + t * b)
        for split, data in (("train", q.train_data), ("test", q.test_data)):
            own = module_metrics(m, data, q.loss, q.error)
            assert ev[f"{split}_loss"][k] == pytest.approx(own["loss"], rel=1e-9)
            assert ev[f"{split}_error"][k] == pytest.approx(own["error"], abs=1e-12)


class _Stop(Exception):
    pass


@pytest.mark.parametrize("batched", ["loop", "vmap", None])
def test_torch_on_batch_runs_once_a_batch_changes_nothing_and_stops_where_it_raises(bn_setup, batched):
    """The evaluation hook: called on the host before each batch (under vmap, each of the
    4 calibration batches of 40 of 150, then 4 + 2 of 64 on 200 train / 100 test images;
    in the loop, before each of the 5 points' recalibration, then each point on each
    set), the metrics equal to the bit those without it; one that raises stops the
    evaluation there, even in the automatic mode, whose vmap failure would fall back to
    the loop (which would call it again)."""
    p, a, b = bn_setup
    mode = "loop" if batched == "loop" else "vmap"
    q = NetworkPotential(
        p.module, p.train_data, test_data=p.test_data, calibration_size=150, calibration_batch=40, batched=mode
    )
    path = Path.straight(a, b, 3)
    calls = []
    heard = evaluate_path(q, path, per_segment=1, batch_size=64, on_batch=lambda: calls.append(1))
    plain = evaluate_path(q, path, per_segment=1, batch_size=64)
    assert len(calls) == (4 + 4 + 2 if mode == "vmap" else 3 * 5)
    for key in plain.metrics:
        np.testing.assert_array_equal(heard[key], plain[key])

    def stop_at_third() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise _Stop

    calls.clear()
    with pytest.raises(_Stop):
        evaluate_path(q, path, per_segment=1, batch_size=64, on_batch=stop_at_third)
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(_Stop):  # evaluate_points alone, its statistics computed inside
        evaluate_points(q, torch.stack([a, b]), "train", batch_size=64, batched=batched, on_batch=stop_at_third)
    assert len(calls) == 3


def test_torch_path_endpoint_equals_the_minimums_own_metrics(mlp_minimum):
    p, trained = mlp_minimum
    other = trained.params + 0.3 * torch.ones_like(trained.params)
    ev = evaluate_path(p, Path.straight(trained.params, other, 3), per_segment=3)
    final = trained.final
    for key in ("train_loss", "train_error", "test_loss", "test_error"):
        assert ev[key][0] == pytest.approx(final[key], rel=1e-6, abs=1e-9), key
    assert ev.is_pivot.sum() == 3 and ev.t.size == 3 + 2 * 3
    assert np.all(np.diff(ev.t) >= 0)


def test_torch_three_barrier_definitions_are_distinct():
    t = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    v = np.array([1.0, 2.0, 4.0, 3.5, 3.0])
    b = barriers(t, v)
    assert b.max_minus_mean_ends == pytest.approx(4.0 - 2.0)
    assert b.max_gap_to_line == pytest.approx(max(v - (1 + 2 * t)))  # 4 - 2 at t = 0.5
    assert b.saddle_minus_higher_end == pytest.approx(1.0)
    assert b.saddle == 4.0 and b.saddle_t == 0.5
    flat = barriers(t, np.full(5, 0.7))
    assert flat.max_minus_mean_ends == flat.max_gap_to_line == flat.saddle_minus_higher_end == 0


def test_torch_profile_plot_and_store_round_trip(mlp_minimum, tmp_path):
    from landscape.store import Store

    p, trained = mlp_minimum
    ev = evaluate_path(p, Path.straight(trained.params, torch.zeros_like(trained.params), 3), per_segment=4)
    fig = plot_profile(ev, str(tmp_path / "profile.png"), title="test")
    assert (tmp_path / "profile.png").stat().st_size > 1000 and len(fig.axes) == 2
    with Store.create(tmp_path / "s.h5", p.describe()) as store:
        save_evaluation(store, "p0", ev)
        store.commit()
    with Store.open(tmp_path / "s.h5") as store:
        back = load_evaluation(store, "p0")
    np.testing.assert_array_equal(back.t, ev.t)
    np.testing.assert_array_equal(back["test_error"], ev["test_error"])
    assert back.bn_mode == ev.bn_mode and back.barriers == ev.barriers
