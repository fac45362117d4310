"""Potential plugins: entry points, light descriptors and loading by name or path.

A plugin registers a `PotentialPlugin` descriptor under the entry-point group
`landscape.potentials`.  The descriptor is cheap to import; its `build(**options)`
imports the real code (torch, data sets, ...) only when called.  Built-in plugins
register exactly the way a third-party package does.

`load_potential(spec, options)` accepts a plugin name, `package.module:ClassName`
or `path/to/file.py:ClassName`.  Every failure is a one-line `LandscapeError`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from landscape.foundations.errors import LandscapeError, collapse
from landscape.potentials.guard import guard
from landscape.potentials.potential import Potential

__all__ = [
    "GROUP",
    "OptionSpec",
    "PotentialPlugin",
    "available",
    "load_potential",
    "parse_options",
    "coerce_option",
    "import_target",
]

#: The entry-point group that potential plugins register under.
GROUP = "landscape.potentials"

#: An option declaration: (type, default, help).
OptionSpec = tuple[type, Any, str]

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in _TRUE | _FALSE:
        raise ValueError(text)
    return text in _TRUE


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        return int(value)
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return _to_int(float(text))  # "1e3" is a fine way to write 1000


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    return float(value)


_COERCE: dict[type, Callable[[Any], Any]] = {bool: _to_bool, int: _to_int, float: _to_float, str: str}


def coerce_option(name: str, value: Any, kind: type) -> Any:
    """`value` (a CLI string or a Python value) converted to `kind`, or a LandscapeError.

    bool accepts true/false, yes/no, on/off, 1/0; int accepts integral floats ("1e3").
    Other types are called on the value unless it already is an instance.
    """
    if kind not in _COERCE and isinstance(value, kind):
        return value
    try:
        return _COERCE.get(kind, kind)(value)
    except Exception:  # noqa: BLE001 - any conversion failure means "bad value"
        pass
    raise LandscapeError(collapse(f"option {name}={value!r} must be of type {getattr(kind, '__name__', kind)}"))


#: Optional packages and the extra of this project that installs them.
EXTRAS = {"torch": "torch", "torchvision": "torch", "ray": "ray", "ase": "ase"}


def import_target(target: str) -> Any:
    """The object named by 'package.module:attr.path'."""
    module_name, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in EXTRAS:  # an optional dependency, not a broken plugin: say how to get it
            raise LandscapeError(
                f"{module_name} needs {missing}, which is not installed: pip install 'landscape[{EXTRAS[missing]}]'"
            ) from None
        raise LandscapeError(collapse(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}")) from exc
    except Exception as exc:  # noqa: BLE001 - plugin modules may fail in any way at import
        raise LandscapeError(collapse(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}")) from exc
    for part in attr.split(".") if attr else ():
        if not hasattr(obj, part):
            raise LandscapeError(f"{module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class PotentialPlugin:
    """A light descriptor of a potential plugin.

    `target` is "package.module:factory"; the factory is imported by `build` only and
    called with the validated options.  `options` maps each option name to
    (type, default, help); values are coerced from strings (CLI) or Python values.
    `broken` holds the reason when the entry point itself failed to load.
    """

    name: str
    summary: str
    target: str
    options: Mapping[str, OptionSpec] = field(default_factory=dict, hash=False)
    broken: str | None = None
    requires: tuple[str, ...] = ()  # optional packages the target imports (torch, ...)

    def missing(self) -> list[str]:
        """Required packages that are not installed (looked up, not imported)."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def defaults(self) -> dict[str, Any]:
        return {k: spec[1] for k, spec in self.options.items()}

    def validate(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overridden by `options`, each coerced to its declared type."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            valid = ", ".join(sorted(self.options)) or "none"
            raise LandscapeError(f"unknown option {unknown[0]!r} for potential {self.name!r} (valid: {valid})")
        values = self.defaults()
        for key, value in options.items():
            values[key] = coerce_option(key, value, self.options[key][0])
        return values

    def build(self, **options: Any) -> Potential:
        """Import the factory and build the potential; failures are one-line LandscapeErrors."""
        if self.broken:
            raise LandscapeError(collapse(f"potential plugin {self.name!r} is broken: {self.broken}"))
        values = self.validate(options)
        factory = import_target(self.target)
        potential = _call(factory, values, f"potential {self.name!r}")
        if not isinstance(potential, Potential):
            raise LandscapeError(f"plugin {self.name!r} built a {type(potential).__name__}, not a landscape.Potential")
        return potential

    def help(self) -> str:
        """A few lines describing the plugin and its options (for `--help`-like output)."""
        lines = [f"{self.name}: {self.summary}"]
        missing = self.missing()
        if missing:
            extras = sorted({EXTRAS.get(m, m) for m in missing})
            lines.append(f"  needs {', '.join(missing)}, not installed: pip install 'landscape[{','.join(extras)}]'")
        lines += [f"  {k} ({t.__name__}, default {d!r}): {h}" for k, (t, d, h) in self.options.items()]
        return "\n".join(lines)


def _call(factory: Callable[..., Any], values: Mapping[str, Any], what: str) -> Any:
    try:
        return factory(**values)
    except (LandscapeError, KeyboardInterrupt):
        raise
    except BaseException as exc:  # noqa: BLE001 - plugin code may fail in any way (sys.exit, a library's timeout); one line
        raise LandscapeError(collapse(f"could not build {what}: {type(exc).__name__}: {exc}")) from exc


# discovery ---------------------------------------------------------------------------
def _from_entry_point(ep: EntryPoint) -> PotentialPlugin:
    """The descriptor behind `ep`, or a broken placeholder saying why it failed."""
    try:
        obj = ep.load()
    except Exception as exc:  # noqa: BLE001 - a bad third-party plugin must not break the others
        return PotentialPlugin(ep.name, "(broken)", ep.value, broken=collapse(f"{type(exc).__name__}: {exc}"))
    if isinstance(obj, PotentialPlugin):
        return obj if obj.name == ep.name else replace(obj, name=ep.name)
    if isinstance(obj, type) and issubclass(obj, Potential):
        doc = (inspect.getdoc(obj) or obj.__name__).splitlines()[0]
        return PotentialPlugin(ep.name, doc, ep.value, options=_class_options(obj))
    return PotentialPlugin(
        ep.name, "(broken)", ep.value, broken=f"{ep.value} is neither a PotentialPlugin nor a Potential class"
    )


def _class_options(cls: type) -> dict[str, OptionSpec]:
    """Options of a Potential class taken from its constructor's typed defaults."""
    options: dict[str, OptionSpec] = {}
    for p in _parameters(cls):
        if p.default is not inspect.Parameter.empty:
            options[p.name] = (_kind_of(p), p.default, "")
    return options


def _entry_points(name: str | None = None) -> list[EntryPoint]:
    eps = entry_points(group=GROUP) if name is None else entry_points(group=GROUP, name=name)
    seen: dict[str, EntryPoint] = {}
    for ep in eps:
        seen.setdefault(ep.name, ep)  # the same distribution may be visible twice on sys.path
    return list(seen.values())


def available() -> dict[str, PotentialPlugin]:
    """All registered potential plugins by name, sorted; broken ones carry `broken`."""
    plugins = {ep.name: _from_entry_point(ep) for ep in _entry_points()}
    return dict(sorted(plugins.items()))


# loading -----------------------------------------------------------------------------------
def parse_options(items: Iterable[str]) -> dict[str, str]:
    """["k=v", ...] -> {"k": "v"}; values stay strings (plugins coerce them)."""
    options: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise LandscapeError(f"options are written key=value, got {item!r}")
        if key in options:
            raise LandscapeError(f"option {key!r} is given twice")
        options[key] = value.strip()
    return options


def load_potential(spec: str, options: Mapping[str, Any] | None = None) -> Potential:
    """A potential from a plugin name, 'package.module:ClassName' or 'path/file.py:ClassName'.

    Options are validated and coerced (from CLI strings) against the plugin's
    declared options, or against the class constructor's defaults and annotations.
    """
    options = dict(options or {})
    eps = _entry_points(spec)
    if eps:
        plugin = _from_entry_point(eps[0])
        potential = plugin.build(**options)
        # An installed plugin is a versioned package: its name and options are its identity,
        # its code is not digested (an upgrade that changes a surface should change an option).
        kinds = {k: option[0] for k, option in plugin.options.items()}
        return _with_origin(potential, spec, plugin.validate(options), kinds)
    if ":" not in spec:
        known = ", ".join(available()) or "none"
        raise LandscapeError(f"unknown potential {spec!r} (known: {known}; or give module:Class or file.py:Class)")
    source, _, cls_name = spec.rpartition(":")
    if not source or not cls_name:
        raise LandscapeError(f"potential spec {spec!r} must look like module:Class or file.py:Class")
    is_file = _is_file_spec(source)
    source_file = os.path.abspath(os.path.expanduser(source)) if is_file else None
    digest = _source_digest(source_file) if source_file else None  # the bytes about to run
    module = _load_file(source) if is_file else import_target(source)
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise LandscapeError(f"{source!r} has no attribute {cls_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Potential)):
        raise LandscapeError(f"{spec} is not a subclass of landscape.Potential")
    if inspect.isabstract(cls):
        raise LandscapeError(f"{spec} is abstract (implement energy_and_gradient)")
    arguments = _class_arguments(cls, options, spec)
    potential = _call(cls, arguments, spec)
    if is_file:  # absolute, so the store rebuilds it from any folder
        spec = f"{source_file}:{cls_name}"
    else:
        # A module spec is most often the user's own code on the path, edited like a file:
        # digest the file that defines the class (where its energy is written).  Not what it
        # imports (numpy and the rest are no part of a surface one edits), so an edit
        # elsewhere goes unseen, as it would for a file spec.
        source_file = getattr(sys.modules.get(cls.__module__), "__file__", None)
        digest = _source_digest(source_file) if source_file else None
    kinds = {p.name: _kind_of(p) for p in _parameters(cls)}
    source_digest = {"sha256": digest, "source": source_file} if digest else None
    return guard(_with_origin(potential, spec, {**_defaults(cls), **arguments}, kinds, source_digest))


def _with_origin(
    potential: Potential,
    spec: str,
    values: Mapping[str, Any],
    kinds: Mapping[str, type],
    source: Mapping[str, Any] | None = None,
) -> Potential:
    """Record on the potential how it was built: the spec and every option value,
    defaults included, so spelling a default out changes nothing; each option's declared
    type, so values are compared as that type (`landscape.potentials.identity`); and, for code
    loaded from a file or module, the digest of its bytes and the file digested
    (`landscape.potentials.identity.record` stores it all)."""
    types = {k: t.__name__ for k, t in kinds.items() if k in values and t in _COERCE}
    try:
        potential.origin = {"name": spec, "options": dict(values), "types": types, **(source or {})}
    except AttributeError:  # a class with __slots__: it keeps no origin
        pass
    return potential


def _source_digest(path: str) -> str | None:
    """A digest of a source file's bytes (None when it cannot be read): a store made by
    one version of a potential's code is never continued by another."""
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()[:16]
    except OSError:
        return None


def _defaults(cls: type) -> dict[str, Any]:
    """The constructor's plain default option values (int, float, bool, str)."""
    return {p.name: p.default for p in _parameters(cls) if type(p.default) in (int, float, bool, str)}


def _is_file_spec(source: str) -> bool:
    return source.endswith(".py") or os.sep in source or "/" in source


def _load_file(path: str) -> Any:
    """Execute a Python file as a module with a stable, path-derived name."""
    full = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(full):
        raise LandscapeError(f"no such file: {path}")
    digest = hashlib.sha1(full.encode()).hexdigest()[:12]
    name = f"_landscape_user_{os.path.splitext(os.path.basename(full))[0]}_{digest}"
    module_spec = importlib.util.spec_from_file_location(name, full)
    if module_spec is None or module_spec.loader is None:
        raise LandscapeError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    try:
        module_spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - user code: report any failure (sys.exit included) in one line
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):  # Ctrl-C or SIGTERM: the command stops
            raise
        raise LandscapeError(collapse(f"error while loading {path}: {type(exc).__name__}: {exc}")) from exc
    return module


def _parameters(cls: type) -> list[inspect.Parameter]:
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return []
    return [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _kind_of(p: inspect.Parameter) -> type:
    """The option type of a constructor parameter: its annotation, else its default's type.

    Only int, float, bool and str are recognised; anything else is `object`.
    """
    ann = p.annotation
    names = {"int": int, "float": float, "bool": bool, "str": str}
    if isinstance(ann, str) and ann in names:
        return names[ann]
    if ann in (int, float, bool, str):
        return ann
    if type(p.default) in (int, float, bool, str):
        return type(p.default)
    return object  # unknown: values pass through unchanged


def _class_arguments(cls: type, options: Mapping[str, Any], spec: str) -> dict[str, Any]:
    """Constructor keyword arguments from `options`; string values coerced by the signature."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return dict(options)
    params = {p.name: p for p in _parameters(cls)}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key not in params and not takes_any:
            valid = ", ".join(params) or "none"
            raise LandscapeError(f"unknown option {key!r} for {spec} (valid: {valid})")
        kind = _kind_of(params[key]) if key in params else object
        # strings (CLI) are converted; Python values are the class's own business
        out[key] = coerce_option(key, value, kind) if isinstance(value, str) else value
    return out
