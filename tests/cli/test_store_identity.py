"""A store is one potential and one file: options are part of its identity, symlinks
lead to one store with one lock, and anything but a regular file is refused."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from landscape.errors import LandscapeError
from landscape.files import store_path
from landscape.identity import differences, identity, record, require_same
from landscape.lock import WriterLock
from landscape.registry import load_potential
from landscape_cli.testing import error_line, invoke, run, snapshot

SCALED = (Path(__file__).resolve().parents[1] / "data" / "scaled_potential.py").read_text()


@pytest.fixture()
def scaled(tmp_path):
    path = tmp_path / "scaled.py"
    path.write_text(SCALED)
    return f"{path}:Scaled"


def _connect(spec, out, *extra):
    return ["connect", spec, "--start", "L", "--end", "R", "--method", "neb", "--fmax", "0.01",
            "--out", out, "--json", *extra]


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
    assert rec["plugin"] == {"name": scaled, "options": {"scale": 2.0}}  # every option, coerced
    old_style = {**rec, "plugin": {"name": scaled, "options": {"scale": "2"}}}  # CLI strings, as stored before
    assert identity(old_style) == identity(rec)
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
    run(["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb", "--fmax", "0.1",
         "--out", link])
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
    for args in (["inspect", fifo], ["connect", "mueller-brown", "--start", "A", "--end", "B", "--out", fifo],
                 ["minima", "mueller-brown", "--starts", 4, "--out", fifo, "--force"]):
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


def test_a_finished_path_answers_another_budget_only_when_it_cannot_change_it(tmp_path):
    out = tmp_path / "b.h5"
    args = ["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb", "--fmax", "0.01",
            "--out", out, "--json"]
    short = json.loads(run(args + ["--steps", 5]).stdout)
    assert short["status"] == "max_steps" and short["iterations"] == 5
    assert json.loads(run(args + ["--steps", 5]).stdout)["iterations"] == 5  # the same request: reused
    r = invoke(args + ["--steps", 50])
    assert r.exit_code == 1 and "stopped at its budget" in error_line(r)  # never the stale 5-step answer
    full = json.loads(run(args + ["--steps", 5000, "--force"]).stdout)
    assert full["status"] == "converged"
    assert json.loads(run(args + ["--steps", 9000]).stdout)["iterations"] == full["iterations"]  # cannot change it
    r = invoke(args + ["--steps", full["iterations"] - 1])
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
