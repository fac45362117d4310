"""Hypothesis profiles of the suite, its SIGINT, the order its tests start in, and
fixtures every folder's tests share.

`landscape` (the default): derandomized and without an example database, so the
README's test command draws the same examples on every machine and every fresh
clone, CI or not.  `explore`: fresh random examples on every run, many more of them
with $LANDSCAPE_HYPOTHESIS_SCALE; `bench/property_tests.py` runs it.  Pick one with
HYPOTHESIS_PROFILE=explore (or pytest's --hypothesis-profile).  Every failure it
finds becomes an explicit @example in the test that found it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings

from landscape.testing import examples

settings.register_profile("landscape", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=examples(100), print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "landscape"))

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

#: Test files started first: the docs' code blocks are the longest tests (the README's
#: alone ran 93 s, docs/exploration.md's 65 s) and sort after every folder, so under
#: `-n 2` one worker ran them at the end while the other sat idle (the last 3% of the
#: tests took a quarter of the suite's time).  Started first, the other worker runs the
#: short tests beside them.
FIRST = ("test_docs.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in FIRST)  # stable: the rest keep their order


@pytest.fixture
def interrupt_once(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any, str], list[int]]:
    """`interrupt_once(owner, name)`: the first call of `owner.name` receives Ctrl-C (a
    signal that lands there), later calls run it; returns the list that counts the calls."""

    def patch(owner: Any, name: str) -> list[int]:
        real, calls = getattr(owner, name), []

        def once(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 1:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, once)
        return calls

    return patch
