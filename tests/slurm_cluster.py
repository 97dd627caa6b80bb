"""A real one-node SLURM cluster for the tests (Debian's slurm-wlm and munge), started by hand in a temporary
folder: its own munge key and ``munged`` socket, a slurm.conf naming this machine with the CPUs and memory that
``slurmd -C`` reports, ``slurmctld`` and ``slurmd`` on free ports, every state, spool, pid and log file inside
the folder. Nothing of the machine's own SLURM or munge set-up (/etc/slurm, /run/munge) is read or touched.

Clients find the cluster through ``SLURM_CONF`` alone (the munge socket is named in slurm.conf's
``AuthInfo=socket=...``): apply :attr:`SlurmCluster.env` to the environment of whatever calls sbatch, squeue,
scancel or sinfo (submitit calls them as subprocesses, so ``monkeypatch.setenv`` is enough).

Two partitions: ``debug`` (the default, no time limit) and ``short`` (MaxTime 10 minutes, so that a job asking
for more stays pending with reason ``PartitionTimeLimit``). There is no accounting (no slurmdbd, which needs a
database): ``sacct`` answers "Slurm accounting storage is disabled" with exit status 1, as on a cluster without it.
Jobs are scheduled per core (select/cons_tres, CR_Core), so several 1-CPU jobs run at once; no cgroups. The node
has two GPUs as SLURM sees them (``Gres=gpu:2``), stand-in device files in the folder: a job asking for one is
given one and its ``CUDA_VISIBLE_DEVICES`` as on a real GPU node, though no CUDA device is behind it.

Use it from a test module with ``from slurm_cluster import slurm  # noqa: F401`` and mark the tests
``@pytest.mark.slurm``. The fixture skips, naming why, where the programs are missing, where this user cannot run
the daemons, or where they do not come up within 30 s (with the last lines of their logs).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PROGRAMS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo", "scontrol")
PARTITIONS = {"debug": None, "short": 10}  # name -> MaxTime in minutes (None: unlimited); the first is the default
START_TIMEOUT_S = 30.0
FAKE_GPUS = 2  # character devices standing for GPUs: SLURM counts, numbers and hands them out; nothing opens them
INSTALL = "install Debian's slurm-wlm and munge: .ci/run does (apt-get install slurm-wlm munge)"


@dataclass
class SlurmCluster:
    """A running one-node cluster: where its files are and how a client reaches it."""

    root: Path
    conf: Path
    node: str
    cpus: int
    memory_mb: int
    partitions: dict[str, int | None] = field(default_factory=lambda: dict(PARTITIONS))
    start_s: float = 0.0  # from starting munged to the node idle in sinfo

    @property
    def gpus(self) -> int:
        """How many (stand-in) GPUs the node has: FAKE_GPUS, or 0 where they could not be made."""
        return FAKE_GPUS if (self.root / "gres.conf").exists() else 0

    @property
    def env(self) -> dict[str, str]:
        """What a client's environment needs (on top of the current one) to talk to this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def client(self, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a SLURM client program (sbatch, squeue, scancel, scontrol, sacct ...) against this cluster, from its
        folder (where ``sbatch --wrap`` leaves its slurm-N.out, not the folder the tests were started from)."""
        return subprocess.run(list(args), env={**os.environ, **self.env}, capture_output=True, text=True,  # noqa: S603
                              check=check, timeout=timeout, cwd=self.root)

    def squeue(self, *args: str) -> list[dict[str, str]]:
        """The cluster's jobs, array tasks one per row (``-r``): id, state, reason, partition, time limit.
        ARGS are added to the call (e.g. ``"-t", "all"`` to see jobs that ended less than MinJobAge ago)."""
        out = self.client("squeue", "-h", "-r", "-o", "%i|%T|%r|%P|%l", *args).stdout
        names = ("id", "state", "reason", "partition", "time_limit")
        return [dict(zip(names, line.split("|"), strict=True)) for line in out.splitlines() if line.strip()]

    def sinfo(self) -> list[dict[str, str]]:
        """One row per node and partition: partition (default one starred), state, time limit."""
        out = self.client("sinfo", "-h", "-N", "-o", "%P|%T|%l").stdout
        names = ("partition", "state", "time_limit")
        return [dict(zip(names, line.split("|"), strict=True)) for line in out.splitlines() if line.strip()]

    def wait_state(self, job_id: str, states: set[str], timeout: float) -> dict[str, str]:
        """Wait until the job (or array task) JOB_ID is in one of STATES; its squeue row. Fails after TIMEOUT s."""
        deadline = time.monotonic() + timeout
        rows: list[dict[str, str]] = []
        while time.monotonic() < deadline:
            rows = [r for r in self.squeue("-t", "all") if r["id"] == job_id]
            if rows and rows[0]["state"] in states:
                return rows[0]
            time.sleep(0.5)
        pytest.fail(f"SLURM job {job_id} not in {sorted(states)} after {timeout:.0f} s: {rows}")

    def log_tail(self, lines: int = 8) -> str:
        """The last LINES lines of each daemon's log, for a skip or failure message."""
        parts = []
        for log in sorted((self.root / "log").glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name}:\n" + "\n".join(tail))
        return "\n".join(parts)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _node_hardware() -> tuple[int, int]:
    """CPUs and RealMemory (MiB) as slurmd itself sees this machine: a node configured with more would be drained."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True, timeout=30).stdout
    fields = dict(f.split("=", 1) for f in out.split() if "=" in f)
    return int(fields["CPUs"]), int(fields["RealMemory"])


def _fake_gpus(root: Path) -> bool:
    """Make ROOT/gpu0, gpu1 ...: character devices with the numbers of /dev/null (SLURM's gres/gpu plugin sets a
    job's CUDA_VISIBLE_DEVICES only for GPUs that are device files). False where this user may not (no
    CAP_MKNOD): the cluster then has no GPUs, and the tests that need them skip."""
    null = os.stat("/dev/null").st_rdev
    try:
        for i in range(FAKE_GPUS):
            os.mknod(root / f"gpu{i}", 0o666 | stat.S_IFCHR, null)
    except OSError:
        return False
    return True


def _write_conf(root: Path, node: str, cpus: int, memory_mb: int) -> Path:
    ctld_port = _free_port()
    slurmd_port = _free_port()
    while slurmd_port == ctld_port:
        slurmd_port = _free_port()
    user = "root" if os.geteuid() == 0 else os.environ.get("USER", "root")
    parts = []
    for i, (name, max_min) in enumerate(PARTITIONS.items()):
        parts.append(f"PartitionName={name} Nodes={node} Default={'YES' if i == 0 else 'NO'} "
                     f"MaxTime={'UNLIMITED' if max_min is None else max_min} State=UP")
    gres = ""
    if _fake_gpus(root):
        (root / "gres.conf").write_text(f"NodeName={node} Name=gpu File={root}/gpu[0-{FAKE_GPUS - 1}]\n")
        gres = f" Gres=gpu:{FAKE_GPUS}"
    conf = root / "slurm.conf"
    conf.write_text(f"""# a one-node test cluster, written by tests/slurm_cluster.py
