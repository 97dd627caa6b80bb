"""The page's tables about the runs themselves: how each codec's streams were coded and checked, what each job
decoded and measured, the codec's own numbers against ours, and the failures grouped by cause."""

from __future__ import annotations

import json
import math
import re
from html import escape as html_escape
from typing import Any

from bench.metrics import metric_label, metric_names
from bench.report import rounding
from bench.store.labels import display_name, failure, job_name
from bench.store.record import Record


def stream_rows(records: list[Record]) -> list[list[str]]:
    """One row per codec: how its streams were coded, as read back and checked, and the tools' warnings."""
    rows: dict[str, dict[str, Any]] = {}
    for r in records:
        if r.get("status") != "ok" or r.get("imported"):
            continue
        codec = display_name(r)
        row = rows.setdefault(codec, {"jobs": 0, "checked": 0, "coded_as": set(), "from": set(), "overrides": set(),
                                      "warnings": {}})
        row["jobs"] += 1
        stream = (r.get("coding") or {}).get("stream")
        if stream:
            row["checked"] += 1
            row["from"].add(stream.get("settings_from", ""))
            row["overrides"].update(stream.get("overrides") or [])
        if r["codec"].get("coded_as"):
            row["coded_as"].add(re.sub(r" \(checked: [^)]*\)$", "", r["codec"]["coded_as"]))
        for w in r.get("warnings") or []:
            row["warnings"][w] = row["warnings"].get(w, 0) + 1
    out = []
    for codec, row in rows.items():
        warnings = "; ".join(f"{w} ({n} jobs)" for w, n in list(row["warnings"].items())[:4])
        more = len(row["warnings"]) - 4
        out.append([codec, " | ".join(sorted(row["coded_as"])) or "(no stream facts read)",
                    f"{row['checked']} of {row['jobs']}", ", ".join(sorted(row["from"])),
                    ", ".join(sorted(row["overrides"])) or "none",
                    (warnings + (f"; {more} more" if more > 0 else "")) or "none"])
    return out


def reported_table(records: list[Record]) -> tuple[list[str], list[list[str]]]:
    """Codec-reported minus measured, one column per number any codec reports, with the interval of PSNR
    difference that output rounding alone allows (:mod:`bench.report.rounding`: it always holds, so a PSNR
    outside it is a real difference); a rate is flagged when it differs by more than 0.1 %. The interval shown is
    PSNR-Y's (PSNR-RGB's for codecs that report only RGB); every reported PSNR is checked against its own. The
    reference software's exact check (its per-picture PSNR recomputed its way, at its internal bit depth; a job
    that fails it is a failed job) is shown as its largest difference."""
    rows = [r for r in records if r["status"] == "ok" and (r.get("codec_reported") or {}).get("difference_to_ours")]
    keys = [k for k in (*metric_names(), "kbps", "bpp") if any(k in r["codec_reported"]["difference_to_ours"] for r in rows)]
    table = []
    for r in rows:
        diff = r["codec_reported"]["difference_to_ours"]
        allowed = {k: rounding.allowed_difference(r, k) for k in diff if k in rounding.PLANES or k == "psnr_yuv_611"}
        flagged = any(a is not None and rounding.beyond(diff[k], a) for k, a in allowed.items())
        for k, ours in (("kbps", r["rate"].get("kbps")), ("bpp", r["rate"].get("bpp"))):
            flagged |= k in diff and bool(ours) and abs(diff[k]) / ours > 0.001
        shown = allowed.get("psnr_rgb" if "psnr_rgb" in diff and "psnr_y" not in diff else "psnr_y")
        cells = [display_name(r), r["sequence"]["name"], str(r["rate_point"])]
        cells += [(f"{diff[k]:+.6f}" if k == "bpp" else f"{diff[k]:+.4f}") if k in diff else "" for k in keys]
        table.append([*cells, _interval_text(shown), _exact_text(r["codec_reported"].get("exact_check")),
                      "yes" if flagged else "no"])
    return [f"&Delta; {html_escape(metric_label(k))}" for k in keys], table


def _exact_text(check: dict[str, Any] | None) -> str:
    if not check:
        return "none for this codec"
    if "not_done" in check:
        return f"not done: {check['not_done']}"
    largest = max(check["largest_difference_db"].values())
    return f"{largest:.1e} dB at most over {check['pictures']} pictures ({check['bit_depth']}-bit, peak {check['peak']})"


def _interval_text(allowed: tuple[float, float] | None) -> str:
    if allowed is None:
        return ""
    return f"[{allowed[0]:+.4f}, {'+inf' if math.isinf(allowed[1]) else f'{allowed[1]:+.4f}'}]"


def failure_groups(failures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failures grouped by cause (the message with numbers and paths blanked), largest group first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for f in failures:
        cause = re.sub(r"/\S+|\d+", "…", f["message"].splitlines()[0] if f["message"] else "")
        groups.setdefault(cause, []).append(f)
    return [{"cause": c, "count": len(fs), "items": fs} for c, fs in sorted(groups.items(), key=lambda kv: -len(kv[1]))]


def check_rows(records: list[Record]) -> list[list[str]]:
    """One row per measured job: frames coded and measured (PSNR-Y's, or why it has none), stream and packet
    bytes, the stream's hash."""
    rows = []
    for r in records:
        if r["status"] != "ok" or r.get("imported"):
            continue
        frame_bits = r["per_frame"].get("bits")
        stream = r["rate"]["bitstream_sha256"]
        measured = r["per_frame"].get("psnr_y")
        rows.append([display_name(r), r["sequence"]["name"], str(r["rate_point"]), str(r["source"]["count"]),
                     str(len(measured)) if isinstance(measured, list) else _not_measured(r),
                     str(sum(r["rate"]["bitstream_bytes"])) if stream else "none (estimated bits)",
                     str(round(sum(frame_bits) / 8)) if frame_bits else "",
                     stream[0][:16] + (f" (+{len(stream) - 1} files)" if len(stream) > 1 else "") if stream else ""])
    return rows


def _not_measured(record: Record) -> str:
    """Why a job has no measured frames to count: its SSE measurement's entry in ``not_measured``."""
    entry = next((e for e in record.get("not_measured") or [] if e["measure"] == "sse"), None)
    return f"not measured: {entry['reason']}" if entry else "not measured"


def failures(records: list[Record]) -> list[dict[str, Any]]:
    """Every failed job: what it was, its message and the tail of its tool's stderr."""
    return [{"what": job_name(r), "message": failure(r)["message"], "stderr": failure(r).get("stderr_tail", "")}
            for r in records if r["status"] != "ok"]


def provenance(records: list[Record]) -> tuple[dict[str, str], dict[str, list[str]], str]:
    """Per codec its identity (JSON) and its first job's command lines; the first record's environment."""
    identities: dict[str, str] = {}
    commands: dict[str, list[str]] = {}
    for r in records:
        if r["status"] != "ok":
            continue
        codec = display_name(r)
        identities.setdefault(codec, json.dumps(r["codec"].get("identity") or r.get("imported"), indent=1,
                                                sort_keys=True, default=str))
        if r.get("commands") and codec not in commands:
            commands[codec] = [" ".join(c) for c in r["commands"]]
    env: dict[str, Any] = next((r["provenance"] for r in records if r.get("provenance")), {})
    return identities, commands, json.dumps(env, indent=1, sort_keys=True, default=str)
