"""`compile` of the cifar potential and `landscape train --compile`: the compiled band
evaluation and training step against the eager ones, and the eager fallback (one
warning line, the eager numbers) when torch.compile fails."""

from __future__ import annotations

import sys
import warnings

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape import LandscapeError  # noqa: E402
from landscape.store import Store  # noqa: E402
from landscape_cli.testing import error_line, invoke, run  # noqa: E402
from landscape_plugins.cifar.data import write_synthetic_npz  # noqa: E402
from landscape_plugins.cifar.potential import build_cifar  # noqa: E402
from landscape_plugins.torchnet.params import flatten_parameters  # noqa: E402
from landscape_plugins.torchnet.speed import CompileFallbackWarning, Speed  # noqa: E402
from landscape_plugins.torchnet.train import TrainConfig, train_minimum, training_speed  # noqa: E402

CONFIG = TrainConfig(epochs=2, lr=0.1, momentum=0.9, weight_decay=5e-4, batch_size=16, milestones=(0.5,))


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("npz") / "tiny.npz"
    write_synthetic_npz(path, 32, 16)  # 32 training images: 2 full batches of 16 per epoch
    return str(path)


def _potential(npz, **kw):
    common = dict(model="resnet8-w2", data=npz, device="cpu", batch_size=8, calibration_size=16, calibration_batch=8)
    return build_cifar(**common, **kw)


def _descend(pot, x, steps=3):
    """Three SGD steps of a 2-point band on the seeded batch stream: (losses, gradients) per step."""
    out = []
    for _ in range(steps):
        e, g = pot.energy_and_gradient(x)
        out.append((e, g))
        x = x - 0.1 * g
    return out


def _points(pot, n=2):
    x0 = flatten_parameters(pot.module)
    return x0 + 0.01 * torch.randn(n, x0.numel(), generator=torch.Generator().manual_seed(1))


def test_the_compile_option_gives_the_eager_losses_gradients_and_minima(npz):
    # aot_eager traces forward and backward as torch.compile does, in seconds (inductor's
    # code generation: bench/bench_throughput.py --compile)
    eager = _potential(npz, batched="vmap")
    fast = _potential(npz, batched="vmap", compile="default", compile_backend="aot_eager")
    assert fast.describe()["options"]["compile"] == "default" and "compile" not in eager.describe()["options"]
    assert training_speed(fast) == Speed(compile="default", compile_backend="aot_eager")
    x = _points(eager)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileFallbackWarning)  # vmap under compile: it must compile
        for (e0, g0), (e1, g1) in zip(_descend(eager, x), _descend(fast, x)):
            torch.testing.assert_close(e1, e0, rtol=0, atol=1e-5)
            torch.testing.assert_close(g1, g0, rtol=0, atol=1e-5)
        # training takes the potential's own speed: the compiled step, 4 SGD steps
        ref, got = train_minimum(eager, 3, CONFIG), train_minimum(fast, 3, CONFIG)
    torch.testing.assert_close(got.params, ref.params, rtol=0, atol=1e-5)
    with pytest.raises(LandscapeError, match="compile must be one of"):
        _potential(npz, compile="fast")


def _broken(monkeypatch):
    def compile(fn, **kw):
        def run(*args, **kwargs):
            raise RuntimeError("no C++ compiler found\nsecond line of a long story")

        return run

    monkeypatch.setattr(torch, "compile", compile)


def test_a_failing_compile_falls_back_to_the_eager_numbers_with_one_warning(npz, monkeypatch):
    _broken(monkeypatch)
    eager = _potential(npz, batched="loop")
    fast = _potential(npz, batched="loop", compile="max-autotune")
    x = _points(eager)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = _descend(fast, x)
        trained = train_minimum(fast, 3, CONFIG)
    for (e0, g0), (e1, g1) in zip(_descend(eager, x), got):
        assert torch.equal(e0, e1) and torch.equal(g0, g1)
    assert torch.equal(trained.params, train_minimum(eager, 3, CONFIG).params)
    fallbacks = [str(w.message) for w in caught if issubclass(w.category, CompileFallbackWarning)]
    assert len(fallbacks) == 2  # the band's evaluation and the training step, once each
    assert all("no C++ compiler found" in m and "\n" not in m for m in fallbacks)


def _printed(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def test_train_compile_falls_back_on_one_line_and_trains_the_eager_minima(npz, tmp_path, monkeypatch):
    options = ["-o", "model=resnet8-w2", "-o", f"data={npz}", "-o", "device=cpu", "-o", "calibration_size=16"]
    common = ["train", "cifar", *options, "--minima", 1, "--epochs", 1, "--batch-size", 16]
    run([*common, "--out", tmp_path / "eager.h5"])
    _broken(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        # pytest records warnings; print them as Python does outside it (`formatwarning` to stderr)
        monkeypatch.setattr(warnings, "showwarning", _printed)
        result = run([*common, "--compile", "default", "--out", tmp_path / "compiled.h5"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "CompileFallbackWarning" in lines[0] and "running it eagerly" in lines[0]
    assert "compiled (default)" in result.stdout
    with Store.open(tmp_path / "eager.h5") as a, Store.open(tmp_path / "compiled.h5") as b:
        assert (a.read_minima()[0] == b.read_minima()[0]).all()
        assert a.potential_description == b.potential_description  # --compile is not the store's identity
    assert "compile must be one of" in error_line(invoke([*common, "--compile", "fast", "--out", tmp_path / "x.h5"]))
    assert not (tmp_path / "x.h5").exists()
