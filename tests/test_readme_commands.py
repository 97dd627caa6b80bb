"""The README is a test: every command of the fenced blocks of README.md and of examples/**/*.md is classified in
TABLE below (run as written, narrowed, or skipped with the reason), and the runnable ones run, in document
order, from a fresh copy of the repository with the default relative folders (results/, reports/ inside it).

A command that is new or changed in a document and not in TABLE fails ``test_every_readme_command_is_classified``
(in milliseconds), which says how to add it: documenting a command forces a decision about testing it.
``test_readme_commands_run`` runs them (about 50 CPU-s: 55 to 90 s on the shared 2-core machine): exit status 0 (or the one TABLE
documents), the output lines and files the document promises; else the failure shows the command, its id
(file:line) and the last 20 lines of its output. ``pytest -s`` prints the summary, "README commands: N run as
written, M narrowed, K skipped" with the reason of each skip, the time of each command and what each narrowed
one ran as; the same text is written to ``readme_commands_summary.txt`` in the test's folder.

A narrowed command is never a second copy of the command: what runs is derived from the text the document
shows, by options appended at its end (``--frames 2`` for a quick look, whose results go to
``results/<name>.first2...``) and by named substitutions (old text -> new text), each of whose old text must
occur exactly once in the written command, so that a changed command fails loudly instead of a stand-in running
on. The substitutions: ``/data/...`` data roots -> stand-ins named and sized as the README's list of the standard
test sets gives them (sparse files: the first frames a moving picture, the rest a hole), checked with
``validate``; ``results/demo`` -> the narrowed demo's folder; ``[--option ...]`` documentation of options ->
each alternative it offers (checked to be one of them, every alternative run once) or nothing; a user's file
(``theirs.json``) -> a producer's file as shipped; ``pip install -e`` of a plug-in -> an install into a private
folder on PYTHONPATH, so that the shared environment never changes.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from readme_commands import Command, all_commands, listed_files, normalise, write_standins

REPO = Path(__file__).resolve().parent.parent
TABLE_FILE = "tests/test_readme_commands.py"
_OPTION_GROUP = re.compile(r"\[[^\[\]]+\]")  # `[--method pchip|akima|cubic]` in a written command


@dataclass(frozen=True)
class Narrowing:
    """One run standing in for a written command: SUBS, (old, new) pairs applied in order, each old text
    occurring exactly once in the command as it stands then; and APPEND, options added at its end."""

    subs: tuple[tuple[str, str], ...] = ()
    append: str = ""

    def apply(self, written: str) -> str:
        text = written
        for old, new in self.subs:
            found = text.count(old)
            assert found == 1, (
                f"TABLE in {TABLE_FILE}: the narrowing of `{written}` replaces `{old}`, which occurs {found} times in "
                f"it{' (after the substitutions before it)' if text != written else ''}: the document changed; "
                "change the narrowing with it")
            text = text.replace(old, new)
        return normalise(f"{text} {self.append}")


def alternatives(group: str) -> list[str]:
    """What a documented ``[...]`` option group offers: ``[--metric x]`` one option, ``[--a 1 | --b 2]`` either,
    ``[--method p|q|r]`` the option with each value."""
    out = []
    for alternative in group.strip("[]").split(" | "):
        words = alternative.split()
        if words and "|" in words[-1]:
            out += [" ".join(words[:-1] + [value]) for value in words[-1].split("|")]
        else:
            out.append(" ".join(words))
    return out


def options(groups: tuple[str, ...], *chosen: str) -> tuple[tuple[str, str], ...]:
    """Substitutions writing out the documented option GROUPS: for each, the CHOSEN alternative it offers, or
    nothing; every chosen text must be an alternative of one group."""
    subs, left = [], list(chosen)
    for group in groups:
        mine = [c for c in left if c in alternatives(group)]
        assert len(mine) <= 1, f"TABLE: {mine} are alternatives of one option group {group}: choose one"
        subs.append((group, mine[0] if mine else ""))
        left = [c for c in left if c not in mine]
    assert not left, f"TABLE: {left} is an alternative of none of {groups}"
    return tuple(subs)


@dataclass(frozen=True)
class Decision:
    """What the test does with a command. KIND: run | narrowed | skipped. RUNS: what runs instead of the
    command as written (narrowed: each derived from the written text; ``{data}`` is the stand-in data folder,
    ``{site}`` the private folder plug-ins are installed into, on PYTHONPATH for every command). CHANGE: what
    narrowing changed and why, or why it is skipped. EXIT: the documented exit status. EXPECT: text its output
    must hold; EXPECT_LINES: lines it must print exactly (leading and trailing blanks aside); PRODUCES: paths,
    relative to the copy's root, it must leave (the document says where its outputs go)."""

    kind: str
    change: str = ""
    runs: tuple[Narrowing, ...] = ()
    exit: int = 0
    expect: tuple[str, ...] = ()
    expect_lines: tuple[str, ...] = ()
    produces: tuple[str, ...] = ()

    def texts(self, written: str) -> list[str]:
        """The commands that run for the WRITTEN one: itself, or what its narrowings derive from it."""
        return [n.apply(written) for n in self.runs] if self.kind == "narrowed" else [written]


