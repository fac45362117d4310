"""Plugin commands: click commands that plugins register under the entry-point group
`landscape.commands`, loaded only when the command line needs them.

An entry point names a click command, `name = "package.module:command"`.  The built-in
network commands (`train`, `evaluate`, `xor`, `report-table`) register exactly this way,
from `landscape_plugins`, so the rest of the command line imports no plugin.  `landscape
--help` imports each command's module to show its one-line help (the modules keep their
heavy imports inside the commands, so torch is not loaded); running a command imports that
one alone.  A command whose entry point fails to load, or names no click command, becomes a
placeholder: `landscape --help` and `landscape plugins` show it as broken with the reason,
and running it is one `error:` line with exit 1; the other commands work as before.  A
plugin cannot replace a built-in command: one that tries is listed as broken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from landscape.foundations.errors import LandscapeError, collapse

from .common import LandscapeGroup

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = ["GROUP", "CommandPlugin", "BrokenCommand", "available_commands", "load_command", "PluginCommandGroup"]

#: The entry-point group that command plugins register under.
GROUP = "landscape.commands"


@dataclass(frozen=True)
class CommandPlugin:
    """A registered command as its entry point names it (nothing imported): `target` is
    "module:attribute", `distribution` the package that registers it."""

    name: str
    target: str
    distribution: str | None


def _entry_points() -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points  # here: a built-in command never reads metadata

    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)  # the same distribution may be visible twice on sys.path
    return dict(sorted(found.items()))


def available_commands() -> dict[str, CommandPlugin]:
    """Every registered plugin command by name, sorted (read from metadata, not imported)."""
    return {name: CommandPlugin(name, ep.value, getattr(ep.dist, "name", None)) for name, ep in _entry_points().items()}


class BrokenCommand(click.Command):
    """Stands in for a plugin command that cannot be loaded: its help says why, and
    running it fails in one line."""

    def __init__(self, name: str, target: str, reason: str):
        self.reason = collapse(reason)
        self.target = target
        super().__init__(
            name,
            help=f"BROKEN ({self.reason})",
            short_help=f"BROKEN ({self.reason})",
            context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
            add_help_option=False,
        )

    def invoke(self, ctx: click.Context) -> Any:
        raise LandscapeError(f"command plugin {self.name!r} ({self.target}) is broken: {self.reason}")


def load_command(name: str, target: str) -> click.Command:
    """The click command named by `target` ("module:attribute"), or a BrokenCommand
    saying why it could not be had (an import that fails in any way, a missing
    attribute, an object that is no click command)."""
    module_name, _, attr = target.partition(":")
    try:
        from importlib import import_module

        obj: Any = import_module(module_name)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
    except Exception as exc:  # noqa: BLE001 - a bad third-party plugin must not break the others
        return BrokenCommand(name, target, f"{type(exc).__name__}: {exc}")
    if not isinstance(obj, click.Command):
        return BrokenCommand(name, target, f"{target} is not a click command")
    if obj.name != name:  # the entry point's name is the command's name
        obj = _renamed(obj, name)
    return obj


def _renamed(command: click.Command, name: str) -> click.Command:
    import copy

    clone = copy.copy(command)
    clone.name = name
    return clone


class PluginCommandGroup(LandscapeGroup):
    """The main group: its own commands plus the plugin commands, each loaded on first
    use (`get_command`), so a command line that names a built-in command imports no
    plugin."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._loaded: dict[tuple[str, str], click.Command] = {}  # by (name, target): installs may change

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(available_commands()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        plugin = available_commands().get(cmd_name)
        if plugin is None:
            return None
        key = (cmd_name, plugin.target)
        if key not in self._loaded:
            self._loaded[key] = load_command(cmd_name, plugin.target)
        return self._loaded[key]

    def plugin_status(self) -> dict[str, dict[str, Any]]:
        """name -> target, distribution and the reason it is broken (None when it loads),
        for `landscape plugins`; a plugin command named like a built-in one is broken."""
        out = {}
        for name, plugin in available_commands().items():
            if name in self.commands:
                broken: str | None = f"the name of a built-in command; {plugin.target} is not used"
            else:
                cmd = self.get_command(click.Context(self), name)
                broken = cmd.reason if isinstance(cmd, BrokenCommand) else None
            out[name] = {"target": plugin.target, "distribution": plugin.distribution, "broken": broken}
        return out
