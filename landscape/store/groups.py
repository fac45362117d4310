"""A folder store's groups as h5py shows them: `Group` and its `Attrs`.

`Group` gives the slice of h5py's Group API the store uses, read and written through a
`FolderTree` (`landscape.store.tree`), so one set of store methods and integrity checks
reads the folder layout and the single-file one (plain h5py) alike; `is_group` tells a
group of either layout.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

if TYPE_CHECKING:
    from landscape.store.tree import FolderTree

__all__ = ["Group", "Attrs", "is_group", "split_path", "join_path"]


def split_path(path: str) -> tuple[str, str]:
    """(parent, last name) of a group path: "a/b/c" -> ("a/b", "c"), "a" -> ("", "a")."""
    head, _, tail = path.rpartition("/")
    return head, tail


def join_path(group: str, name: str) -> str:
    """The path of `name` inside `group` ("" is the root)."""
    return f"{group}/{name}" if group else name


class Attrs(MutableMapping[str, Any]):
    """A group's attributes, read and written through the index."""

    def __init__(self, tree: FolderTree, path: str):
        self._tree, self._path = tree, path

    def _all(self) -> dict[str, Any]:
        attrs = self._tree.attrs(self._path)
        if attrs is None:
            raise KeyError(f"group /{self._path} does not exist")
        return attrs

    def __getitem__(self, key: str) -> Any:
        return self._all()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, np.generic):
            value = value.item()
        if not isinstance(value, (str, bool, int, float)):
            raise TypeError(f"attribute {key!r}: {type(value).__name__} is not a str, int, float or bool")
        attrs = self._all()
        attrs[key] = value
        self._tree.set_attrs(self._path, attrs)

    def __delitem__(self, key: str) -> None:
        attrs = self._all()
        del attrs[key]
        self._tree.set_attrs(self._path, attrs)

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    # One query each: the mixin versions would read the whole row once per key.
    def __contains__(self, key: object) -> bool:
        return key in self._all()

    def get(self, key: str, default: Any = None) -> Any:
        return self._all().get(key, default)

    def items(self) -> Any:
        return self._all().items()

    def update(self, other: Any = (), **kwargs: Any) -> None:  # one write instead of one per key
        attrs = self._all()
        for key, value in dict(other, **kwargs).items():
            attrs[key] = value.item() if isinstance(value, np.generic) else value
        self._tree.set_attrs(self._path, attrs)


class Group:
    """A group of the folder tree, with the slice of h5py.Group's API the store uses."""

    def __init__(self, tree: FolderTree, path: str):
        self._tree, self._path = tree, path

    @property
    def name(self) -> str:
        return "/" + self._path

    @property
    def attrs(self) -> Attrs:
        return Attrs(self._tree, self._path)

    def _lookup(self, key: str) -> Group | h5py.Dataset | None:
        full = join_path(self._path, key.strip("/"))
        if self._tree.attrs(full) is not None:
            return Group(self._tree, full)
        return self._tree.dataset(*split_path(full))

    def __contains__(self, key: str) -> bool:
        full = join_path(self._path, key.strip("/"))
        return self._tree.attrs(full) is not None or self._tree.ref(*split_path(full)) is not None

    def __getitem__(self, key: str) -> Group | h5py.Dataset:
        found = self._lookup(key)
        if found is None:
            raise KeyError(f"object {key!r} does not exist in {self.name}")
        return found

    def get(self, key: str, default: Any = None) -> Any:
        found = self._lookup(key)
        return default if found is None else found

    def keys(self) -> list[str]:
        return sorted(self._tree.children(self._path) + self._tree.array_names(self._path))

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def items(self) -> list[tuple[str, Group | h5py.Dataset]]:
        return [(k, self[k]) for k in self.keys()]

    def create_group(self, name: str) -> Group:
        full = join_path(self._path, name)
        self._tree.create_group(full)
        return Group(self._tree, full)

    def require_group(self, name: str) -> Group:
        found = self._lookup(name)
        if isinstance(found, Group):
            return found
        return self.create_group(name)

    def create_dataset(self, name: str, **kwargs: Any) -> h5py.Dataset:
        return self._tree.create_dataset(self._path, name, **kwargs)

    def link(self, name: str, source: Group, source_name: str) -> None:
        """Array `name` here is `source[source_name]`, sharing its unit (nothing is copied)."""
        ref = self._tree.ref(source._path, source_name)
        if ref is None:
            raise KeyError(f"{source.name} has no array {source_name!r}")
        self._tree.set_ref(self._path, name, ref)

    def refs(self) -> dict[str, tuple[str, str]]:
        """Where each array lives (unit, dataset), to carry it to another group."""
        return {n: self._tree.ref(self._path, n) for n in self._tree.array_names(self._path)}  # type: ignore[misc]

    def adopt(self, refs: dict[str, tuple[str, str]]) -> None:
        for name, ref in refs.items():
            self._tree.set_ref(self._path, name, ref)

    def __delitem__(self, key: str) -> None:
        full = join_path(self._path, key.strip("/"))
        if self._tree.attrs(full) is not None:
            self._tree.delete(full)
        elif self._tree.ref(*split_path(full)) is not None:
            self._tree.delete_array(*split_path(full))
        else:
            raise KeyError(f"object {key!r} does not exist in {self.name}")


def is_group(obj: Any) -> bool:
    """A group of either layout (h5py for the single file, `Group` for the folder)."""
    return isinstance(obj, (h5py.Group, Group))
