"""Kill -9 campaigns: every command that writes a store, killed at random moments, then
run again.

    python bench/fault_injection.py [--trials 20] [--seed 0] [--target NAME ...]

Targets: connect-autoneb, connect-neb, connect-neb-kinks, connect-string,
connect-polychain (Mueller-Brown embedded in thousands of dimensions), explore (AutoNEB
on 9 minima of a Gaussian mixture), explore-network (NEB between 3 trained minima of the MLP plugin), train (the MLP
plugin, 2 minima).  Bands and curves commit their state at every step (`--checkpoint-every 0`),
so many kills land inside a commit.

Each trial starts the command on a fresh store, sends SIGKILL after a random delay
within the uninterrupted run's wall time, checks that the store on disk opens and
passes `Store.check`, notes whether the kill landed inside a commit (a unit left under
its temporary name), runs the same command again and compares the final result with
the uninterrupted run's, exactly.  For explorations it also counts what the kill cost:
the runs in flight that the rerun resumed rather than restarted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from landscape import Store, load_exploration
from landscape_cli.faults import kill_and_resume, landscape_command

MB = ("mueller-brown", "--start", "A", "--end", "B", "--json", "--checkpoint-every", "0")
MLP = ("-o", "hidden=8", "-o", "n_train=128", "-o", "n_test=64")
# One thread for torch: with several, BLAS may change how many it uses as the machine's
# load changes, and with them the order of float32 sums, so two uninterrupted runs can
# differ in the last bits (measured: edges 0.5570236 vs 0.5570235 under load).
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TRAIN = (
    "train",
    "mlp",
    *MLP,
    "--minima",
    "2",
    "--epochs",
    "60",
    "--batch-size",
    "32",
    "--lr",
    "0.05",
    "--optimizer",
    "sgd",
    "--json",
)


@dataclass(frozen=True)
class Target:
    """How to set a trial up (`base`: a store every trial starts from, or None), the
    command that writes `out`, and what of the result must be identical."""

    base: Callable[[str], str | None]
    command: Callable[[str], list[str]]
    outcome: Callable[[str], Any]
    env: dict[str, str] = field(default_factory=dict)


def _path_outcome(store: str) -> Any:
    with Store.open(store) as s:
        r = s.read_result(s.path_names()[0])
    return r.path.pivots, r.path.energies, r.history, r.nfev, r.nit, len(r.cycles)


def _explore_outcome(store: str) -> Any:
    e = load_exploration(store)
    with Store.open(store) as s:
        paths = [s.read_result(n).path.pivots for n in sorted(e.paths.values())]
    return sorted(e.edges.items()), e.tree, paths


def _train_outcome(store: str) -> Any:
    with Store.open(store) as s:
        coords, energies, names = s.read_minima()
    return coords, energies, names


def _minima_base(tmp: str) -> str:
    base = os.path.join(tmp, "gm-minima")
    subprocess.run(
        landscape_command(
            "minima", "gaussian-mixture", "-o", "wells=12", "-o", "seed=7", "--starts", "200", "--out", base
        ),
        check=True,
        capture_output=True,
    )
    return base


def _network_base(tmp: str) -> str:
    base = os.path.join(tmp, "mlp-minima")
    subprocess.run(landscape_command(*TRAIN[:-1], "--minima", "3", "--out", base), check=True, capture_output=True)
    return base


TARGETS = {
    **{
        f"connect-{m}": Target(
            lambda tmp: None,
            lambda out, m=m, d=d: landscape_command("connect", "-o", f"dim={d}", *MB, "--method", m, "--out", out),
            _path_outcome,
        )
        for m, d in (("autoneb", 5000), ("neb", 10000), ("string", 6000))
    },
    # With the pull across bends, a guarded L-BFGS cut takes the middle pivot back to the
    # straight line's middle at step 6, the point the end check primed (landscape/potentials/primed.py).
    "connect-neb-kinks": Target(
        lambda tmp: None,
        lambda out: landscape_command("connect", "-o", "dim=10000", *MB, "--method", "neb", "--kinks", "--out", out),
        _path_outcome,
    ),
    "connect-polychain": Target(
        lambda tmp: None,
        lambda out: landscape_command(
            "connect", "-o", "dim=2000", *MB, "--method", "polychain", "--bends", "4", "--steps", "400", "--out", out
        ),
        _path_outcome,
    ),
    "explore": Target(_minima_base, lambda out: landscape_command("explore", out, "--json"), _explore_outcome),
    "explore-network": Target(
        _network_base,
        lambda out: landscape_command(
            "explore", out, "--method", "neb", "--fmax", "0.05", "--steps", "300", "--checkpoint-every", "0", "--json"
        ),
        _explore_outcome,
        ONE_THREAD,
    ),
    "train": Target(lambda tmp: None, lambda out: landscape_command(*TRAIN, "--out", out), _train_outcome, ONE_THREAD),
}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _in_commit(store: str) -> bool:
    """Whether a unit was left under its temporary name: the kill landed inside a commit."""
    units = os.path.join(store, "units")
    return os.path.isdir(units) and any(n.startswith(".tmp-") for n in os.listdir(units))


def _fresh(base: str | None, out: str) -> None:
    if base is not None:
        shutil.copytree(base, out)


def campaign(name: str, trials: int, rng: np.random.Generator, tmp: str) -> dict[str, int]:
    """Run `trials` kill-and-resume trials of one target; print one line each."""
    target = TARGETS[name]
    saved = {k: os.environ.get(k) for k in target.env}
    os.environ.update(target.env)  # the commands below inherit it
    try:
        return _trials(name, target, trials, rng, tmp)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _trials(name: str, target: Target, trials: int, rng: np.random.Generator, tmp: str) -> dict[str, int]:
    base = target.base(tmp)
    ref = os.path.join(tmp, f"{name}-ref")
    _fresh(base, ref)
    began = time.perf_counter()
    subprocess.run(target.command(ref), check=True, capture_output=True)
    seconds = time.perf_counter() - began
    reference = target.outcome(ref)
    print(f"{name}: uninterrupted run {seconds:.2f} s")
    stats = {"trials": trials, "killed": 0, "in_commit": 0, "unreadable": 0, "mismatch": 0, "resumed": 0}
    for k in range(trials):
        out = os.path.join(tmp, f"{name}-{k}")
        _fresh(base, out)
        delay = float(rng.uniform(0.05, 1.0) * seconds)
        trial = kill_and_resume(
            target.command(out),
            out,
            delay,
            check=lambda s: stats.__setitem__("in_commit", stats["in_commit"] + _in_commit(s)),
        )
        same = _same(target.outcome(out), reference)
        stats["killed"] += trial.killed
        stats["unreadable"] += not trial.readable
        stats["mismatch"] += not same
        stats["resumed"] += trial.resumed
        print(
            f"  trial {k:2d}: kill at {delay:5.2f} s killed={trial.killed!s:5} readable={trial.readable!s:5} "
            f"resumed={trial.resumed!s:5} identical={same}"
        )
        shutil.rmtree(out, ignore_errors=True)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", nargs="+", choices=sorted(TARGETS), default=sorted(TARGETS))
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        summary = {t: campaign(t, args.trials, rng, tmp) for t in args.target}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
