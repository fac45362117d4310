"""The memory guard judges by what this process can really get: free memory, the
address-space limit (ulimit -v) and a control group's limit, whichever is least; and it
covers building a potential, not only the band."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from landscape.foundations import memory
from landscape.foundations.errors import LandscapeError


def test_the_least_of_the_three_figures_counts(monkeypatch):
    monkeypatch.setattr(memory, "_kernel_available", lambda: 10 << 30)
    monkeypatch.setattr(memory, "_address_space_left", lambda: 3 << 30)
    monkeypatch.setattr(memory, "_cgroup_left", lambda: None)
    assert memory.available_bytes() == 3 << 30
    monkeypatch.setattr(memory, "_cgroup_left", lambda: 1 << 30)
    assert memory.available_bytes() == 1 << 30
    with pytest.raises(LandscapeError, match="needs about 2.0 GiB of memory; this machine has 1.0 GiB available"):
        memory.require_memory("a thing", 2 << 30)


def test_the_address_space_limit_is_read(monkeypatch):
    monkeypatch.setattr(resource, "getrlimit", lambda which: (1 << 40, resource.RLIM_INFINITY))
    assert memory._address_space_left() == (1 << 40) - memory._status_kib("VmSize") * 1024
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert memory._address_space_left() is None


@pytest.mark.parametrize(
    "limit, usage, left", [("max", "5", None), ("9223372036854771712", "5", None), ("1000", "400", 600)]
)
def test_a_control_groups_limit_is_read(monkeypatch, tmp_path, limit, usage, left):
    (tmp_path / "max").write_text(limit + "\n")
    (tmp_path / "current").write_text(usage + "\n")
    monkeypatch.setattr(
        memory,
        "_CGROUP_FILES",
        ((str(tmp_path / "none"), str(tmp_path / "none")), (str(tmp_path / "max"), str(tmp_path / "current"))),
    )
    assert memory._cgroup_left() == left


def test_building_a_huge_embedding_under_ulimit_is_one_line():
    """Under a 2 GiB address-space limit a 100-million-dimensional embedding (its basis
    alone 1.5 GiB) is refused before it is allocated, wherever the machine's free memory."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, resource.getrlimit(resource.RLIMIT_AS)[1]))

    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "landscape_cli.main",
            "connect",
            "mueller-brown",
            "-o",
            "dim=100000000",
            "--start",
            "A",
            "--end",
            "B",
        ],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=120,
    )
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "embedding mueller-brown in 100000000 dimensions needs about" in lines[0], r.stderr
