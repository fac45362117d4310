"""Plugin discovery and loading: built-ins, specs, options, third-party entry points, errors."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from landscape import LandscapeError, Potential
from landscape.potentials.registry import PotentialPlugin, available, coerce_option, load_potential, parse_options

BUILTINS = {"mueller-brown", "three-hole", "ring", "leps", "gaussian-mixture"}
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "third_party_plugin"


def one_line_error(call, match: str) -> str:
    with pytest.raises(LandscapeError, match=match) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and message.strip() == message
    return message


# built-ins ------------------------------------------------------------------------------------------
def test_builtins_are_listed():
    plugins = available()
    assert BUILTINS <= set(plugins)
    for name in BUILTINS:
        assert isinstance(plugins[name], PotentialPlugin) and plugins[name].broken is None
        assert plugins[name].name == name and plugins[name].summary
        assert {"dim", "embed_seed"} <= set(plugins[name].options)


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtins_build(name):
    pot = load_potential(name)
    assert isinstance(pot, Potential) and pot.dim == 2 and pot.minima
    e, g = pot.energy_and_gradient(np.array(list(pot.minima.values())))
    assert np.abs(g).max() < 1e-5
    np.testing.assert_allclose(e, [pot.reference_energies[k] for k in pot.minima], atol=1e-8)


def test_options_from_strings_and_python_values():
    a = load_potential("gaussian-mixture", {"wells": "5", "seed": "3"})
    b = available()["gaussian-mixture"].build(wells=5, seed=3)
    assert a.options() == b.options() == {"n_wells": 5, "seed": 3, "box": 2.0, "confinement": 0.5}
    x = np.random.default_rng(0).normal(size=(10, 2))
    np.testing.assert_array_equal(a.energy(x), b.energy(x))


def test_dim_1000_embedding():
    pot = load_potential("mueller-brown", {"dim": "1000", "embed_seed": "4", "stiffness": "2.5"})
    assert pot.dim == 1000
    assert pot.describe()["seed"] == 4 and pot.describe()["base"]["name"] == "mueller-brown"
    x = np.vstack(list(pot.minima.values()))
    e, g = pot.energy_and_gradient(x)
    assert x.shape == (3, 1000) and g.shape == (3, 1000)
    np.testing.assert_allclose(e, [-146.699517, -108.166724, -80.767818], atol=1e-6)
    assert np.abs(g).max() < 1e-5
    same = load_potential("mueller-brown", {"dim": 1000, "embed_seed": 4})
    np.testing.assert_array_equal(same.minima["A"], pot.minima["A"])


def test_coercion():
    assert coerce_option("n", "1e3", int) == 1000
    assert coerce_option("b", "yes", bool) is True and coerce_option("b", "0", bool) is False
    assert coerce_option("f", "2", float) == 2.0
    for value, kind in [("2.5", int), ("maybe", bool), ("x", float), (True, int)]:
        one_line_error(lambda: coerce_option("opt", value, kind), "must be of type")


def test_parse_options():
    assert parse_options(["a=1", "b = x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    one_line_error(lambda: parse_options(["novalue"]), "key=value")
    one_line_error(lambda: parse_options(["=1"]), "key=value")
    one_line_error(lambda: parse_options(["a=1", "a=2"]), "twice")


# specs ----------------------------------------------------------------------------------------------------
def test_module_class_spec():
    pot = load_potential("landscape_plugins.analytic.surfaces:GaussianMixture", {"n_wells": "4", "seed": "9"})
    assert pot.options()["n_wells"] == 4 and pot.options()["seed"] == 9
    three = load_potential("landscape_plugins.analytic.surfaces:ThreeHole")
    assert type(three).__name__ == "GuardedPotential" and type(three.inner).__name__ == "ThreeHole"  # checked


USER_FILE = '''
import numpy as np
from landscape import Potential


class Bowl(Potential):
    """A quadratic bowl."""

    dim = 2
    name = "bowl"

    def __init__(self, k: float = 1.0, shift=0.0, flip: bool = False):
        self.k, self.shift, self.flip = k, shift, flip

    def energy_and_gradient(self, x):
        x = np.asarray(x, dtype=float) - self.shift
        return 0.5 * self.k * (x**2).sum(1), self.k * x


class NotAPotential:
    pass
'''


def test_file_class_spec(tmp_path):
    path = tmp_path / "my_surface.py"
    path.write_text(USER_FILE)
    pot = load_potential(f"{path}:Bowl", {"k": "3", "flip": "true"})
    assert pot.k == 3.0 and isinstance(pot.k, float) and pot.flip is True and pot.shift == 0.0
    assert float(pot.energy(np.ones((1, 2)))[0]) == pytest.approx(3.0)
    passthrough = load_potential(f"{path}:Bowl", {"shift": np.ones(2)})  # untyped: passed as given
    assert np.all(passthrough.shift == 1.0)
    one_line_error(lambda: load_potential(f"{path}:NotAPotential"), "not a subclass of landscape.Potential")
    one_line_error(lambda: load_potential(f"{path}:Missing"), "no attribute 'Missing'")
    one_line_error(
        lambda: load_potential(f"{path}:Bowl", {"depth": "1"}), r"unknown option 'depth'.*valid: k, shift, flip"
    )
    one_line_error(lambda: load_potential(f"{path}:Bowl", {"k": "steep"}), "must be of type float")


def test_file_with_errors_is_one_line(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("def f(:\n    pass\n")
    one_line_error(lambda: load_potential(f"{path}:Bowl"), "error while loading")


# errors -----------------------------------------------------------------------------------------------------
def test_unknown_plugin_lists_known_names():
    message = one_line_error(lambda: load_potential("muller-brown"), "unknown potential 'muller-brown'")
    for name in BUILTINS:
        assert name in message


def test_unknown_and_bad_options():
    message = one_line_error(lambda: load_potential("ring", {"radius": "2"}), "unknown option 'radius'")
    assert "dim" in message and "embed_seed" in message
    one_line_error(lambda: load_potential("ring", {"dim": "many"}), "dim='many' must be of type int")
    one_line_error(lambda: load_potential("ring", {"dim": "1"}), "at least 2")


def test_missing_file_and_module():
    one_line_error(lambda: load_potential("no/such/file.py:Thing"), "no such file")
    one_line_error(lambda: load_potential("no_such_module_xyz:Thing"), "cannot import 'no_such_module_xyz'")
    one_line_error(lambda: load_potential("landscape.potentials.potential:gradient_error"), "not a subclass")
    one_line_error(lambda: load_potential("landscape.potentials.potential:Potential"), "abstract")


# third-party plugins via entry points -----------------------------------------------------------------
def _fake_distribution(root: Path, entries: str, name: str = "landscape_example_plugin") -> None:
    """A `*.dist-info` directory, as pip would leave it, on a path we put on sys.path."""
    info = root / f"{name}-0.1.0.dist-info"
    info.mkdir(parents=True)
    info.joinpath("METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    info.joinpath("entry_points.txt").write_text(entries)


@pytest.fixture
def fresh_import_state(monkeypatch):
    """Undo sys.path, sys.modules and metadata caches after a test that fakes installs.

    The example plugin may be pip-installed (CI does) and already imported by another
    test: forget it first, so the laziness checks see a fresh interpreter's state."""
    for name in [m for m in sys.modules if m.startswith("landscape_example_plugin")]:
        monkeypatch.delitem(sys.modules, name)
    before = set(sys.modules)
    yield monkeypatch
    monkeypatch.undo()
    for name in set(sys.modules) - before:
        if name.startswith(("landscape_example_plugin", "broken_plugin_mod")):
            del sys.modules[name]
    importlib.invalidate_caches()


