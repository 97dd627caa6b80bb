"""Encoding a sequence in segments, one way for every adapter that does: where the segments lie and running
their encodes (side by side up to a number of workers, each one's resource use noted with its job's).

Two encoders need it. VVenC inside ffmpeg cannot place a refreshing intra frame in a low-delay stream, so each
intra period is encoded on its own and the elementary streams are concatenated (``overlap=False``). VTM/ECM in
random access may split at intra periods to encode them in parallel: each segment then runs from one intra
picture to the next inclusive and parcat drops each later segment's leading copy (``overlap=True``).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Segment:
    """Frames FIRST .. FIRST + COUNT - 1, encoded on their own (the first as an intra picture)."""

    first: int
    count: int


def intra_period_segments(frames: int, intra_period: int, overlap: bool) -> list[Segment]:
    """The intra periods of FRAMES as segments; one segment when there is nothing to split (no periodic intra
    frame, or one period holds them all). OVERLAP: each segment also codes the next period's intra picture, so
    that it ends on it (the copy a join keeps)."""
    extra = 1 if overlap else 0
    if intra_period <= 0 or frames <= intra_period + extra:
        return [Segment(0, frames)]
    return [Segment(first, min(intra_period + extra, frames - first))
            for first in range(0, frames - extra, intra_period)]


@dataclass
class SegmentRuns(Generic[T]):
    """What encoding the segments gave: each one's result and seconds, in segment order, and the wall time."""

    results: list[T]
    seconds: list[float]
    wall_s: float
    workers: int


def encode_segments(segments: list[Segment], encode: Callable[[int, Segment], T], workers: int = 1) -> SegmentRuns[T]:
    """ENCODE(k, segment) for every segment, up to WORKERS at once (1: one after the other, in order); each
    runs in a copy of the caller's context, so the programs it starts are counted with the caller's job."""
    workers = max(1, min(workers, len(segments)))

    def timed(k: int) -> tuple[T, float]:
        t0 = time.perf_counter()
        result = encode(k, segments[k])
        return result, time.perf_counter() - t0

    contexts = [contextvars.copy_context() for _ in segments]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(lambda k: contexts[k].run(timed, k), range(len(segments))))
    return SegmentRuns([r for r, _ in done], [s for _, s in done], time.perf_counter() - t0, workers)
