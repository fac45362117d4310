"""Finds every package below the three import roots, whose folders are named otherwise
(`plugins/` is `landscape_plugins`, `cli/` is `landscape_cli`): setuptools' own discovery
cannot rename, and a hand-kept list once left `landscape.store` out of every wheel."""

from __future__ import annotations

import os

from setuptools import setup

ROOTS = {"landscape": "landscape", "landscape_plugins": "plugins", "landscape_cli": "cli"}


def _packages(name: str, folder: str) -> dict[str, str]:
    """Import name -> folder for `folder` and every folder below it that holds Python."""
    found = {}
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        if here == folder or any(f.endswith(".py") for f in files):
            rel = os.path.relpath(here, folder)
            found[name if rel == "." else f"{name}.{rel.replace(os.sep, '.')}"] = here
    return found


PACKAGE_DIR = {k: v for name, folder in ROOTS.items() for k, v in _packages(name, folder).items()}
setup(packages=sorted(PACKAGE_DIR), package_dir=PACKAGE_DIR)
