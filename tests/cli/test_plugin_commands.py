"""Plugin commands (`landscape.commands` entry points): listed without importing torch,
loaded only when named, a broken one is one line and breaks no other, and the CLI core
imports no plugin."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from landscape_cli.testing import error_line, run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "third_party_plugin"
NETWORK_COMMANDS = {"train", "evaluate", "xor", "report-table", "compare"}


def _plugin_imports(path: Path) -> list[str]:
    """The `landscape_plugins` modules that a file imports, anywhere in it."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.level == 0
            else [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else []
        )
        found += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "landscape_plugins"]
    return found


def test_the_cli_core_imports_no_plugin():
    files = [p for p in sorted((ROOT / "cli").glob("*.py")) if p.name != "commands.py"]  # commands.py loads them
    assert len(files) > 10
    assert not [hit for p in files for hit in _plugin_imports(p)]


def test_the_walk_sees_a_plugin_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def f():\n    from landscape_plugins.torchnet.hessian import hvp_function\nimport landscape_plugins.xor\n"
    )
    assert len(_plugin_imports(probe)) == 2


def _modules_after(args: list[str]) -> tuple[str, set[str]]:
    code = (
        f"import sys\nfrom landscape_cli.main import main\ncode = main({args!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'landscape_plugins')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    text, _, last = out.rstrip().rpartition("\n")
    return text, set(ast.literal_eval(last))


def test_help_lists_the_plugin_commands_without_torch():
    text, loaded = _modules_after(["--help"])
    listed = {line.split()[0] for line in text.split("Commands:")[1].splitlines() if line.strip()}
    assert NETWORK_COMMANDS | {"connect", "hessian", "plugins"} <= listed
    assert "torch" not in loaded
    _, loaded = _modules_after(["inspect", "--help"])  # a built-in command loads no plugin at all
    assert not loaded


def _fake_distribution(root: Path, entries: str) -> None:
    info = root / "fake_commands-0.1.0.dist-info"
    info.mkdir(parents=True)
    info.joinpath("METADATA").write_text("Metadata-Version: 2.1\nName: fake-commands\nVersion: 0.1.0\n")
    info.joinpath("entry_points.txt").write_text(entries)


@pytest.fixture
def fake_commands(tmp_path, monkeypatch):
    """Installs (on sys.path, for this test) commands that are broken in three ways and a
    good one, the example plugin's."""
    _fake_distribution(
        tmp_path,
        "[landscape.commands]\n"
        "broken-import = no_such_module_for_commands:cmd\n"
        "not-a-command = landscape.foundations.errors:LandscapeError\n"
        "connect = landscape_example_plugin.commands:barrier_cmd\n"
        "tilted-barrier = landscape_example_plugin.commands:barrier_cmd\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(EXAMPLE))
    importlib.invalidate_caches()  # importlib.metadata caches path listings
    yield
    monkeypatch.undo()
    importlib.invalidate_caches()


def test_a_broken_plugin_command_breaks_no_other(fake_commands):
    help_text = run(["--help"]).stdout
    assert "BROKEN (ModuleNotFoundError" in help_text and "tilted-barrier" in help_text
    line = error_line(run(["broken-import", "--any", "thing"], expect=1))
    assert line.startswith(
        "error: command plugin 'broken-import' (no_such_module_for_commands:cmd) is broken: ModuleNotFoundError"
    )
    assert "is not a click command" in error_line(run(["not-a-command"], expect=1))
    listing = run(["plugins"]).stdout.splitlines()
    assert [line for line in listing if line.startswith("command broken-import: BROKEN (ModuleNotFoundError")]
    assert "command connect: BROKEN (the name of a built-in command" in "\n".join(listing)
    assert "--start" in run(["connect", "--help"]).stdout  # the built-in connect, not the plugin's
    out = run(["tilted-barrier", "--tilt", "0.5"]).stdout
    assert out.startswith("tilt 0.5: saddle at x = -0.5")
    assert "tilt must be in (-1, 1)" in error_line(run(["tilted-barrier", "--tilt", "1"], expect=1))