def run(expect: tuple[str, ...] = (), expect_lines: tuple[str, ...] = (), produces: tuple[str, ...] = ()) -> Decision:
    return Decision("run", expect=expect, expect_lines=expect_lines, produces=produces)


def narrowed(change: str, *runs: Narrowing, expect: tuple[str, ...] = (), produces: tuple[str, ...] = ()) -> Decision:
    return Decision("narrowed", change, runs, expect=expect, produces=produces)


def skipped(reason: str) -> Decision:
    return Decision("skipped", reason)


VENV = "installs the virtual environment (CI's .ci/run does so from a clean clone, then runs the tests)"
SUITE = "the whole test suite, this test included (CI's .ci/run runs it)"
FULL_RUNS = ("needs the result folders of full runs on the standard test sets this machine does not have, and "
             "the user's own result files (DCVC-FM output, VTM logs)")
FRAMES2 = "--frames 2 appended (a quick look: results/<name>.first2, reports/<name>.first2)"
STANDINS = ("the data root replaced by stand-ins ({data}/...: every file of the README's list, named and sized "
            "as listed, sparse)")
QUICK = "--frames 2 --sequences HopperPan --no-figures"
EXAMPLE = (f"{QUICK} appended: 2 of 8 frames of one of 2 sequences (results/<name>.first2.seq-HopperPan); no "
           "paper figures (they cost about 20 CPU-s a run; the demo above draws them and the test checks they are "
           "there)")
DEMO = "demo.first2"  # where `--frames 2` puts the demo's results and report
BD_OPTIONS = ("[--metric psnr_yuv_611]", "[--method pchip|akima|cubic]", "[--kind rate|quality]",
              "[--repair upper_hull]", "[--min-points 4]", "[--min-overlap 0.5]",
              "[--rate-points 22,27,32,37 | --rate-exclude 37]", "[--out reports/bd]")
IMPORT_OPTIONS = ("[--dataset uvg | --size 1920x1080 --fps 120]",)
# A producer's file as shipped (CompressAI's UVG-1080p x265 curve) for the user's `theirs.json`.
THEIRS = ("theirs.json", "tests/data/compressai-results/video/UVG-1080p/x265-medium-tune-zerolatency.json")
TO_DEMO = ("results/demo", f"results/{DEMO}")

