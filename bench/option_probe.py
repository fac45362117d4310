"""Every numeric option of every command, given hostile values: NaN, infinities, a
negative, zero, a float past float64 and an integer past 64 bits.

    python bench/option_probe.py [--timeout 40] [--workers 2] [--only connect,train]

Each command runs as the installed `landscape` script, once per option and value, on
small stores built first in a temporary folder (Mueller-Brown's AutoNEB path, an
exploration of a 5-well Gaussian mixture, two trained MLP minima and their paths).
A run may succeed (the value is in range), report a run that did not succeed, or
refuse in one line (exit 1, or 2 where click rejects the value itself).  The probe
counts the outcomes and lists every run that ended otherwise: exit 3 (an internal
error, a defect: the value reached code that cannot take it), a traceback, or no end
within the timeout (the value was taken as a real request for that much work, which
may be right: `--steps 10**20` is a run that stops at convergence).  Exit status 1
when any run ended with an internal error or a traceback.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter

import click

from landscape_cli.reference import commands

LANDSCAPE = os.path.join(os.path.dirname(sys.executable), "landscape")
FLOATS = ["nan", "inf", "-inf", "-1", "0", "1e400"]
INTS = ["-1", "0", str(10**20)]

#: The arguments that make each command run (stores from `build`); OUT is a fresh name.
BASE = {
    "align": ["gm"],
    "check": ["mueller-brown"],
    "compare": ["mlp"],
    "connect": ["mueller-brown", "--start", "A", "--end", "B"],
    "evaluate": ["mlp"],
    "exact": ["mueller-brown", "--start", "A", "--end", "B"],
    "explore": ["gm"],
    "hessian": ["gm"],
    "minima": ["mueller-brown", "--out", "OUT"],
    "plot dgraph": ["gm"],
    "plot plane": ["mb"],
    "plot profile": ["mb"],
    "plot surface": ["mb"],
    "rates": ["gm"],
    "report": ["gm"],
    "report-table": ["mlp"],
    "spectrum": ["gm", "--at", "min:m0"],
    "train": ["mlp", "--minima", "1", "--epochs", "1", "--out", "OUT"],
    "xor": ["--out-dir", "OUT"],
}
BUILD = [
    ["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "autoneb", "--out", "mb"],
    ["minima", "gaussian-mixture", "-o", "wells=5", "-o", "seed=1", "--starts", "30", "--out", "gm"],
    ["explore", "gm", "--method", "neb", "--fmax", "0.1"],
    ["train", "mlp", "-o", "hidden=4", "--minima", "2", "--epochs", "3", "--out", "mlp", "--threads", "1"],
    ["explore", "mlp", "--schedule", "quick"],
]


def cases(only: set[str] | None) -> list[tuple[str, str, str]]:
    """(command, option, value) for every numeric option of the commands in BASE."""
    out = []
    for name, cmd in commands():
        short = name.removeprefix("landscape ")
        if short not in BASE or (only and short not in only):
            continue
        for p in cmd.params:
            if isinstance(p, click.Option) and isinstance(p.type, click.types.FloatParamType):
                out += [(short, p.opts[0], v) for v in FLOATS]
            elif isinstance(p, click.Option) and isinstance(p.type, click.types.IntParamType):
                out += [(short, p.opts[0], v) for v in INTS]
    return out


def run_case(case: tuple[str, str, str], root: str, timeout: float) -> dict:
    short, option, value = case
    out = tempfile.mkdtemp(dir=root, prefix="out-")
    shutil.rmtree(out)  # a fresh name, not a folder
    args = short.split() + [out if a == "OUT" else a for a in BASE[short]] + [option, value]
    try:
        r = subprocess.run([LANDSCAPE, *args], capture_output=True, text=True, timeout=timeout, cwd=root)
    except subprocess.TimeoutExpired:
        return {"case": case, "outcome": "timeout", "line": ""}
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    outcome = (
        "traceback"
        if "Traceback" in r.stderr
        else {0: "ran", 1: "refused or failed", 2: "usage"}.get(r.returncode, f"exit {r.returncode}")
    )
    return {"case": case, "outcome": outcome, "line": lines[-1][:200] if lines else ""}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=40.0, help="seconds a run may take (default 40)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated commands (default: all of BASE)")
    args = ap.parse_args()
    only = {c for c in args.only.split(",") if c} or None
    with tempfile.TemporaryDirectory() as root:
        for build in BUILD:
            r = subprocess.run([LANDSCAPE, *build], capture_output=True, text=True, cwd=root)
            if r.returncode:
                sys.exit(f"setting up failed: landscape {' '.join(build)}: {r.stderr.strip()}")
        todo = cases(only)
        print(f"{len(todo)} runs", flush=True)
        with cf.ThreadPoolExecutor(args.workers) as pool:
            results = list(pool.map(lambda c: run_case(c, root, args.timeout), todo))
    print(json.dumps(Counter(r["outcome"] for r in results)))
    for r in results:
        if r["outcome"] not in ("ran", "refused or failed", "usage"):
            print(r["outcome"], "landscape", *r["case"], "|", r["line"])
    return int(any(r["outcome"] == "traceback" or r["outcome"].startswith("exit") for r in results))


if __name__ == "__main__":
    sys.exit(main())
