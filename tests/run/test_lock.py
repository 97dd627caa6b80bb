"""One writer per results folder: a second run on it is refused naming the holder, or waits with --wait; a run
killed with SIGKILL blocks nobody. Real ``evaluate.py`` processes; the encodes are counted by a logging wrapper
around the real ffmpeg (LVCBENCH_FFMPEG), independently of what the runs say."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, group_gone, wait_until
from test_interrupts import JOBS, half_written, slow_condition, start_run, statuses

from bench.run.runlock import FolderInUse, holding


@pytest.fixture()
def counted(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose ffmpeg logs every launch, and the log."""
    from bench.tools import ffmpeg_exe

    log = tmp_path / "launches.log"
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {ffmpeg_exe()} "$@"\n')
    wrapper.chmod(0o755)
    return {**os.environ, "LVCBENCH_FFMPEG": str(wrapper)}, log


def encodes(log: Path, results: Path) -> int:
    """x264 encodes of jobs into RESULTS (not the probes of the encoder's identity)."""
    lines = log.read_text().splitlines() if log.exists() else []
    return sum(" -c:v libx264 " in f" {line} " and str(results) in line for line in lines)


def quick_condition(tmp_path: Path, clip_dir: Path) -> Path:
    """One x264 job per rate point on a 96x64 clip of 4 frames: a run of a second or two."""
    path = tmp_path / "quick.yaml"
    path.write_text(f"""
name: quick
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
data_root: {clip_dir}
frames: {{first: 0, count: 4}}
intra_period: 4
metrics: {{ms_ssim: []}}
codecs:
  - {{descriptor: x264, params: {{preset: ultrafast}}, rate_points: [24, 36]}}
""")
    return path


def holder_is(results: Path, pid: int) -> bool:
    try:
        return json.loads((results / "slow" / "run.lock").read_text())["pid"] == pid
    except (OSError, ValueError, KeyError):
        return False


def second_run(cond: Path, results: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(REPO / "evaluate.py"), "--conditions", str(cond), "--results", str(results),
           "--reports", str(results.parent / "reports2"), "--no-progress", "--no-figures", "--jobs", "2", *extra]
    return subprocess.run(cmd, cwd=results.parent, capture_output=True, text=True, env=env, timeout=120)  # noqa: S603


@pytest.mark.slow
@pytest.mark.integration
def test_a_second_run_is_refused_naming_the_holder(tmp_path: Path, demo_dir: Path,
                                                   counted: tuple[dict[str, str], Path]) -> None:
    env, log = counted
    cond, results = slow_condition(tmp_path, demo_dir), tmp_path / "results"
    first = start_run(cond, results, env=env)
    wait_until(lambda: holder_is(results, first.pid), 60, "the first run to hold the folder")
    t0 = time.monotonic()
    second = second_run(cond, results, env)
    assert second.returncode == 2 and time.monotonic() - t0 < 30, second.stderr
    err = second.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {results / 'slow'}: in use by another `run`"), err
    assert f"pid {first.pid}" in err and f"host {socket.gethostname()}" in err and "--wait" in err, err
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert statuses(results) == ["ok"] * JOBS
    assert encodes(log, results) == JOBS  # one encode per job: the refused run coded nothing


@pytest.mark.slow
@pytest.mark.integration
def test_wait_waits_for_the_holder_then_finds_its_work_done(tmp_path: Path, demo_dir: Path,
                                                            counted: tuple[dict[str, str], Path]) -> None:
    env, log = counted
    cond, results = slow_condition(tmp_path, demo_dir), tmp_path / "results"
    first = start_run(cond, results, env=env)
    wait_until(lambda: holder_is(results, first.pid), 60, "the first run to hold the folder")
    second = second_run(cond, results, env, "--wait")
    first.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert f"in use by another `run` (host {socket.gethostname()}, pid {first.pid}" in second.stderr
    assert "waiting for it to end (--wait)" in second.stderr
    assert f"slow: {JOBS} jobs, 0 coded, {JOBS} already recorded, 0 failed" in second.stdout, second.stdout
    assert encodes(log, results) == JOBS


@pytest.mark.slow
@pytest.mark.integration
def test_the_lock_of_a_killed_run_blocks_nobody(tmp_path: Path, demo_dir: Path) -> None:
    """Only the run is killed (SIGKILL, as the OOM killer would), so its encoders live on, orphaned, holding
    whatever they inherited from it: the lock must not be among that, or the next run would be refused until
    they end. Here the job encodes are wrappers that sleep (standing in for a long encode) and never code."""
    from bench.tools import ffmpeg_exe

    log, lingering = tmp_path / "launches.log", tmp_path / "lingering-ffmpeg"
    lingering.write_text(f"""#!/bin/sh
echo "$*" >> {log}
case "$*" in */work/*) sleep 120; exit 1;; esac
exec {ffmpeg_exe()} "$@"
""")
    lingering.chmod(0o755)
    cond, results = slow_condition(tmp_path, demo_dir), tmp_path / "results"
    first = start_run(cond, results, env={**os.environ, "LVCBENCH_FFMPEG": str(lingering)})
    try:
        wait_until(lambda: encodes(log, results) >= 2, 60, "two job encodes in flight")  # --jobs 2
        os.kill(first.pid, signal.SIGKILL)  # the run alone: nothing of it releases the lock
        first.communicate()
        assert holder_is(results, first.pid)  # its name is still in the lock file
        assert not group_gone(first.pid), "the killed run's encoders should still run"
        second = second_run(cond, results, dict(os.environ))  # the real ffmpeg
        assert second.returncode == 0, second.stderr
        assert not group_gone(first.pid), "the orphaned encoders ended before the second run took the folder"
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the orphaned wrappers' sleeps
    assert f"{JOBS} coded" in second.stdout and "0 failed" in second.stdout, second.stdout
    assert statuses(results) == ["ok"] * JOBS and half_written(results) == []


