"""The frames every metric sees: source and decoded frames in the measured domain, read ahead in batches.

The measured domain is the source's own format at its original size (padding cropped away, the condition's
crop applied to both). Per-frame measures get :class:`~bench.metrics.backends.FrameBatch` es from
:meth:`MeasuredSequence.batches`: a reading thread reads, crops, converts and (for a GPU) uploads the next
frames while the current ones are measured, and holds at most ``READ_AHEAD`` batches, so memory stays flat in
the number of frames. Sequence-scope measures that run an external filter get the same frames written as raw
YUV files (:meth:`MeasuredSequence.yuv_files`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bench.metrics.backends import Backend, FrameBatch
from bench.video.colour import ColourSpec, convert
from bench.video.formats import PixelFormat, Planes, make_format
from bench.video.io import RawVideoWriter

READ_AHEAD = 2  # batches waiting beside the one being measured


@dataclass
class MeasuredSequence:
    """The frame pairs of one job in the measured domain, readable as often as measures need them."""

    fmt: PixelFormat  # the source format
    width: int  # measured size
    height: int
    fps: float
    count: int
    colour: ColourSpec
    work_dir: Path  # scratch space for sequence-scope measures (removed by the caller)
    pairs: Callable[[], Iterator[tuple[Planes, Planes]]]  # (source frame, decoded frame) in ``fmt``
    _yuv_files: tuple[Path, Path, PixelFormat] | None = field(default=None, repr=False)

    @property
    def bit_depth(self) -> int:
        return self.fmt.bit_depth

    def batches(self, backend: Backend, families: set[str]) -> Iterator[FrameBatch]:
        """The frame pairs in batches on BACKEND, with the colour FAMILIES the measures need converted, read and
        prepared on another thread ahead of the caller."""

        def produce() -> Iterator[FrameBatch]:
            pending: list[tuple[Planes, Planes]] = []
            for pair in self.pairs():
                pending.append(pair)
                if len(pending) == backend.batch_frames:
                    yield self._prepared(backend, pending, families)
                    pending = []
            if pending:
                yield self._prepared(backend, pending, families)

        return read_ahead(produce(), READ_AHEAD)

    def _prepared(self, backend: Backend, pairs: list[tuple[Planes, Planes]], families: set[str]) -> FrameBatch:
        batch = backend.batch(pairs, self.fmt, self.colour)
        batch.prepare(families)
        return batch

    def yuv_format(self) -> PixelFormat:
        """The YUV format external filters see: the source format, or YUV 4:4:4 for RGB sources."""
        return self.fmt if self.fmt.family == "yuv" else make_format("yuv", "444", self.fmt.bit_depth)

    def yuv_files(self) -> tuple[Path, Path, PixelFormat]:
        """(reference file, decoded file, their format): raw YUV in the measured domain, written once."""
        if self._yuv_files is None:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            ref_path, dec_path = self.work_dir / "reference.yuv", self.work_dir / "decoded.yuv"
            fmt = self.yuv_format()
            with RawVideoWriter(ref_path, fmt) as ref_out, RawVideoWriter(dec_path, fmt) as dec_out:
                for ref, dec in self.pairs():
                    ref_out.write(convert(ref, self.fmt, fmt, self.colour))
                    dec_out.write(convert(dec, self.fmt, fmt, self.colour))
            self._yuv_files = (ref_path, dec_path, fmt)
        return self._yuv_files


class _Done:
    """The reading thread's last item when ITEMS ran out (a class of its own, so the queue's type says it)."""


_DONE = _Done()
_Item = TypeVar("_Item")


def read_ahead(items: Iterator[_Item], depth: int) -> Iterator[_Item]:
    """Iterate ITEMS on a background thread, at most DEPTH ahead of the caller. An error there is raised here; a
    caller that stops early stops the thread."""
    q: queue.Queue[_Item | BaseException | _Done] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    thread = threading.Thread(target=_read_into, args=(items, q, stop), name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if isinstance(item, _Done):
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _read_into(items: Iterator[_Item], q: queue.Queue[_Item | BaseException | _Done], stop: threading.Event) -> None:
    """The reading thread: put every item of ITEMS on Q, then _DONE, or instead the error that ended ITEMS;
    return, reading no further, at the first put that finds STOP set."""
    try:
        for item in items:
            if not _put_unless_stopped(q, item, stop):
                return
    except BaseException as e:  # handed to the consumer, raised there
        _put_unless_stopped(q, e, stop)
        return
    _put_unless_stopped(q, _DONE, stop)


def _put_unless_stopped(q: queue.Queue[_Item | BaseException | _Done], item: _Item | BaseException | _Done,
                        stop: threading.Event) -> bool:
    """Put ITEM on Q, waiting while Q is full, but only in short steps: False, and ITEM dropped, once STOP is set
    (a consumer that stopped early takes nothing more)."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
