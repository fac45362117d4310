"""The public API lives at the root: `from landscape import X` for every public X.

The README, docs, examples and benchmarks are what users copy, so every name they take
from landscape must resolve from the root, and a public name must come from the root,
not from the module that happens to hold it today (modules move; the root stays).
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import landscape

ROOT = Path(__file__).resolve().parents[1]
PYTHON_BLOCK = re.compile(r"^```python\n(?P<code>.*?)^```", re.M | re.S)


def _sources() -> Iterator[tuple[str, str]]:
    """(where, code) for each Python block of the README and docs and each example and bench script."""
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for k, m in enumerate(PYTHON_BLOCK.finditer(doc.read_text())):
            yield f"{doc.relative_to(ROOT)} block {k + 1}", m["code"]
    for folder in ("examples", "bench"):
        for script in sorted((ROOT / folder).rglob("*.py")):
            if "build" not in script.relative_to(ROOT).parts:  # a plugin's build output, not a source
                yield str(script.relative_to(ROOT)), script.read_text()


def _uses() -> list[tuple[str, str, str]]:
    """(where, module, name) for every `from landscape... import name` and every
    `landscape.name` after `import landscape` in the sources."""
    uses = []
    for where, code in _sources():
        for node in ast.walk(ast.parse(code, where)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "landscape":
                uses += [(where, node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "landscape":
                uses.append((where, "landscape", node.attr))
    return uses


USES = _uses()


def test_the_sources_are_scanned():
    """Guards the scan itself: the README's connect and an example's Potential are seen."""
    seen = {(where.split(" block ")[0], name) for where, _, name in USES}
    assert {("README.md", "connect"), ("examples/banana.py", "Potential")} <= seen


def test_every_name_in_all_resolves():
    missing = [name for name in landscape.__all__ if not hasattr(landscape, name)]
    assert not missing


def test_all_has_no_duplicates():
    twice = [name for name, n in Counter(landscape.__all__).items() if n > 1]
    assert not twice


def test_dir_lists_every_public_name():
    assert set(landscape.__all__) <= set(dir(landscape))


@pytest.mark.parametrize("name", [n for n in landscape.__all__ if n != "__version__"])
def test_each_root_name_is_its_home_modules_public_object(name):
    home = importlib.import_module(f"landscape.{landscape._HOME_OF[name]}")
    assert name in home.__all__, f"{name} is not public in {home.__name__}"
    assert getattr(landscape, name) is getattr(home, name)


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        landscape.no_such_name  # noqa: B018 - the lookup is the test


def test_every_import_in_docs_examples_and_bench_resolves_from_the_root():
    unresolved = [
        f"{where}: {name}" for where, module, name in USES if module == "landscape" and not hasattr(landscape, name)
    ]
    assert not unresolved


def test_docs_examples_and_bench_take_public_names_from_the_root():
    """`from landscape.optimizers.band import NEB` would break when the module moves."""
    deep = [
        f"{where}: from {module} import {name}"
        for where, module, name in USES
        if module != "landscape" and name in landscape.__all__
    ]
    assert not deep, "import these from landscape"


def test_import_landscape_stays_light():
    """The lazy root loads no optional dependency and no module beyond the eager types."""
    code = (
        "import sys, landscape; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('landscape', 'scipy', 'torch', 'matplotlib', 'h5py', 'ray') "
        "and not (m.startswith('landscape.') and hasattr(sys.modules[m], '__path__'))))"
    )  # folders: no code
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(ast.literal_eval(out))
    assert loaded <= {
        "landscape",
        "landscape.foundations.errors",
        "landscape.foundations.arrays",
        "landscape.paths.geometry",
        "landscape.potentials.potential",
        "landscape.paths.path",
    }, loaded


def test_a_module_imported_first_does_not_hide_the_function_of_its_name():
    """The old module name `landscape.connect` still imports, which makes the import
    system bind it to the name `connect` of the package; the root's `connect` stays the
    function."""
    code = (
        "import sys, types, warnings; warnings.simplefilter('ignore'); import landscape.connect; "
        "from landscape import connect; import landscape; "
        "assert not isinstance(landscape.connect, types.ModuleType); "
        "assert connect is sys.modules['landscape.runs.pair'].connect"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_moved_module_imports_by_its_old_name_with_a_warning():
    """Code written before the topic folders keeps working: each old name is the same
    module object as its new home (so classes and state agree), the home keeps its own
    spec, and the import warns with the new name.  One fresh interpreter: no old name
    has been imported there before."""
    code = (
        "import importlib, warnings, landscape\n"
        "bad = []\n"
        "for old, home in sorted(landscape._MOVED.items()):\n"
        "    new = f'landscape.{home}'\n"
        "    with warnings.catch_warnings(record=True) as caught:\n"
        "        warnings.simplefilter('always')\n"
        "        module = importlib.import_module(f'landscape.{old}')\n"
        "    if module is not importlib.import_module(new) or module.__spec__.name != new:\n"
        "        bad.append(f'{old}: not the module {new}')\n"
        "    if not any(new in str(w.message) and w.category is DeprecationWarning for w in caught):\n"
        "        bad.append(f'{old}: no warning naming {new}')\n"
        "print(len(landscape._MOVED), bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert int(out[0]) >= 30 and out[1].strip() == "[]", out


def test_the_old_runs_module_names_resolve_from_the_runs_folder():
    from landscape.runs import stored

    with pytest.warns(DeprecationWarning, match="landscape.runs.stored.connect_stored"):
        from landscape.runs import connect_stored
    assert connect_stored is stored.connect_stored
