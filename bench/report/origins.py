"""Where each curve of a report comes from, and how same-named codecs of different runs differ.

A report over several runs names each codec by its run (``demo:x264``, ``demo_slow:x264``); that alone does not
tell a reader why the two curves differ. Each run stores its condition with every codec written out in full
(``results/<run>/condition.yaml``), so the settings in which the same-named codecs differ are read from there and
shown beside their names, e.g. ``demo_slow:x264 (preset: slower)``. Both maps are keyed by the curve's name as
the report's tables, figures and styles name it (:func:`bench.store.labels.display_name`: a rate estimated by an
entropy model is its own curve, ``x (estimated bits)``), so that such a curve gets its run's origin and settings.
"""

from __future__ import annotations

from typing import Any

import yaml

from bench.bd.sources import Source
from bench.report.styles import Origin
from bench.store.labels import display_name

# Settings that describe or draw a codec but do not change what it codes.
_NOT_SETTINGS = ("name", "display", "description")


def origins(sources: list[Source]) -> dict[str, Origin]:
    """Curve name (:func:`bench.store.labels.display_name` of the report's records) -> its source's position among
    the runs and imported files, or published."""
    out: dict[str, Origin] = {}
    position = 0
    for s in sources:
        origin = Origin(published=True) if s.published else Origin(source=position)
        position += 0 if s.published else 1
        for r in s.records:
            out.setdefault(display_name(r), origin)
    return out


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


def _codec_settings(condition_text: str | None) -> dict[str, dict[str, Any]]:
    """Codec name -> its settings as the stored condition writes them out (flattened: ``params.preset``)."""
    try:
        doc = yaml.safe_load(condition_text or "") or {}
    except yaml.YAMLError:
        return {}
    codecs = doc.get("codecs") if isinstance(doc, dict) else None
    return {str(c.get("name") or c.get("descriptor")): _flat({k: v for k, v in c.items() if k not in _NOT_SETTINGS})
            for c in codecs or [] if isinstance(c, dict)}


def _shown(key: str, value: Any) -> str:
    name = key.removeprefix("params.")
    if value is None:
        return f"no {name}"
    if isinstance(value, list):
        return f"{name}: " + (", ".join(str(v) for v in value) or "none")
    return f"{name}: {value}"


def setting_differences(sources: list[Source]) -> dict[str, str]:
    """Curve name in the report (:func:`bench.store.labels.display_name`) -> the settings in which its codec differs
    from the same-named codec of another run (``preset: slower``); codecs found in one run only, or alike in all,
    are left out. Each call parses every run's stored condition: call it once per report."""
    # name in its run -> run label -> (the report's curves of that codec, its settings)
    by_name: dict[str, dict[str, tuple[set[str], dict[str, Any]]]] = {}
    for s in sources:
        if s.published or s.condition_text is None:
            continue
        settings = _codec_settings(s.condition_text)
        for r in s.records:
            own = r["codec"].get("name_in_source", r["codec"]["name"])
            if own in settings:
                by_name.setdefault(own, {}).setdefault(s.label, (set(), settings[own]))[0].add(display_name(r))
    out: dict[str, str] = {}
    for runs in by_name.values():
        if len(runs) < 2:
            continue
        keys = sorted({k for _, flat in runs.values() for k in flat})
        differing = [k for k in keys if len({repr(flat.get(k)) for _, flat in runs.values()}) > 1]
        for names, flat in runs.values():
            for name in names if differing else ():
                out[name] = ", ".join(_shown(k, flat.get(k)) for k in differing)
    return out
