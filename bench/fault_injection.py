"""Kill -9 campaign: `landscape connect` killed at random moments, then resumed.

    python bench/fault_injection.py [--trials 20] [--seed 0] [--dim 5000]

Each trial starts the connect command on a fresh store, sends SIGKILL after a random
delay within the uninterrupted run's wall time, checks that the store on disk is
readable (`Store.check`), runs the same command again and compares the final result
with the uninterrupted run's (pivots, energies, history, counts: exactly).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np

from landscape.faults import kill_and_resume, landscape_command
from landscape.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dim", type=int, default=5000)
    args = parser.parse_args()
    base = ("connect", "mueller-brown", "-o", f"dim={args.dim}", "--start", "A", "--end", "B", "--json")
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        ref_file = os.path.join(tmp, "ref.h5")
        began = time.perf_counter()
        subprocess.run(landscape_command(*base, "--out", ref_file), check=True, capture_output=True)
        seconds = time.perf_counter() - began
        with Store.open(ref_file) as s:
            ref = s.read_result("A-B")
        print(f"uninterrupted run: {seconds:.2f} s, saddle {ref.saddle_energy:.6f}, {len(ref.cycles)} cycles")
        stats = {"killed": 0, "unreadable": 0, "mismatch": 0, "resumed": 0}
        for k in range(args.trials):
            out = os.path.join(tmp, f"t{k}.h5")
            delay = float(rng.uniform(0.05, 1.0) * seconds)
            trial = kill_and_resume(landscape_command(*base, "--out", out), out, delay)
            with Store.open(out) as s:
                got = s.read_result("A-B")
            same = (np.array_equal(got.path.pivots, ref.path.pivots) and np.array_equal(got.history, ref.history)
                    and got.nfev == ref.nfev and len(got.cycles) == len(ref.cycles))
            stats["killed"] += trial.killed
            stats["unreadable"] += not trial.readable
            stats["mismatch"] += not same
            stats["resumed"] += trial.resumed_from_cycle is not None
            print(f"trial {k:2d}: kill at {delay:5.2f} s killed={trial.killed!s:5} store={trial.store_existed!s:5} "
                  f"readable={trial.readable!s:5} resumed_from_cycle={trial.resumed_from_cycle} identical={same}")
        print(json.dumps({"trials": args.trials, **stats}))


if __name__ == "__main__":
    main()
