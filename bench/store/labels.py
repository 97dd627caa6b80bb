"""Reading records the way every output names them: a codec's display name, the cautions a reader must see.
Plain functions over record dicts, without pandas, so that a rerun with nothing to write loads no table code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bench.store.record import Failure, Record

ESTIMATED_SUFFIX = " (estimated bits)"


def display_name(record: Record) -> str:
    """The codec's name as every table and figure shows it: a rate from an entropy-model estimate, not a
    bitstream, is named so."""
    estimated = record["status"] == "ok" and (record.get("rate") or {}).get("bits_source") == "estimated"
    return record["codec"]["name"] + (ESTIMATED_SUFFIX if estimated else "")


def failure(record: Record) -> Failure:
    """A failed record's error: its message and the tail of its tool's stderr. The schema lets ``error`` be null
    (an ok record's is), so a failed record stored without one reads as failing with no message, not as a crash."""
    return record.get("error") or {"message": "no message"}


def rate_label(rate_knob: str | None, rate_point: Any) -> str:
    """A rate point in its adapter's words, as a record keeps both: "qp 22", "quality 4", "rate point [3, 6]"."""
    return f"{rate_knob or 'rate point'} {rate_point}"


def job_name(record: Record) -> str:
    """A job as every failure line names it: the codec as the condition names it (once: never its adapter as
    well), the sequence, the rate point in its adapter's words."""
    return f"{display_name(record)} / {record['sequence']['name']} / " \
           f"{rate_label(record.get('rate_knob'), record['rate_point'])}"


def cautions(records: Iterable[Record]) -> list[tuple[str, str]]:
    """(codec, caution) once each: what a reader must know before trusting a codec's numbers (random weights)."""
    seen: dict[tuple[str, str], None] = {}
    for r in records:
        for text in r.get("cautions") or []:
            seen[(r["codec"]["name"], text.replace("**", ""))] = None
    return list(seen)


def failures_by_codec(records: Iterable[Record]) -> dict[str, str]:
    """Codec -> "k of n jobs failed: the first reason", for codecs with a failed job."""
    jobs: dict[str, list[Record]] = {}
    for r in records:
        jobs.setdefault(display_name(r), []).append(r)
    out = {}
    for codec, rs in jobs.items():
        failed = [r for r in rs if r["status"] != "ok"]
        if failed:
            first = (failure(failed[0])["message"].splitlines() or ["no message"])[0]
            out[codec] = f"{len(failed)} of {len(rs)} jobs failed: {first}"
    return out


def empty_folders(sources: Iterable[Any]) -> str | None:
    """One line for the first results folder among SOURCES (:class:`bench.bd.sources.Source`) whose record files
    are all unreadable, naming it and what to do; None when there is none. Such a folder must stop a report, not
    become a page of "0 records" called imported. (A folder with no record file yet is a run not started: its
    page says there is nothing to compare.)"""
    from pathlib import Path

    for s in sources:
        if not s.run or s.records:
            continue
        files = sorted((Path(s.path) / "records").glob("*/*/*.json"))
        if files:
            return (f"{s.path}: none of its {len(files)} record file(s) can be read (each is named in a warning "
                    "above); repair or remove them and run its condition again (`evaluate.py run --conditions ...` "
                    "codes those jobs again), or import the folder's source files again if `evaluate.py import` "
                    "wrote it")
    return None
