"""Long commands talk on a terminal: run under a pseudo-terminal (stderr a tty), each
shows a progress bar without being asked; with --no-progress, or when stderr is not a
terminal, nothing."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import pytest

from landscape_cli.testing import read_terminal

pytest.importorskip("torch")


def _stderr_on_a_terminal(args: list[str], cwd: str) -> tuple[int, str]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a terminal has a width
    proc = subprocess.Popen(
        [sys.executable, "-m", "landscape_cli.main", *args],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        cwd=cwd,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    os.close(slave)
    text = read_terminal(master).decode(errors="replace")
    return proc.wait(timeout=300), text


MLP = ["-o", "hidden=8", "-o", "n_train=64", "-o", "n_test=64"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tty")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "landscape_cli.main",
            "train",
            "mlp",
            *MLP,
            "--minima",
            "2",
            "--epochs",
            "20",
            "--out",
            str(folder / "net"),
            "--no-progress",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "landscape_cli.main",
            "explore",
            str(folder / "net"),
            "--method",
            "neb",
            "--steps",
            "50",
            "--no-progress",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "landscape_cli.main",
            "minima",
            "gaussian-mixture",
            "-o",
            "wells=6",
            "--starts",
            "40",
            "--out",
            str(folder / "gmx"),
            "--no-progress",
        ],
        check=True,
        capture_output=True,
    )
    return folder


@pytest.mark.parametrize(
    "args, unit",
    [
        (["connect", "mueller-brown", "--start", "A", "--end", "B"], "step"),
        (["minima", "gaussian-mixture", "-o", "wells=6", "--starts", "40", "--out", "gm"], "start"),
        (["train", "mlp", *MLP, "--minima", "1", "--epochs", "30", "--out", "t"], "epoch"),
        (["explore", "{gmx}", "--method", "neb", "--steps", "100"], "run"),
        (["evaluate", "{net}", "--per-segment", "2"], "path"),
        (["hessian", "{net}", "--samples", "32", "--path", "0-1"], "path"),
    ],
)
def test_long_commands_show_progress_on_a_terminal(folder, args, unit):
    args = [a.replace("{net}", str(folder / "net")).replace("{gmx}", str(folder / "gmx")) for a in args]
    code, err = _stderr_on_a_terminal(args, str(folder))
    assert code == 0, err
    assert "it/s" in err or "s/it" in err or f"{unit}/s" in err or f"s/{unit}" in err, err[-500:]
    if args[0] == "explore":  # the run in progress, step by step, not only whole runs
        assert re.search(r"m\d+-m\d+ step \d+, highest", err), err[-500:]
    code, quiet = _stderr_on_a_terminal(
        [*args, "--no-progress"] if args[0] != "minima" else [*args[:-2], "--out", "gm2", "--no-progress"], str(folder)
    )
    assert code == 0 and "it/s" not in quiet and "/s]" not in quiet, quiet[-500:]
