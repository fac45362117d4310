"""The one exception type users see: its message is a complete one-line explanation."""

from __future__ import annotations

__all__ = ["LandscapeError", "Interrupted", "DamagedCheckpoint", "collapse"]


class LandscapeError(Exception):
    """Bad input or an unrecoverable condition, reported to users as one line."""


class DamagedCheckpoint(LandscapeError):
    """A stored checkpoint that cannot rebuild the state it saved (an array or attribute
    missing, or of the wrong kind); the caller names the store and path."""


class Interrupted(LandscapeError):
    """The user stopped the work (Ctrl-C); what was committed stays and can be resumed.
    The command line exits with 130, the shell's code for SIGINT."""


def collapse(text: object) -> str:
    """`text` with its whitespace collapsed, so that a message stays on one line."""
    return " ".join(str(text).split())