TABLE: dict[str, Decision] = {
    # README: Quick start
    "python3 -m venv .venv": skipped(VENV),
    ".venv/bin/pip install -e .": skipped(VENV),
    ".venv/bin/python evaluate.py --conditions conditions/demo.yaml": narrowed(
        FRAMES2, Narrowing(append="--frames 2"),
        expect=(f"reports/{DEMO}/index.html",),
        produces=tuple(f"reports/{DEMO}/{p}" for p in ("index.html", "figures", "tables", "data"))
        + tuple(f"results/{DEMO}/{p}" for p in ("records", "bitstreams", "summary.csv", "frames.csv"))),
    '.venv/bin/pip install -e ".[test]"': skipped(VENV),
    ".venv/bin/python -m pytest -q": skipped(SUITE),
    'python -m pytest -q -m "not slow"': skipped("most of the whole test suite, this test included (CI's .ci/run "
                                                 "runs all of it)"),
    "python -m ruff check bench tests benchmarks examples": run(),
    "python -m mypy": skipped("CI's .ci/run runs it (about 40 s)"),
    # README: Running on the standard test sets
    "python evaluate.py --conditions conditions/hevc_b_ip32.yaml --data-root /data/HEVC_CTC --jobs 2": narrowed(
        "checked with validate (every file found and checked, nothing coded: 16 jobs of 1080p would take this "
        f"test's whole budget), --jobs 2 left out (validate runs no jobs), {FRAMES2}, {STANDINS}",
        Narrowing((("evaluate.py --conditions", "evaluate.py validate --conditions"),
                   ("/data/HEVC_CTC", "{data}/HEVC_CTC"), (" --jobs 2", "")), append="--frames 2"),
        expect=("hevc_b_ip32.first2: 5 sequences",)),
    "python evaluate.py validate --conditions conditions/uvg_ip32_96f.yaml --data-root /data/UVG": narrowed(
        f"--frames 2 appended (2 frames of each 1.9 GB file hashed, not 96), {STANDINS}",
        Narrowing((("/data/UVG", "{data}/UVG"),), append="--frames 2"),
        expect=("uvg_ip32_96f.first2: 7 sequences",)),
    # README: selftest
    "python evaluate.py selftest": run(expect=(" 0 failed",)),
    # README: Evaluate your own codec
    "python evaluate.py --conditions examples/command_codec/compare.yaml": narrowed(
        EXAMPLE, Narrowing(append=QUICK),
        produces=("reports/example_webp_vs_x265.first2.seq-HopperPan/index.html",)),
    "python evaluate.py --conditions examples/python_model/compare.yaml": narrowed(
        EXAMPLE, Narrowing(append=QUICK),
        produces=("reports/example_dct_vs_x265.first2.seq-HopperPan/index.html",)),
    # README: BD-rate
    "python evaluate.py bd results/demo --anchor x265 " + " ".join(BD_OPTIONS): narrowed(
        "documentation of options: run with none, then with each [option] written out (every alternative once; "
        "the second and third --out renamed so that each run's tables stay); results/demo -> "
        f"results/{DEMO}, the folder the narrowed demo above wrote",
        Narrowing((TO_DEMO, *options(BD_OPTIONS))),
        Narrowing((TO_DEMO, *options(BD_OPTIONS, "--metric psnr_yuv_611", "--method pchip", "--kind rate",
                                     "--repair upper_hull", "--min-points 4", "--min-overlap 0.5",
                                     "--rate-points 22,27,32,37", "--out reports/bd"))),
        Narrowing((TO_DEMO, *options(BD_OPTIONS, "--method akima", "--kind quality", "--rate-exclude 37",
                                     "--out reports/bd"), ("reports/bd", "reports/bd-quality"))),
        Narrowing((TO_DEMO, *options(BD_OPTIONS, "--method cubic", "--out reports/bd"),
                   ("reports/bd", "reports/bd-cubic"))),
        produces=("reports/bd", "reports/bd-quality", "reports/bd-cubic")),
    "python evaluate.py bd results/hevc_b_ip32 dcvc-fm=dcvc_fm_output.json vtm=logs/ --anchor vtm": skipped(FULL_RUNS),
    "python evaluate.py import theirs.json " + IMPORT_OPTIONS[0] + " --out imports/theirs": narrowed(
        "theirs.json -> a producer's file as shipped (CompressAI's UVG-1080p x265 results, tests/data), run "
        "with each of the [a | b] alternatives (the second --out renamed so that both stay)",
        Narrowing((THEIRS, *options(IMPORT_OPTIONS, "--dataset uvg"))),
        Narrowing((THEIRS, *options(IMPORT_OPTIONS, "--size 1920x1080 --fps 120"),
                   ("imports/theirs", "imports/theirs-size"))),
        produces=("imports/theirs", "imports/theirs-size")),
    "python evaluate.py report results/uvg_ip32_96f --with-published uvg/vtm-15 --anchor x265": skipped(FULL_RUNS),
    # README: The report
    "python evaluate.py report results/hevc_b_ip32 results/hevc_b_ip32_ffmpeg7 dcvc-fm=fm.json --anchor x265 "
    "--out reports/cmp": skipped(FULL_RUNS),
    # README: Running on a cluster (a real one-node SLURM runs a condition this way in tests/run/test_slurm.py)
    "python evaluate.py --conditions my_uvg.yaml --executor slurm --jobs 16": skipped(
        "the worked example: a SLURM cluster with partitions gpu and cpu, account proj42, a DCVC-RT checkout and "
        "the user's own condition my_uvg.yaml; tests/run/test_slurm.py runs a condition through --executor slurm on a "
        "real one-node SLURM instead"),
    # examples/plugin/README.md (the README's adapter section shows its first two)
    "pip install -e examples/plugin": narrowed(
        "installed into a private folder that is on PYTHONPATH for every command (not editable: pip cannot put "
        "an editable install in a folder of its own), so the shared environment is never changed; --no-deps "
        "--no-build-isolation: nothing fetched from an index",
        Narrowing((("install -e", "install --no-deps --no-build-isolation --target {site}"),))),
    "python evaluate.py diff conditions/hevc_b_ip32.yaml hevc_b/vtm-17": Decision(
        "run", exit=1, expect=("frames.count: 96 -> all frames", "intra_period: 32 -> -1")),
    "python evaluate.py ls": run(expect=(
        "example-jpeg2000: plug-in lvcbench_example.jpeg2000:Jpeg2000 (from lvcbench-plugin-example)",
        "codecs (from plug-ins): example-jpeg2000 (lvcbench-plugin-example)")),
    # The check's line as bench.checks.conformance.Check prints a passed one: "skipped codes two frames: ..."
    # (the tool missing, no example) must not pass.
    "python evaluate.py check-adapter example-jpeg2000": run(expect_lines=("passed  codes two frames",)),
    "python evaluate.py doctor example-jpeg2000": run(),
    "python evaluate.py --conditions examples/plugin/compare.yaml": narrowed(
        EXAMPLE, Narrowing(append=QUICK),
        expect=("example_jpeg2000_vs_x265.first2.seq-HopperPan: 8 jobs",),
        produces=("reports/example_jpeg2000_vs_x265.first2.seq-HopperPan/index.html",)),
    "python -m pytest -q examples/plugin/tests": run(),
}
TABLE = {normalise(k): v for k, v in TABLE.items()}


