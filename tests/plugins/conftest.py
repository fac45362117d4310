"""Shared fixtures of the plugin tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def torch_single_thread():
    """One intra-op thread for the tiny networks of the torch tests.

    Their ops are far too small to gain from threads, and on a busy 2-core machine
    OpenMP's spinning workers made a 1-second test take 30 seconds.
    """
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
