"""`landscape connect` with generated option values, good and bad alike: it either
succeeds, or reports a run that did not succeed and exits 1, or refuses in one line
(exit 1, or 2 for what click itself rejects as usage, never 3); its `--json` output
is one strict JSON document, and nothing it stores holds NaN."""

from __future__ import annotations

import json
import math
import shutil
import tempfile

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from landscape.store import Store, is_store
from landscape.testing import examples
from landscape_cli.testing import invoke

SURFACES = [
    ("mueller-brown", [], "A", "B"),
    ("three-hole", [], "L", "R"),
    ("mueller-brown", ["-o", "dim=5"], "A", "B"),
    ("mueller-brown", [], "-0.3,1.2", "B"),
]
NUMBERS = st.one_of(
    st.none(), st.sampled_from([float("nan"), float("inf"), -1.0, 0.0, 1e-300, 1e300]), st.floats(1e-4, 10.0)
)


def _reject_constant(token: str) -> float:
    raise ValueError(f"{token} is not JSON")


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    surface=st.sampled_from(SURFACES),
    method=st.sampled_from(["neb", "string", "autoneb", "lbfgs"]),
    fmax=NUMBERS,
    pivots=st.one_of(st.none(), st.integers(-3, 40), st.just(10**9)),
    steps=st.one_of(st.none(), st.integers(-2, 400)),
    climb=st.booleans(),
    schedule=st.one_of(st.none(), st.sampled_from(["quick", "analytic", "nope"])),
    store=st.booleans(),
    relax=st.booleans(),
)
@example(
    surface=SURFACES[3],
    method="string",
    fmax=0.5,
    pivots=None,
    steps=None,
    climb=True,
    schedule=None,
    store=True,
    relax=True,
)  # a success with a relaxed end and a store, always among the cases
@example(
    surface=SURFACES[0],
    method="autoneb",
    fmax=None,
    pivots=7,
    steps=None,
    climb=True,
    schedule="quick",
    store=True,
    relax=False,
)
def test_connect_answers_in_strict_json_or_one_line(
    surface, method, fmax, pivots, steps, climb, schedule, store, relax
):
    name, options, start, end = surface
    args = [
        "connect",
        name,
        *options,
        "--start",
        start,
        "--end",
        end,
        "--method",
        method,
        "--json",
        "--climb" if climb else "--no-climb",
        "--relax-ends" if relax else "--no-relax-ends",
    ]
    for flag, value in (("--fmax", fmax), ("--pivots", pivots), ("--steps", steps), ("--schedule", schedule)):
        if value is not None:
            args += [flag, str(value)]
    folder = tempfile.mkdtemp()
    try:
        out = f"{folder}/run"
        r = invoke(args + (["--out", out] if store else []))
        assert r.exit_code in (0, 1, 2), (args, r.exit_code, r.stderr)
        assert r.exit_code != 2 or "Invalid value" in r.stderr, (args, r.stderr)  # 2: click's usage errors
        assert "Traceback" not in r.stdout + r.stderr
        if r.exit_code:
            lines = [line for line in r.stderr.splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("error: "), (args, r.stderr)
            if r.stdout == "":  # refused before any run
                return
        # A run that did not succeed is still reported, marked so, and exits 1.
        payload = json.loads(r.stdout, parse_constant=_reject_constant)  # NaN, Infinity refused
        assert isinstance(payload, dict) and "saddle_energy" in payload
        assert payload["success"] is (r.exit_code == 0), (args, payload["status"], r.stderr)
        assert r.exit_code == 0 or "did not succeed" in r.stderr or "--certify" in r.stderr
        if store:
            assert is_store(out)
            with Store.open(out) as s:
                assert s.check() == []
                for path in s.path_names():
                    result = s.read_result(path)
                    assert np.all(np.isfinite(result.path.pivots)) and np.all(np.isfinite(result.history))
                    assert result.path.energies is None or np.all(np.isfinite(result.path.energies))
                    assert math.isfinite(s.path_info(path).get("upper_bound", 0.0))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
