"""Section 5.2 reproduced: XOR minima, AutoNEB between hidden-unit swaps, a helper neuron.

`run_xor_experiment(seed)` trains a 2-2-1 minimum A (BCE + L2, float64), then
1. runs AutoNEB between A and swap(A) (hidden units exchanged): the path found
   misclassifies a point, as every path must (proof in `network`'s docstring); the
   point where v_1 w_11 changes sign is located by bisection and shown misclassified;
2. embeds both into the 2-3-1 network with a silent helper unit (Charlie) and
   - follows the paper's choreography: all four points correct, data loss constant;
   - runs AutoNEB from the straight line with the helper's weights perturbed in the
     interior pivots (on the exact straight line the helper stays zero: its
     gradients vanish there, an invariant subspace), which finds a path with all
     four points correct and a data-loss barrier near zero by itself.
Losses along paths are data losses (BCE); the L2 term is reported apart.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.optimizers.autoneb import AutoNEB
from landscape.optimizers.band import ElasticBand
from landscape.optimizers.driver import optimize
from landscape.optimizers.schedules import Cycle, Schedule
from landscape.optimizers.steppers import FIRE
from landscape.paths import geometry
from landscape.paths.path import Path
from landscape.runs.pair import connect
from landscape_plugins.torchnet.evaluate import evaluate_path
from landscape_plugins.torchnet.params import flatten_parameters
from landscape_plugins.torchnet.potential import NetworkPotential
from landscape_plugins.torchnet.train import init_parameters

from .network import (
    XOR_INPUTS,
    XOR_TARGETS,
    choreography,
    embed_helper,
    make_xor_net,
    margins,
    network_function,
    sign_invariant,
    swap_hidden,
    xor_loss,
)

__all__ = [
    "xor_potential",
    "build_xor",
    "train_xor",
    "xor_schedule",
    "classify_along",
    "XorPathResult",
    "XorExperiment",
    "xor_experiment",
    "run_xor_experiment",
    "plot_xor",
]

DEFAULT_L2 = 1e-3


def xor_potential(hidden: int = 2, activation: str = "tanh", l2: float = DEFAULT_L2) -> NetworkPotential:
    """BCE (+ l2/2 |theta|^2) of the 2-H-1 network on the four XOR points, float64, full batch."""
    net = make_xor_net(hidden, activation).double()
    data = (XOR_INPUTS.double(), XOR_TARGETS.double())
    return NetworkPotential(net, data, xor_loss, test_data=data, l2=l2, batched="vmap", name=f"xor-2-{hidden}-1")


def train_xor(seed: int, activation: str = "tanh", l2: float = DEFAULT_L2, attempts: int = 20) -> torch.Tensor:
    """A 2-2-1 minimum of BCE + L2 classifying all four points (flat, float64).

    L-BFGS from seeded initialisations (scaled by 2 to leave the flat region near 0);
    an attempt ending in a minimum that misclassifies is retried with the next seed.
    """
    potential = xor_potential(2, activation, l2)
    inputs, targets = potential.batch
    for attempt in range(attempts):
        x = (2 * flatten_parameters(init_parameters(potential.module, 1000 * seed + attempt))).requires_grad_(True)
        opt = torch.optim.LBFGS(
            [x], lr=1, max_iter=200, tolerance_grad=1e-11, tolerance_change=1e-14, line_search_fn="strong_wolfe"
        )

        def closure() -> torch.Tensor:
            opt.zero_grad()
            e = potential._objective(x, inputs, targets) + 0.5 * l2 * (x * x).sum()
            e.backward()
            return e

        for _ in range(3):
            opt.step(closure)
        x = x.detach()
        if bool((margins(x, 2, activation) > 0).all()):
            return x
    raise LandscapeError(f"no XOR minimum classifying all points in {attempts} attempts from seed {seed}")


def build_xor(hidden: int = 2, activation: str = "tanh", l2: float = DEFAULT_L2, seed: int = 0) -> NetworkPotential:
    """The XOR potential with minima "a" (trained, seed) and "b" (its hidden-unit swap);
    with hidden=3 both are embedded with a silent helper unit."""
    if hidden not in (2, 3):
        raise LandscapeError(f"the XOR plugin has hidden = 2 or 3 (with a helper), got {hidden}")
    a = train_xor(seed, activation, l2)
    b = swap_hidden(a, 2)
    if hidden == 3:
        a, b = embed_helper(a), embed_helper(b)
    potential = xor_potential(hidden, activation, l2)
    potential.add_minimum("a", a)
    potential.add_minimum("b", b)
    return potential


def xor_schedule(steps: int = 150, cycles: int = 4) -> Schedule:
    """FIRE cycles for the 9- and 13-parameter XOR nets (the last one climbs)."""
    fire = FIRE(lr=0.01, dt_max=0.1, max_step=0.2)
    return Schedule("xor", tuple(Cycle(steps, fire, climb=k == cycles - 1) for k in range(cycles)), threshold=0.2)


def classify_along(pivots: Any, hidden: int, activation: str = "tanh", per_segment: int = 20) -> dict[str, np.ndarray]:
    """Arc fraction, number of correctly classified points and smallest margin at the
    pivots and `per_segment` points per segment (closed-form network, exact)."""
    pts = torch.as_tensor(to_numpy(pivots), dtype=torch.float64)
    dense = geometry.dense_points(pts, per_segment)
    s = to_numpy(geometry.arc_fractions(pts))
    w = np.arange(1, per_segment + 1) / (per_segment + 1)
    t = np.concatenate([s, (s[:-1, None] + w[None, :] * np.diff(s)[:, None]).ravel()])
    m = to_numpy(margins(torch.cat([pts, dense]), hidden, activation))
    order = np.argsort(t, kind="stable")
    return {"t": t[order], "correct": (m > 0).sum(-1)[order], "min_margin": m.min(-1)[order]}


def _invariant_crossing(pivots: torch.Tensor, activation: str, iterations: int = 60) -> dict[str, float] | None:
    """Bisection on the polyline for the point where v_1 w_11 vanishes (2-2-1 net)."""
    inv = to_numpy(sign_invariant(pivots, 2)[:, 0, 0])
    changes = np.flatnonzero(np.sign(inv[:-1]) != np.sign(inv[1:]))
    if changes.size == 0:
        return None
    k = int(changes[0])
    lo, hi = 0.0, 1.0
    a, b = pivots[k], pivots[k + 1]
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        same = np.sign(float(sign_invariant(a + mid * (b - a), 2)[0, 0])) == np.sign(inv[k])
        lo, hi = (mid, hi) if same else (lo, mid)
    point = a + hi * (b - a)
    s = to_numpy(geometry.arc_fractions(pivots))
    m = to_numpy(margins(point, 2, activation))
    loss = xor_loss(network_function(point, 2, activation), XOR_TARGETS.to(point))
    return {
        "t": float(s[k] + hi * (s[k + 1] - s[k])),
        "correct": int((m > 0).sum()),
        "min_margin": float(m.min()),
        "invariant": float(sign_invariant(point, 2)[0, 0]),
        "data_loss": float(loss),
    }


@dataclass(frozen=True)
class XorPathResult:
    """One path of the experiment: its pivots, loss profile and classification along it."""

    label: str
    hidden: int
    pivots: np.ndarray
    t: np.ndarray
    loss: np.ndarray
    energy_barrier: float
    classification: dict[str, np.ndarray]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def min_correct(self) -> int:
        return int(self.classification["correct"].min())

    @property
    def loss_barrier(self) -> float:
        """Highest data loss along the path minus the higher endpoint (saddle minus minimum)."""
        return float(self.loss.max() - max(self.loss[0], self.loss[-1]))

    def summary(self) -> dict[str, Any]:
        return {
            "hidden": self.hidden,
            "pivots": int(self.pivots.shape[0]),
            "min_loss": float(self.loss[0]),
            "max_loss": float(self.loss.max()),
            "loss_barrier": self.loss_barrier,
            "energy_barrier": self.energy_barrier,
            "min_correct": self.min_correct,
            "all_correct": self.min_correct == 4,
            **self.extra,
        }


def _path_result(
    label: str,
    potential: NetworkPotential,
    pivots: Any,
    hidden: int,
    activation: str,
    extra: dict[str, Any] | None = None,
) -> XorPathResult:
    pts = potential.asarray(to_numpy(pivots))
    ev = evaluate_path(potential, pts, per_segment=9, splits=("train",))
    dense = torch.cat([pts, geometry.dense_points(pts, 9)])
    energies = to_numpy(potential.energy(dense))
    barrier = float(energies.max() - max(energies[0], energies[pts.shape[0] - 1]))
    return XorPathResult(
        label,
        hidden,
        to_numpy(pts),
        ev.t,
        ev["train_loss"],
        barrier,
        classify_along(pts, hidden, activation),
        dict(extra or {}),
    )


def _run_info(result: Any) -> dict[str, Any]:
    return {"status": result.status.value, "nit": int(result.nit), "nfev": int(result.nfev)}


def _helper_start(a: torch.Tensor, b: torch.Tensor, n: int, seed: int, scale: float = 0.5) -> Path:
    """The straight line with the helper unit's weights perturbed in the interior pivots."""
    line = Path.straight(a, b, n).pivots.clone()
    gen = torch.Generator().manual_seed(seed)
    helper = [4, 5, 8, 11]  # W[2, 0], W[2, 1], c[2], v[2] in the 2-3-1 layout
    noise = scale * torch.randn(n - 2, len(helper), generator=gen, dtype=line.dtype)
    line[1:-1, helper] += noise
    return Path(line)