def _decisions(commands: list[Command]) -> list[tuple[Command, Decision]]:
    """Each command with its decision; fails naming every command TABLE lacks, every entry no document shows
    any more, and every narrowing that no longer applies to the written text."""
    missing = [c for c in commands if c.key not in TABLE]
    stale = sorted(set(TABLE) - {c.key for c in commands})
    problems = [f"{c.id}: `{c.text}` is not classified: add it to TABLE in {TABLE_FILE} as run() (runs here as "
                "written), narrowed('<what changed>', Narrowing(<(old, new) substitutions>, append='<options>')) or "
                "skipped('<why it cannot run here>')" for c in missing]
    problems += [f"TABLE in {TABLE_FILE}: `{k}` is a command of no document any more: remove it (or fix the "
                 "document)" for k in stale]
    for c in commands:
        if c.key in TABLE:
            try:
                TABLE[c.key].texts(c.text)
            except AssertionError as e:
                problems.append(f"{c.id}: {e}")
    assert not problems, "\n".join(problems)
    return [(c, TABLE[c.key]) for c in commands]


@dataclass
class Summary:
    """The counts the lead quotes, the reasons of the skips, and what each narrowed command ran as."""

    decisions: list[tuple[Command, Decision]]
    times: dict[str, float] = field(default_factory=dict)

    def count(self, kind: str) -> int:
        return sum(1 for _, d in self.decisions if d.kind == kind)

    def render(self) -> str:
        head = (f"README commands: {self.count('run')} run as written, {self.count('narrowed')} narrowed, "
                f"{self.count('skipped')} skipped")
        lines = [head]
        for reason in dict.fromkeys(d.change for _, d in self.decisions if d.kind == "skipped"):
            ids = [c.id for c, d in self.decisions if d.kind == "skipped" and d.change == reason]
            lines.append(f"  skipped ({len(ids)}): {reason}: {', '.join(ids)}")
        for c, d in self.decisions:
            took = f" {self.times[c.id]:6.1f} s" if c.id in self.times else ""
            lines.append(f"  {d.kind:8s}{took}  {c.id}: {c.text}" + (f"  [{d.change}]" if d.kind == "narrowed" else ""))
            lines += [f"{'':20s}ran as: {text}" for text in d.texts(c.text)] if d.kind == "narrowed" else []
        if self.times:
            lines.append(f"  commands' time: {sum(self.times.values()):.1f} s")
        return "\n".join(lines)


