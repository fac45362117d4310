"""The core's shape: topic folders whose imports run one way, no import cycle, every
module importable alone, none too long to read.

The layers, lowest first, are README's "Architecture"; a folder may import only from
folders below it (and from itself).  Imports under `if TYPE_CHECKING:` are annotations,
not dependencies, and are not counted.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "landscape"
#: Lowest first.  `analysis` and `plotting` read paths and potentials; exploration uses them all.
LAYERS = ("foundations", "potentials", "paths", "optimizers", "store", "runs", "analysis", "plotting", "exploration")
#: Modules at the package root, above every folder: the public API and the plugin authors' kit.
TOP = ("__init__", "testing")
MAX_LINES = 400


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Modules of the core that `path` imports, anywhere in it but under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(), str(path))
    skip = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "landscape":
            found.add(node.module)
            found.update(
                f"{node.module}.{a.name}"
                for a in node.names
                if (CORE.parent / f"{node.module}.{a.name}".replace(".", "/")).with_suffix(".py").exists()
            )
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "landscape")
    return found


MODULES = {_module(p): p for p in sorted(CORE.rglob("*.py"))}
GRAPH = {name: {m for m in _imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def _folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (CORE / parts[1]).is_dir()) else parts[-1]


def test_the_import_walk_sees_the_imports():
    """Guards the walk: the band imports the path type, the root the potential."""
    assert "landscape.paths.path" in GRAPH["landscape.optimizers.band"]
    assert "landscape.potentials.potential" in GRAPH["landscape"]


def test_no_import_cycle():
    state: dict[str, int] = {}  # 1: on the current walk, 2: done

    def walk(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                return [*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt]
            if nxt not in state and (cycle := walk(nxt, [*trail, nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(GRAPH):
        if start not in state and (cycle := walk(start, [start])):
            pytest.fail(" -> ".join(cycle))


def test_folders_import_only_downwards():
    rank = {name: k for k, name in enumerate(LAYERS)} | {name: len(LAYERS) for name in TOP} | {"landscape": len(LAYERS)}
    folders = {_folder(m) for m in MODULES}
    assert folders <= set(rank), f"a folder missing from LAYERS: {folders - set(rank)}"
    upward = [f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets if rank[_folder(b)] > rank[_folder(a)]]
    assert not upward


def test_no_core_module_is_too_long_to_read():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these along what they hold: {long}"


def test_every_module_imports_alone_in_a_fresh_interpreter():
    """An import that works only because another module ran first is a hidden cycle or
    a missing import; each module is imported by itself, in its own interpreter."""

    def alone(name: str) -> tuple[str, str]:
        run = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, cwd=ROOT)
        return name, run.stderr.strip().splitlines()[-1] if run.returncode else ""

    with ThreadPoolExecutor(4) as pool:
        failed = {name: err for name, err in pool.map(alone, sorted(MODULES)) if err}
    assert not failed


def test_the_readme_names_every_folder_of_the_core():
    """README's "Architecture" lists each folder with one line; a new folder cannot hide."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Architecture") :]
    section = section[: section.index("\n## ", 3)]
    missing = [f for f in (*LAYERS, "testing.py") if f"{f}{'' if f.endswith('.py') else '/'}" not in section]
    assert not missing
    order = [section.index(f"{f}/") for f in LAYERS]
    assert order == sorted(order), "the README lists the layers lowest first, as LAYERS does"