#: The least data loss (mean BCE) of a 2-2-1 network with v_1 w_11 = 0, which every path
#: between A and swap(A) crosses: input 1 then acts through one monotone unit only, so
#: of the pairs (0,0)-(1,0) and (0,1)-(1,1), whose targets change in opposite
#: directions, one is ordered the wrong way; the best such pair predicts 1/2 for both
#: points (loss 2 log 2) and the other pair costs nothing: 2 log 2 / 4 = log(2) / 2.
#: So the highest data loss on any such path is at least this (0.3466).
SWAP_LOSS_BOUND = math.log(2) / 2


@dataclass(frozen=True)
class XorExperiment:
    """All three paths of the experiment and the minimum they connect."""

    seed: int
    activation: str
    l2: float
    minimum: np.ndarray
    swap: XorPathResult
    choreography: XorPathResult
    helper: XorPathResult
    crossing: dict[str, float] | None

    @property
    def holds(self) -> bool:
        """The paper's claim: the swap path misclassifies, the helper paths do not."""
        return (
            self.swap.min_correct < 4
            and self.choreography.min_correct == 4
            and self.helper.min_correct == 4
            and self.choreography.loss_barrier < 1e-9
            and self.helper.loss_barrier < 0.05 * self.swap.loss_barrier
        )

    def summary(self) -> dict[str, Any]:
        bound = {
            "max_loss_lower_bound": SWAP_LOSS_BOUND,
            "max_loss_over_bound": self.swap.summary()["max_loss"] / SWAP_LOSS_BOUND,
        }
        return {
            "seed": self.seed,
            "activation": self.activation,
            "l2": self.l2,
            "holds": self.holds,
            "minimum": self.minimum.tolist(),
            "two_hidden_swap": {**self.swap.summary(), **bound, "crossing": self.crossing},
            "three_hidden_choreography": self.choreography.summary(),
            "three_hidden_autoneb": self.helper.summary(),
        }


