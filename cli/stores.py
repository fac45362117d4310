"""Commands that move stores between layouts: export (one file to share), upgrade (schema 1 to a folder)."""

from __future__ import annotations

import click

from .common import emit

__all__ = ["export_cmd", "upgrade_cmd"]


@click.command("export")
@click.argument("store")
@click.argument("file")
@click.option("--force", is_flag=True, help="Replace FILE when it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def export_cmd(store: str, file: str, force: bool, as_json: bool) -> None:
    """Write STORE as one self-describing HDF5 FILE (to share; inspect, report and plot read it).

    \b
    Example: landscape export mb out.h5
    """
    import os

    from landscape.store.export import export_store

    written = export_store(store, file, overwrite=force)
    size = os.path.getsize(written)
    emit(as_json, {"store": store, "file": written, "bytes": size}, [f"{written}: {size / 1e6:.1f} MB"])


@click.command("upgrade")
@click.argument("file")
@click.option("--to", "target", default=None, help="Folder to create [default: FILE itself, the file kept as FILE.v1].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def upgrade_cmd(file: str, target: str | None, as_json: bool) -> None:
    """Turn a single-file store (schema 1, or an export) into a store folder that runs can write.

    \b
    Example: landscape upgrade run.h5
    """
    from landscape.store.migrate import upgrade_store

    folder = upgrade_store(file, target)
    kept = f"; the original is kept as {file}.v1" if target is None else ""
    emit(
        as_json,
        {"file": file, "store": folder, "kept": f"{file}.v1" if target is None else None},
        [f"{folder}: store folder{kept}"],
    )
