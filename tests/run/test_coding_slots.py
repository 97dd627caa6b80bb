"""``--jobs N`` codes N jobs at once and measures each job while the next one codes (not under ``timing:
exclusive``, which runs every job alone).

Observed on real runs (x264 on two clips, four rate points): the adapter's coding and the job's measuring are
each wrapped to note when they start and end and then do what they always do; measuring is also made slower
(a sleep before it) so that an overlap, where there is one, cannot be missed on a loaded machine."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import condition_file

import bench.run.one_job
from bench.adapters import adapter_class
from bench.conditions.condition import load_condition
from bench.run.runner import RunOptions, run_condition
from bench.run.scheduling import CodingSlots


def test_a_job_that_has_coded_frees_its_slot_for_the_next_and_ends_without_a_second_release() -> None:
    slots = CodingSlots(1)
    coded, second_in, first_may_end = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with slots.slot():
            slots.coded()
            coded.set()
            slots.coded()  # said twice (a retry): freed once
            first_may_end.wait(10)

    def second() -> None:
        coded.wait(10)
        with slots.slot():
            second_in.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    assert second_in.wait(10)  # in while the first job still runs (it is measuring)
    first_may_end.set()
    for t in threads:
        t.join(10)
    # Every slot is back, and no more than one (a second release would have raised: a BoundedSemaphore).
    got = threading.Event()

    def third() -> None:
        with slots.slot():
            got.set()

    with slots.slot():
        waiting = threading.Thread(target=third)
        waiting.start()
        assert not got.wait(0.3)  # one slot, held here: the other job waits
    assert got.wait(10)
    waiting.join(10)


def _intervals(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple[float, float]]]:
    seen: dict[str, list[tuple[float, float]]] = {"coding": [], "measuring": []}
    cls = adapter_class("x264")
    real_code, real_measure = cls.code_sequence, bench.run.one_job.take_measurements

    def noted(kind: str, fn: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            if kind == "measuring":
                time.sleep(0.5)
            try:
                return fn(*args, **kwargs)
            finally:
                seen[kind].append((start, time.monotonic()))
        return call

    monkeypatch.setattr(cls, "code_sequence", noted("coding", real_code))
    monkeypatch.setattr(bench.run.one_job, "take_measurements", noted("measuring", real_measure))
    return seen


def _overlaps(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> int:
    return sum(1 for s, e in a for s2, e2 in b if s < e2 and s2 < e and (s, e) != (s2, e2))


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("timing", ["shared", "exclusive"])
def test_jobs_1_codes_one_job_at_a_time_and_measures_beside_the_next_unless_exclusive(
        tmp_path: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch, timing: str) -> None:
    extra = "timing: exclusive\n" if timing == "exclusive" else ""
    cond = load_condition(condition_file(tmp_path, clip_dir, codecs="[{descriptor: x264, rate_points: [22, 30]}]",
                                         extra=extra))
    seen = _intervals(monkeypatch)
    outcome = run_condition(cond, RunOptions(results_dir=tmp_path / "results", jobs=1, progress=False))
    assert outcome.coded == 4 and not outcome.failed
    assert len(seen["coding"]) == 4 and len(seen["measuring"]) == 4
    assert _overlaps(seen["coding"], seen["coding"]) == 0  # --jobs 1: one job codes at a time
    beside = _overlaps(seen["coding"], seen["measuring"])
    if timing == "exclusive":
        assert beside == 0 and _overlaps(seen["measuring"], seen["measuring"]) == 0  # every job alone
    else:
        assert beside == 3  # each next job's coding ran while the last one was measured
