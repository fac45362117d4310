"""Speed options (autocast, channels-last, torch.compile) against the plain code, and
host synchronisations in training."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape import LandscapeError
from landscape_plugins.torchnet.evaluate import module_metrics
from landscape_plugins.torchnet.models import CifarResNet, make_mlp
from landscape_plugins.torchnet.params import flatten_parameters, load_parameters
from landscape_plugins.torchnet.potential import NetworkPotential
from landscape_plugins.torchnet.speed import CompileFallbackWarning, Speed
from landscape_plugins.torchnet.stacked import train_stacked
from landscape_plugins.torchnet.train import TrainConfig, train_minimum

CONFIG = TrainConfig(epochs=2, lr=0.1, momentum=0.9, weight_decay=5e-4, batch_size=16, milestones=(0.5,))
# The compile tests use the "aot_eager" backend: it traces forward and backward as torch.compile
# does, in seconds; inductor's C++ code generation takes a minute per shape on this CPU.
COMPILED = Speed(compile="default", compile_backend="aot_eager")


def _images(n=48):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 3, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)


def _resnet_potential(**kw):
    return NetworkPotential(CifarResNet(8, 4), _images(), calibration_size=32, calibration_batch=16, **kw)


def _points(net, n=3):
    x0 = flatten_parameters(net)
    return x0 + 0.01 * torch.randn(n, x0.numel(), generator=torch.Generator().manual_seed(1))


def test_default_speed_is_the_plain_code_bit_for_bit():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(64, 2, generator=g), torch.randint(0, 2, (64,), generator=g)
    net = make_mlp(2, (8,), 2, "tanh")
    pts = _points(net)
    for how in ("vmap", "loop"):
        plain, default = (
            NetworkPotential(net, (x, y), batched=how),
            NetworkPotential(net, (x, y), batched=how, speed=Speed()),
        )
        e0, g0 = plain.energy_and_gradient(pts)
        e1, g1 = default.energy_and_gradient(pts)
        assert torch.equal(e0, e1) and torch.equal(g0, g1)
        assert "speed" not in default.describe()  # stores keep their identity
    # the loop (the last `how`) against a module evaluated by hand, point by point
    for k, row in enumerate(pts):
        load_parameters(net, row, plain.spec)
        net.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        assert torch.equal(loss.detach(), e0[k])
        assert torch.equal(torch.cat([p.grad.reshape(-1) for p in net.parameters()]), g0[k])
    pot = _resnet_potential(batched="loop")
    a, b = train_minimum(pot, 3, CONFIG), train_minimum(pot, 3, CONFIG, speed=Speed())
    assert torch.equal(a.params, b.params)
    assert all(np.array_equal(a.curves[k], b.curves[k], equal_nan=True) for k in a.curves)


def test_bf16_autocast_within_tolerance_of_float32():
    bf16 = Speed(autocast="bfloat16")
    for how in ("loop", "vmap"):
        plain, fast = _resnet_potential(batched=how), _resnet_potential(batched=how, speed=bf16)
        pts = _points(plain.module)
        e0, g0 = plain.energy_and_gradient(pts)
        e1, g1 = fast.energy_and_gradient(pts)
        assert e1.dtype == torch.float32 and g1.dtype == torch.float32
        assert not torch.equal(e0, e1)  # it did run in bfloat16
        # measured: losses (about 2.3) within 6e-4, gradients' cosine 0.992 or more
        torch.testing.assert_close(e1, e0, rtol=0, atol=2e-3)
        assert torch.nn.functional.cosine_similarity(g0, g1).min() > 0.98
    assert fast.describe()["speed"] == {"autocast": "bfloat16"}
    pot = _resnet_potential(batched="loop")
    ref = train_minimum(pot, 3, CONFIG)
    for m in (train_minimum(pot, 3, CONFIG, speed=bf16), train_stacked(pot, [3], CONFIG, speed=bf16)[0]):
        # measured: parameters within 0.01 after 6 steps, curves' losses within 2e-3
        torch.testing.assert_close(m.params, ref.params, rtol=0, atol=0.05)
        np.testing.assert_allclose(m.curves["train_loss"], ref.curves["train_loss"], rtol=0, atol=1e-2)


def test_channels_last_equals_the_plain_layout():
    """Equal numbers, and under vmap no op without a batching rule (torch warns of a
    "performance drop" and loops: the global pool did, as adaptive_avg_pool2d)."""
    cl = Speed(channels_last=True)
    for how in ("loop", "vmap"):
        plain, fast = _resnet_potential(batched=how), _resnet_potential(batched=how, speed=cl)
        pts = _points(plain.module)
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message="There is a performance drop")
            pairs = list(zip(plain.energy_and_gradient(pts), fast.energy_and_gradient(pts)))
        for a, b in pairs:
            torch.testing.assert_close(b, a, rtol=0, atol=1e-5)
    pot = _resnet_potential(batched="loop")
    ref = train_minimum(pot, 3, CONFIG)
    for m in (train_minimum(pot, 3, CONFIG, speed=cl), train_stacked(pot, [3], CONFIG, speed=cl)[0]):
        torch.testing.assert_close(m.params, ref.params, rtol=0, atol=1e-5)


def test_compiled_steps_equal_the_eager_ones():
    plain, fast = _resnet_potential(batched="vmap"), _resnet_potential(batched="vmap", speed=COMPILED)
    pts = _points(plain.module)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileFallbackWarning)  # it must compile, not fall back
        for a, b in zip(plain.energy_and_gradient(pts), fast.energy_and_gradient(pts)):
            torch.testing.assert_close(b, a, rtol=0, atol=1e-6)
        pot = _resnet_potential(batched="loop")
        ref = train_minimum(pot, 3, CONFIG)
        m = train_minimum(pot, 3, CONFIG, speed=COMPILED)
        s = train_stacked(pot, [3], CONFIG, speed=COMPILED)[0]
    torch.testing.assert_close(m.params, ref.params, rtol=0, atol=1e-6)
    torch.testing.assert_close(s.params, ref.params, rtol=0, atol=1e-5)
    torch.testing.assert_close(s.buffers["bn.running_var"], ref.buffers["bn.running_var"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("where", ["wrap", "call"])
def test_compile_failure_falls_back_to_eager_with_one_warning_line(monkeypatch, where):
    def broken(fn, **kw):
        if where == "wrap":
            raise RuntimeError("no compiler here\nsecond line of a long story")

        def run(*args, **kwargs):
            raise RuntimeError("backend exploded\nsecond line")

        return run

    monkeypatch.setattr(torch, "compile", broken)
    pot = _resnet_potential(batched="loop")
    ref = train_minimum(pot, 3, CONFIG)
    fast = _resnet_potential(batched="loop", speed=Speed(compile="reduce-overhead"))
    pts = _points(pot.module)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = train_minimum(pot, 3, CONFIG, speed=Speed(compile="default"))
        e, g = fast.energy_and_gradient(pts)
        fast.energy_and_gradient(pts)
    assert torch.equal(m.params, ref.params)
    e0, g0 = _resnet_potential(batched="loop").energy_and_gradient(pts)
    assert torch.equal(e, e0) and torch.equal(g, g0)
    fallbacks = [w for w in caught if issubclass(w.category, CompileFallbackWarning)]
    assert len(fallbacks) == 2  # once for training, once for the potential: not per call
    assert all("\n" not in str(w.message) and "running it eagerly" in str(w.message) for w in fallbacks)


def test_bad_speed_options_are_one_line_errors():
    with pytest.raises(LandscapeError, match="autocast must be one of"):
        Speed(autocast="float8")
    with pytest.raises(LandscapeError, match="compile must be one of"):
        Speed(compile="fast")


class _HostReads:
    """Counts reads of device values on the host (what synchronises with a GPU)."""

    METHODS = ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__")

    def __init__(self, monkeypatch):
        self.count = 0
        for name in self.METHODS:
            original = getattr(torch.Tensor, name)

            def counted(tensor, *args, _original=original, **kwargs):
                self.count += 1
                return _original(tensor, *args, **kwargs)

            monkeypatch.setattr(torch.Tensor, name, counted)


@pytest.mark.parametrize("stacked", [False, True])
def test_training_reads_the_device_a_fixed_number_of_times_per_epoch(monkeypatch, stacked):
    """Three times as many steps, the same host reads: none happens inside the step loop."""
    g = torch.Generator().manual_seed(3)
    reads = {}
    for n in (32, 96):  # 4 and 12 steps of 8 samples
        x, y = torch.randn(n, 2, generator=g), torch.randint(0, 2, (n,), generator=g)
        pot = NetworkPotential(
            make_mlp(2, (8,), 2, "tanh", batchnorm=True), (x, y), calibration_size=16, calibration_batch=8
        )
        config = TrainConfig(epochs=1, batch_size=8, eval_batch=8)  # the curve's evaluation in 4 or 12 batches
        with monkeypatch.context() as m:
            counter = _HostReads(m)
            train_stacked(pot, [0, 1], config) if stacked else train_minimum(pot, 0, config)
        reads[n] = counter.count
    assert reads[32] == reads[96]


def test_module_metrics_sums_on_the_device_as_the_host_did():
    x, y = _images(40)
    net = CifarResNet(8, 4).eval()
    loss, error = torch.nn.functional.cross_entropy, lambda out, t: (out.argmax(-1) != t).double().mean()
    from landscape_plugins.torchnet.data import TensorData

    got = module_metrics(net, TensorData(x, y), loss, error, batch_size=16)
    total_l = total_e = 0.0  # the former host loop, one read per batch
    with torch.no_grad():
        for i in range(0, 40, 16):
            out = net(x[i : i + 16])
            total_l += float(loss(out, y[i : i + 16])) * out.shape[0]
            total_e += float(error(out, y[i : i + 16])) * out.shape[0]
    assert got == {"loss": total_l / 40, "error": total_e / 40}