def test_every_readme_command_is_classified() -> None:
    """Every command of the documents is in TABLE exactly once by its text, every narrowing applies to the
    written text, every documented option alternative runs once, and the counts add up."""
    commands = all_commands(REPO)
    decisions = _decisions(commands)
    assert all(d.kind in ("run", "narrowed", "skipped") for _, d in decisions)
    assert all(d.change for _, d in decisions if d.kind != "run"), "a narrowed or skipped entry says what or why"
    assert all(d.runs for _, d in decisions if d.kind == "narrowed")
    assert all(not d.runs for _, d in decisions if d.kind != "narrowed")
    for c, d in decisions:
        if d.kind == "narrowed":
            chosen = {new for n in d.runs for old, new in n.subs if _OPTION_GROUP.fullmatch(old)}
            unrun = [a for g in _OPTION_GROUP.findall(c.text) for a in alternatives(g) if a not in chosen]
            assert not unrun, f"{c.id}: the documented option(s) {unrun} of `{c.text}` run in no narrowing"
    summary = Summary(decisions)
    assert summary.count("run") + summary.count("narrowed") + summary.count("skipped") == len(commands)
    assert summary.count("run") + summary.count("narrowed") > summary.count("skipped")
    print("\n" + summary.render().splitlines()[0])


@pytest.mark.integration
def test_a_narrowing_follows_the_written_text() -> None:
    """A narrowed command runs what the document shows: a typo in the written command reaches the command that
    runs (appended options), or fails the table (a substitution whose old text is gone), never a stand-in that
    still works; and an option group's substitution takes only what the group offers."""
    assert Narrowing(append="--frames 2").apply("python evaluate.py --conditons x.yaml") == (
        "python evaluate.py --conditons x.yaml --frames 2")
    derived = Narrowing((("/data/UVG", "{data}/UVG"),))
    assert derived.apply("python evaluate.py validate --data-root /data/UVG") == (
        "python evaluate.py validate --data-root {data}/UVG")
    for changed in ("python evaluate.py validate --data-root /data/uvg",
                    "python evaluate.py validate --data-root /data/UVG --data-root /data/UVG"):
        try:
            derived.apply(changed)
        except AssertionError as e:
            assert "/data/UVG" in str(e) and "the document changed" in str(e)
        else:
            raise AssertionError(f"a narrowing applied to `{changed}`, whose data root is not written once")
    assert alternatives("[--method pchip|akima|cubic]") == ["--method pchip", "--method akima", "--method cubic"]
    assert alternatives("[--dataset uvg | --size 1920x1080 --fps 120]") == ["--dataset uvg",
                                                                             "--size 1920x1080 --fps 120"]
    assert options(("[--kind rate|quality]", "[--out x]"), "--kind quality") == (
        ("[--kind rate|quality]", "--kind quality"), ("[--out x]", ""))
    try:
        options(("[--kind rate|quality]",), "--kind fast")
    except AssertionError as e:
        assert "--kind fast" in str(e)
    else:
        raise AssertionError("an option value the group does not offer was accepted")


