"""Codec adapters: the built-in ones, plug-ins from other packages, and classes named by import path.

An adapter is found three ways, and ``evaluate.py ls`` lists where each came from:

* **built-in**, registered by kebab-case name when its module is imported (``x264``, ``x265``, ``vvenc``,
  ``svtav1``, ``aom``, ``vtm``, ``hm``, ``ecm``, the DCVC family, the DHVC line, ``compressai``, and the two
  that run your own codec without code of ours: ``command`` and ``python-model``;
  the list is :data:`BUILTIN_MODULES`);
* **plug-in**: a package that ships adapters names them in the entry-point group ``lvcbench.adapters``
  (``my-codec = my_package.adapters:MyCodec`` in its ``pyproject.toml``); installed, they register under
  their entry-point name;
* **by path**: a descriptor's ``adapter: my_package.module:MyCodec`` imports that class (the descriptor's
  folder is searched too), registered under that string.

Every adapter, whichever way it came, is an :class:`~bench.adapters.base.Adapter` subclass and is held to one
contract (:mod:`bench.checks.conformance`). Two adapters can never silently claim one name.
"""

from __future__ import annotations

import importlib
import sys
from importlib import metadata
from pathlib import Path

from bench.adapters.base import Adapter
from bench.errors import ConditionError, known_names

ENTRY_POINT_GROUP = "lvcbench.adapters"
BUILTIN_MODULES = ("ffmpeg", "reference", "dcvc", "dhvc", "compressai_zoo", "command", "python_model")

_REGISTRY: dict[str, type[Adapter]] = {}
_ORIGIN: dict[str, str] = {}
_loaded = False


def register(cls: type[Adapter]) -> type[Adapter]:
    """Class decorator of the built-in adapters."""
    _add(cls.name, cls, "built-in")
    return cls


def _add(name: str, cls: type[Adapter], origin: str) -> None:
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ConditionError(f"adapter name {name!r} claimed twice: by {_ORIGIN[name]} and by {origin}")
    _REGISTRY[name] = cls
    _ORIGIN[name] = origin


def _load() -> None:
    # Importing the modules registers their adapters (once: Python imports a module once). Not "if the registry
    # is empty": a caller that imported one adapter module first would then hide all the others.
    global _loaded
    for module in BUILTIN_MODULES:
        importlib.import_module(f"bench.adapters.{module}")
    if _loaded:
        return
    _loaded = True
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep.dist, "name", None) or "an installed package"
        origin = f"plug-in {ep.value} (from {dist})"
        _add(ep.name, _checked(_load_entry_point(ep, origin), origin), origin)


def _load_entry_point(ep: metadata.EntryPoint, origin: str) -> object:
    try:
        return ep.load()
    except Exception as e:  # a broken plug-in names itself, in one line
        raise ConditionError(f"adapter {ep.name}: {origin} could not be imported: {type(e).__name__}: {e}") from None


def _checked(obj: object, origin: str) -> type[Adapter]:
    if not (isinstance(obj, type) and issubclass(obj, Adapter)):
        raise ConditionError(f"{origin} is not an Adapter subclass (bench.adapters.base.Adapter)")
    return obj


def load_by_path(path: str, search: Path | None = None) -> type[Adapter]:
    """The adapter class ``package.module:Class``, imported (with SEARCH, a descriptor's folder, on the path)."""
    module_name, _, class_name = path.partition(":")
    if not module_name or not class_name.isidentifier():
        raise ConditionError(f"adapter {path!r}: expected package.module:ClassName")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if search is None or e.name != module_name.split(".")[0]:
            raise ConditionError(f"adapter {path!r}: cannot import {module_name}: {e}") from None
        sys.path.append(str(search.resolve()))
        try:
            module = importlib.import_module(module_name)
        except Exception as e2:
            raise ConditionError(f"adapter {path!r}: cannot import {module_name} (searched the Python path and "
                                 f"{search}): {type(e2).__name__}: {e2}") from None
    except Exception as e:
        raise ConditionError(f"adapter {path!r}: importing {module_name} failed: {type(e).__name__}: {e}") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ConditionError(f"adapter {path!r}: {module_name} has no {class_name}")
    return _checked(cls, f"adapter {path!r}")


def adapter_names() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def adapter_origin(name: str) -> str:
    _load()
    return _ORIGIN.get(name, "by path")


def adapter_class(name: str, search: Path | None = None) -> type[Adapter]:
    """The adapter registered as NAME, or the class NAME = ``package.module:Class`` names (SEARCH: a folder to
    look in too, the descriptor's)."""
    _load()
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        cls = load_by_path(name, search)
        _add(name, cls, f"by path ({name})")
        return cls
    names = known_names(name, sorted(_REGISTRY), "adapters")
    # A plug-in installed into another environment (pip of another python) is the usual surprise: name ours.
    raise ConditionError(f"unknown adapter {name!r} ({names}), or package.module:Class for one of your own; a "
                         f"plug-in's adapter ({ENTRY_POINT_GROUP}) is found only when installed in the Python that "
                         f"runs evaluate.py, {sys.executable}")
