"""`connect` without --method: NEB on a deterministic potential, AutoNEB on a network's
loss (full or mini-batch), a stochastic potential, or when an AutoNEB-only option is
given; a store made by another method is neither continued nor replaced by the default
run."""

from __future__ import annotations

import json

from landscape.store import Store
from landscape_cli.testing import error_line, invoke, run, snapshot

MB = ["connect", "mueller-brown", "--start", "A", "--end", "B"]
MB_SADDLE = -40.664844  # docs/concepts.md: the A-B MEP's highest point, the A-C saddle

# A double well whose energies carry noise drawn per call from a seeded stream, as a
# mini-batch loss's do; `stochastic` says so, as NetworkPotential's does.
NOISY = """
import numpy as np
from landscape import Potential


class Batches(Potential):
    dim = 2
    stochastic = True
    minima = {"L": np.array([-1.0, 0.0]), "R": np.array([1.0, 0.0])}

    def __init__(self):
        self.rng = np.random.default_rng(0)

    def energy_and_gradient(self, x):
        e = (x[:, 0] ** 2 - 1) ** 2 + 2 * x[:, 1] ** 2 + self.rng.normal(0.0, 1e-3, len(x))
        return e, np.stack([4 * x[:, 0] * (x[:, 0] ** 2 - 1), 4 * x[:, 1]], axis=1)
"""


def _json(args: list[str], expect: int = 0) -> dict:
    return json.loads(run([*args, "--json"], expect=expect).stdout)


def test_no_method_on_a_deterministic_potential_is_neb_with_its_defaults():
    bare, neb = _json(MB), _json([*MB, "--method", "neb"])
    assert bare["method"] == "neb" and bare["pivots"] == 9 and bare["cycles"] == 0
    assert abs(bare["saddle_energy"] - MB_SADDLE) < 1e-3 and bare["climber_at_top"]
    # the same run as --method neb, point for point
    same = ("saddle_energy", "evaluations", "iterations", "pivot_evaluations", "spring")
    assert {k: bare[k] for k in same} == {k: neb[k] for k in same}


def test_an_option_only_autoneb_takes_chooses_autoneb():
    assert _json([*MB, "--schedule", "analytic"])["method"] == "autoneb"
    capped = _json([*MB, "--schedule", "analytic", "--max-pivots", "7"])
    assert capped["method"] == "autoneb" and capped["pivots"] <= 7 and capped["cycles"] > 0
    # ... and then a band's option is refused as it is with --method autoneb
    r = invoke([*MB, "--schedule", "quick", "--spring", "1"])
    assert r.exit_code == 1 and "--spring applies to --method neb only" in error_line(r)


def test_no_method_on_a_mini_batch_loss_is_autoneb(tmp_path):
    (tmp_path / "batches.py").write_text(NOISY)
    spec = f"{tmp_path / 'batches.py'}:Batches"
    # one step of the budget is enough to see what ran; the run stops short of success (exit 1)
    got = _json(["connect", spec, "--start", "L", "--end", "R", "--steps", "1"], expect=1)
    assert got["method"] == "autoneb" and got["pivots"] == 5 and got["status"] == "max_steps"
    r = invoke(["connect", spec, "--start", "L", "--end", "R", "--stepper", "fire2"])
    assert r.exit_code == 1 and "--stepper applies to --method neb or string" in error_line(r)


def test_no_method_on_a_full_batch_network_loss_is_autoneb():
    """The built-in MLP is trained and evaluated on its whole data set: deterministic,
    but a loss over data (its `cost()` counts samples), where AutoNEB is the method."""
    small = ["-o", "hidden=4", "-o", "n_train=64", "-o", "n_test=16", "-o", "epochs=20", "--no-relax-ends"]
    got = _json(["connect", "mlp", *small, "--start", "0", "--end", "1", "--steps", "1"], expect=1)
    assert got["method"] == "autoneb" and got["pivots"] == 5 and got["samples"]["gradient"] > 0


def test_help_says_the_default_on_each_kind_of_potential():
    text = " ".join(run(["connect", "--help"]).stdout.split()).replace("- ", "-")  # click wraps at hyphens
    assert (
        "[default: autoneb on a network's loss (full or mini-batch) or a stochastic potential, or when "
        "--schedule or --max-pivots is given; else neb]" in text
    )


def test_a_store_made_by_autoneb_is_not_continued_or_replaced_by_the_default(tmp_path):
    out = str(tmp_path / "s")
    autoneb = [*MB, "--method", "autoneb", "--schedule", "analytic", "--out", out]
    first = _json(autoneb)
    before = snapshot(out)
    for extra in ([], ["--resume"]):
        r = invoke([*MB, "--out", out, *extra])
        line = error_line(r)
        assert r.exit_code == 1 and "made by method autoneb, not neb" in line, line
        assert "pass --method autoneb" in line and "without --method, connect runs neb" in line
    assert snapshot(out) == before  # refused before anything was written
    again = _json(autoneb)
    assert again["reused"] and again["method"] == "autoneb" and again["saddle_energy"] == first["saddle_energy"]
    replaced = _json([*MB, "--out", out, "--force"])
    assert replaced["method"] == "neb" and not replaced["reused"] and replaced["cycles"] == 0
    with Store.open(out) as store:
        assert store.read_result("A-B").config["optimizer"]["method"] == "neb"


def test_an_explicit_other_method_is_refused_without_the_default_note(tmp_path):
    out = str(tmp_path / "s")
    run([*MB, "--out", out])  # the default: neb
    line = error_line(invoke([*MB, "--method", "string", "--out", out]))
    assert "made by method neb, not string" in line and "without --method" not in line
    # the same bare command again reuses what it made
    assert _json([*MB, "--out", out])["reused"]