@pytest.mark.integration
def test_remeasure_is_refused_while_a_process_holds_the_folder(tmp_path: Path, demo_dir: Path) -> None:
    """The lock is the operating system's: a holder in this process keeps out a remeasure in another one, and
    is re-entered (not refused) by this process itself."""
    cond, results = slow_condition(tmp_path, demo_dir), tmp_path / "results"
    with holding(results / "slow", "run"):
        with holding(results / "slow", "run"):  # the command holds it and run_condition takes it again
            pass
        done = subprocess.run([sys.executable, str(REPO / "evaluate.py"), "remeasure", "--conditions", str(cond),  # noqa: S603
                               "--results", str(results), "--no-progress"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and f"in use by another `run` (host {socket.gethostname()}, pid {os.getpid()}" \
            in done.stderr, done.stderr
    other = holding(results / "slow", "remeasure")
    with other:  # released when the holder left: taken at once
        pass
    with pytest.raises(FolderInUse):  # a second open file of the same process is refused like another process
        fd = os.open(results / "slow" / "run.lock", os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            with holding(results / "slow", "run"):
                pass
        finally:
            os.close(fd)


@pytest.mark.parametrize("code", [errno.ENOLCK, errno.EBADF, errno.EOPNOTSUPP])
def test_a_file_system_that_cannot_lock_gets_a_warning_and_the_run_goes_on(
        tmp_path: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        code: int) -> None:
    """flock failing as it does on NFS mounted without lockd (ENOLCK), on a file open read-only there (EBADF),
    or on a file system without locks (EOPNOTSUPP): one warning naming the folder, and the run codes its jobs."""
    from bench.cli import main

    def no_flock(fd: int, operation: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fcntl, "flock", no_flock)
    cond = quick_condition(tmp_path, clip_dir)
    args = ["run", "--conditions", str(cond), "--results", str(tmp_path / "r"), "--reports", str(tmp_path / "p"),
            "--no-progress", "--no-figures"]
    assert main(args) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: {tmp_path / 'r' / 'quick'}: this file system does not lock files "
                        f"({os.strerror(code)}); nothing keeps a second run out of this folder, so run one at a "
                        "time (README: results folders on network file systems)"], err
    records = list((tmp_path / "r" / "quick" / "records").glob("*/*/*.json"))
    assert len(records) == 2 and {json.loads(p.read_text())["status"] for p in records} == {"ok"}


def test_another_users_lock_file_on_nfs_gets_a_warning_saying_what_to_do(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """run.lock made by another user: the read-write open is refused (EACCES), the read-only one works, and NFS
    then refuses the exclusive lock (EBADF: it locks only files open for writing)."""
    folder = tmp_path / "r" / "slow"
    folder.mkdir(parents=True)
    (folder / "run.lock").write_text("{}")
    real_open, real_flock = os.open, fcntl.flock
    opened: list[int] = []

    def as_other_user(path: object, flags: int, *args: object, **kw: object) -> int:
        if str(path).endswith("run.lock") and flags & os.O_RDWR:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        fd = real_open(path, flags, *args, **kw)  # type: ignore[arg-type]
        opened.append(flags & os.O_ACCMODE)
        return fd

    def nfs_flock(fd: int, operation: int) -> None:
        if os.fstat(fd).st_ino == (folder / "run.lock").stat().st_ino:
            raise OSError(errno.EBADF, "Bad file descriptor")
        real_flock(fd, operation)

    monkeypatch.setattr(os, "open", as_other_user)
    monkeypatch.setattr(fcntl, "flock", nfs_flock)
    notes: list[str] = []
    with holding(folder, "run", note=notes.append):
        entered = True
    assert entered and opened == [os.O_RDONLY]
    assert notes == [f"warning: {folder}: {folder / 'run.lock'} is not writable by this user (another user's?) and "
                     "this file system locks only files it can write (Bad file descriptor); make it writable (chmod "
                     "a+w) or remove it; nothing keeps a second run out of this folder, so run one at a time (README: "
                     "results folders on network file systems)"]
    assert (folder / "run.lock").read_text() == "{}"  # not its own to write


@pytest.mark.integration
def test_a_lock_file_that_is_a_symlink_loop_is_one_line(tmp_path: Path, demo_dir: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    from bench.cli import main

    cond, results = slow_condition(tmp_path, demo_dir), tmp_path / "results"
    (results / "slow").mkdir(parents=True)
    (results / "slow" / "run.lock").symlink_to("run.lock")  # itself: ELOOP
    assert main(["remeasure", "--conditions", str(cond), "--results", str(results), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: {results / 'slow' / 'run.lock'}: a symbolic link, where the results folder's lock file "
                   "should be; remove it (a run makes it again)"), err


@pytest.mark.integration
def test_migrate_is_refused_while_a_run_holds_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """migrate rewrites the records a run writes: not while one holds the folder (another process here)."""
    from bench.cli import main

    folder = tmp_path / "results" / "slow"
    (folder / "records").mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"  # noqa: S603
                               "from bench.run.runlock import holding\nwith holding(Path(sys.argv[1]), 'run'):\n"
                               "    print('held', flush=True)\n    time.sleep(60)\n", str(folder)],
                              cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert main(["migrate", str(folder)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: {folder}: in use by another `run` (host {socket.gethostname()}, pid "
                              f"{holder.pid}") and err.endswith("wait for it to end, then run this again"), err
    finally:
        holder.kill()
        holder.communicate()
    assert main(["migrate", str(folder)]) == 0  # released with its holder
