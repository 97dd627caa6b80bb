"""Published RD curves that ship with the suite, each with its source, commit, licence and condition.

A curve is one JSON file under ``curves/<dataset>/<name>.json`` (its id is ``<dataset>/<name>``, e.g.
``uvg/vtm-15``) holding what :mod:`bench.bd.importers` made of the producer's own file, untouched, plus where it
came from::

    {"format": "lvc-bench published curve", "version": 1, "id": ..., "codec": <name in tables>,
     "title": ..., "condition": <the producer's test condition, in words>,
     "protocol": <what of that condition the producer's files state, in a condition's field names>,
     "source": {"repository", "path", "commit", "licence", "copyright", "url"}, "records": [...]}

These are published numbers under their producers' conditions (frame counts, intra periods, colour paths
and metric code that are not ours), so a report shows them as such and BD tables flag every cell against
them; ``protocol`` is what ``evaluate.py diff`` compares with a condition (a field it does not hold is not
stated by the producer, and is shown as such). ``build`` is how each file was made (see ``README.md`` beside this module for the exact calls).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from bench.bd.importers import GivenGeometry, import_file, point_origin
from bench.errors import BenchError

FORMAT = "lvc-bench published curve"
VERSION = 1
CURVES = Path(__file__).parent / "curves"


def catalogue() -> dict[str, Path]:
    """Curve id -> file, for every curve that ships."""
    return {f"{p.parent.name}/{p.stem}": p for p in sorted(CURVES.glob("*/*.json"))}


def load(curve_id: str) -> dict[str, Any]:
    """The curve file of CURVE_ID (its records marked as published); a one-line error listing the ids."""
    known = catalogue()
    if curve_id not in known:
        raise BenchError(f"--with-published {curve_id}: no such published curve; these ship: {', '.join(known)}")
    data = json.loads(known[curve_id].read_text(encoding="utf-8"))
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise BenchError(f"{known[curve_id]}: not a version-{VERSION} published curve file; reinstall the suite")
    for r in data["records"]:
        r["imported"]["published"] = {"id": curve_id, "condition": data["condition"], **data["source"]}
    return data


def protocol(curve_id: str) -> dict[str, Any]:
    """The protocol of a published curve, flattened as :func:`bench.conditions.diff.protocol` flattens a
    condition's: what its file states, its sequences (unless a dataset average), its name and title."""
    from bench.conditions.diff import flatten

    data = load(curve_id)
    names = sorted({r["sequence"]["name"] for r in data["records"] if "dataset_average" not in r["sequence"]})
    return flatten({"name": curve_id, "description": data["title"], **({"sequences": names} if names else {}),
                    **data.get("protocol", {})})


_POOLING_WORDS = {"mean_psnr": "PSNR: mean of per-frame values", "psnr_of_mean_mse": "PSNR of the mean MSE"}


def protocol_words(curve: dict[str, Any]) -> str:
    """What a curve's file (as :func:`load` reads it) states of its protocol, in words (``evaluate.py ls``), and
    what it does not."""
    stated = curve.get("protocol", {})
    words, missing = [], []
    frames = (stated.get("frames") or {}) if "frames" in stated else None
    if frames is None:
        missing.append("frames")
    else:
        words.append("all frames" if frames.get("count") is None else f"{frames['count']} frames")
    if "intra_period" in stated:
        words.append(f"intra period {stated['intra_period']}")
    else:
        missing.append("intra period")
    colour = stated.get("colour", {})
    words += [str(colour[k]) for k in ("source_format", "matrix") if colour.get(k)]
    pooling = stated.get("metrics", {}).get("pooling")
    words += [_POOLING_WORDS.get(pooling, str(pooling))] if pooling else []
    unstated = f"; {' and '.join(missing)} not stated" if missing else ""
    return f"states {', '.join(words) or 'nothing'}{unstated}"


def build(source_file: Path, curve_id: str, codec: str, title: str, condition: str, source: dict[str, str],
          given: GivenGeometry | None = None, only_group: str | None = None,
          protocol: dict[str, Any] | None = None) -> dict[str, Any]:
    """A curve file's content from a producer's file (kept as imported; bulky per-point reports dropped)."""
    records = import_file(source_file, codec, given)
    if only_group is not None:
        records = [r for r in records if r["sequence"]["group"] == only_group]
    if not records:
        raise BenchError(f"{source_file}: no points of class {only_group}")
    for r in records:
        r["imported"]["source"] = source["path"]
        r["imported"]["origin"] = point_origin(source["path"], r["imported"]["format"])
        r["key"] = hashlib.sha256(json.dumps([curve_id, r["sequence"]["name"], str(r["rate_point"])]).encode()).hexdigest()
        r["codec"]["description"] = title
        reported = r.get("codec_reported") or {}
        r["codec_reported"] = {k: reported[k] for k in ("qp", "description", "unmapped") if k in reported}
    return {"format": FORMAT, "version": VERSION, "id": curve_id, "codec": codec, "title": title,
            "condition": condition, **({"protocol": protocol} if protocol else {}), "source": source,
            "records": records}
