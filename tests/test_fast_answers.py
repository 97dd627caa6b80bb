"""Answers in a second: commands import only what they use, a rerun with nothing new rewrites nothing, tool
probes are remembered per file version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONDITION = """
name: quick
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
data_root: {clips}
frames: {{first: 0, count: 4}}
intra_period: 4
metrics: {{ms_ssim: []}}
codecs:
  - {{descriptor: x264, params: {{preset: ultrafast}}, rate_points: [24, 30, 36, 42]}}
  - {{descriptor: x265, params: {{preset: ultrafast}}, rate_points: [24, 30, 36, 42]}}
anchor: x265
"""
HEAVY = ("torch", "pandas", "matplotlib", "scipy", "numba", "jinja2")


def _modules_after(args: list[str], env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The heavy modules `evaluate.py ARGS` imported, run in a fresh interpreter, and its stdout."""
    code = ("import sys, runpy, json\nsys.argv = ['evaluate.py', *json.loads(sys.argv[1])]\n"
            "try:\n    runpy.run_path('evaluate.py', run_name='__main__')\nexcept SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            f"print('MODULES', json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", code, json.dumps(args)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES "))), done.stdout


@pytest.mark.integration
@pytest.mark.parametrize("args", [["--help"], ["ls"], ["status", "--conditions", "{cond}", "--results", "{results}"],
                                  ["validate", "--conditions", "{cond}"]])
def test_everyday_commands_import_nothing_heavy(args: list[str], tmp_path: Path, clip_dir: Path) -> None:
    cond = tmp_path / "quick.yaml"
    cond.write_text(CONDITION.format(clips=clip_dir))
    args = [a.format(cond=cond, results=tmp_path / "r") for a in args]
    modules, _ = _modules_after(args)
    assert not modules, f"{args[0]} imported {sorted(modules)}"


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
@pytest.mark.integration
def test_a_rerun_with_nothing_to_do_imports_no_torch_and_rewrites_no_report(tmp_path: Path, clip_dir: Path) -> None:
    cond = tmp_path / "quick.yaml"
    cond.write_text(CONDITION.format(clips=clip_dir))
    run = ["run", "--conditions", str(cond), "--results", str(tmp_path / "r"), "--reports", str(tmp_path / "p"),
           "--no-progress"]
    assert main(run) == 0
    reports, results = _files(tmp_path / "p"), _files(tmp_path / "r")
    assert "quick/index.html" in reports and any(f.startswith("quick/figures/") for f in reports)
    modules, out = _modules_after(run)
    assert not modules & {"torch", "pandas", "matplotlib", "numba"}, sorted(modules)
    assert "no record changed since these outputs were written" in out and "x264" in out  # the same answer
    # Not a file rewritten, but the results folder's lock file: each run that takes the folder writes its own
    # name (host, pid, since when) into run.lock, which is what a second run reads to say who holds the folder.
    lock = "quick/run.lock"
    assert lock in results
    assert _files(tmp_path / "p") == reports
    assert {k: v for k, v in _files(tmp_path / "r").items() if k != lock} == {k: v for k, v in results.items() if k != lock}
    # A changed record (here: one deleted, so coded again) rebuilds; --rebuild-outputs rebuilds on demand.
    next((tmp_path / "r" / "quick" / "records" / "x264").rglob("*.json")).unlink()
    assert main(run) == 0
    assert _files(tmp_path / "p")["quick/index.html"] != reports["quick/index.html"]
    again = _files(tmp_path / "p")
    assert main(run) == 0 and _files(tmp_path / "p") == again
    assert main([*run, "--rebuild-outputs", "--no-figures"]) == 0
    assert _files(tmp_path / "p")["quick/index.html"] != again["quick/index.html"]


def test_tool_facts_are_remembered_per_file_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import tools as probes

    monkeypatch.setenv("LVCBENCH_CACHE", str(tmp_path / "cache"))
    probes.forget()
    tool = tmp_path / "encoder"
    tool.write_bytes(b"version 1")
    calls: list[str] = []

    def probe() -> str:
        calls.append("probed")
        return tool.read_text()

    assert probes.remembered("version", [tool], probe) == "version 1"
    probes.forget()  # a new process: read back from the cache file
    assert probes.remembered("version", [tool], probe) == "version 1" and calls == ["probed"]
    tool.write_bytes(b"version 22")  # a new version of the file: probed again
    assert probes.remembered("version", [tool], probe) == "version 22" and calls == ["probed", "probed"]
    import hashlib

    assert probes.tool_sha256(tool) == hashlib.sha256(b"version 22").hexdigest()
    (tmp_path / "cache" / "probes.json").write_text("{damaged")
    probes.forget()
    assert probes.remembered("version", [tool], probe) == "version 22"  # a damaged cache costs a probe only
    probes.forget()
