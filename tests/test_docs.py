"""Every code block in the README and the docs runs as written.

The blocks of one file run in order in a fresh folder: Python blocks in one namespace
(a later block may use what an earlier one defined, as a reader would), shell blocks
with bash, `landscape` on the PATH, and `examples/`, `bench/` and `tests/` reachable as
from the project's root.  A block runs unless the line before it says why not,
`<!-- not run by the docs test: REASON -->` (a GPU, full CIFAR, a benchmark, a template
around the reader's own network); nothing else is exempt.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(
    r"^(?:<!-- not run by the docs test: (?P<reason>[^\n]*?) -->\n)?```(?P<lang>python|bash)\n"
    r"(?P<code>.*?)^```",
    re.M | re.S,
)
DOCS = [str(p.relative_to(ROOT)) for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]]
RUN = [name for name in DOCS if any(not m["reason"] for m in BLOCK.finditer((ROOT / name).read_text()))]


def test_every_exempt_block_says_why_and_no_block_hides():
    for name in DOCS:
        text = (ROOT / name).read_text()
        for m in BLOCK.finditer(text):
            assert m["reason"] is None or len(m["reason"].strip()) > 5, f"{name}: an exemption without a reason"
        # code is python or bash, which run; json, toml and text blocks show output or settings
        fences = re.findall(r"^```(.*)$", text, re.M)  # an info string after the language counts too
        assert set(fences[0::2]) <= {"python", "bash", "json", "toml", "text"}, (
            f"{name}: fences {sorted(set(fences[0::2]))}"
        )


@pytest.mark.parametrize("name", RUN)
def test_code_blocks_run_as_written(name, tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    for folder in ("examples", "bench", "tests"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    namespace: dict = {"__name__": "__doc__"}
    for k, m in enumerate(BLOCK.finditer((ROOT / name).read_text())):
        if m["reason"]:
            continue
        where = f"{name} block {k + 1}"
        if m["lang"] == "python":
            exec(compile(m["code"], where, "exec"), namespace)  # noqa: S102 - the docs' own code
            continue
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", m["code"]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{where} failed:\n{done.stderr[-2000:]}"


def test_the_cli_reference_in_docs_is_the_generated_one():
    from landscape_cli.reference import BEGIN, END, reference

    text = (ROOT / "docs" / "cli.md").read_text()
    block = BEGIN + text.partition(BEGIN)[2].partition(END)[0] + END + "\n"
    assert block == reference(), "docs/cli.md is stale: python -m landscape_cli.reference --write docs/cli.md"


def test_every_command_says_what_it_does_with_an_example_and_shows_its_defaults():
    import click

    from landscape_cli.reference import commands

    for name, cmd in commands():
        assert "Example: landscape " in (cmd.help or ""), f"landscape {name} --help has no example line"
        for p in cmd.params:
            if isinstance(p, click.Option) and not p.is_flag and not p.required and not p.multiple:
                shown = p.show_default or "default" in (p.help or "") or p.default is None
                assert shown, f"landscape {name} {p.opts[0]} hides its default {p.default!r}"


def test_the_gallery_shows_every_picture_its_script_makes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gallery", ROOT / "examples" / "gallery.py")
    gallery = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gallery)
    names = [name for _, _, name in gallery.STEPS if name]
    text = (ROOT / "docs" / "gallery.md").read_text()
    for name in names:
        assert f"img/gallery/{name}" in text, f"docs/gallery.md does not show {name}"
        assert (ROOT / "docs" / "img" / "gallery" / name).stat().st_size > 10_000, name


def test_the_banana_example_is_the_plugin_docs_class():
    block = BLOCK.search((ROOT / "docs" / "plugins.md").read_text())["code"]
    assert (ROOT / "examples" / "banana.py").read_text().endswith(block)
