"""What a condition's run has done, from its results folder alone: done, failed, running and left.

A run writes its manifest (``run.json``: every planned job's key, codec, sequence and rate point) before its
first job, a record when a job ends, and keeps ``work/<key>-<host>-<pid>`` while a job runs. So another shell,
or another machine on the shared file system, can tell without touching the run:

* **done**: a record with status ok; **failed**: a record with status failed (``--retry-failed`` reruns it);
* **running**: a work folder whose process is alive (on another host: cannot be checked, shown as running);
* **interrupted**: a work folder of a process that is gone (killed; the next run codes the job again);
* **left**: no record and no work folder.

Without a manifest (no run has started) the condition is planned to list its jobs, which reads the sequences.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import SCHEMA_VERSION
from bench.conditions.condition import Condition
from bench.files import safe_part
from bench.store.labels import failure
from bench.store.results import ResultStore

STATES = ("done", "failed", "running", "interrupted", "left")


@dataclass
class StatusReport:
    condition: str
    source: str  # where the job list came from
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per job: codec, sequence, rate_point, state ...

    def counts(self, codec: str | None = None) -> dict[str, int]:
        rows = [r for r in self.rows if codec is None or r["codec"] == codec]
        return {s: sum(1 for r in rows if r["state"] == s) for s in STATES}

    def render(self) -> str:
        total = self.counts()
        lines = [f"{self.condition}: {len(self.rows)} jobs ({self.source}): "
                 + ", ".join(f"{total[s]} {s}" for s in STATES)]
        codecs = list(dict.fromkeys(r["codec"] for r in self.rows))
        width = max([len(c) for c in codecs] + [5])
        lines.append(f"  {'codec':<{width}}" + "".join(f"{s:>13}" for s in STATES))
        for codec in codecs:
            c = self.counts(codec)
            lines.append(f"  {codec:<{width}}" + "".join(f"{c[s]:>13}" for s in STATES))
        for r in self.rows:
            if r["state"] in ("running", "interrupted", "failed"):
                lines.append(f"  {r['state']:<11} {r['codec']} / {r['sequence']} / {r['rate_point']}: {r['detail']}")
        return "\n".join(lines)


def condition_status(condition: Condition, results_dir: Path) -> StatusReport:
    store = ResultStore(results_dir / condition.name)
    if (store.root / "records").is_dir():
        store.upgrade()  # records of an earlier schema, re-keyed (their manifest's keys are the old ones)
    manifest = store.run_manifest()
    if manifest is not None and manifest.get("jobs") and manifest.get("schema_version") == SCHEMA_VERSION:
        jobs, source = manifest["jobs"], f"the manifest of the run that started at {_mtime(store.root / 'run.json')}"
    else:
        from bench.run.runner import plan

        jobs, source = [j.manifest_entry() for j in plan(condition)[0]], "planned now: no run has started"
    # Keyed by codec folder as well as key: two codec entries with the same settings have the same job keys.
    # Every file is read (not only the planned jobs'), so that a damaged one is named here as by bd and report.
    records = {}
    for path in (store.root / "records").glob("*/*/*.json") if (store.root / "records").is_dir() else []:
        record = store.read(path)
        if record is not None:
            records[(path.parent.parent.name, record["key"])] = record
    work = {(w.codec, w.key16): w for w in store.work_in_progress()}
    report = StatusReport(condition.name, source)
    for job in jobs:
        row = {k: job[k] for k in ("codec", "sequence", "rate_point")}
        record = records.get((safe_part(job["codec"]), job["key"]))
        w = work.get((safe_part(job["codec"]), job["key"][:16])) or work.get(("", job["key"][:16]))  # or older
        if record is not None and w is None:
            row["state"] = "done" if record["status"] == "ok" else "failed"
            row["detail"] = "" if record["status"] == "ok" else failure(record)["message"]
        elif w is not None and w.alive is not False:
            row["state"] = "running"
            where = f"pid {w.pid}" + ("" if w.alive else f" on {w.host} (another host: not checked)")
            row["detail"] = f"{where}, for {time.time() - w.since:.0f} s"
        elif w is not None:
            row["state"] = "interrupted"
            row["detail"] = f"pid {w.pid} on this host is gone; the next run codes it again"
        else:
            row["state"] = "left"
            row["detail"] = ""
        report.rows.append(row)
    return report


def _mtime(path: Path) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(path.stat().st_mtime))
