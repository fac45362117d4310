"""Kill -9 campaigns: `landscape connect` and `landscape explore` killed at random
moments, then run again.

    python bench/fault_injection.py [--trials 20] [--seed 0] [--target connect|explore|both]

Each trial starts the command on a fresh store, sends SIGKILL after a random delay
within the uninterrupted run's wall time, checks that the store on disk is readable
(`Store.check`), runs the same command again and compares the final result with the
uninterrupted run's: for connect the path, energies, history and evaluation counts;
for explore every edge's energy and the minimum spanning tree, exactly.
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
from typing import Any

import numpy as np

from landscape.explore import load_exploration
from landscape_cli.faults import kill_and_resume, landscape_command
from landscape.store import Store

CONNECT = ("connect", "mueller-brown", "-o", "dim=5000", "--start", "A", "--end", "B", "--json")
MINIMA = ("minima", "gaussian-mixture", "-o", "wells=12", "-o", "seed=7", "--n", "200")


def _connect_outcome(store: str) -> Any:
    with Store.open(store) as s:
        r = s.read_result("A-B")
    return r.path.pivots, r.path.energies, r.history, r.nfev, len(r.cycles)


def _explore_outcome(store: str) -> Any:
    e = load_exploration(store)
    return sorted(e.edges.items()), e.tree


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def campaign(target: str, trials: int, rng: np.random.Generator, tmp: str) -> dict[str, int]:
    """Run `trials` kill-and-resume trials of one command; print one line each."""
    if target == "connect":
        prepare: Callable[[str], list[str]] = lambda out: landscape_command(*CONNECT, "--out", out)
        outcome = _connect_outcome
    else:
        base = os.path.join(tmp, "minima.h5")
        subprocess.run(landscape_command(*MINIMA, "--out", base), check=True, capture_output=True)

        def prepare(out: str) -> list[str]:
            shutil.copytree(base, out)
            return landscape_command("explore", out, "--json")

        outcome = _explore_outcome
    ref_file = os.path.join(tmp, f"{target}-ref.h5")
    began = time.perf_counter()
    subprocess.run(prepare(ref_file), check=True, capture_output=True)
    seconds = time.perf_counter() - began
    reference = outcome(ref_file)
    print(f"{target}: uninterrupted run {seconds:.2f} s")
    stats = {"trials": trials, "killed": 0, "unreadable": 0, "mismatch": 0}
    for k in range(trials):
        out = os.path.join(tmp, f"{target}-{k}.h5")
        delay = float(rng.uniform(0.05, 1.0) * seconds)
        trial = kill_and_resume(prepare(out), out, delay)
        same = _same(outcome(out), reference)
        stats["killed"] += trial.killed
        stats["unreadable"] += not trial.readable
        stats["mismatch"] += not same
        print(f"  trial {k:2d}: kill at {delay:5.2f} s killed={trial.killed!s:5} store={trial.store_existed!s:5} "
              f"readable={trial.readable!s:5} identical={same}")
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", choices=["connect", "explore", "both"], default="both")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    targets = ["connect", "explore"] if args.target == "both" else [args.target]
    with tempfile.TemporaryDirectory() as tmp:
        summary = {t: campaign(t, args.trials, rng, tmp) for t in targets}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
