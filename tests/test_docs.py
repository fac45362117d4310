"""Every Python block in the README and the docs runs as written.

The blocks of one file run in order, in one namespace (a later block may use what an
earlier one defined, as a reader would), in a fresh folder.  docs/torch.md is left out:
its block is a template around the reader's own network and data (`MyNet`,
`x_train`), not a program.
"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
FILES = ["README.md", "docs/plugins.md", "docs/exploration.md", "docs/store.md", "docs/symmetry.md", "docs/ase.md"]
TEMPLATES = {"docs/torch.md"}


def test_every_doc_with_python_is_run_here_or_named_a_template():
    having = {str(p.relative_to(ROOT)) for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
              if BLOCK.search(p.read_text())}
    assert having == set(FILES) | TEMPLATES


@pytest.mark.parametrize("name", FILES)
def test_python_blocks_run_as_written(name, tmp_path, monkeypatch):
    blocks = BLOCK.findall((ROOT / name).read_text())
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__doc__"}
    for k, code in enumerate(blocks):
        exec(compile(code, f"{name} block {k + 1}", "exec"), namespace)  # noqa: S102 - the docs' own code


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
