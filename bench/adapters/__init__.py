"""Codec adapters, registered by kebab-case name (``x264``, ``x265``, ``vvenc``, ``svtav1``, ``aom``, ``vtm``,
``hm``, ``ecm``, ``dcvc``, ``dcvc-tcm``, ``dcvc-hem``, ``dcvc-dc``, ``dcvc-fm``, ``dcvc-rt``, ``dcvc-uf``, ``evc``,
``dhvc-1.0``, ``dhic``, ``dhvc-2.0``, ``compressai``).

The registry is explicit: each module lists its classes here, so there is no import-time discovery magic
and two adapters can never silently claim one name.
"""

from __future__ import annotations

from bench.adapters.base import Adapter
from bench.errors import ConditionError

_REGISTRY: dict[str, type[Adapter]] = {}


def register(cls: type[Adapter]) -> type[Adapter]:
    if cls.name in _REGISTRY:
        raise RuntimeError(f"adapter name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtin() -> None:
    # Importing the modules registers their adapters (once: Python imports a module once). Not "if the registry
    # is empty": a caller that imported one adapter module first would then hide all the others.
    from bench.adapters import compressai_zoo, dcvc, dhvc, ffmpeg, reference  # noqa: F401


def adapter_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def adapter_class(name: str) -> type[Adapter]:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConditionError(f"unknown adapter {name!r}; known adapters: {', '.join(sorted(_REGISTRY))}") from None
