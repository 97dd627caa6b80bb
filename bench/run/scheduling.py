"""Where jobs run on this machine: ``--jobs`` jobs coding at once (each measured while the next one codes), one
GPU job per GPU at a time, torch's thread pool kept to its share of the cores, and how many cores this process may
use."""


from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Iterator, Mapping

from bench.adapters.base import Adapter
from bench.errors import BenchError


class CodingSlots:
    """At most N CPU jobs coding at once. A job frees its slot when its coding is done (:meth:`coded`), so that
    the next job encodes while it is measured: with ``--jobs 1`` the encoder's core and the measuring's no longer
    take turns. The runner keeps 2 x N jobs in flight, so up to 2 x N may be measuring at a moment when none
    codes, each on its share of the cores; their times are those of a shared machine, which is what a run without
    ``timing: exclusive`` records (that one runs every job alone, without slots)."""

    def __init__(self, n: int) -> None:
        self._free = threading.BoundedSemaphore(max(1, n))
        self._held = threading.local()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for this thread's job, from its start until :meth:`coded` or its end."""
        self._free.acquire()
        self._held.slot = True
        try:
            yield
        finally:
            self.coded()  # if not done already

    def coded(self) -> None:
        """This thread's job has coded: its slot goes to the next job (once)."""
        if getattr(self._held, "slot", False):
            self._held.slot = False
            self._free.release()

    def coding_again(self) -> None:
        """This thread's job codes again (a retry after it measured): wait for a slot as a new job would."""
        if not getattr(self._held, "slot", True):  # held one and freed it
            self._free.acquire()
            self._held.slot = True


class GpuSlots:
    """One job per GPU at a time on the local executor, so a job's GPU time and peak memory are its own.

    With ``--gpus 0,1,3`` a GPU job takes whichever listed GPU is free and is pinned to it (numbered as this
    process sees the GPUs); without, it waits for the device its descriptor names. CPU jobs never wait here."""

    def __init__(self, gpus: tuple[int, ...]) -> None:
        self.gpus = gpus
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for gpu in gpus:
            self._free.put(gpu)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def workers(self, adapters: list[Adapter]) -> int:
        """Threads for the GPU jobs of ADAPTERS: one per GPU they can use."""
        return len(self.gpus) if self.gpus else max(1, len({cuda_device(a) for a in adapters}))

    @contextlib.contextmanager
    def take(self, adapter: Adapter) -> Iterator[int | None]:
        """Wait for a GPU; yield the one pinned (None without ``--gpus``); give it back afterwards."""
        if self.gpus:
            gpu = self._free.get()
            try:
                yield gpu
            finally:
                self._free.put(gpu)
            return
        with self._guard:
            lock = self._locks.setdefault(cuda_device(adapter), threading.Lock())
        with lock:
            yield None


def cuda_device(adapter: Adapter) -> str:
    device = str(adapter.params.get("device", "cuda"))
    return "cuda:0" if device == "cuda" else device  # a fresh process's current device is its first


def limit_torch_threads(adapters: dict[str, Adapter], jobs: int) -> None:
    """Keep torch's thread pool from fighting the jobs that run beside it.

    Jobs run as threads of this process and torch has one pool for all of them: with two jobs on two cores
    and torch's default of one thread per core, four OpenMP workers spin against each other. Measured here:
    one 416x240 RGB MS-SSIM took 54 ms on one thread and 1.3 s on two while an encoder held the other core; a
    random-weight bmshj2018-hyperprior frame took 20-30 s with two in-process jobs on the default pool against
    about 2 s with one thread each. So in-process torch codecs get cores / jobs threads."""
    if not any(a.capabilities.in_process_torch for a in adapters.values()):
        return  # measuring on the CPU uses the suite's kernels, with their own thread budget, not torch
    import torch

    torch.set_num_threads(max(1, available_cores() // max(1, jobs)))


def allocated_gpu(adapter: Adapter, codec: str, environ: Mapping[str, str] | None = None) -> int | None:
    """The GPU a cluster job of ADAPTER is pinned to: the first of those SLURM gave it (0: numbered as this
    process sees them, after the ``CUDA_VISIBLE_DEVICES`` SLURM set), as ``--gpus`` pins a local job; None for a
    CPU codec. A GPU codec in a job given no GPU is refused here, naming the option that asks for one."""
    if not adapter.uses_gpu():
        return None
    env = os.environ if environ is None else environ
    # SLURM writes NoDevFiles, and -1 hides every GPU: neither is a GPU to run on.
    if not [v for v in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip() not in ("", "NoDevFiles", "-1")]:
        raise BenchError(f"codec {codec} runs on {adapter.params.get('device')} (params.device) but its cluster "
                         "job was given no GPU (no CUDA_VISIBLE_DEVICES): set resources.gpus to 1 or more")
    return 0


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity, and within a SLURM allocation no more than the job's
    SLURM_CPUS_PER_TASK (a SLURM without task affinity or cgroups leaves the affinity at the whole node)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    given = os.environ.get("SLURM_CPUS_PER_TASK", "")
    return max(1, min(cores, int(given))) if given.isdigit() and int(given) > 0 else cores
