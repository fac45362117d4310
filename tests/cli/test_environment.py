"""An environment the command cannot work in ends in one line and exit 1, not an internal
error: a full, closed or broken standard output, a deleted current folder, a MPLBACKEND
matplotlib rejects.  And with --json, what compiled code behind a potential writes to file
descriptor 1 lands on stderr, never in the JSON.  These run the installed script in a
subprocess: descriptors, the environment and the current folder are the process's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from landscape_cli.testing import invoke, run

DATA = Path(__file__).resolve().parents[1] / "data"
SCRIPT = os.path.join(os.path.dirname(sys.executable), "landscape")
CONNECT = ["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb"]


def landscape(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *map(str, args)], capture_output=True, text=True, timeout=120, env=env)


def one_line(err: str, expected: str) -> None:
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err, repr(err)


def run_with_stdout(args: list[str], stdout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args", [CONNECT + ["--json"], ["plugins"], ["connect", "--help"]], ids=["connect --json", "plugins", "help"]
)
def test_a_full_standard_output_is_one_line(args):
    """Results (`emit`), and what goes to sys.stdout past it (help, a picture's name),
    though click swallows the first failure while it probes the stream."""
    with open("/dev/full", "w") as full:
        r = run_with_stdout(args, full.fileno())
    assert r.returncode == 1
    one_line(r.stderr, "cannot write the result to standard output: No space left on device")


def test_a_reader_that_went_away_is_one_line():
    """`landscape ... | head -0`: the pipe has no reader when the result is written."""
    read, write = os.pipe()
    os.close(read)
    try:
        r = run_with_stdout(CONNECT + ["--json"], write)
    finally:
        os.close(write)
    assert r.returncode == 1
    one_line(r.stderr, "cannot write the result to standard output: Broken pipe")


@pytest.mark.parametrize("args", [["plugins"], ["plugins", "--json"]])
def test_a_closed_standard_output_is_refused_before_any_work(args):
    """With descriptor 1 closed the next file opened would take it (a store!); the result
    went nowhere, or, with --json, to stderr."""
    r = subprocess.run(
        ["sh", "-c", f'exec "$0" {" ".join(args)} >&-', SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 1
    one_line(r.stderr, "standard output is closed")


def test_a_deleted_current_folder_is_one_line(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    r = subprocess.run(
        ["sh", "-c", f'cd "{gone}" && rmdir "{gone}" && exec "$0" inspect x.h5', SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1
    one_line(r.stderr, "the current folder cannot be used")


def test_a_bogus_mplbackend_is_one_line_and_a_valid_one_works(tmp_path):
    bogus = landscape(["demo", "--out-dir", tmp_path / "d"], env={**os.environ, "MPLBACKEND": "bogus"})
    assert bogus.returncode == 1 and not (tmp_path / "d").exists()
    one_line(bogus.stderr, "MPLBACKEND='bogus' in the environment is not a backend matplotlib knows")
    store = tmp_path / "s"
    run(CONNECT + ["--out", store])
    fine = landscape(["plot", "profile", store], env={**os.environ, "MPLBACKEND": "svg"})
    assert fine.returncode == 0 and (tmp_path / "s-profile.png").exists(), fine.stderr


def test_json_is_intact_when_compiled_code_writes_to_descriptor_1():
    r = landscape(
        [
            "connect",
            f"{DATA / 'lowlevel_potential.py'}:LowLevel",
            "-o",
            "mode=fd1",
            "--start",
            "L",
            "--end",
            "R",
            "--method",
            "neb",
            "--json",
        ]
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"]  # the whole of stdout is the one JSON object
    assert "compiled code says hello" in r.stderr and "SCF converged" in r.stderr


def test_shell_completion_still_reaches_stdout(monkeypatch):
    """click writes the completion script as bytes, below the guarded text stream."""
    monkeypatch.setenv("_LANDSCAPE_COMPLETE", "bash_source")
    r = invoke([])
    assert r.exit_code == 0 and "_landscape_completion()" in r.stdout, r.stderr


def test_memory_that_runs_out_unforeseen_is_one_line_exit_1(monkeypatch):
    """A MemoryError no size check foresaw is the size the user asked for, not a bug."""
    from landscape_cli import main as cli_main

    def exhausted() -> None:
        raise MemoryError("Unable to allocate 224. GiB for an array")

    monkeypatch.setattr(cli_main, "check_environment", exhausted)
    r = invoke(["plugins"])
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: out of memory: Unable to allocate 224. GiB"), r.stderr
