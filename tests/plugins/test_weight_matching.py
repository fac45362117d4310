"""Weight matching (`landscape_plugins.torchnet.matching`): a randomly relabelled copy of a
network computes the same function and is matched back exactly; two different networks
are brought closer, never farther; the MLP plugin's `align` option declares it."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape.foundations.errors import LandscapeError  # noqa: E402
from landscape.potentials.symmetry import align, distance, images  # noqa: E402
from landscape_plugins.torchnet.matching import NetworkSymmetry, network_symmetry, permutation_spec  # noqa: E402
from landscape_plugins.torchnet.models import CifarResNet as SmallResNet  # noqa: E402
from landscape_plugins.torchnet.models import make_mlp  # noqa: E402
from landscape_plugins.torchnet.potential import NetworkPotential  # noqa: E402


def _potential(module: torch.nn.Module, inputs: torch.Tensor, classes: int) -> NetworkPotential:
    targets = torch.arange(len(inputs)) % classes
    return NetworkPotential(module.double(), (inputs.double(), targets), batched="loop")


def _flat(pot: NetworkPotential) -> np.ndarray:
    return pot.spec.flatten(pot.module).double().numpy()


def _relabelled(sym: NetworkSymmetry, x: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return sym.apply({g.name: rng.permutation(g.size) for g in sym.spec.groups}, x)


def _check_exact(pot: NetworkPotential, seeds=(1, 2, 3)) -> None:
    """Relabelled copies: other coordinates, the same outputs and energy, matched back to 0."""
    sym = network_symmetry(pot)
    x = _flat(pot)
    inputs = pot.batch[0]
    for seed in seeds:
        moved = _relabelled(sym, x, seed)
        assert np.abs(moved - x).max() > 1e-3  # really moved
        out, out_moved = (pot.forward(torch.from_numpy(v), inputs) for v in (x, moved))
        torch.testing.assert_close(out_moved, out, rtol=0, atol=1e-12)
        e = pot.energy(torch.from_numpy(np.stack([x, moved])))
        assert abs(float(e[0] - e[1])) <= 1e-12
        aligned = sym.align(x, moved)
        assert aligned.shape == x.shape and np.abs(aligned - x).max() <= 1e-12
        assert sym.distance(x, moved) <= 1e-12


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_relabelled_random_mlp_is_the_same_function_and_matched_back_exactly(batchnorm, activation):
    torch.manual_seed(0)
    pot = _potential(make_mlp(2, (12, 10), 3, activation, batchnorm), torch.randn(32, 2), 3)
    assert [g.size for g in network_symmetry(pot).spec.groups] == [12, 10]
    _check_exact(pot)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_trained_mlp_plugin_minima_align_exactly_and_independent_ones_come_closer(batchnorm):
    from landscape_plugins.torchnet.mlp import build_mlp

    pot = build_mlp(
        hidden="12,12", batchnorm=batchnorm, n_train=128, n_test=64, epochs=60, minima=2, dtype="float64", align=True
    )
    assert isinstance(pot.symmetry, NetworkSymmetry) and pot.describe()["symmetry"]["groups"] == 2
    _check_exact(pot, seeds=(4,))
    a, b = pot.minimum("0"), pot.minimum("1")  # tensors: the potential's points
    moved = pot.symmetry.apply(
        {g.name: np.random.default_rng(5).permutation(g.size) for g in pot.symmetry.spec.groups}, a
    )
    assert images(pot, np.stack([a.numpy(), moved, b.numpy()]), 1e-9) == [(0, 1)]
    aligned = align(pot, a, b)  # through the core, from tensors
    before = float(torch.linalg.norm(a - b))
    assert distance(pot, a, b) == pytest.approx(np.linalg.norm(a.numpy() - aligned), abs=1e-12)
    assert distance(pot, a, b) < before
    e = pot.energy(pot.asarray(np.stack([b.numpy(), aligned])))
    assert abs(float(e[0] - e[1])) <= 1e-12


def test_matching_never_increases_the_distance_and_is_deterministic():
    pots = []
    for seed in range(4):
        torch.manual_seed(seed)
        pots.append(_potential(make_mlp(2, (16, 16), 2, "tanh", seed % 2 == 1), torch.randn(16, 2), 2))
    for bn in (0, 1):
        ref, sym = _flat(pots[bn]), network_symmetry(pots[bn])
        x = _flat(pots[bn + 2])
        aligned = sym.align(ref, x)
        assert np.linalg.norm(ref - aligned) < np.linalg.norm(ref - x)
        assert np.array_equal(aligned, sym.align(ref, x))
        assert np.array_equal(np.sort(aligned), np.sort(x))  # only moved entries around


@pytest.mark.parametrize("name", ["resnet8-w4", "resnet14-w2", "densenet10-k3", "densenet16bc-k3"])
def test_cifar_networks_relabelled_through_residual_streams_and_concatenations(name):
    from landscape_plugins.cifar.models import build_model

    torch.manual_seed(0)
    pot = _potential(build_model(name), torch.randn(8, 3, 8, 8), 10)
    _check_exact(pot, seeds=(1, 2))


def test_small_resnet_of_torchnet_models_and_wrappers():
    from landscape_plugins.cifar.models import build_model
    from landscape_plugins.cifar.potential import Autocast

    torch.manual_seed(0)
    _check_exact(_potential(SmallResNet(8, width=4, num_classes=10), torch.randn(8, 3, 8, 8), 10), seeds=(1,))
    spec = permutation_spec(Autocast(build_model("resnet8-w4")))  # the bf16 wrapper of the CIFAR plugin
    assert all(s.name.startswith("net.") for g in spec.groups for s in g.slots)
    # the stage-2 stream: stage 1's channels shifted by the padding, plus a group of new ones
    fc = {g.name: s.index for g in spec.groups for s in g.slots if s.name == "net.fc.weight"}
    assert sorted(len(i) for i in fc.values()) == [4, 4, 8]
    assert fc["net.conv (stream)"] == tuple(range(6, 10))


def test_unknown_architectures_and_frozen_units_are_refused():
    with pytest.raises(LandscapeError, match="LayerNorm"):
        permutation_spec(torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 2)))
    with pytest.raises(LandscapeError, match="not Conv2d"):
        permutation_spec(torch.nn.Conv2d(3, 4, 3))
    module = make_mlp(2, (4,), 2)
    module[0].weight.requires_grad_(False)
    pot = NetworkPotential(module, (torch.randn(8, 2), torch.arange(8) % 2), trainable_only=True)
    with pytest.raises(LandscapeError, match="not a coordinate"):
        network_symmetry(pot)


def test_align_option_is_off_by_default_and_leaves_the_description_alone():
    from landscape_plugins.torchnet.descriptors import MLP

    assert MLP.options["align"][1] is False
    pot = MLP.build(hidden="4", n_train=16, n_test=16, epochs=1, minima=0)
    assert pot.symmetry is None and "symmetry" not in pot.describe()


def test_aligned_mlp_example_matching_lowers_the_straight_line():
    import runpy
    from pathlib import Path

    example = runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples" / "aligned_mlp.py"), run_name="x")
    energies, rows = example["measure"]("8,8", autoneb=False)  # the lines; AutoNEB is the script's own cost
    table = {what: (barrier, nfev, dist) for what, barrier, nfev, dist in rows}
    line, matched = table["straight line"], table["straight line, weight matched"]
    assert matched[0] < line[0] and matched[2] < line[2] and line[1] == matched[1] == 101
