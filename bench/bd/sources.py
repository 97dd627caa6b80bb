"""The inputs of ``bd`` and ``report``: results folders, imported files and published curves, kept apart.

A :class:`Source` is one of them with its records and, for a run, its result-affecting condition fields. With
more than one source a run's codecs are named by their source (``label:codec``), so same-named codecs of two
runs are never pooled into one curve; imported files are read together by one call of the importer, which keeps
every file's curves apart and names them as ``evaluate.py import`` does. BD-rates between sources coded under
different conditions are refused unless asked for, and then every cell against such a codec carries the fields that differ. Published curves
(:mod:`bench.bd.published`) keep their own names and are flagged as published under their own condition.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.store.record import Record

UNKNOWN_GROUP = "imported"  # the class an imported sequence gets when neither the file nor a manifest names one


@dataclass
class Source:
    """One input of a report: a results folder (records + its condition file), an imported file, or a
    published curve."""

    label: str
    records: list[Record]
    condition_text: str | None = None
    condition_fields: dict[str, Any] | None = None
    path: str = ""
    named_curve: bool = False  # an imported curve the user named (NAME=PATH): its name is kept as given
    published: dict[str, Any] | None = None  # a shipped published curve: its id, title, condition and origin
    displays: dict[str, dict[str, str]] = field(default_factory=dict)  # codec -> its descriptor's display: block
    run: bool = False  # a results folder (a run's, or one `evaluate.py import` wrote), not files read here


def sources_from(paths: Iterable[str], published: Sequence[str] = (),
                 loaded: Mapping[Path, list[Record]] | None = None) -> list[Source]:
    """Result folders and imported files as sources, then the published curves named by id. ``LABEL=PATH``
    labels a results folder (default: its folder name) and names an imported curve. Every producer's file or
    folder is read by one call of :func:`bench.bd.importers.import_sources`, so that its curves are named as
    ``evaluate.py import`` names them (a NAME always wins; files sharing a producer name told apart by their file
    names; two files giving one point refused, naming both). With more than one source a results folder's codecs
    are named by it, ``label:codec``; imported and published curves keep their names. LOADED: results folders
    whose records the caller has read already, as :meth:`bench.store.results.ResultStore.run_records` gives them (a run
    hands over those it read for its own outputs), by the folder's path as given; each is read here otherwise."""
    from bench.bd.importers import split_label, with_origin

    items = [split_label(item) for item in paths]
    runs = {i for i, (_, path) in enumerate(items) if path.is_dir() and (path / "records").is_dir()}
    read = _imported_records([(i, name, path) for i, (name, path) in enumerate(items) if i not in runs])
    out = []
    for i, (name, path) in enumerate(items):
        if i in runs:
            out.append(_run_source(name, path, loaded))
        else:
            out.append(Source(name or (path.name if path.is_dir() else path.stem), read.get(i, []), path=str(path),
                              named_curve=name is not None))
    out.extend(_published_sources(published))
    _refuse_same_labels(out)
    if sum(1 for s in out if not s.published) > 1:  # a published curve's name already says where it is from
        _name_runs_curves_by_label(out)
    _one_source_per_curve(out)
    for s in out:  # BD tells merged curves apart by each point's origin: stores written before it was kept get one
        s.records = [with_origin(r) for r in s.records]
    _fill_unknown_groups(out)
    return out


def _imported_records(files: list[tuple[int, str | None, Path]]) -> dict[int, list[Record]]:
    """The records of FILES (item index, NAME, path: a producer's file, or a folder of them, one VTM log per
    sequence and QP, say), read by one call of the importer, by item index."""
    from bench.bd.importers import import_sources

    read: dict[int, list[Record]] = {}
    if files:
        for f in import_sources([(name, path) for _, name, path in files]).files:
            read.setdefault(files[f.item][0], []).extend(f.records)
    return read


def _run_source(name: str | None, path: Path, loaded: Mapping[Path, list[Record]] | None) -> Source:
    """A results folder as a source: its records (those LOADED already, else read from its store), its condition
    file and its codecs' displays."""
    from bench.store.results import ResultStore

    recs = list(loaded[path]) if loaded and path in loaded else ResultStore(path).run_records()
    cond = path / "condition.yaml"
    fields = next((r["condition"]["fields"] for r in recs if "condition" in r), None)
    text = cond.read_text(encoding="utf-8") if cond.exists() else None
    return Source(name or path.name, recs, text, fields, str(path), displays=_displays_in(text), run=True)


def _published_sources(published: Sequence[str]) -> list[Source]:
    """The shipped published curves named by id, each a source of its own under its own name."""
    from bench.bd.published import load

    out = []
    for curve_id in published:
        data = load(curve_id)
        out.append(Source(curve_id, data["records"], condition_text=data["condition"], path=data["source"]["url"],
                          named_curve=True, published={k: v for k, v in data.items() if k != "records"}))
    return out


def _refuse_same_labels(sources: list[Source]) -> None:
    """Refuse two sources of one label: their curves would be named alike."""
    labels = [s.label for s in sources]
    if len(set(labels)) != len(labels):
        dup = next(label for label in labels if labels.count(label) > 1)
        raise BenchError(f"two sources are labelled {dup!r}; label them apart: LABEL=PATH")


def _name_runs_curves_by_label(sources: list[Source]) -> None:
    """Name each results folder's codecs (and their display labels) ``label:codec``; imported curves are named by
    the importer, which has kept them apart."""
    for s in sources:
        if s.run:
            s.records = [_renamed(r, f"{s.label}:{r['codec']['name']}") for r in s.records]
            s.displays = {f"{s.label}:{c}": {**d, **({"label": f"{s.label}:{d['label']}"} if "label" in d else {})}
                          for c, d in s.displays.items()}


