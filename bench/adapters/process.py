"""Running an external program for an adapter: output kept in a log file and streamed line by line (so a long
encode can report each coded frame), an optional timeout, and one AdapterError with the output's tail when the
program cannot start, dies or runs too long."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from bench.errors import AdapterError


def run_program(argv: list[str], what: str, timeout: float | None, log: Path,
                on_line: Callable[[str], None] | None = None, cwd: Path | None = None,
                env: Mapping[str, str] | None = None, own_group: bool = False) -> str:
    """Run ARGV; return its output (stdout and stderr together), also written to LOG. ON_LINE hears each line
    as it comes. WHAT names the program in errors ("codec vtm: encoder"). OWN_GROUP puts the program in a
    process group of its own so a timeout also kills the worker processes it spawns (the DCVC scripts' pools);
    a single-process encoder stays in ours, so a kill of the whole run reaches it."""
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,  # noqa: S603
                                errors="replace", cwd=cwd, env=dict(env) if env is not None else None,
                                start_new_session=own_group)
    except OSError as e:
        raise AdapterError(f"{what}: cannot run {argv[0]}: {e.strerror or e}") from None
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if on_line is not None:
                on_line(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if own_group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait()
        reader.join(5)
        text = "".join(lines)
        log.write_text(text)
        raise AdapterError(f"{what}: killed after the descriptor's timeout of {timeout:.0f} s", text[-3000:]) from None
    reader.join()
    text = "".join(lines)
    log.write_text(text)
    if proc.returncode != 0:
        last = next((line.strip() for line in reversed(lines) if line.strip()), "no message")
        raise AdapterError(f"{what} failed with exit code {proc.returncode}: {last}", text[-3000:])
    return text


def pinned_gpu_environment(gpu: int, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """BASE (default: our environment) with ``CUDA_VISIBLE_DEVICES`` narrowed to GPU, numbered as this process
    sees the GPUs: a codec's own process then sees that one GPU, as ``cuda:0``, and cannot touch the others
    (torch and its extensions otherwise open a context on GPU 0 whatever device they are given)."""
    env = dict(os.environ if base is None else base)
    visible = [v.strip() for v in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    if "CUDA_VISIBLE_DEVICES" in env and not 0 <= gpu < len(visible):
        raise AdapterError(f"GPU {gpu}: CUDA_VISIBLE_DEVICES={env['CUDA_VISIBLE_DEVICES']!r} lists {len(visible)} "
                           "GPU(s); number --gpus as this process sees them (0 is its first)")
    env["CUDA_VISIBLE_DEVICES"] = visible[gpu] if visible else str(gpu)
    return env


def run_python_snippet(python: str, snippet: str, what: str, cwd: Path | None = None, timeout: float = 600) -> str:
    """Run a few lines with another environment's interpreter (a neural codec's own); return its stdout.
    WHAT names the step in errors ("codec dcvc-hem: reading the checkpoints' q-scales")."""
    try:
        proc = subprocess.run([python, "-c", snippet], capture_output=True, text=True, cwd=cwd,  # noqa: S603
                              timeout=timeout, check=False)
    except OSError as e:
        raise AdapterError(f"{what}: cannot run the interpreter {python}: {e.strerror or e}") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise AdapterError(f"{what} failed in {python}: {last}", proc.stderr[-3000:])
    return proc.stdout