@pytest.mark.integration
def test_the_reader_finds_commands_as_a_reader_would() -> None:
    """The extraction on a document built to hold every case: continuations, comments, a prompt with output,
    a && chain, a listing that starts with evaluate.py, YAML, Python and TOML blocks, an sh block."""
    from readme_commands import commands_in

    doc = "\n".join([
        "```", "python evaluate.py bd results/x --anchor x265 \\", "    [--metric psnr_y]   # a comment", "```",
        "```yaml", "python: not a command", "```",
        "```python", "python = 1", "```",
        "```toml", 'python = "3"', "```",
        "```", "$ python evaluate.py selftest", "python looks like a command but is output", "```",
        "```", "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python evaluate.py ls", "```",
        "```", "evaluate.py     shim for bench.cli.main", "bench/          the package", "```",
        "```sh", "cd somewhere", "X=1 lvcbench ls", "```",
        "```", "python -c 'print(\"# not a comment\")'  # but this is", "```",
    ])
    found = [(c.id, c.text) for c in commands_in(doc, "D.md")]
    assert found == [
        ("D.md:2", "python evaluate.py bd results/x --anchor x265 [--metric psnr_y]"),
        ("D.md:15", "python evaluate.py selftest"),
        ("D.md:19 (part 1)", "python3 -m venv .venv"),
        ("D.md:19 (part 2)", ".venv/bin/pip install -e ."),
        ("D.md:19 (part 3)", ".venv/bin/python evaluate.py ls"),
        ("D.md:26", "cd somewhere"),
        ("D.md:27", "X=1 lvcbench ls"),
        ("D.md:30", "python -c 'print(\"# not a comment\")'"),
    ]


# --- running ------------------------------------------------------------------------------------------------------