def xor_experiment(
    seed: int = 0,
    *,
    activation: str = "tanh",
    l2: float = DEFAULT_L2,
    steps: int = 100,
    cycles: int = 3,
    helper_steps: int = 150,
    helper_cycles: int = 6,
) -> XorExperiment:
    """Train, connect and evaluate (see the module docstring); a few seconds on a CPU.

    `steps` x `cycles` is the AutoNEB schedule of the 2-2-1 swap path, whose
    misclassification is certain; the helper path needs the longer
    `helper_steps` x `helper_cycles` to relax into the choreography.
    """
    a = train_xor(seed, activation, l2)
    b = swap_hidden(a, 2)
    p2 = xor_potential(2, activation, l2)
    r2 = connect(p2, a, b, schedule=xor_schedule(steps, cycles), climb=True)
    swap = _path_result("2-2-1: AutoNEB between A and swap(A)", p2, r2.path.pivots, 2, activation, _run_info(r2))
    crossing = _invariant_crossing(torch.as_tensor(r2.path.pivots), activation)

    p3 = xor_potential(3, activation, l2)
    a3, b3 = embed_helper(a), embed_helper(b)
    chor = _path_result("2-3-1: the choreography", p3, choreography(a), 3, activation)
    opt = AutoNEB(schedule=xor_schedule(helper_steps, helper_cycles), band=ElasticBand(method="string"))
    r3 = optimize(opt, p3, _helper_start(a3, b3, 9, seed))
    helper = _path_result("2-3-1: AutoNEB, helper perturbed", p3, r3.path.pivots, 3, activation, _run_info(r3))
    return XorExperiment(int(seed), activation, float(l2), to_numpy(a), swap, chor, helper, crossing)


