"""REPAIR on a BatchNorm ResNet: the folded BN-output correction against the paper's
residual-block-output correction, at points of the weight-matched line (CPU, one thread).

    python bench/bench_repair_blocks.py out/reduced-paper/cifar-reduced [--pair 0-1] [--t 0.25,0.5,0.75]

`landscape_plugins.torchnet.repair` corrects a BN network at its BatchNorm outputs and
folds that into gamma and beta; after the per-point recalibration (the paper's RESET)
those outputs already sit near their targets, so the correction is small.  Jordan et
al.'s BN ResNet-50 code also rescales each residual block's output (after the skip
addition and ReLU).  With parameter-free shortcuts that cannot be folded into a flat
point, so this script applies it with forward hooks on a module copy: targets from the
ends measured as `repair` measures (calibration batch, BN on batch statistics), the
point's block outputs moved to them in forward order, BN statistics then recalibrated
with the hooks in place (`evaluate.recalibrate_module`) and the whole train and test
sets evaluated.  Per t it prints the train loss and test error of the plain point, the
folded REPAIR and the hooked block-output REPAIR, the folded correction's largest
|scale - 1| and |shift|, and the forward samples the t cost (the plain and folded points'
BatchNorm recalibrated once for both sets, `evaluate.evaluate_splits`).
"""

from __future__ import annotations

import argparse
import copy
import time
from typing import Any

import torch

ROWS = ("plain", "REPAIR (BN outputs, folded)", "REPAIR (block outputs, hooks)")


def block_names(module: Any) -> list[str]:
    """The residual blocks (the project's ResNet `BasicBlock`s), in forward order."""
    return [n for n, m in module.named_modules() if type(m).__name__ == "BasicBlock"]


def block_pass(pot: Any, point: Any, inputs: Any, blocks: list[str], targets: Any = None) -> dict[str, Any]:
    """Per block (mean, std) of its output at `point`, BN on batch statistics; with
    `targets`, the (scale, shift) that moved each output there (applied downstream)."""
    from landscape_plugins.torchnet.params import load_parameters

    module = load_parameters(copy.deepcopy(pot.module).train(), point, pot.spec)
    found: dict[str, Any] = {}

    def hook(name: str) -> Any:
        def fn(_: Any, __: Any, out: torch.Tensor) -> torch.Tensor | None:
            var, mean = torch.var_mean(out, dim=(0, 2, 3), correction=0)
            std = var.sqrt()
            if targets is None:
                found[name] = (mean, std)
                return None
            goal_mean, goal_std = targets[name]
            scale = torch.where(std > 1e-12, goal_std / std.clamp_min(1e-12), torch.ones_like(std))
            found[name] = (scale, goal_mean - scale * mean)
            return out * scale[None, :, None, None] + found[name][1][None, :, None, None]

        return fn

    handles = [module.get_submodule(n).register_forward_hook(hook(n)) for n in blocks]
    with torch.no_grad():
        module(inputs)
    for h in handles:
        h.remove()
    pot.count("forward", 1, inputs.shape[0])
    return found


def hooked_metrics(pot: Any, point: Any, coefficients: dict[str, Any]) -> tuple[float, float]:
    """(train loss, test error) of `point` with the block corrections as hooks, BN recalibrated."""
    from landscape_plugins.torchnet.evaluate import module_metrics, recalibrate_module
    from landscape_plugins.torchnet.params import load_parameters

    module = load_parameters(copy.deepcopy(pot.module), point, pot.spec)
    for name, (scale, shift) in coefficients.items():
        module.get_submodule(name).register_forward_hook(
            lambda _, __, out, s=scale, c=shift: out * s[None, :, None, None] + c[None, :, None, None]
        )
    recalibrate_module(pot, module, pot.calibration_inputs())
    train = module_metrics(module, pot.train_data, pot.loss, pot.error)
    test = module_metrics(module, pot.test_data, pot.loss, pot.error)
    pot.count("forward", 1, len(pot.train_data) + len(pot.test_data))  # module_metrics counts nothing itself
    return train["loss"], test["error"]


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    from landscape import Store
    from landscape_plugins.torchnet.commands import stored_network
    from landscape_plugins.torchnet.evaluate import evaluate_splits
    from landscape_plugins.torchnet.matching import network_symmetry
    from landscape_plugins.torchnet.repair import repair_coefficients, repair_inputs, repair_point

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("store", help="a store of a CIFAR ResNet potential with trained minima")
    p.add_argument("--pair", default="0-1", help="two stored minima, e.g. 0-1")
    p.add_argument("--t", default="0.25,0.5,0.75", help="fractions along the weight-matched line")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    pot = stored_network(args.store, "bench_repair_blocks")
    with Store.open(args.store) as s:
        coords, _, names = s.read_minima()
    i, j = (names.index(k) for k in args.pair.split("-"))
    a = pot.asarray(coords[i])
    b = pot.asarray(network_symmetry(pot).align(coords[i], coords[j]))
    blocks, inputs = block_names(pot.module), repair_inputs(pot)
    ends = (block_pass(pot, a, inputs, blocks), block_pass(pot, b, inputs, blocks))
    print(f"{args.store}, minima {args.pair}, weight-matched line: train loss / test error")
    out = []
    for t in (float(v) for v in args.t.split(",")):
        began, counted = time.perf_counter(), pot.cost()["forward"]
        x = (1 - t) * a + t * b
        folded = repair_point(pot, a, b, t)
        splits = evaluate_splits(pot, torch.stack([x, folded]))  # BN recalibrated once per point
        train, test = splits["train"].loss, splits["test"].error
        targets = {
            k: ((1 - t) * ends[0][k][0] + t * ends[1][k][0], (1 - t) * ends[0][k][1] + t * ends[1][k][1])
            for k in blocks
        }
        hooked = hooked_metrics(pot, x, block_pass(pot, x, inputs, blocks, targets))
        coef = repair_coefficients(pot, a, b, t)
        row = {
            "t": t,
            ROWS[0]: (float(train[0]), float(test[0])),
            ROWS[1]: (float(train[1]), float(test[1])),
            ROWS[2]: hooked,
            "max_abs_scale_minus_1": max(float((s - 1).abs().max()) for s, _ in coef.values()),
            "max_abs_shift": max(float(c.abs().max()) for _, c in coef.values()),
            "forward_samples": pot.cost()["forward"] - counted,
        }
        cells = ";  ".join(f"{k} {row[k][0]:.6g} / {100 * row[k][1]:.2f}%" for k in ROWS)
        print(
            f"  t={t:.2f}: {cells};  folded |scale-1| <= {row['max_abs_scale_minus_1']:.2g}, "
            f"|shift| <= {row['max_abs_shift']:.2g}  ({row['forward_samples']:,} forward samples, "
            f"{time.perf_counter() - began:.0f} s)"
        )
        out.append(row)
    return out


if __name__ == "__main__":
    main()
