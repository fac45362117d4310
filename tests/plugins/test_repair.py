"""REPAIR (plugins/torchnet/repair.py) on tiny networks: the corrected channels' statistics
against the interpolation of the ends' (pre-activations computed by hand from the weights),
the identity at the ends, the change being a per-channel affine map folded into the
weights, a BatchNorm ResNet, the sample counters and bad input."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from landscape.foundations.errors import LandscapeError  # noqa: E402
from landscape_plugins.torchnet.evaluate import evaluate_path  # noqa: E402
from landscape_plugins.torchnet.models import CifarResNet, make_mlp  # noqa: E402
from landscape_plugins.torchnet.params import flatten_parameters  # noqa: E402
from landscape_plugins.torchnet.potential import NetworkPotential  # noqa: E402
from landscape_plugins.torchnet.repair import (  # noqa: E402
    channel_statistics,
    repair_coefficients,
    repair_inputs,
    repair_point,
    repair_points,
    repair_sites,
)

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def _reinit(module, seed):
    torch.manual_seed(seed)
    for m in module.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):  # ends with different gammas and betas
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
            torch.nn.init.normal_(m.bias, 0.0, 0.3)
    return flatten_parameters(module)


@pytest.fixture(scope="module")
def mlp():
    """A 2-16-12-3 tanh MLP on 200 random samples and two random ends."""
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(200, 2, generator=gen), torch.randint(0, 3, (200,), generator=gen)
    module = make_mlp(2, (16, 12), 3, "tanh")
    a, b = _reinit(module, 1), _reinit(module, 2)
    return NetworkPotential(module, (x, y), test_data=(x[:50], y[:50]), calibration_size=128), a, b


@pytest.fixture(scope="module")
def resnet():
    """A ResNet-8 of width 4 (BatchNorm, option-A shortcuts) on 48 random 8x8 images."""
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(48, 3, 8, 8, generator=gen), torch.randint(0, 3, (48,), generator=gen)
    module = CifarResNet(8, 4, 3)
    a, b = _reinit(module, 1), _reinit(module, 2)
    return NetworkPotential(module, (x, y), calibration_size=40), a, b


def _preactivations(pot, point, inputs):
    """The MLP's hidden pre-activations by hand from the flat point's tensors."""
    p = pot.spec.unflatten(point)
    h1 = inputs @ p["0.weight"].T + p["0.bias"]
    h2 = torch.tanh(h1) @ p["2.weight"].T + p["2.bias"]
    return {"0": h1.double(), "2": h2.double()}


def _moments(h):
    return h.mean(0), h.std(0, unbiased=False)


@pytest.mark.parametrize("t", [0.3, 0.5, 0.8])
def test_mlp_channel_statistics_become_the_interpolation_of_the_ends(mlp, t):
    pot, a, b = mlp
    assert repair_sites(pot.module) == ["0", "2"]  # every Linear but the logits
    inputs = repair_inputs(pot)
    ha, hb = _preactivations(pot, a, inputs), _preactivations(pot, b, inputs)
    line = _preactivations(pot, (1 - t) * a + t * b, inputs)
    repaired = _preactivations(pot, repair_point(pot, a, b, t), inputs)
    for k in ("0", "2"):
        (ma, sa), (mb, sb) = _moments(ha[k]), _moments(hb[k])
        m, s = _moments(repaired[k])
        torch.testing.assert_close(m, (1 - t) * ma + t * mb, atol=1e-5, rtol=0)
        torch.testing.assert_close(s, (1 - t) * sa + t * sb, atol=1e-5, rtol=1e-5)
    # variance collapse on the line, repaired: the line's second layer is narrower than its target
    target = (1 - t) * _moments(ha["2"])[1] + t * _moments(hb["2"])[1]
    assert float((_moments(line["2"])[1] - target).abs().max()) > 1e-3


def test_ends_are_left_as_they_are(mlp):
    pot, a, b = mlp
    r = repair_points(pot, a, b, [0.0, 1.0])
    torch.testing.assert_close(r[0], a, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(r[1], b, atol=1e-6, rtol=1e-6)
    fresh = torch.randn(64, 2, generator=torch.Generator().manual_seed(5))  # not the calibration batch
    out = torch.func.functional_call(pot.module, pot.spec.unflatten(r[0]), (fresh,))
    torch.testing.assert_close(out, torch.func.functional_call(pot.module, pot.spec.unflatten(a), (fresh,)))


def test_the_change_is_a_per_channel_affine_map_folded_into_the_sites(mlp):
    pot, a, b = mlp
    t = 0.4
    x = (1 - t) * a + t * b
    coef = repair_coefficients(pot, a, b, t)
    r = repair_point(pot, a, b, t)
    px, pr = pot.spec.unflatten(x), pot.spec.unflatten(r)
    for k, (scale, shift) in coef.items():
        s, c = scale.float(), shift.float()
        torch.testing.assert_close(pr[f"{k}.weight"], s[:, None] * px[f"{k}.weight"])
        torch.testing.assert_close(pr[f"{k}.bias"], s * px[f"{k}.bias"] + c)
    for name in ("4.weight", "4.bias"):  # the logits' layer is not a site
        assert torch.equal(pr[name], px[name])
    # the function: the unrepaired network with the maps applied after each site, on new inputs
    module = make_mlp(2, (16, 12), 3, "tanh")
    module.load_state_dict(px)
    for k, (scale, shift) in coef.items():
        module.get_submodule(k).register_forward_hook(lambda m, i, o, s=scale, c=shift: o * s.float() + c.float())
    fresh = torch.randn(64, 2, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        torch.testing.assert_close(
            module(fresh), torch.func.functional_call(pot.module, pr, (fresh,)), atol=1e-5, rtol=1e-5
        )


def test_batched_equals_one_at_a_time_and_samples_are_counted(mlp):
    pot, a, b = mlp
    ts = [0.1, 0.6]
    before = pot.cost()["forward"]
    many = repair_points(pot, a, b, ts)
    # the ends once, then each point: one forward pass over the 128 calibration samples
    assert pot.cost()["forward"] - before == (2 + len(ts)) * 128
    for row, t in zip(many, ts):
        torch.testing.assert_close(row, repair_point(pot, a, b, t))
    curve = torch.stack([(1 - t) * a + t * b + 0.01 for t in ts])  # any point with known t
    torch.testing.assert_close(
        repair_points(pot, a, b, ts, points=curve)[1], repair_point(pot, a, b, 0.6, point=curve[1])
    )


def test_batchnorm_resnet_outputs_of_every_bn_move_to_the_interpolation(resnet):
    pot, a, b = resnet
    sites = repair_sites(pot.module)
    assert sites[0] == "bn" and len(sites) == 7  # the stem's BN and two per block
    t = 0.3
    r = repair_point(pot, a, b, t)
    st, sa, sb = (channel_statistics(pot, p) for p in (r, a, b))
    for k in sites:
        torch.testing.assert_close(st[k][0], (1 - t) * sa[k][0] + t * sb[k][0], atol=1e-5, rtol=0)
        torch.testing.assert_close(st[k][1], (1 - t) * sa[k][1] + t * sb[k][1], atol=1e-5, rtol=1e-5)
    # only the BatchNorm weights and biases change (convolutions and the classifier stay)
    changed = {
        n
        for n, u, v in zip(
            pot.spec.names, pot.spec.unflatten(r).values(), pot.spec.unflatten((1 - t) * a + t * b).values()
        )
        if not torch.equal(u, v)
    }
    assert changed and all(n.rsplit(".", 1)[0] in sites for n in changed)
    torch.testing.assert_close(repair_point(pot, a, b, 0.0), a, atol=1e-6, rtol=1e-6)


def test_evaluate_path_with_repair_keeps_the_ends(resnet):
    pot, a, b = resnet
    plain = evaluate_path(pot, torch.stack([a, b]), 3)
    fixed = evaluate_path(pot, torch.stack([a, b]), 3, repair=True)
    assert np.array_equal(plain.t, fixed.t) and "REPAIR" in fixed.bn_mode
    for key in ("train_loss", "train_error"):
        np.testing.assert_allclose(fixed[key][[0, -1]], plain[key][[0, -1]], rtol=1e-5, atol=1e-6)
        assert np.all(np.isfinite(fixed[key]))


def test_bad_input_is_one_error(mlp):
    pot, a, b = mlp
    with pytest.raises(LandscapeError, match="no layer"):
        repair_point(pot, a, b, 0.5, layers=["9"])
    with pytest.raises(LandscapeError, match="cannot absorb"):
        repair_point(pot, a, b, 0.5, layers=["1"])  # the Tanh
    with pytest.raises(LandscapeError, match=r"\[0, 1\]"):
        repair_points(pot, a, b, [0.5, 1.5])
    with pytest.raises(LandscapeError, match="flat point"):
        repair_point(pot, a[:-1], b, 0.5)
    with pytest.raises(LandscapeError, match="points but"):
        repair_points(pot, a, b, [0.5], points=torch.stack([a, b]))


def test_align_command_reports_the_repaired_line(tmp_path):
    import json

    from landscape_cli.testing import error_line, invoke, run

    store = str(tmp_path / "mlp")
    opts = ["-o", "hidden=8", "-o", "n_train=64", "-o", "n_test=64", "-o", "align=true"]
    run(["train", "mlp", *opts, "--minima", 2, "--epochs", 3, "--out", store])
    out = json.loads(run(["align", store, "--points", 11, "--repair", "--json"]).stdout)
    (row,) = out["pairs"].values()
    assert out["repair"] and np.isfinite(row["repaired_line_barrier"]) and row["repaired_line_barrier"] >= 0
    # REPAIR leaves the ends alone: the repaired line's higher end is the aligned line's
    ends = row["aligned_line_max"] - row["aligned_line_barrier"]
    assert row["repaired_line_max"] == pytest.approx(ends + row["repaired_line_barrier"], rel=1e-6)
    assert "with REPAIR" in run(["align", store, "--points", 5, "--repair"]).stdout
    plain = str(tmp_path / "mb")
    run(["minima", "mueller-brown", "--starts", 5, "--out", plain])
    assert "not a network" in error_line(invoke(["align", plain, "--repair"]))


def test_repair_lines_example_reports_three_lines(capsys):
    import runpy
    from pathlib import Path

    example = runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples" / "repair_lines.py"), run_name="x")
    (result,) = example["main"](["mlp", "--hidden", "8,8", "--epochs", "50", "--points", "5"])
    rows = {r["line"]: r for r in result["rows"]}
    assert list(rows) == list(example["ROWS"]) and "REPAIR samples" in capsys.readouterr().out
    # REPAIR: the two ends and the 5 points, each one forward pass over the 512 training points
    assert [r["repair_samples"] for r in rows.values()] == [0, 0, (2 + 5) * 512]
    matched, repaired = rows["weight-matched line"], rows["weight-matched line + REPAIR"]
    assert repaired["ends_test_error"] == pytest.approx(matched["ends_test_error"], abs=1e-9)
    assert all(r["barrier"] >= 0 and 0 <= r["at_t"] <= 1 for r in rows.values())
