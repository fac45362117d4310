"""Stacked training into a store (`train_stored(stacked=True)`, `landscape train --stacked`):
the minima each trained alone would give (up to rounding), every epoch of the stack
committed, and a crash after any commit resumed to the uninterrupted stack bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape.store import Store  # noqa: E402
from landscape_plugins.cifar.data import ImageData  # noqa: E402
from landscape_plugins.cifar.potential import AugmentedSource  # noqa: E402
from landscape_plugins.torchnet.models import CifarResNet  # noqa: E402
from landscape_plugins.torchnet.potential import NetworkPotential  # noqa: E402
from landscape_plugins.torchnet.train import TrainConfig  # noqa: E402
from landscape_plugins.torchnet.trainrun import train_stored  # noqa: E402

# 48 images of 8x8 pixels, batches of 16: 3 SGD steps per epoch
CONFIG = TrainConfig(epochs=2, lr=0.1, momentum=0.9, weight_decay=5e-4, batch_size=16, milestones=(0.5,))
M = 3


@pytest.fixture(scope="module")
def setup():
    g = torch.Generator().manual_seed(1)
    data = ImageData.create(
        torch.randint(0, 256, (48, 8, 8, 3), generator=g, dtype=torch.uint8), torch.randint(0, 10, (48,), generator=g)
    )
    pot = NetworkPotential(
        CifarResNet(8, 4), data, test_data=data, calibration_size=32, calibration_batch=16, batched="loop"
    )
    return pot, (lambda seed: AugmentedSource(data, 100 + seed))  # each minimum its own augmentation stream


def _train(path, setup, **kw):
    pot, source = setup
    return train_stored(path, pot, kw.pop("n", M), CONFIG, seed=4, train_source=source, **kw)


def _contents(path):
    with Store.open(path) as s:
        coords, energies, names = s.read_minima()
        curves, _ = s.read_array_group("learning_curves")
        meta = s.minima_metadata()
        attrs = s.read_array_group("training")[1]
    return coords, energies, names, curves, meta, attrs


@pytest.fixture(scope="module")
def references(setup, tmp_path_factory):
    folder = tmp_path_factory.mktemp("stacked")
    alone = _train(folder / "alone", setup)
    stacked = _train(folder / "stacked", setup, stacked=True)
    return _contents(alone.store), _contents(stacked.store), stacked


def test_stacked_minima_in_a_store_equal_minima_trained_alone(references):
    alone, stacked, run = references
    assert run.trained == ("0", "1", "2") and run.seeds == (4, 5, 6) and stacked[5]["status"] == "done"
    assert alone[2] == stacked[2] == ["0", "1", "2"]
    np.testing.assert_allclose(stacked[0], alone[0], rtol=0, atol=1e-5)
    np.testing.assert_allclose(stacked[1], alone[1], rtol=0, atol=1e-5)
    assert alone[3].keys() == stacked[3].keys()
    for key, value in alone[3].items():  # curves, sample counts included (as if trained alone)
        np.testing.assert_allclose(stacked[3][key], value, rtol=0, atol=1e-5, err_msg=key)
    assert [stacked[4]["minima"][n]["seed"] for n in "012"] == [4, 5, 6]
    assert stacked[4]["minima"]["2"]["samples"] == alone[4]["minima"]["2"]["samples"]
    assert not np.array_equal(stacked[0][0], stacked[0][1])


class Crash(Exception):
    pass


@pytest.mark.parametrize("at, rerun_stacked", [(("0", 1), False), (("1", 0), True)])
def test_a_crash_in_a_stack_resumes_to_the_uninterrupted_stack_bit_for_bit(
    setup, references, tmp_path, at, rerun_stacked
):
    """Crash after epoch 1 of the stack (reported under its first minimum) and rerun
    without `stacked` (a checkpoint continues in the mode that wrote it), or crash right
    after its minima were committed."""
    _, want, _ = references

    def crash(name, epoch):
        if (name, epoch) == at:
            raise Crash

    with pytest.raises(Crash):
        _train(tmp_path / "run", setup, stacked=True, after_commit=crash)
    if at[1]:
        ck = _contents_attrs(tmp_path / "run")
        assert ck["checkpoint_names"] == ["0", "1", "2"] and ck["checkpoint_epoch"] == at[1]
    run = _train(tmp_path / "run", setup, stacked=rerun_stacked)
    assert run.resumed == (("0,1,2", at[1]) if at[1] else None)
    assert run.trained == (("0", "1", "2") if at[1] else ())
    got = _contents(tmp_path / "run")
    assert got[2] == want[2] and np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert got[3].keys() == want[3].keys() and all(np.array_equal(got[3][k], want[3][k]) for k in want[3])


def _contents_attrs(path):
    with Store.open(path) as s:
        return s.read_array_group("training")[1]


def test_more_minima_on_a_finished_store_are_trained_as_one_stack(setup, references, tmp_path):
    alone, _, _ = references
    first = _train(tmp_path / "grow", setup, n=1)
    assert first.trained == ("0",)
    more = _train(tmp_path / "grow", setup, stacked=True)
    assert more.trained == ("1", "2")
    got = _contents(tmp_path / "grow")
    np.testing.assert_array_equal(got[0][0], alone[0][0])  # the first one, trained alone before
    np.testing.assert_allclose(got[0][1:], alone[0][1:], rtol=0, atol=1e-5)


def test_landscape_train_stacked_on_the_command_line(tmp_path):
    from landscape_cli.testing import run

    mlp = ["-o", "hidden=8", "-o", "n_train=64", "-o", "n_test=64", "-o", "data_seed=1"]
    common = ["train", "mlp", *mlp, "--minima", 3, "--epochs", 4, "--json", "--threads", 1]
    one = json.loads(run([*common, "--out", tmp_path / "a"]).stdout)
    three = json.loads(run([*common, "--stacked", "--out", tmp_path / "b"]).stdout)
    assert three["trained"] == ["0", "1", "2"] and three["samples"] == one["samples"]
    for name, values in one["final"].items():
        for key, value in values.items():
            assert three["final"][name][key] == pytest.approx(value, rel=1e-4, abs=1e-6), (name, key)