def plot_xor(experiment: XorExperiment, file: str | None = None) -> Any:
    """Data loss, correctly classified points and v_1 w_11 along the three paths."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.6), layout="constrained")
    ax_loss, ax_ok, ax_inv = fig.subplots(1, 3)
    styles = (
        (experiment.swap, "tab:red", "-"),
        (experiment.choreography, "tab:green", "--"),
        (experiment.helper, "tab:blue", "-"),
    )
    for res, color, ls in styles:
        ax_loss.plot(res.t, res.loss, ls, color=color, label=res.label)
        c = res.classification
        ax_ok.step(c["t"], c["correct"], where="mid", color=color, ls=ls, label=res.label)
    t, inv = _invariant_profile(torch.as_tensor(experiment.swap.pivots))
    ax_inv.plot(t, inv, color="tab:red")
    ax_inv.axhline(0, color="0.5", lw=0.8)
    if experiment.crossing:
        ax_inv.plot(
            [experiment.crossing["t"]], [0], "ko", ms=4, label=f"{experiment.crossing['correct']}/4 correct here"
        )
        ax_inv.legend(frameon=False, fontsize=8)
    ax_loss.set(xlabel="arc-length fraction", ylabel="data loss (BCE)", title="loss along the paths")
    ax_ok.set(
        xlabel="arc-length fraction",
        ylabel="correctly classified points",
        ylim=(-0.2, 4.4),
        title="classification along the paths",
    )
    ax_inv.set(xlabel="arc-length fraction", ylabel="v1 * w11", title="2-2-1 path: the sign that must flip")
    ax_loss.legend(frameon=False, fontsize=7)
    fig.suptitle(f"XOR (Draxler et al. 2018, section 5.2), seed {experiment.seed}, {experiment.activation}")
    if file:
        fig.savefig(file, dpi=120)
    return fig


def _invariant_profile(pts: torch.Tensor, per_segment: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """v_1 w_11 at the pivots and dense points of a 2-2-1 path, by arc fraction."""
    s = to_numpy(geometry.arc_fractions(pts))
    w = np.arange(1, per_segment + 1) / (per_segment + 1)
    t = np.concatenate([s, (s[:-1, None] + w[None, :] * np.diff(s)[:, None]).ravel()])
    inv = to_numpy(sign_invariant(torch.cat([pts, geometry.dense_points(pts, per_segment)]), 2)[:, 0, 0])
    order = np.argsort(t, kind="stable")
    return t[order], inv[order]


def run_xor_experiment(seed: int = 0, out_dir: str | None = None, **settings: Any) -> dict[str, Any]:
    """The experiment's numbers as a JSON-able dict; with `out_dir`, also writes
    xor-seed<seed>.json and xor-seed<seed>.png there (paths in "files")."""
    exp = xor_experiment(seed, **settings)
    out = exp.summary()
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        stem = os.path.join(out_dir, f"xor-seed{seed}")
        plot_xor(exp, stem + ".png")
        out["files"] = {"figure": stem + ".png", "json": stem + ".json"}
        with open(stem + ".json", "w") as fh:
            json.dump(out, fh, indent=2)
    return out