ClusterName=lvcbench-test
SlurmctldHost={node}(127.0.0.1)
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root / "munge" / "munge.socket"}
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
StateSaveLocation={root / "state"}
SlurmdSpoolDir={root / "spool"}
SlurmctldPidFile={root / "slurmctld.pid"}
SlurmdPidFile={root / "slurmd.pid"}
SlurmctldLogFile={root / "log" / "slurmctld.log"}
SlurmdLogFile={root / "log" / "slurmd.log"}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
MinJobAge=10
InactiveLimit=0
KillWait=5
SlurmctldTimeout=30
SlurmdTimeout=30
{"GresTypes=gpu" if gres else ""}
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb}{gres} State=UNKNOWN
""" + "\n".join(parts) + "\n")
    return conf


def _start(cluster: SlurmCluster) -> str | None:
    """Start munged, slurmctld and slurmd; None once sinfo shows the node idle, else why not."""
    root = cluster.root
    munge = root / "munge"
    env = {**os.environ, **cluster.env}
    steps = [
        ["mungekey", "--create", f"--keyfile={munge / 'munge.key'}"],
        ["munged", f"--socket={munge / 'munge.socket'}", f"--key-file={munge / 'munge.key'}",
         f"--pid-file={munge / 'munged.pid'}", f"--log-file={root / 'log' / 'munged.log'}",
         f"--seed-file={munge / 'munged.seed'}"],
        ["slurmctld", "-f", str(cluster.conf)],
        ["slurmd", "-f", str(cluster.conf)],
    ]
    for cmd in steps:  # each daemon forks and writes its pid file; a non-zero status is a start that failed
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)  # noqa: S603
        if done.returncode:
            return f"{cmd[0]} exited with status {done.returncode}: {(done.stderr or done.stdout).strip()[-400:]}"
    deadline = time.monotonic() + START_TIMEOUT_S
    states: list[str] = []
    while time.monotonic() < deadline:
        try:
            states = [r["state"] for r in cluster.sinfo()]
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            states = []
        if states and all(s == "idle" for s in states):
            return None
        time.sleep(0.25)
    return f"the node is not idle after {START_TIMEOUT_S:.0f} s (sinfo: {states or 'no answer'})"


def _stop(cluster: SlurmCluster) -> None:
    """Cancel every job, then end the daemons by their pid files, waiting for each to be gone."""
    if (cluster.root / "slurmctld.pid").exists():
        try:
            cluster.client("scancel", "--user", pwd.getpwuid(os.geteuid()).pw_name, check=False, timeout=10)
            deadline = time.monotonic() + 15  # slurmd kills each job's processes (KillWait=5 after SIGTERM)
            while cluster.squeue() and time.monotonic() < deadline:
                time.sleep(0.5)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
            pass  # the controller is not answering: nothing more can be cancelled through it
    for pid_file in ("slurmd.pid", "slurmctld.pid", "munge/munged.pid"):
        path = cluster.root / pid_file
        try:
            pid = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        _end(pid)


def _end(pid: int) -> None:
    """SIGTERM the daemon PID, SIGKILL it if it is still there after 10 s."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
                stat = Path(f"/proc/{pid}/stat")
                if stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    return  # a zombie nobody reaps in a container: gone for our purposes
            except (ProcessLookupError, OSError):
                return
            time.sleep(0.1)


