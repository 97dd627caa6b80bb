"""Codec descriptors that installed packages ship: the entry-point group ``lvcbench.codecs``.

A plug-in package (one that ships an adapter in ``lvcbench.adapters``, or only descriptors for adapters that
exist) names a folder of descriptor files in its ``pyproject.toml``::

    [project.entry-points."lvcbench.codecs"]
    my-codecs = "my_package:codecs"      # the folder codecs/ inside the package my_package
    # or "my_package.codecs": a (sub)package whose own folder holds them

Every ``*.yaml`` in that folder is a descriptor, named by its file name (``codecs/my-codec.yaml`` is
``my-codec``), and a condition names it as it names the suite's (``codecs: [my-codec, x265]``). The folder is
found with :mod:`importlib.resources` in the installed package (so its YAML files must be package data).
Descriptors are looked up in the condition's folders and the repository's ``codecs/`` first
(:func:`bench.conditions.condition.find_descriptor`), then here; two plug-ins shipping one name is an error that names
both, never a silent choice.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bench.errors import ConditionError

CODECS_GROUP = "lvcbench.codecs"


@dataclass(frozen=True)
class PluginDescriptor:
    """One descriptor file an installed package ships."""

    name: str
    path: Path
    dist: str  # the distribution that installed it (pip's name)
    entry: str  # its entry point as written: "name = package:folder"


_found: dict[str, PluginDescriptor] | None = None


def plugin_descriptors() -> dict[str, PluginDescriptor]:
    """Descriptor name -> where it comes from, over every installed package's ``lvcbench.codecs`` entry points
    (read once per process)."""
    global _found
    if _found is None:
        _found = _discover()
    return _found


def _discover() -> dict[str, PluginDescriptor]:
    found: dict[str, PluginDescriptor] = {}
    for ep in metadata.entry_points(group=CODECS_GROUP):
        dist = getattr(ep.dist, "name", None) or "an installed package"
        entry = f"{ep.name} = {ep.value}"
        for path in sorted(_folder(ep, dist, entry).glob("*.yaml")):
            other = found.get(path.stem)
            if other is not None and other.path != path:
                raise ConditionError(f"codec descriptor {path.stem!r} is shipped by two plug-ins: {other.dist} "
                                     f"({other.path}) and {dist} ({path}); uninstall one or rename its file")
            found[path.stem] = PluginDescriptor(path.stem, path, dist, entry)
    return found


def _folder(ep: metadata.EntryPoint, dist: str, entry: str) -> Path:
    """The folder an entry point names: ``package`` (its own folder) or ``package:sub/folder``."""
    module, _, sub = ep.value.partition(":")
    try:
        root = importlib.resources.files(module.strip())
    except (ImportError, TypeError, ValueError) as e:
        raise ConditionError(f"codec descriptors of {dist} ({CODECS_GROUP}: {entry}): cannot import "
                             f"{module.strip()}: {type(e).__name__}: {e}") from None
    folder = Path(str(root.joinpath(*sub.strip().split("/")) if sub.strip() else root))
    if not folder.is_dir():
        raise ConditionError(f"codec descriptors of {dist} ({CODECS_GROUP}: {entry}): {folder} is not a folder "
                             "(are the YAML files package data? a zipped install cannot be read)")
    return folder