def test_third_party_entry_point(tmp_path, fresh_import_state):
    _fake_distribution(
        tmp_path,
        "[landscape.potentials]\ntilted-double-well = landscape_example_plugin:TILTED_DOUBLE_WELL\n",
    )
    fresh_import_state.syspath_prepend(str(tmp_path))
    fresh_import_state.syspath_prepend(str(EXAMPLE))
    importlib.invalidate_caches()  # importlib.metadata caches path listings
    assert "landscape_example_plugin" not in sys.modules  # descriptors load only on discovery
    plugins = available()
    assert "tilted-double-well" in plugins and BUILTINS <= set(plugins)
    plugin = plugins["tilted-double-well"]
    assert plugin.broken is None and set(plugin.options) == {"tilt", "stiffness", "curvature"}
    assert "landscape_example_plugin.potential" not in sys.modules  # heavy part still lazy
    pot = load_potential("tilted-double-well", {"tilt": "0.5"})
    t = 0.5
    np.testing.assert_allclose(pot.saddles["AB"], [-t, 0.5 * t * t])
    e, g = pot.energy_and_gradient(np.vstack([pot.minima["A"], pot.minima["B"], pot.saddles["AB"]]))
    np.testing.assert_allclose(e, [-0.25 + 2 * t / 3, -0.25 - 2 * t / 3, t * t / 2 - t**4 / 12], atol=1e-12)
    assert np.abs(g).max() < 1e-12
    # the grid ground truth agrees with the closed-form saddle
    from landscape.paths.exact import grid_minimax

    path = grid_minimax(pot, pot.minima["A"], pot.minima["B"], grid=201)
    assert path.saddle_energy == pytest.approx(pot.reference_energies["AB"], abs=path.tolerance)


