"""`NetworkPotential`: the loss of any `nn.Module` over flat parameter vectors.

Rows of `x` are flat parameter vectors (see `params`) as tensors on the module's
device; `asarray` puts numpy points there, so the core's path lives on the device and
nothing in `energy_and_gradient` copies to the host.

Batches.  Every `energy_and_gradient` call draws the next mini-batch of a seeded
sampler and evaluates *all* its points on it.  `energy` evaluates on the *current*
batch, the one the last gradient call used.  That is the right choice for AutoNEB:
its insertion test compares the dense energies between pivots with the straight
line between the pivots' energies, and both must come from the same batch, or batch
noise alone would trigger insertions.  (The endpoints' energies are computed once,
on the batch current at the start; with `batch_size=None` every batch is the full
training set and the potential is deterministic.)  Reported losses along a path come
from `evaluate`, on the full train and test sets, never from `energy`.

BatchNorm.  During optimisation a twin of the module without running statistics
computes batch statistics of the current batch (train mode) per point.  Evaluation
(`evaluate`) recomputes running statistics for every evaluated point from a fixed
seeded calibration set.  `bn_mode` says which was used and goes with the results.

Cost.  `samples` counts the data samples every evaluation pushes through the network:
"gradient" (forward and backward) and "forward" (forward only), points x images, read
through `cost()`.  Energies, gradients, BatchNorm calibration and whole-set evaluations
(`evaluate`), Hessian products (`hessian`) and training (`train`) add to it; the timing
runs of `batched="auto"` off the CPU do not (they depend on the machine, not the method).

L2.  `l2` adds (l2 / 2) |theta|^2 to the energy, explicitly; `last_terms` holds the
data loss and the penalty of the last call separately.  Leave it 0 when the stepper
already applies weight decay (the paper schedule's SGD does).
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, replace_all_batch_norm_modules_, vmap

from landscape.foundations.errors import LandscapeError
from landscape.potentials.potential import SAMPLE_KINDS, Potential, as_batch

from .data import BatchSampler, as_data, calibration_batches
from .params import ParamSpec, param_spec
from .speed import Speed, compiled

__all__ = ["NetworkPotential", "classification_error", "has_batchnorm", "BATCHED_MODES", "Loss"]

#: A loss maps (outputs, targets) of one batch to a scalar mean.
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
BATCHED_MODES = ("auto", "vmap", "loop")


def classification_error(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Fraction of misclassified samples: argmax over classes, or the sign of a single logit."""
    if outputs.dim() == 1 or outputs.shape[-1] == 1:
        pred = (outputs.reshape(targets.shape) > 0).to(targets.dtype)
        return (pred != targets).to(torch.float64).mean()
    return (outputs.argmax(-1) != targets).to(torch.float64).mean()


