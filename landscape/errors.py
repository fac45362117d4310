"""The one exception type users see: its message is a complete one-line explanation."""
from __future__ import annotations

__all__ = ["LandscapeError"]


class LandscapeError(Exception):
    """Bad input or an unrecoverable condition, reported to users as one line."""
