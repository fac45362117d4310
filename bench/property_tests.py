"""The suite's property tests with many fresh random examples (a nightly-style run).

The README's test command is derandomized (tests/conftest.py): the same examples on
every machine.  This command draws new ones every time, `--scale` times as many:

    python bench/property_tests.py --scale 20          # about 20x the suite's examples
    python bench/property_tests.py --scale 5 -- -x     # extra pytest arguments after --

A failure prints hypothesis' reproduction blob and the falsifying example; add that
example as an explicit `@example(...)` to the test, then fix the cause.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: test files holding @given property tests
PROPERTY_FILES = [
    "tests/optimizers/test_optimizers.py",
    "tests/paths/test_exact.py",
    "tests/paths/test_geometry.py",
    "tests/paths/test_path.py",
    "tests/analysis/test_graphs.py",
    "tests/store/test_store.py",
    "tests/exploration/test_explore.py",
    "tests/plugins/test_analytic.py",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=10.0, help="multiply every test's example count (default 10)")
    ap.add_argument("pytest_args", nargs="*", help="passed on to pytest (after --)")
    args = ap.parse_args()
    env = {**os.environ, "HYPOTHESIS_PROFILE": "explore", "LANDSCAPE_HYPOTHESIS_SCALE": str(args.scale)}
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-k",
        "not kill",
        *PROPERTY_FILES,
        *args.pytest_args,
    ]
    scale = f"LANDSCAPE_HYPOTHESIS_SCALE={args.scale:g}"
    print(f"HYPOTHESIS_PROFILE=explore {scale} {' '.join(cmd[1:])}", flush=True)
    return subprocess.call(cmd, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