def has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class NetworkPotential(Potential):
    """Loss (+ optional L2) of `module` on `train_data` as a batched potential.

    module: any nn.Module; it is never modified (twins are copied from it).
    train_data, test_data: (inputs, targets) tensors, a map-style Dataset or a data
        source (see `data`); tensors are moved to the module's device.
    loss: (outputs, targets) -> mean loss; default cross entropy.
    error: (outputs, targets) -> error fraction, for evaluation; default argmax error.
    batch_size: mini-batch per step; None (or >= the data) means the full set.
    seed: seed of the batch sampler.
    l2: coefficient of the explicit penalty (l2 / 2) |theta|^2.
    batched: "vmap" (one forward for all points, torch.func.vmap over stacked
        parameters), "loop" (one forward per point), or "auto": on the CPU the loop
        for a module with convolutions and vmap for others (the same choice in every
        run, so results repeat to the bit), elsewhere time both once per size class and
        keep the faster (a module vmap cannot handle falls back to the loop).  Either
        way one backward pass gives all gradients.
    chunk: at most this many points per vmap call / backward pass (bounds memory).
    calibration_size, calibration_batch, calibration_seed: the fixed calibration set
        from which BatchNorm statistics are recomputed for evaluation.
    speed: autocast, channels-last inputs or torch.compile for the energies and
        gradients of the band (`speed.Speed`; default: none, the plain code).  The
        evaluation along a path (`evaluate`) and Hessians run without them.
    """

    name = "network"
    #: `energy` evaluates on the batch the last gradient call drew: a band's fixed ends
    #: on a mini-batch loss cost forward passes only (`optimizers.forces.evaluate_pivots`).
    same_batch_energy = True
    #: What `landscape align --repair` runs on a line between two networks (`repair.repair_points`).
    repair_command = "landscape_plugins.torchnet.repair:repair_points"
    #: Li et al.'s filter-normalised directions for `landscape plot surface --directions filter`.
    directions_function = "landscape_plugins.torchnet.directions:filter_directions"
    #: A loss surface's values: the whole-set train loss or test error, BatchNorm recalibrated.
    surface_function = "landscape_plugins.torchnet.surface:surface_values"

    def __init__(
        self,
        module: nn.Module,
        train_data: Any,
        loss: Loss | None = None,
        *,
        test_data: Any = None,
        batch_size: int | None = None,
        seed: int = 0,
        l2: float = 0.0,
        batched: str = "auto",
        chunk: int | None = None,
        error: Loss | None = None,
        calibration_size: int = 2048,
        calibration_batch: int = 256,
        calibration_seed: int = 0,
        trainable_only: bool = False,
        name: str | None = None,
        minima: Mapping[str, Any] | None = None,
        speed: Speed | None = None,
    ):
        if batched not in BATCHED_MODES:
            raise LandscapeError(f"batched must be one of {', '.join(BATCHED_MODES)}, got {batched!r}")
        if chunk is not None and chunk < 1:
            raise LandscapeError(f"chunk must be a positive number of points, got {chunk}")
        if l2 < 0:
            raise LandscapeError(f"l2 must be >= 0, got {l2}")
        self.module = module
        self.spec: ParamSpec = param_spec(module, trainable_only)
        self.dim = self.spec.dim
        self.device, self.dtype = self.spec.device, self.spec.dtype
        self.loss: Loss = loss or F.cross_entropy
        self.error: Loss = error or classification_error
        self.l2, self.batched, self.chunk = float(l2), batched, chunk
        self.name = name or self.name
        self.train_data = as_data(train_data, self.device, self.dtype)
        self.test_data = as_data(test_data, self.device, self.dtype)
        self.sampler = BatchSampler(len(self.train_data), batch_size, seed, self.train_data.index_device)
        self.calibration = dict(size=int(calibration_size), batch=int(calibration_batch), seed=int(calibration_seed))
        self.batchnorm = has_batchnorm(module)
        self._twin = self._make_twin(module)
        self._batch = self.train_data.get(self.sampler.next())
        self._frozen = 0
        self._choice: dict[tuple[str, int], str] = {}
        self._vfn: Callable[..., Any] | None = None
        self.speed = speed or Speed()
        self._fast: dict[str, Callable[..., Any]] = {}
        self._grouped: Callable[..., Any] | None = None
        self._calib: list[torch.Tensor] | None = None
        self.minima: dict[str, torch.Tensor] = {}
        self.last_terms: dict[str, torch.Tensor] = {}
        self.samples: dict[str, int] = dict.fromkeys(SAMPLE_KINDS, 0)
        for key, value in (minima or {}).items():
            self.add_minimum(key, value)

    # construction helpers -------------------------------------------------------------
    @staticmethod
    def _make_twin(module: nn.Module) -> nn.Module:
        """A train-mode copy whose BatchNorm layers use batch statistics only.

        Without running statistics nothing is updated in place, so the twin is a pure
        function of (parameters, batch): vmap-safe and identical for vmap and loop.
        """
        twin = copy.deepcopy(module)
        replace_all_batch_norm_modules_(twin)
        for p in twin.parameters():
            p.requires_grad_(False)
        return twin.train()

    def add_minimum(self, key: str, point: Any) -> None:
        """Register a known minimum (a flat parameter vector) under `key`."""
        x = self.asarray(point)
        if tuple(x.shape) != (self.dim,):
            raise LandscapeError(f"minimum {key!r} has shape {tuple(x.shape)}, expected ({self.dim},)")
        self.minima[str(key)] = x

    def asarray(self, x: Any) -> torch.Tensor:
        """`x` (numpy, list or tensor) as a tensor of the parameters' dtype on their device."""
        if isinstance(x, torch.Tensor):
            return x.detach().to(device=self.device, dtype=self.dtype)
        return torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device)

    # batches --------------------------------------------------------------------------
    @property
    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The current mini-batch (inputs, targets): what `energy` evaluates on."""
        return self._batch

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw the next batch of the seeded stream (no-op inside `frozen_batch`)."""
        if not self._frozen:
            self._batch = self.train_data.get(self.sampler.next())
        return self._batch

    @contextlib.contextmanager
    def frozen_batch(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Within this block gradient calls reuse the current batch (deterministic)."""
        self._frozen += 1
        try:
            yield self._batch
        finally:
            self._frozen -= 1

    @property
    def stochastic(self) -> bool:
        """Mini-batch losses change per call: bands then evaluate their ends each step too."""
        return not self.sampler.full

    def cost(self) -> dict[str, int]:
        """Samples evaluated so far: {"gradient": ..., "forward": ...} (a copy)."""
        return dict(self.samples)

    def count(self, kind: str, points: int, images: int) -> None:
        """Add `points` x `images` samples of `kind` ("gradient" or "forward")."""
        self.samples[kind] += int(points) * int(images)

    def result_attrs(self) -> dict[str, Any]:
        return {"bn_mode": self.bn_mode}  # which BatchNorm statistics the energies used

    def checkpoint_state(self) -> dict[str, Any] | None:
        """The sampler's position, so a resumed AutoNEB run draws the same batches."""
        return None if self.sampler.full else {"batches_drawn": int(self.sampler.drawn)}

    def restore_checkpoint_state(self, state: dict[str, Any]) -> None:
        """Replay the seeded stream up to the checkpointed batch (`BatchSampler.replay`)."""
        self._batch = self.train_data.get(self.sampler.replay(state["batches_drawn"]))

    def reset_sampler(self) -> None:
        """Restart the seeded batch stream (reproducible reruns)."""
        self.sampler.reset()
        self._batch = self.train_data.get(self.sampler.next())

    def restart_stream(self) -> None:
        """`Potential.restart_stream`: each path starts at the stream's first batch."""
        self.reset_sampler()

    def hessian_products(
        self,
        x: Any,
        *,
        samples: int | None = None,
        chunk: int | None = None,
        data_seed: int = 0,
        include_l2: bool = True,
    ) -> Any:
        """`Potential.hessian_products`: exact products of the energy (L2 included unless
        `include_l2` is False: the data loss, as `landscape hessian` takes it) by autograd
        (`hessian.network_products`, carrying the gradient on the same batch), on the whole
        training set or a seeded subset of `samples` (drawn with `data_seed`),
        differentiated twice `chunk` samples at a time when given (memory of one chunk)."""
        from .hessian import network_products

        return network_products(self, x, include_l2=include_l2, samples=samples, chunk=chunk, data_seed=data_seed)

    def invariant_directions(self, x: Any) -> tuple[np.ndarray, list[str]]:
        """The trivial invariances at `x` (BatchNorm scale and shift, softmax shift) as
        orthonormal directions and their labels, which `landscape.analysis.reports`
        discounts from the near-zero eigenvalues (`invariances.invariance_directions`)."""
        from .invariances import invariance_directions

        return invariance_directions(self, self.asarray(x))

    def parameter_blocks(self) -> dict[str, slice]:
        """`Potential.parameter_blocks`: each parameter tensor's slice of the flat vector,
        by its name in the module ("0.weight", "0.bias", ...), in the layout's order."""
        offsets = np.cumsum((0, *self.spec.sizes))
        return {n: slice(int(a), int(b)) for n, a, b in zip(self.spec.names, offsets[:-1], offsets[1:])}

    # the Potential interface ----------------------------------------------------------
    def energy_and_gradient(self, x: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x = self._points(x)
        xb, yb = self.next_batch()
        e, g = self._run("grad", x, xb, yb)
        return self._regularise(x, e, g)

    def energy(self, x: Any) -> torch.Tensor:
        x = self._points(x)
        xb, yb = self._batch
        e = self._run("value", x, xb, yb)
        return self._regularise(x, e, None)[0]

    def data_loss_and_gradient(
        self, x: Any, inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Data loss (no L2) and its gradient at the points `x` on a given batch."""
        return self._run("grad", self._points(x), inputs, targets)

    def data_loss(self, x: Any, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Data loss (no L2) at the points `x` on a given batch (train-mode BN)."""
        return self._run("value", self._points(x), inputs, targets)

    # given batches (several curves trained at once: `lockstep`) ------------------------
    def energies_on(
        self, x: Any, inputs: torch.Tensor, targets: torch.Tensor, *, gradient: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Energies (data loss + L2) of the points `x` on a given batch and, with
        `gradient`, their gradients: what `energy_and_gradient` computes on the batch it
        draws (and `energy` on the current one), the potential's own stream untouched.
        Counted as those are: points x images, "gradient" or "forward" (without
        `gradient`, the second value is None)."""
        x = self._points(x)
        if gradient:
            return self._regularise(x, *self._run("grad", x, inputs, targets))
        return self._regularise(x, self._run("value", x, inputs, targets), None)

    def grouped_energies_and_gradients(
        self, x: Any, inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`energies_on` of K groups at once: the points `x` (K, S, dim) of group k on its
        own batch `inputs[k]`, `targets[k]` ((K, B, ...) and (K, B)), every group in one
        vmapped call (at most `chunk` points a call; the speed options but channels-last,
        whose layout vmap cannot set per group), one backward pass giving each point its
        gradient.  BatchNorm takes each group's batch statistics.  Returns (K, S)
        energies and (K, S, dim) gradients, counted as K separate calls (K x S x B)."""
        x = self.asarray(x).detach()
        if x.dim() != 3 or int(x.shape[-1]) != self.dim:
            raise LandscapeError(f"grouped points must be (groups, points, {self.dim}), got {tuple(x.shape)}")
        if int(inputs.shape[0]) != int(x.shape[0]) or int(targets.shape[0]) != int(x.shape[0]):
            raise LandscapeError(f"{int(x.shape[0])} groups of points need as many batches, got {int(inputs.shape[0])}")
        if self._grouped is None:
            self._grouped = self._grouped_function()
        k, s = int(x.shape[0]), int(x.shape[1])
        per_call = max(1, (self.chunk or k * s) // max(1, s))
        losses, grads = [], []
        for i in range(0, k, per_call):
            with torch.enable_grad():
                leaf = x[i : i + per_call].detach().requires_grad_(True)
                loss = self._grouped(leaf, inputs[i : i + per_call], targets[i : i + per_call])
                (g,) = torch.autograd.grad(loss.sum(), leaf)  # independent points: each its own gradient
            losses.append(loss.detach())
            grads.append(g)
        self.count("gradient", k * s, int(inputs.shape[1]))
        return self._regularise(x, torch.cat(losses), torch.cat(grads))

    def _grouped_function(self) -> Callable[..., torch.Tensor]:
        """(K, S, dim) points, (K, B, ...) inputs, (K, B) targets -> (K, S) data losses."""
        speed = replace(self.speed, channels_last=False)

        def objective(flat: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            return self.loss(speed.run(lambda xb: self.forward(flat, xb), inputs), targets)

        # A group's points share its batch and, as the potential's do, its dropout masks.
        per_group = vmap(objective, in_dims=(0, None, None), randomness="same")
        return compiled(vmap(per_group, in_dims=(0, 0, 0), randomness="different"), self.speed, "the grouped call")

    def _points(self, x: Any) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.device != self.device or x.dtype != self.dtype:
            x = self.asarray(x)
        return as_batch(x.detach(), self.dim)

    def _regularise(self, x: torch.Tensor, e: torch.Tensor, g: torch.Tensor | None) -> tuple[torch.Tensor, Any]:
        penalty = 0.5 * self.l2 * (x * x).sum(-1) if self.l2 else torch.zeros_like(e)
        self.last_terms = {"data": e.detach(), "l2": penalty}
        if not self.l2:
            return e, g
        return e + penalty, (None if g is None else g + self.l2 * x)

    # evaluation strategies ------------------------------------------------------------
    def forward(self, flat: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """Outputs of the train-mode twin (batch statistics) at one flat vector."""
        return functional_call(self._twin, self.spec.unflatten(flat), (inputs,))

    def _objective(self, flat: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.loss(self.forward(flat, inputs), targets)

    def _vmapped(self) -> Callable[..., Any]:
        if self._vfn is None:
            # randomness="same": dropout masks are shared by all points, like the batch.
            self._vfn = vmap(self._objective, in_dims=(0, None, None), randomness="same")
        return self._vfn

    def _vmap_chunk(self, x: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return self._vmapped()(x, xb, yb)

    def _loop_chunk(self, x: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        # unbind: one backward node scatters all row gradients at once.
        return torch.stack([self._objective(row, xb, yb) for row in x.unbind(0)])

    def _via(self, how: str, kind: str, x: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> Any:
        """Losses (and gradients) chunk by chunk; the forward of a chunk is batched
        (vmap) or looped, its backward is one reverse pass for all its points."""
        forward = self._chunk_function(how)
        step = self.chunk or int(x.shape[0])
        losses, grads = [], []
        for i in range(0, int(x.shape[0]), step):
            part = x[i : i + step]
            if kind == "value":
                with torch.no_grad():
                    losses.append(forward(part, xb, yb))
                continue
            with torch.enable_grad():
                leaf = part.detach().requires_grad_(True)
                loss = forward(leaf, xb, yb)
                # Points are independent, so the gradient of the sum holds each one's own.
                (g,) = torch.autograd.grad(loss.sum(), leaf)
            losses.append(loss.detach())
            grads.append(g)
        e = torch.cat(losses) if len(losses) > 1 else losses[0]
        if kind == "value":
            return e
        return e, (torch.cat(grads) if len(grads) > 1 else grads[0])

    def _chunk_function(self, how: str) -> Callable[..., torch.Tensor]:
        """The losses of a chunk of points, "vmap" or "loop", with the speed options
        (autocast, channels-last inputs, compiled) when any is set."""
        plain = self._vmap_chunk if how == "vmap" else self._loop_chunk
        if self.speed.is_default:
            return plain
        if how not in self._fast:
            speed = self.speed

            def objective(flat: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
                return self.loss(speed.run(lambda inputs: self.forward(flat, inputs), xb), yb)

            if how == "vmap":
                fn = vmap(objective, in_dims=(0, None, None), randomness="same")
            else:

                def fn(x: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
                    return torch.stack([objective(row, xb, yb) for row in x.unbind(0)])

            self._fast[how] = compiled(fn, speed, f"the network's {how} evaluation")
        return self._fast[how]

    def _run(self, kind: str, x: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> Any:
        how = self.batched if self.batched != "auto" else self._choose(kind, x, xb, yb)
        out = self._via(how, kind, x, xb, yb)
        self.count("gradient" if kind == "grad" else "forward", x.shape[0], xb.shape[0])
        return out

    def _choose(self, kind: str, x: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> str:
        """Measured once per (kind, size class): the faster of vmap and the loop."""
        key = (kind, max(1, int(x.shape[0])).bit_length())
        if key not in self._choice:
            self._choice[key] = self._measure(kind, x, xb, yb)
        return self._choice[key]

    def _measure(self, kind: str, x: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> str:
        """On the CPU by rule: the loop for a module with convolutions (vmap turns them
        into grouped convolutions, slow on CPUs), else vmap where it runs.  Why not
        timings there: vmap and the loop round float32 sums differently (1e-7 on `mlp`),
        and timings follow the machine's load, so two runs of one command (a run and
        its resume after a kill) could take different ones and differ in the last bits
        (bench/fault_injection.py's explore-network target, under load: 7 of 8).
        Elsewhere: best of a few interleaved timings each (minima resist transient load)."""
        if self.device.type == "cpu":
            return "loop" if _has_convolutions(self.module) else self._vmap_if_it_runs(kind, x, xb, yb)
        runs = {how: (lambda how=how: self._via(how, kind, x, xb, yb)) for how in ("vmap", "loop")}
        warm = {}
        for how, run in list(runs.items()):
            try:
                warm[how] = _timed(run, self.device)  # also checks that vmap works at all
            except Exception:  # noqa: BLE001 - any vmap failure means: use the loop
                if how == "loop":
                    raise
                del runs[how]
        best = dict(warm)
        rounds = 1 if max(warm.values()) > 0.5 else 3  # big networks: one timing each is plenty
        for _ in range(rounds):
            for how, run in runs.items():
                best[how] = min(best[how], _timed(run, self.device))
        return min(best, key=best.__getitem__)

    def _vmap_if_it_runs(self, kind: str, x: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> str:
        try:
            self._via("vmap", kind, x, xb, yb)  # a trial, not counted, as the timings elsewhere
        except Exception:  # noqa: BLE001 - any vmap failure means: use the loop
            return "loop"
        return "vmap"

    def __getstate__(self) -> dict[str, Any]:
        # The vmapped function is a transform of a bound method: rebuilt lazily instead.
        return {**self.__dict__, "_vfn": None, "_fast": {}, "_grouped": None}

    # description ----------------------------------------------------------------------
    @property
    def choices(self) -> dict[str, str]:
        """The strategy chosen per evaluation kind and size class, e.g. {"grad<=16": "vmap"}."""
        return {f"{k}<={2**b - 1}": v for (k, b), v in sorted(self._choice.items())}

    @property
    def bn_mode(self) -> str:
        """How BatchNorm is treated: stored with every result."""
        if not self.batchnorm:
            return "none"
        c = self.calibration
        return (
            f"optimisation: batch statistics (train mode); evaluation: running statistics recomputed per point "
            f"from {c['size']} calibration samples (seed {c['seed']}, batches of {c['batch']}, cumulative average)"
        )

    def calibration_inputs(self) -> list[torch.Tensor]:
        """The fixed seeded calibration batches (inputs only), built once."""
        if self._calib is None:
            c = self.calibration
            self._calib = calibration_batches(self.train_data, c["size"], c["batch"], c["seed"])
        return self._calib

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "name": self.name,
            "module": type(self.module).__name__,
            "parameters": self.spec.describe(),
            "loss": getattr(self.loss, "__name__", type(self.loss).__name__),
            "train_size": len(self.train_data),
            "test_size": None if self.test_data is None else len(self.test_data),
            "batch_size": None if self.sampler.full else self.sampler.batch_size,
            "seed": self.sampler.seed,
            "l2": self.l2,
            "batched": self.batched,  # the measured choice (`choices`) is run-time state, not identity
            "chunk": self.chunk,
            "bn_mode": self.bn_mode,
            "calibration": dict(self.calibration) if self.batchnorm else None,
            **({"speed": self.speed.describe()} if not self.speed.is_default else {}),
            **({"symmetry": self.symmetry.describe()} if self.symmetry is not None else {}),
        }

    def __repr__(self) -> str:
        return f"NetworkPotential({type(self.module).__name__}, dim={self.dim}, device={self.device})"


_CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _has_convolutions(module: nn.Module) -> bool:
    return any(isinstance(m, _CONVOLUTIONS) for m in module.modules())


def _timed(fn: Callable[[], Any], device: torch.device) -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0