def _fresh_copy(dest: Path) -> Path:
    """The repository as a clone of it would be after the working tree's edits were committed: every tracked
    and every untracked, not ignored file, with its current contents (no results, no reports, no .venv)."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True, check=False)
    assert listed.returncode == 0, f"the README test copies the repository with git ls-files: {listed.stderr!r}"
    for name in sorted(set(listed.stdout.decode().split("\0")) - {""}):
        src = REPO / name
        if src.is_file() or src.is_symlink():  # a tracked file deleted in the working tree is left out
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name, follow_symlinks=False)
    # numba's compiled kernels (cache=True: __pycache__/*.nbi, *.nbc beside their source) are carried over: a
    # fresh clone compiles them once (about 15 CPU-s), which tests nothing of the README. numba uses them only
    # while the source file's modification time and size are the ones they were compiled from (copy2 keeps both).
    for cached in REPO.glob("bench/**/__pycache__/*.nb[ic]"):
        target = dest / cached.relative_to(REPO)
        if target.parent.parent.is_dir():
            target.parent.mkdir(exist_ok=True)
            shutil.copy2(cached, target)
    return dest


def _argv(text: str) -> tuple[list[str], dict[str, str]]:
    """The argument list of a command (no shell) with the environment's programs standing in for the
    document's: ``python``, ``python3`` and ``.venv/bin/python`` are this test's interpreter, ``pip`` its
    ``-m pip``, ``lvcbench`` its console script; and the ``NAME=value`` assignments before the program."""
    words = shlex.split(text)
    env = {}
    while words and "=" in words[0] and words[0].split("=", 1)[0].isidentifier():
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    program = words[0]
    if program in ("python", "python3", ".venv/bin/python"):
        return [sys.executable, *words[1:]], env
    if program in ("pip", ".venv/bin/pip"):
        return [sys.executable, "-m", "pip", "--disable-pip-version-check", *words[1:]], env
    if program == "lvcbench":
        return [str(Path(sys.executable).parent / "lvcbench"), *words[1:]], env
    if program == "evaluate.py":
        return [sys.executable, *words], env
    raise AssertionError(f"no stand-in for the program {program!r} of `{text}`: add one to _argv")


def _standins(commands: list[tuple[Command, Decision]], root: Path, data: Path) -> None:
    """Stand-in files for every ``{data}/NAME`` a narrowed command reads: the files the README lists for the
    dataset of the condition that command names."""
    readme = (root / "README.md").read_text(encoding="utf-8")
    for c, d in commands:
        for text in d.texts(c.text):
            words = shlex.split(text)
            roots = [w for w in words if w.startswith("{data}/")]
            if not roots:
                continue
            condition = root / words[words.index("--conditions") + 1]
            dataset = yaml.safe_load(condition.read_text(encoding="utf-8"))["dataset"]
            write_standins(data / roots[0].split("/", 1)[1], listed_files(readme, dataset), pictured_frames=2)


def _environment(site: Path) -> dict[str, str]:
    """As after ``source .venv/bin/activate``, with the private plug-in folder on PYTHONPATH and no data root
    from the caller's environment (the commands name theirs)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LVCBENCH_DATA_ROOT", "PYTHONPATH")}
    venv = Path(sys.executable).parent
    env.update(PATH=f"{venv}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv.parent), PYTHONPATH=str(site))
    return env


def _run_one(c: Command, d: Decision, root: Path, env: dict[str, str], places: dict[str, str]) -> list[str]:
    """Run one command (or what stands in for it); the problems found, each naming the command."""
    problems = []
    for text in d.texts(c.text):
        for name, value in places.items():  # replace, not str.format: a command may hold braces of its own
            text = text.replace("{" + name + "}", value)
        argv, extra = _argv(text)
        done = subprocess.run(argv, cwd=root, env={**env, **extra}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=600, check=False)
        tail = "\n".join(done.stdout.splitlines()[-20:])
        said = f"{c.id}: `{c.text}`" + (f"\n  ran as: `{text}` ({d.change})" if d.kind == "narrowed" else "")
        if done.returncode != d.exit:
            problems.append(f"{said}\n  exit status {done.returncode}, not {d.exit}; its last lines:\n{tail}")
            continue
        problems += [f"{said}\n  its output does not say {want!r}; its last lines:\n{tail}"
                     for want in d.expect if want not in done.stdout]
        printed = {line.strip() for line in done.stdout.splitlines()}
        problems += [f"{said}\n  it prints no line {want!r}; its last lines:\n{tail}"
                     for want in d.expect_lines if want not in printed]
    problems += [f"{c.id}: `{c.text}` left no {p} (the document says it writes it)"
                 for p in d.produces if not (root / p).exists()]
    return problems


@pytest.mark.slow
@pytest.mark.integration
def test_readme_commands_run(tmp_path: Path) -> None:
    """Every command classified run or narrowed runs in document order in a fresh copy of the repository."""
    root = _fresh_copy(tmp_path / "lvc-bench")
    decisions = _decisions(all_commands(root))
    places = {"data": str(tmp_path / "data"), "site": str(tmp_path / "site")}
    _standins(decisions, root, tmp_path / "data")
    (tmp_path / "site").mkdir()
    env = _environment(tmp_path / "site")
    summary = Summary(decisions)
    problems = []
    for c, d in decisions:
        if d.kind == "skipped":
            continue
        start = time.perf_counter()
        problems += _run_one(c, d, root, env, places)
        summary.times[c.id] = time.perf_counter() - start
    shutil.rmtree(tmp_path / "data")  # the stand-ins' pictured frames (75 MB) are not kept with pytest's last runs
    text = summary.render() + "".join(f"\n\nFAILED {p}" for p in problems)
    (tmp_path / "readme_commands_summary.txt").write_text(text + "\n", encoding="utf-8")
    print(f"\n{text}\n(written to {tmp_path / 'readme_commands_summary.txt'})")
    assert not problems, "README commands that do not work as the document says:\n\n" + "\n\n".join(problems)
