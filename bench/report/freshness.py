"""Whether a run's outputs (tables, figures, report) must be written again: they are keyed by the records
they were made from (path, size, modification time of each planned job's record and of its measurement
files), the settings that shape them, and the suite's own source files; ``outputs.json`` beside the records
keeps that key with what was printed, so a rerun that changed nothing prints the same answer and rewrites no
file. Light on purpose: deciding must not import what writing needs (pandas, scipy, matplotlib).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.store.results import ResultStore, atomic_write_text

if TYPE_CHECKING:
    from bench.run.jobs import Job

OUTPUTS_STATE = "outputs.json"
_SUITE = Path(__file__).resolve().parents[1]  # the bench package


def outputs_stamp(store: ResultStore, jobs: list[Job], settings: dict[str, Any]) -> str:
    """The key of a run's outputs: every planned job's record file (path, size, mtime), SETTINGS (condition,
    BD options, folders) and the suite's source files (an upgrade or an edit rebuilds)."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for job in sorted(jobs, key=lambda j: j.key):
        path = store.record_path(job.codec.name, job.sequence.name, job.rate_point, job.key)
        try:
            st = path.stat()
            h.update(f"{path.relative_to(store.root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        except FileNotFoundError:
            h.update(f"{path.relative_to(store.root)}|absent\n".encode())
        # Its measurements too: one measured again (a damaged one deleted and remeasured) changes no record.
        folder = store.measurement_dir({"codec": {"name": job.codec.name}, "sequence": {"name": job.sequence.name},
                                        "rate_point": job.rate_point, "key": job.key})
        for m in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            st = m.stat()
            h.update(f"{m.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    for source in sorted(_SUITE.rglob("*")):
        if source.suffix in (".py", ".j2") and "__pycache__" not in source.parts:
            st = source.stat()
            h.update(f"{source.relative_to(_SUITE)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def unchanged_outputs(store: ResultStore, stamp: str) -> dict[str, Any] | None:
    """What the last run printed and wrote, when its outputs were made from exactly this STAMP and are all
    still there; None when they must be written (again)."""
    try:
        state = json.loads((store.root / OUTPUTS_STATE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(state, dict) or state.get("stamp") != stamp:
        return None
    if not all(Path(p).exists() for p in (state.get("paths") or {}).values()):
        return None
    return state


def remember_outputs(store: ResultStore, stamp: str, text: str, paths: dict[str, Path]) -> None:
    """Keep STAMP and what was printed; a results folder that cannot be written (read-only) only loses the
    shortcut, never the outputs."""
    try:
        atomic_write_text(store.root / OUTPUTS_STATE, json.dumps({"stamp": stamp, "text": text,
                                                                  "paths": {k: str(v) for k, v in paths.items()}},
                                                                 indent=1))
    except OSError:
        pass