def _one_source_per_curve(sources: list[Source]) -> None:
    """Refuse a curve name that a results folder or a published curve shares with another source (an imported
    curve NAMEd like a run's ``label:codec``, say): BD would pool their points as one curve. Curves of the
    imported files are the importer's to keep apart (it has, or has refused them naming both files)."""
    owner: dict[str, Source] = {}
    for s in sources:
        for name in dict.fromkeys(r["codec"]["name"] for r in s.records):
            other = owner.setdefault(name, s)
            if other is not s and (other.run or other.published or s.run or s.published):
                raise BenchError(f"{other.path} and {s.path} would both give curve {name!r}; name them apart: "
                                 "LABEL=FOLDER for a results folder, NAME=FILE for a file")


def _displays_in(condition_text: str | None) -> dict[str, dict[str, str]]:
    """Codec name -> its ``display:`` block, from a condition as a run stores it (every codec written out)."""
    import yaml

    try:
        doc = yaml.safe_load(condition_text or "") or {}
    except yaml.YAMLError:
        return {}  # not ours to judge here: the report shows the text as it is
    codecs = doc.get("codecs") if isinstance(doc, dict) else None
    return {str(c.get("name") or c.get("descriptor")): dict(c["display"]) for c in codecs or []
            if isinstance(c, dict) and isinstance(c.get("display"), dict)}


def displays(sources: list[Source]) -> dict[str, dict[str, str]]:
    """Codec name (as the records of these sources name it) -> its descriptor's ``display:`` block."""
    return {codec: d for s in sources for codec, d in s.displays.items()}


def _renamed(record: Record, name: str) -> Record:
    return {**record, "codec": {**record["codec"], "name": name, "name_in_source": record["codec"]["name"]}}


def _fill_unknown_groups(sources: list[Source]) -> None:
    """An imported sequence whose class nobody named takes the class another source gives that sequence (a CSV
    without a ``group`` column must not move the run's sequences into a class of their own)."""
    known = {r["sequence"]["name"]: r["sequence"]["group"] for s in sources for r in s.records
             if r["sequence"].get("group") not in (None, UNKNOWN_GROUP)}
    for s in sources:
        for i, r in enumerate(s.records):
            if r["sequence"].get("group") == UNKNOWN_GROUP and r["sequence"]["name"] in known:
                s.records[i] = {**r, "sequence": {**r["sequence"], "group": known[r["sequence"]["name"]]}}


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def condition_differences(sources: list[Source]) -> list[dict[str, Any]]:
    """Result-affecting condition fields whose values differ between sources (imported sources: unknown)."""
    known = [s for s in sources if s.condition_fields is not None]
    flat = {s.label: _flatten(s.condition_fields or {}) for s in known}
    keys = sorted({k for f in flat.values() for k in f})
    rows = []
    for k in keys:
        values = {label: f.get(k) for label, f in flat.items()}
        if len({json.dumps(v, sort_keys=True) for v in values.values()}) > 1:
            rows.append({"field": k, "values": values})
    return rows


def condition_flags(sources: list[Source], anchor: str | None) -> dict[str, str]:
    """Codec -> why its BD values against ANCHOR compare conditions too: the condition fields its source differs
    in from the anchor's source, or that it (or the anchor) is a published curve under its own condition."""
    if anchor is None:
        return {}
    fields = mismatched_sources(sources, anchor)
    flags = {r["codec"]["name"]: ", ".join(fields[s.label]) for s in sources if s.label in fields for r in s.records}
    home = _home(sources, anchor)
    for s in sources:
        if s is home or not (s.published or (home is not None and home.published)):
            continue
        note = "published, its own condition" if s.published else "the anchor is published, under its own condition"
        flags.update({r["codec"]["name"]: note for r in s.records})
    return flags


def mismatch_message(sources: list[Source], anchor: str | None) -> str:
    fields = mismatched_sources(sources, anchor)
    listed = "; ".join(f"{label}: {', '.join(f)}" for label, f in fields.items())
    home = _home(sources, anchor) if anchor else None
    other = next((s for s in sources if s.label in fields), None)
    pointer = (f" (evaluate.py diff {home.path} {other.path} lists every difference and its known effect)"
               if home is not None and other is not None and home.path and other.path else "")
    return (f"sources coded under another condition than the anchor {anchor}'s ({listed}){pointer}; BD-rates "
            "between them compare conditions as much as codecs: pass --allow-condition-mismatch to compute them "
            "anyway, flagged")


def _home(sources: list[Source], anchor: str) -> Source | None:
    return next((s for s in sources if any(r["codec"]["name"] == anchor for r in s.records)), None)


def mismatched_sources(sources: list[Source], anchor: str | None) -> dict[str, list[str]]:
    """Source label -> the result-affecting condition fields in which it differs from the anchor's source
    (sources whose condition is unknown, imported ones, are not listed: their producers' conditions are
    described in the report's sources section)."""
    if anchor is None:
        return {}
    home = _home(sources, anchor)
    if home is None or home.condition_fields is None:
        return {}
    mine = _flatten(home.condition_fields)
    out = {}
    for s in sources:
        if s is home or s.condition_fields is None:
            continue
        theirs = _flatten(s.condition_fields)
        # How the jobs were timed changes no bitstream: a shared and an exclusive run compare in BD.
        fields = sorted(k for k in {*mine, *theirs} if k != "timing" and json.dumps(mine.get(k), sort_keys=True)
                        != json.dumps(theirs.get(k), sort_keys=True))
        if fields:
            out[s.label] = fields
    return out