def test_broken_entry_point_does_not_break_the_others(tmp_path, fresh_import_state):
    _fake_distribution(
        tmp_path,
        "[landscape.potentials]\n"
        "broken-import = broken_plugin_mod_does_not_exist:THING\n"
        "not-a-plugin = landscape.foundations.errors:LandscapeError\n",
        name="broken_plugins",
    )
    fresh_import_state.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    plugins = available()
    assert BUILTINS <= set(plugins)
    assert plugins["broken-import"].broken and "ModuleNotFoundError" in plugins["broken-import"].broken
    assert plugins["not-a-plugin"].broken
    one_line_error(lambda: load_potential("broken-import"), "potential plugin 'broken-import' is broken")
    one_line_error(lambda: load_potential("not-a-plugin"), "broken")


def test_core_imports_no_torch():
    code = "import sys, landscape.potentials.registry, landscape.paths.exact; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    code = (
        "import sys, landscape_plugins.analytic.descriptors; assert 'landscape_plugins.analytic.surfaces' "
        "not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_core_imports_no_plugin_and_no_cli():
    """landscape/ knows the interfaces only: no import of landscape_plugins or
    landscape_cli anywhere in it, at module level or inside a function."""
    import ast
    from pathlib import Path

    core = Path(__file__).resolve().parents[2] / "landscape"
    offenders = []
    for file in sorted(core.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{file.name}:{node.lineno} {n}"
                for n in names
                if n.split(".")[0] in ("landscape_plugins", "landscape_cli")
            ]
    assert offenders == []


def test_a_missing_optional_package_is_named_with_the_extra_that_installs_it(monkeypatch):
    import importlib.util

    from landscape.potentials.registry import PotentialPlugin

    plugin = PotentialPlugin(
        "needs-torch", "a network", "landscape_plugins.torchnet.mlp:build_mlp", requires=("torch",)
    )
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    assert plugin.missing() == ["torch"]
    assert "needs torch, not installed: pip install 'landscape[torch]'" in plugin.help()


def test_importing_a_plugin_without_its_optional_package_says_which_extra(monkeypatch):
    import sys

    from landscape.potentials.registry import import_target

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ModuleNotFoundError
    monkeypatch.delitem(sys.modules, "landscape_plugins.torchnet.mlp", raising=False)
    monkeypatch.delitem(sys.modules, "landscape_plugins.torchnet.potential", raising=False)
    with pytest.raises(LandscapeError, match=r"needs torch, which is not installed: pip install 'landscape\[torch\]'"):
        import_target("landscape_plugins.torchnet.mlp:build_mlp")


def test_the_origin_records_declared_types_and_no_digest_for_installed_plugins():
    origin = load_potential("gaussian-mixture", {"wells": "5"}).origin
    assert origin["options"]["wells"] == 5 and origin["types"]["wells"] == "int"
    assert origin["types"]["box"] == "float" and "sha256" not in origin  # a versioned package: name and options