def _why_not() -> str | None:
    """Why no cluster can be started here, or None."""
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if missing:
        return f"SLURM test cluster: {', '.join(missing)} not found; {INSTALL}"
    if os.geteuid() != 0:
        return ("SLURM test cluster: not root; slurmd must run as root to start jobs as their user (run the "
                "slurm tests as root, e.g. in .ci/run's container)")
    return None


@pytest.fixture(scope="session")
def slurm() -> Iterator[SlurmCluster]:
    """A one-node SLURM cluster for the whole test session, torn down at its end (or on a start that failed)."""
    why = _why_not()
    if why:
        pytest.skip(why)
    # munged wants every folder above its socket searchable by all, which pytest's 0700 tmp folders are not.
    root = Path(tempfile.mkdtemp(prefix="lvcbench-slurm-"))
    cluster = None
    try:
        root.chmod(0o755)
        for sub in ("munge", "state", "spool", "log"):
            (root / sub).mkdir(mode=0o755)
        cpus, memory_mb = _node_hardware()
        node = socket.gethostname().split(".")[0]
        cluster = SlurmCluster(root, _write_conf(root, node, cpus, memory_mb), node, cpus, memory_mb)
        started = time.monotonic()
        failure = _start(cluster)
        if failure:
            pytest.skip(f"SLURM test cluster did not come up: {failure}\n{cluster.log_tail()}")
        cluster.start_s = time.monotonic() - started
        yield cluster
    finally:
        if cluster is not None:
            _stop(cluster)
        shutil.rmtree(root, ignore_errors=True)
