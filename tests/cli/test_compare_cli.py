"""`landscape compare`: the table, --json and --csv agree; bad input is one line."""

from __future__ import annotations

import csv
import io
import json

import pytest

torch = pytest.importorskip("torch")

from landscape_cli.testing import error_line, invoke, run, snapshot  # noqa: E402

MLP = ["-o", "hidden=8", "-o", "n_train=48", "-o", "n_test=48", "-o", "data_seed=2"]
ROWS = "straight,aligned,autoneb"


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("cmpcli") / "m.h5"
    run(["train", "mlp", *MLP, "--minima", 2, "--epochs", 10, "--out", path])
    return path


def test_table_json_and_csv_agree(store, tmp_path):
    args = ["compare", store, "--pairs", "0-1,1-0", "--points", 5, "--rows", ROWS, "--no-run"]
    out = json.loads(run([*args, "--json", "--csv", tmp_path / "t.csv", "--figure", tmp_path / "p.png"]).stdout)
    assert (tmp_path / "p.png").exists() and out["points"] == 5
    rows = out["rows"]
    assert [(r["pair"], r["row"]) for r in rows] == [(p, r) for p in ("0-1", "1-0") for r in ROWS.split(",")]
    assert [r["status"] for r in rows] == ["done", "done", "not run"] * 2  # no stored path, --no-run
    table = list(csv.DictReader(io.StringIO((tmp_path / "t.csv").read_text())))
    for r, c in zip(rows, table):
        assert (c["pair"], c["row"], c["status"]) == (r["pair"], r["row"], r["status"])
        for key in ("max_train_loss", "rise_over_higher_end", "t_at_max", "max_test_error"):
            assert (c[key] == "") if r.get(key) is None else float(c[key]) == r[key]
        if r["status"] == "done":
            assert int(c["eval_forward_samples"]) == r["eval_samples"]["forward"] == 5 * 96
    text = run(args).stdout  # the same rows, read back from the store
    sections = {part.split("\n")[0]: part for part in text.split("\npair ")[1:]}
    for r in rows:
        if r["status"] == "done":
            line = next(x for x in sections[r["pair"]].splitlines() if x.strip().startswith(r["label"]))
            assert f"{r['max_train_loss']:.4g}" in line and "read back" in line
    assert "not run: no stored path for this pair (--no-run)" in text


@pytest.mark.parametrize(
    "extra, says",
    [
        (["--pairs", "0-7"], "no minimum '7'"),
        (["--pairs", "0+1"], "bad pair"),
        (["--rows", "straight,wiggly"], "unknown row 'wiggly'"),
        (["--points", 1], "--points"),
        (["--schedule", "no-such-schedule"], "unknown schedule"),
        (["--csv", "/no/such/folder/t.csv"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_leaves_the_store_alone(store, extra, says):
    before = snapshot(store)
    result = invoke(["compare", store, "--rows", "straight", *extra])
    assert result.exit_code != 0 and says in error_line(result)
    assert snapshot(store) == before
