"""A store is one potential and one file: options are part of its identity, symlinks
lead to one store with one lock, and anything but a regular file is refused."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import store_path
from landscape.foundations.lock import WriterLock
from landscape.potentials.identity import differences, identity, record, require_same
from landscape.potentials.registry import load_potential
from landscape_cli.testing import error_line, invoke, run, snapshot

SCALED = (Path(__file__).resolve().parents[1] / "data" / "scaled_potential.py").read_text()


@pytest.fixture()
def scaled(tmp_path):
    path = tmp_path / "scaled.py"
    path.write_text(SCALED)
    return f"{path}:Scaled"


def _connect(spec, out, *extra):
    return [
        "connect",
        spec,
        "--start",
        "L",
        "--end",
        "R",
        "--method",
        "neb",
        "--fmax",
        "0.01",
        "--out",
        out,
        "--json",
        *extra,
    ]


def test_another_option_on_the_same_store_is_refused_naming_the_key(tmp_path, scaled):
    out = tmp_path / "s.h5"
    first = json.loads(run(_connect(scaled, out, "-o", "scale=1")).stdout)
    before = snapshot(out)
    r = invoke(_connect(scaled, out, "-o", "scale=2"))
    assert r.exit_code == 1
    assert "plugin.options.scale" in error_line(r) and "--force" in error_line(r)
    assert snapshot(out) == before
    again = json.loads(run(_connect(scaled, out, "-o", "scale=1")).stdout)  # the same spelling: reused
    assert again["saddle_energy"] == first["saddle_energy"]
    forced = json.loads(run(_connect(scaled, out, "-o", "scale=2", "--force")).stdout)
    assert forced["saddle_energy"] == pytest.approx(2 * first["saddle_energy"], rel=1e-3)


def test_the_record_holds_the_absolute_spec_and_coerced_options(tmp_path, scaled):
    pot = load_potential(os.path.relpath(scaled.rpartition(":")[0]) + ":Scaled", {"scale": "2"})
    rec = record(pot)
    path = scaled.rpartition(":")[0]
    assert (
        rec["plugin"]
        == {
            "name": scaled,
            "options": {"scale": 2.0},  # every option, coerced
            "types": {"scale": "float"},
            "source": path,
            "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16],
        }
    )
    old_style = {**rec, "plugin": {"name": scaled, "options": {"scale": "2"}}}  # CLI strings, as stored before
    assert identity(old_style, {"scale": "float"})["plugin"]["options"] == identity(rec)["plugin"]["options"]
    assert identity(old_style)["plugin"]["options"] == {"scale": "2"}  # no declared type: never guessed
    require_same(old_style, rec, "x.h5")
    with pytest.raises(LandscapeError, match="differs in plugin.options.scale"):
        require_same(rec, record(load_potential(scaled, {"scale": 3})), "x.h5")


def test_differences_name_dotted_keys():
    assert differences({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"b": 1, "c": 5}, "e": 3}) == ["a.c", "d", "e"]
    assert differences([1, 2], [1, 2]) == []


def test_a_symlinked_store_is_one_store_with_one_lock(tmp_path):
    real = tmp_path / "real.h5"
    link = tmp_path / "link.h5"
    link.symlink_to(real)  # dangling: the run creates the target
    run(["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb", "--fmax", "0.1", "--out", link])
    assert link.is_symlink() and real.is_dir()  # the link was followed, not replaced
    assert WriterLock(link).path == WriterLock(real).path
    with WriterLock(real):
        r = invoke(["connect", "mueller-brown", "--start", "A", "--end", "B", "--out", link, "--force"])
        assert r.exit_code == 1 and "is writing" in error_line(r)


def test_a_symlink_in_place_of_the_lock_is_never_written_through(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / ".s.h5.lock").symlink_to(victim)
    r = invoke(["connect", "mueller-brown", "--start", "A", "--end", "B", "--out", tmp_path / "s.h5"])
    assert r.exit_code == 1 and "symbolic link" in error_line(r)
    assert victim.read_text() == "precious"


def test_fifos_and_devices_are_refused_as_stores(tmp_path):
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    for args in (
        ["inspect", fifo],
        ["connect", "mueller-brown", "--start", "A", "--end", "B", "--out", fifo],
        ["minima", "mueller-brown", "--starts", 4, "--out", fifo, "--force"],
    ):
        r = invoke(args)
        assert r.exit_code == 1 and "is a fifo" in error_line(r), args
    with pytest.raises(LandscapeError, match="character device"):
        store_path("/dev/null")
    assert fifo.exists()


def test_minima_force_waits_for_no_one_and_refuses_a_running_writer(tmp_path):
    out = tmp_path / "gm.h5"
    run(["minima", "gaussian-mixture", "-o", "wells=4", "--starts", 8, "--out", out])
    before = snapshot(out)
    with WriterLock(out):
        r = invoke(["minima", "gaussian-mixture", "-o", "wells=5", "--starts", 8, "--out", out, "--force"])
        assert r.exit_code == 1 and "is writing" in error_line(r)
    assert snapshot(out) == before


def _answer(args):
    """The JSON a connect printed; a run stopped at its budget exits 1 or 0 (not what
    these tests are about), the answer is the same."""
    r = invoke(args)
    assert r.exit_code in (0, 1) and r.stdout.strip(), r.stdout + r.stderr
    return json.loads(r.stdout)


def test_a_spent_budget_is_continued_by_a_larger_one_and_never_answers_another(tmp_path):
    """A path that stopped at its budget keeps its state: a larger --steps continues it
    (to where one run with that budget ends), the same --steps returns it, and a smaller
    one is refused: never a stale shorter answer as if it were the one asked for."""
    out = tmp_path / "b"
    args = ["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb", "--fmax", "0.01", "--json"]
    short = _answer(args + ["--out", out, "--steps", 5])
    assert short["status"] == "max_steps" and short["iterations"] == 5
    assert _answer(args + ["--out", out, "--steps", 5])["reused"]  # the same request
    longer = _answer(args + ["--out", out, "--steps", 20])  # the default band converges after 28
    assert longer["resumed_from_step"] == 5 and not longer["reused"] and longer["iterations"] == 20
    straight = _answer(args + ["--out", tmp_path / "straight", "--steps", 20])
    assert longer["saddle_energy"] == straight["saddle_energy"]  # as if it had run on, not a mix
    r = invoke(args + ["--out", out, "--steps", 10])
    assert r.exit_code == 1 and "used 20 steps, more than the budget of 10" in error_line(r)
    full = _answer(args + ["--out", out, "--steps", 5000])
    assert full["status"] == "converged" and full["resumed_from_step"] == 20
    assert full["iterations"] == _answer(args + ["--out", tmp_path / "whole", "--steps", 5000])["iterations"]
    assert _answer(args + ["--out", out, "--steps", 9000])["iterations"] == full["iterations"]  # cannot change it
    r = invoke(args + ["--out", out, "--steps", full["iterations"] - 1])
    assert r.exit_code == 1 and "more than the budget" in error_line(r)


def test_a_full_disk_while_taking_the_lock_is_one_line(tmp_path, monkeypatch):
    import errno

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(LandscapeError, match="cannot write lock file .*No space left") as exc:
        WriterLock(tmp_path / "s").acquire()
    monkeypatch.undo()
    assert "\n" not in str(exc.value)
    with WriterLock(tmp_path / "s"):  # nothing stays locked
        pass


def test_a_file_potential_is_rebuilt_from_its_store_by_every_reader(tmp_path, scaled):
    """plot plane, hessian and explore rebuild the potential the store records (the
    file, made absolute, with its options), not a plugin of the same name."""
    out = tmp_path / "f"
    run(_connect(scaled, out, "-o", "scale=3"))
    png = run(["plot", "plane", out]).stdout.strip()
    assert png == str(tmp_path / "f-plane.png") and os.path.getsize(png) > 1000
    top = json.loads(run(["hessian", out, "--json"]).stdout)["paths"]["L-R"]
    assert top["saddle_index_of_hessian"] == 1
    # the Hessian is the scale=3 one: three times the unscaled potential's curvature
    plain = tmp_path / "g"
    run(_connect(scaled, plain))
    top1 = json.loads(run(["hessian", plain, "--json"]).stdout)["paths"]["L-R"]
    assert top["hessian_eigenvalues"][0] == pytest.approx(3 * top1["hessian_eigenvalues"][0], rel=1e-4)
    assert json.loads(run(["explore", out, "--json"]).stdout)["complete"]


# the same surface: a file's content and each option in its declared type ---------------
VERSIONED = '''
import numpy as np
from landscape import Potential

class Versioned(Potential):
    """A double well whose str options name a version, like a number or a flag would."""
    dim = 2
    name = "versioned"
    minima = {"L": np.array([-1.0, 0.0]), "R": np.array([1.0, 0.0])}

    def __init__(self, version: str = "a", flag: str = "no", scale: float = 1.0, on: bool = False):
        self.scale = scale

    def energy_and_gradient(self, x):
        e = self.scale * ((x[:, 0] ** 2 - 1) ** 2 + 2 * x[:, 1] ** 2)
        return e, self.scale * np.stack([4 * x[:, 0] * (x[:, 0] ** 2 - 1), 4 * x[:, 1]], axis=1)
'''


@pytest.fixture()
def versioned(tmp_path):
    path = tmp_path / "versioned.py"
    path.write_text(VERSIONED)
    return f"{path}:Versioned"


def _edit(spec: str, old: str, new: str) -> None:
    path = Path(spec.rpartition(":")[0])
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_an_edited_potential_file_is_refused_naming_the_change(tmp_path, scaled):
    out = tmp_path / "s"
    first = json.loads(run(_connect(scaled, out)).stdout)
    _edit(scaled, "e = self.scale", "e = 0.25 + self.scale")  # another surface, same path and options
    before = snapshot(out)
    r = invoke(_connect(scaled, out))
    line = error_line(r)
    assert r.exit_code == 1 and scaled.rpartition(":")[0] + " changed since the store was written" in line
    assert "plugin.sha256" in line and "--force" in line
    assert snapshot(out) == before  # neither the old saddle ("reused") nor a continuation
    for reader in (["hessian", out], ["plot", "plane", out], ["explore", out]):  # they would use the new surface
        r = invoke(reader)
        assert r.exit_code == 1 and "changed since the store was written" in error_line(r), reader
    forced = json.loads(run(_connect(scaled, out, "--force")).stdout)
    assert not forced["reused"] and forced["saddle_energy"] == pytest.approx(first["saddle_energy"] + 0.25)
    assert json.loads(run(_connect(scaled, out)).stdout)["reused"]  # the file as it is now: its own store


def test_an_edited_file_does_not_continue_an_interrupted_run(tmp_path, scaled):
    from landscape.paths.budget import Budget
    from landscape.runs.stored import connect_stored

    def ctrl_c(state):
        if state.nit == 3:
            raise KeyboardInterrupt

    out = str(tmp_path / "s")
    ends = (np.array([-1.0, 0.4]), np.array([1.0, -0.4]))  # the straight line between them is no minimum energy path
    r = connect_stored(
        out, load_potential(scaled), ("L", "R"), *ends, method="neb", budget=Budget(max_steps=50), callbacks=[ctrl_c]
    )
    assert r.result.status.value == "interrupted"
    _edit(scaled, "e = self.scale", "e = 0.25 + self.scale")
    with pytest.raises(LandscapeError, match="changed since the store was written"):
        connect_stored(out, load_potential(scaled), ("L", "R"), *ends, method="neb", budget=Budget(max_steps=50))


def test_a_store_written_before_digests_is_continued(tmp_path, scaled, monkeypatch):
    """No digest recorded: not compared (its content then is unknown, and refusing would
    strand every store made before digests were kept)."""
    import landscape.potentials.registry as registry

    out = tmp_path / "old"
    monkeypatch.setattr(registry, "_source_digest", lambda path: None)
    first = json.loads(run(_connect(scaled, out)).stdout)
    monkeypatch.undo()
    Path(scaled.rpartition(":")[0]).write_text(SCALED + "\n# edited\n")  # unknown before: not compared
    again = json.loads(run(_connect(scaled, out)).stdout)
    assert again["reused"] and again["saddle_energy"] == first["saddle_energy"]
    rec = record(load_potential(scaled))
    legacy = {**rec, "plugin": {"name": rec["plugin"]["name"], "options": {"scale": "1.0"}}}  # no types, no digest
    require_same(legacy, rec, "x.h5")
    require_same(rec, legacy, "x.h5")


def test_a_module_spec_digests_the_file_that_defines_the_class(tmp_path, monkeypatch):
    (tmp_path / "usermod.py").write_text(VERSIONED)
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin = record(load_potential("usermod:Versioned"))["plugin"]
    assert plugin["source"] == str(tmp_path / "usermod.py")
    assert plugin["sha256"] == hashlib.sha256(VERSIONED.encode()).hexdigest()[:16]
    assert "sha256" not in record(load_potential("mueller-brown"))["plugin"]  # an installed plugin: name and options


@pytest.mark.parametrize(
    "option, a, b, same",
    [
        ("version", "1", "1.0", False),
        ("version", "yes", "on", False),
        ("flag", "no", "off", False),
        ("version", " 1", "1", False),
        ("version", "nan", "nan", True),
        ("version", "1", "1", True),
        ("scale", "1", "1.0", True),
        ("scale", "2", "2e0", True),
        ("scale", "nan", "nan", True),
        ("on", "yes", "on", True),
        ("on", "true", "1", True),
        ("on", "yes", "no", False),
    ],
)
def test_options_are_compared_as_their_declared_type(versioned, option, a, b, same):
    ra, rb = (record(load_potential(versioned, {option: v})) for v in (a, b))
    old_a = {**ra, "plugin": {"name": versioned, "options": {option: a}}}  # CLI strings, as stored before types
    for stored in (ra, old_a):
        if same:
            require_same(stored, rb, "x.h5")
        else:
            with pytest.raises(LandscapeError, match=f"differs in plugin.options.{option}"):
                require_same(stored, rb, "x.h5")


def test_str_options_that_look_like_numbers_keep_their_own_stores(tmp_path, versioned):
    out = tmp_path / "v"
    run(_connect(versioned, out, "-o", "version=1"))
    r = invoke(_connect(versioned, out, "-o", "version=1.0"))
    assert r.exit_code == 1 and "plugin.options.version" in error_line(r)
    nan = tmp_path / "nan"
    run(_connect(versioned, nan, "-o", "version=nan", "-o", "scale=1"))
    again = json.loads(run(_connect(versioned, nan, "-o", "version=nan", "-o", "scale=1.0")).stdout)
    assert again["reused"]  # a NaN-looking value names one setting, which its store matches


def test_a_worker_rebuilding_an_edited_file_refuses_it(scaled):
    """A process or Ray worker rebuilds the store's potential from its description: an
    edit made during the exploration is refused there as the main process refuses it."""
    from landscape.potentials.identity import spec_of
    from landscape.runs.tasks import PotentialSpec

    description = record(load_potential(scaled))
    spec = PotentialSpec(*spec_of(description), description=description)
    assert spec.build().describe()["name"] == load_potential(scaled).describe()["name"]
    _edit(scaled, "e = self.scale", "e = 0.25 + self.scale")
    with pytest.raises(LandscapeError, match="changed since the store was written"):
        spec.build()
    PotentialSpec(*spec_of(description)).build()  # by name and options alone: no store to answer to
