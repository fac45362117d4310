"""What one committed AutoNEB cycle costs the store, as the store grows.

    python bench/bench_store.py                    # 200 commits of 12 x 270,000 float32 (2.6 GB)
    python bench/bench_store.py --commits 30       # a quicker look

Each commit appends one AutoNEB cycle of `--pivots` pivots of `--dim` float32
parameters (a ResNet-20 has 269,722) to one running path through the store's own API
(`Store.write` + `append_cycle`, as a resumable run commits), and is timed.  Side by
side, the same bytes are appended with h5py alone to one open file (no crash safety,
no fsync), the floor any store pays.  "first" and "last" are the medians of the first
and the last twenty commits, so one stall of the kernel writing back gigabytes does not
decide the ratio; the page cache is flushed (`os.sync`, untimed) between the two runs.  The last
line is `commit cost last/first: R` (the goal: at most 1.5, and the total within 2x of
h5py alone); figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import h5py
import numpy as np

from landscape import CycleRecord, Path, Store


def _record(index: int, pivots: np.ndarray) -> CycleRecord:
    n = pivots.shape[0]
    dense = np.zeros((n - 1) * 9)
    return CycleRecord(
        index=index,
        steps=1000,
        lr=0.1,
        climb=False,
        path=Path(pivots, np.linspace(0.0, 1.0, n)),
        dense_t=np.linspace(0.0, 1.0, dense.size),
        dense_energies=dense,
        residuals=np.zeros(n - 1),
        inserted=np.zeros(0),
        nfev=index,
    )


def with_store(folder: str, commits: int, pivots: np.ndarray) -> list[float]:
    filename = os.path.join(folder, "store")
    with Store.create(filename, {"name": "bench", "dim": pivots.shape[1]}) as store:
        store.write_minima(pivots[[0, -1]].astype(np.float64), np.zeros(2), ["a", "b"])
    times = []
    for k in range(commits):
        t0 = time.perf_counter()
        with Store.write(filename) as store:
            store.append_cycle("a-b", _record(k, pivots), start="a", end="b", config={"bench": True})
        times.append(time.perf_counter() - t0)
    return times


def with_h5py(folder: str, commits: int, pivots: np.ndarray) -> list[float]:
    times = []
    with h5py.File(os.path.join(folder, "plain.h5"), "w") as f:
        for k in range(commits):
            t0 = time.perf_counter()
            g = f.create_group(f"cycles/{k:06d}")
            g["pivots"] = pivots
            g["energies"] = np.linspace(0.0, 1.0, pivots.shape[0])
            f.flush()
            times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=200)
    ap.add_argument("--pivots", type=int, default=12)
    ap.add_argument("--dim", type=int, default=270_000)
    ap.add_argument("--dir", default=None, help="where the files go (default: a temporary folder)")
    args = ap.parse_args()
    pivots = np.random.default_rng(0).standard_normal((args.pivots, args.dim)).astype(np.float32)
    folder = tempfile.mkdtemp(prefix="bench-store-", dir=args.dir)
    try:
        plain = with_h5py(folder, args.commits, pivots)
        os.remove(os.path.join(folder, "plain.h5"))
        os.sync()
        store = with_store(folder, args.commits, pivots)
        size = sum(
            os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(folder, "store")) for f in fs
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    mb = pivots.nbytes / 1e6
    print(
        f"{args.commits} commits of {args.pivots} x {args.dim} float32 ({mb:.1f} MB each); store folder "
        f"{size / 1e6:.0f} MB"
    )
    print(f"{'':14s}{'first':>10s}{'last':>10s}{'total':>10s}")
    for name, t in (("h5py alone", plain), ("landscape", store)):
        print(f"{name:14s}{_ends(t)[0]:10.3f}{_ends(t)[1]:10.3f}{sum(t):10.1f}   seconds")
    print(f"total landscape / h5py alone: {sum(store) / sum(plain):.2f}")
    first, last = _ends(store)
    print(f"commit cost last/first: {last / first:.2f}")


def _ends(times: list[float], k: int = 20) -> tuple[float, float]:
    """Median of the first and of the last `k` timings."""
    return float(np.median(times[:k])), float(np.median(times[-k:]))


if __name__ == "__main__":
    main()
