"""Hypothesis profiles of the suite.

`landscape` (the default): derandomized and without an example database, so the
README's test command draws the same examples on every machine and every fresh
clone, CI or not.  `explore`: fresh random examples on every run, many more of them
with $LANDSCAPE_HYPOTHESIS_SCALE; `bench/property_tests.py` runs it.  Pick one with
HYPOTHESIS_PROFILE=explore (or pytest's --hypothesis-profile).  Every failure it
finds becomes an explicit @example in the test that found it.
"""

from __future__ import annotations

import os

from hypothesis import settings

from landscape.testing import examples

settings.register_profile("landscape", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=examples(100), print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "landscape"))
