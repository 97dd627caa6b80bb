"""``--frames N`` / ``--sequences A,B``: a narrowed condition is another condition (its own results folder, name,
keys and coding fields), codes exactly the frames asked for, leaves the full condition's folder alone and is
refused beside the full condition in a BD table; ``validate`` names every bad sequence at once.

Frame counts are read back by decoding the stored bitstreams with the ffmpeg binary of imageio-ffmpeg, called
here as its documentation calls it (raw frames on stdout, counted by their bytes and hashed against the record's
decoded hash), and the frames taken are checked by hashing the bytes of the source file at the expected offsets
here, not through the suite's reader.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.cli import main
from bench.conditions.condition import load_condition, narrow
from bench.errors import ConditionError
from bench.run.runner import plan

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "conditions" / "demo.yaml"
FRAME_416 = 416 * 240 * 3 // 2  # bytes of one 8-bit 4:2:0 416x240 frame
FRAME_96 = 96 * 64 * 3 // 2
# The line every table of a quick look carries, as the issue words it (not imported from the code).
QUICK = "Quick look, not the condition"
QUICK_DEMO = f"{QUICK}: narrowed from demo (first 2 frames, sequence HopperZoom)"


def _records(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((folder / "records").glob("*/*/*.json"))]


def _decoded(stream: Path, pix_fmt: str) -> bytes:
    """STREAM decoded by ffmpeg itself to raw frames of PIX_FMT."""
    import imageio_ffmpeg

    return subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(stream), "-f", "rawvideo",
                           "-pix_fmt", pix_fmt, "-"], capture_output=True, check=True).stdout


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file()}


@pytest.mark.slow
@pytest.mark.integration
def test_narrowed_demo_codes_two_frames_of_one_sequence_into_its_own_folder(
        demo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    full = load_condition(DEMO, demo_dir)
    full_keys = sorted(j.key for j in plan(full)[0])
    results, reports = tmp_path / "results", tmp_path / "reports"
    # A folder of the full condition, which the narrowed run must not touch.
    (results / "demo" / "records").mkdir(parents=True)
    (results / "demo" / "keep.txt").write_text("full run")
    before = _tree(results / "demo")

    assert main(["run", "--conditions", "demo", "--data-root", str(demo_dir), "--frames", "2", "--sequences",
                 "HopperZoom", "--results", str(results), "--reports", str(reports), "--no-progress",
                 "--no-figures", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "demo.first2.seq-HopperZoom: narrowed from demo: first 2 frames, sequence HopperZoom" in out
    assert sorted(p.name for p in results.iterdir()) == ["demo", "demo.first2.seq-HopperZoom"]
    assert _tree(results / "demo") == before

    folder = results / "demo.first2.seq-HopperZoom"
    records = _records(folder)
    assert len(records) == sum(len(c.rate_points) for c in full.codecs)  # every codec, one sequence
    # The first two frames of the file, hashed here from its bytes.
    first_two = hashlib.sha256((demo_dir / "HopperZoom_416x240_30.yuv").read_bytes()[:2 * FRAME_416]).hexdigest()
    for r in records:
        assert r["status"] == "ok", r.get("error")
        assert r["sequence"]["name"] == "HopperZoom"
        assert r["condition"]["name"] == "demo.first2.seq-HopperZoom"
        assert r["condition"]["fields"]["narrowed"] == {"from": "demo", "frames": 2, "sequences": ["HopperZoom"]}
        assert (r["source"]["first"], r["source"]["count"], r["coding"]["frames"]["count"]) == (0, 2, 2)
        assert r["source"]["sha256"] == first_two
        assert len(r["per_frame"]["bits"]) == len(r["per_frame"]["frame_type"]) == 2
        [stream] = r["rate"]["bitstreams"]
        fmt = r["decoded"]["format"]
        decoded = _decoded(folder / stream, fmt)
        assert len(decoded) == 2 * FRAME_416 * (2 if "10" in fmt else 1), (stream, fmt, len(decoded))
        assert hashlib.sha256(decoded).hexdigest() == r["decoded"]["sha256"], stream
        short = r["key"][:16]
        measured = list((folder / "measurements" / r["codec"]["name"] / "HopperZoom").glob(f"*_{short}/*.json"))
        assert measured
        for m in measured:
            doc = json.loads(m.read_text())
            assert doc["frames"] == 2 and all(len(v) == 2 for v in doc["values"].values()), m
    # The stored condition loads back to the same narrowed condition (same name, same keys).
    again = load_condition(folder / "condition.yaml", demo_dir)
    assert again.name == folder.name and again.coding_fields() == records[0]["condition"]["fields"]
    assert "narrowed from demo: first 2 frames, sequence HopperZoom" in \
        (reports / folder.name / "index.html").read_text()
    _assert_marked(reports / folder.name, folder, out, QUICK_DEMO, tmp_path, capsys)
    # Two frames: two rows per job in frames.csv, with the bits each record gives (per_frame "samples", the
    # measure's four plane sizes, once made a 2-frame job four rows of nothing).
    frames_csv = pd.read_csv(folder / "frames.csv")
    for r in records:
        rows = frames_csv[(frames_csv["codec"] == r["codec"]["name"]) & (frames_csv["rate_point"] == r["rate_point"])]
        assert list(rows["frame"]) == [0, 1] and list(rows["bits"]) == r["per_frame"]["bits"], r["codec"]["name"]

    # The full condition plans the same keys as before, and none of them is a narrowed one.
    assert sorted(j.key for j in plan(load_condition(DEMO, demo_dir))[0]) == full_keys
    assert not {r["key"] for r in records} & set(full_keys)
    # Even with every frame kept, a narrowed job has its own key (the narrowing is part of its condition).
    one = narrow(full, None, ["HopperZoom"])
    narrowed_jobs = {(j.codec.name, j.rate_point): j for j in plan(one)[0]}
    full_jobs = {(j.codec.name, j.rate_point): j for j in plan(full)[0] if j.sequence.name == "HopperZoom"}
    assert narrowed_jobs.keys() == full_jobs.keys()
    assert all(narrowed_jobs[k].source_id == full_jobs[k].source_id for k in full_jobs)
    assert all(narrowed_jobs[k].key != full_jobs[k].key for k in full_jobs)
    assert "narrowed" not in full.coding_fields()

    assert main(["status", "--conditions", "demo", "--data-root", str(demo_dir), "--frames", "2", "--sequences",
                 "HopperZoom", "--results", str(results)]) == 0
    assert f"demo.first2.seq-HopperZoom: {len(records)} jobs" in capsys.readouterr().out


CONDITION = """
name: small
sequences:
  - {{name: Pan, file: Pan_96x64_30.yuv, group: A}}
  - {{name: Shapes, file: Shapes_96x64_30.yuv, group: B}}
data_root: {clips}
frames: {{first: 1, count: 3}}
intra_period: -1
metrics: {{ms_ssim: []}}
codecs:
  - {{descriptor: x264, params: {{preset: ultrafast}}, rate_points: [24, 30, 36, 42]}}
  - {{descriptor: x265, params: {{preset: ultrafast}}, rate_points: [24, 30, 36, 42]}}
anchor: x265
"""


@pytest.mark.slow
@pytest.mark.integration
def test_narrowed_frames_start_at_the_conditions_first_and_are_refused_beside_the_full_run_in_bd(
        clip_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cond = tmp_path / "small.yaml"
    cond.write_text(CONDITION.format(clips=clip_dir))
    results = tmp_path / "r"
    common = ["--results", str(results), "--reports", str(tmp_path / "p"), "--no-progress", "--no-figures"]
    assert main(["run", "--conditions", str(cond), *common]) == 0
    full_before = _tree(results / "small")
    assert main(["run", "--conditions", str(cond), "--frames", "2", *common]) == 0
    assert _tree(results / "small") == full_before
    narrowed = _records(results / "small.first2")
    assert len(narrowed) == 16
    data = {n: (clip_dir / f"{n}_96x64_30.yuv").read_bytes() for n in ("Pan", "Shapes")}
    for r in narrowed:  # the condition takes frames 1..3: the narrowed run codes frames 1 and 2
        assert (r["source"]["first"], r["source"]["count"]) == (1, 2)
        assert r["source"]["sha256"] == hashlib.sha256(data[r["sequence"]["name"]][FRAME_96:3 * FRAME_96]).hexdigest()
    capsys.readouterr()

    # The full condition's BD table does not take the narrowed run in silently: same-named codecs of the two
    # folders are told apart by their folder's name, and BD across them is refused as across conditions.
    both = ["bd", str(results / "small"), str(results / "small.first2"), "--out", str(tmp_path / "bd")]
    assert main([*both, "--anchor", "x265"]) == 2
    assert "small.first2:x265" in capsys.readouterr().err
    assert main([*both, "--anchor", "small:x265"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no BD table: sources coded under another condition") and len(err.splitlines()) == 1
    assert "small.first2" in err
    # ... and says which command lists the differences; that command names the narrowing as a coding difference.
    assert f"(evaluate.py diff {results / 'small'} {results / 'small.first2'} lists every difference" in err
    assert main(["diff", str(results / "small"), str(results / "small.first2")]) == 1
    listed = capsys.readouterr().out
    assert "\ncoding (2 fields)\n  frames.count: 3 -> 2\n" in listed, listed
    assert "  narrowed: no: the whole condition -> narrowed from small: first 2 frames\n" in listed, listed
    assert main([*both, "--anchor", "small:x265", "--allow-condition-mismatch"]) == 0
    out = capsys.readouterr().out
    assert "frames.count" in out or "narrowed" in out, out
    # Beside the full run, the line names the narrowed curves; the full run's own tables carry no such line.
    assert out.splitlines()[0] == (f"{QUICK}: narrowed from small (first 2 frames) for small.first2:x264, "
                                   "small.first2:x265.")
    _assert_marked(tmp_path / "p" / "small.first2", results / "small.first2", None,
                   f"{QUICK}: narrowed from small (first 2 frames)", tmp_path, capsys)
    _assert_unmarked(tmp_path / "p" / "small", results / "small", tmp_path, capsys)


@pytest.mark.integration
@pytest.mark.parametrize(("args", "message"), [
    (["--frames", "0"], "error: --frames 0: give a number of frames, 1 or more"),
    (["--frames", "-1"], "error: --frames -1: give a number of frames, 1 or more"),
    (["--frames", "4"], "error: --frames 4: condition small codes only 3 frames (1..3); give 3 or fewer"),
    (["--sequences", "Pan,Nope"], "error: --sequences: condition small has no sequence 'Nope'; its sequences: "
                                  "Pan, Shapes"),
    (["--sequences", ","], "error: --sequences: name at least one sequence (its sequences: Pan, Shapes)"),
])
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_narrowing_is_one_line_exit_2(clip_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                          args: list[str], message: str, command: str) -> None:
    cond = tmp_path / "small.yaml"
    cond.write_text(CONDITION.format(clips=clip_dir))
    extra = ["--results", str(tmp_path / "r"), "--reports", str(tmp_path / "p")] if command == "run" else []
    assert main([command, "--conditions", str(cond), *args, *extra]) == 2
    assert capsys.readouterr().err.strip() == message
    assert not (tmp_path / "r").exists()


def test_narrowed_name_is_deterministic_and_safe(clip_dir: Path, tmp_path: Path) -> None:
    cond = tmp_path / "small.yaml"
    cond.write_text(CONDITION.format(clips=clip_dir))
    c = load_condition(cond)
    assert narrow(c, 2).name == "small.first2"
    assert narrow(c, None, ["Shapes", "Pan"]).name == narrow(c, None, ["Pan", "Shapes"]).name == "small.seq-Pan_Shapes"
    assert narrow(c, 3, ["Shapes"]).name == "small.first3.seq-Shapes"
    assert narrow(c, None, None) is c
    with pytest.raises(ConditionError, match="already narrowed from small"):
        narrow(narrow(c, 2), 1)


def _raw(path: Path, frames: float, seed: int) -> None:
    data = np.random.default_rng(seed).integers(16, 236, size=int(frames * FRAME_96), dtype=np.uint8)
    path.write_bytes(data.tobytes())


@pytest.mark.integration
def test_validate_names_every_bad_sequence(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _raw(data / "Good_96x64_30.yuv", 4, 1)
    _raw(data / "Short_96x64_30.yuv", 2, 2)  # the condition asks for 4 frames: two are missing
    _raw(data / "Other_96x64_30.yuv", 4, 3)
    cond = tmp_path / "c.yaml"
    cond.write_text(f"name: c\ndata_root: {data}\nframes: {{count: 4}}\nintra_period: -1\ncodecs: [x264]\n"
                    "sequences:\n"
                    "  - {name: Good, file: Good_96x64_30.yuv}\n"
                    "  - {name: Gone, file: Gone_96x64_30.yuv}\n"  # no such file
                    "  - {name: Short, file: Short_96x64_30.yuv}\n"
                    "  - {name: Other, file: Other_96x64_30.yuv}\n")
    assert main(["validate", "--conditions", str(cond)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines), captured.err
    assert lines[0].startswith(f"error: sequence Gone: file Gone_96x64_30.yuv not found; looked for {data}")
    assert lines[1] == (f"error: sequence Short: {data / 'Short_96x64_30.yuv'}: holds 2 frames but the condition asks "
                        "for frames 0..3; use a shorter frame count (--frames N) or the complete file")
    out = captured.out
    assert "c: 4 sequences (2 cannot be used, named below), 1 codec, 8 jobs of the others" in out
    assert f"  Good: {data / 'Good_96x64_30.yuv'} (96x64 yuv420p 30 fps, frames 0..3)" in out
    assert f"  Other: {data / 'Other_96x64_30.yuv'}" in out

    # run names the same two before coding anything; narrowed to the good ones, validate passes.
    assert main(["run", "--conditions", str(cond), "--results", str(tmp_path / "r"), "--reports",
                 str(tmp_path / "p"), "--no-progress"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == lines
    assert not (tmp_path / "r").exists()
    assert main(["validate", "--conditions", str(cond), "--sequences", "Good,Other"]) == 0
    out = capsys.readouterr().out
    assert "c.seq-Good_Other: 2 sequences, 1 codec, 8 jobs" in out  # 4 rate points each
    assert "(narrowed from c: sequences Good, Other)" in out
    # --frames 2 makes the short file usable; only the missing one is left, as the one-line error of old.
    assert main(["validate", "--conditions", str(cond), "--frames", "2"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: sequence Gone: file Gone_96x64_30.yuv not found")


@pytest.mark.integration
def test_cluster_executors_refuse_the_options_but_take_a_files_narrow_key(clip_dir: Path, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture) -> None:
    cond = tmp_path / "small.yaml"
    cond.write_text(CONDITION.format(clips=clip_dir))
    # A cluster job loads the condition file again on its node: options it never sees are refused up front.
    assert main(["run", "--conditions", str(cond), "--frames", "2", "--executor", "slurm",
                 "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --frames/--sequences are for a quick look with --executor local, not slurm")
    # The same narrowing written in the file travels with it.
    cond.write_text(CONDITION.format(clips=clip_dir) + "narrow: {frames: 2, sequences: [Shapes]}\n")
    c = load_condition(cond)
    assert (c.name, c.frames.first, c.frames.count, [s.name for s in c.sequences]) == \
        ("small.first2.seq-Shapes", 1, 2, ["Shapes"])
    assert c.description.startswith("Narrowed from small: first 2 frames, sequence Shapes")


def _table_files(report: Path) -> list[Path]:
    files = sorted(p for ext in ("tex", "md", "csv") for p in (report / "tables").glob(f"*.{ext}"))
    names = {p.name for p in files}
    # The ranked summary, the complexity table and BD tables of both conventions, as CSV and LaTeX.
    assert {"summary.md", "summary.tex", "complexity.tex"} <= names, names
    assert any(n.endswith("_classes.csv") for n in names) and any(n.endswith("_average_curve.tex") for n in names)
    return files


def _bd_console(folder: Path, out: Path, capsys: pytest.CaptureFixture) -> str:
    capsys.readouterr()
    assert main(["bd", str(folder), "--anchor", "x265", "--out", str(out)]) == 0
    return capsys.readouterr().out


def _assert_marked(report: Path, folder: Path, run_out: str | None, line: str, tmp_path: Path,
                   capsys: pytest.CaptureFixture) -> None:
    """LINE in every table of REPORT (first in each LaTeX caption, above the Markdown, a first column of each CSV
    that pandas reads with its defaults), above the ranking RUN_OUT printed and first in `bd`'s console."""
    for path in _table_files(report):
        text = path.read_text()
        assert line in text, path.name
        if path.suffix == ".tex":
            assert f"\\caption{{{line}. " in text, path.name
        elif path.suffix == ".md":
            assert text.splitlines()[0] == f"**{line}.**", path.name
        else:
            table = pd.read_csv(path)  # default arguments: a "#" comment line would have become the header
            assert table.columns[0] == "narrowed" and len(table) > 0 and (table["narrowed"] == line).all(), path.name
    per_job = pd.read_csv(report / "data" / "per_sequence.csv")
    assert per_job["narrowed"].str.startswith(line.removeprefix(f"{QUICK}: ")).all()
    # The page: above the ranked summary, each metric's BD tables and the complexity table.
    page = (report / "index.html").read_text()
    sections = page.count('id="bd-avg-')
    assert sections >= 1 and page.count(f'<p class="warn quick-look"><strong>{line}.</strong></p>') == sections + 2
    if run_out is not None:
        lines = run_out.splitlines()
        ranking = next(i for i, s in enumerate(lines) if s.startswith("Ranking against"))
        assert lines[ranking - 1] == f"{line}."
    assert _bd_console(folder, tmp_path / f"bd-{folder.name}", capsys).splitlines()[0] == f"{line}."


def _assert_unmarked(report: Path, folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A whole condition's tables, CSV columns and `bd` console say nothing of a quick look."""
    for path in _table_files(report):
        text = path.read_text()
        assert QUICK not in text and "narrowed from" not in text, path.name
        if path.suffix == ".csv":
            assert "narrowed" not in pd.read_csv(path).columns, path.name
    assert "narrowed" not in pd.read_csv(folder / "summary.csv").columns
    assert "quick-look" not in (report / "index.html").read_text()
    out = _bd_console(folder, tmp_path / f"bd-{folder.name}", capsys)
    assert QUICK not in out and "narrowed from" not in out  # (the paths it prints hold this test's name)


@pytest.mark.integration
@pytest.mark.parametrize(("name", "suffix"), [("small.first2", ".first2"), ("small.seq-Pan", ".seq-Pan"),
                                               ("small.first2.seq-Pan", ".first2.seq-Pan"),
                                               ("small.seq1of2-0a1b2c3d", ".seq1of2-0a1b2c3d")])
def test_a_condition_named_like_a_quick_look_is_refused(clip_dir: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture, name: str, suffix: str) -> None:
    """A condition whose own name ends like a narrowed one's would share that quick look's results folder."""
    cond = tmp_path / "c.yaml"
    cond.write_text(CONDITION.format(clips=clip_dir).replace("name: small", f"name: {name}"))
    assert main(["validate", "--conditions", str(cond)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: {cond}: name: {name!r}: the suffix {suffix!r} is reserved for the results folders of "
                   "--frames/--sequences quick looks; rename the condition")
    # Named by its file (no name: key), the same.
    unnamed = tmp_path / f"{name}.yaml"
    unnamed.write_text(CONDITION.format(clips=clip_dir).replace("name: small\n", ""))
    with pytest.raises(ConditionError, match=f"the file's name: it has no name: key.*{suffix}"):
        load_condition(unnamed)


@pytest.mark.integration
def test_reserved_names_need_the_narrow_key_that_makes_them(clip_dir: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    cond = tmp_path / "c.yaml"
    text = CONDITION.format(clips=clip_dir)
    # Names that merely contain the words are not the reserved suffixes.
    for ok in ("small.first2x", "small.firstpass", "small.seq"):
        cond.write_text(text.replace("name: small", f"name: {ok}"))
        assert load_condition(cond).name == ok
    # A name spelling the narrowing its narrow: key makes is the narrowed condition itself.
    cond.write_text(text.replace("name: small", "name: small.first2.seq-Pan") + "narrow: {frames: 2, sequences: [Pan]}\n")
    c = load_condition(cond)
    assert (c.name, c.narrowed.base, c.frames.count, [s.name for s in c.sequences]) == \
        ("small.first2.seq-Pan", "small", 2, ["Pan"])
    assert c.coding_fields() == narrow(load_condition(_plain(tmp_path, text)), 2, ["Pan"]).coding_fields()
    cond.write_text(text.replace("name: small", "name: small.first2") + "narrow: {frames: 3}\n")
    with pytest.raises(ConditionError, match="'small.first2' ends in '.first2', reserved .* but its narrow: key "
                                             "makes it 'small.first3'; name it 'small'"):
        load_condition(cond)
    # validate: plurals right (one sequence, two codecs); the narrowed description drops the full condition's
    # own (its frame counts would be wrong) and the demo's "32 frames" is not said of a 2-frame quick look.
    assert main(["validate", "--conditions", str(_plain(tmp_path, text)), "--sequences", "Pan"]) == 0
    assert "small.seq-Pan: 1 sequence, 2 codecs, 8 jobs" in capsys.readouterr().out
    demo = narrow(load_condition(DEMO, clip_dir), 2)
    assert demo.description == "Narrowed from demo: first 2 frames; a quick look, not demo itself."


def _plain(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(text)
    return path


# --- the un-narrowed keys against a recorded reference ---------------------------------------------------------

# The reference was computed by the code as it was before narrowing existed (commit 42f4d7a, from a checkout of
# it, on the demo set it renders): narrowing must leave every key of the full condition where it was. A change
# that moves them (an adapter's version, a new coding field) must say why and re-record the file (its header
# says how it was made).
DEMO_KEYS = REPO / "tests" / "data" / "demo_job_keys.txt"
MACHINE_FACTS = ("ffmpeg_version", "ffmpeg_sha256", "library")  # codec identity keys that differ by machine


@pytest.fixture(scope="module")
def demo_reference(demo_dir: Path) -> tuple[list[list[str]], dict, list, dict]:
    """(the recorded rows, the recorded machine facts, today's jobs of the full demo, this machine's facts)."""
    lines = DEMO_KEYS.read_text().splitlines()
    recorded = json.loads(next(x for x in lines if x.startswith("# facts: "))[len("# facts: "):])
    rows = [x.split(" ", 4) for x in lines if x and not x.startswith("#")]
    jobs = plan(load_condition(DEMO, demo_dir))[0]
    here: dict = {}
    for j in jobs:
        here[j.codec.name] = {k: j.codec_identity[k] for k in MACHINE_FACTS if k in j.codec_identity}
        here[f"source {j.sequence.name}"] = j.source_id.sha256
    return rows, recorded, jobs, here


def test_un_narrowed_demo_keys_match_the_stable_reference(demo_reference: tuple) -> None:
    """Everywhere: the keys with the machine's facts (tool versions and hashes, the rendered frames' hash) taken
    out. Each job's own key is first shown to be exactly the hash of the parts the stable key is made from, so
    that a key gaining a part of its own (not in those) cannot pass here unseen."""
    from bench.store.keys import coding_key

    rows, _, jobs, _ = demo_reference
    assert len(rows) == len(jobs) == 64
    stable = []
    for j in jobs:
        source = {**j.source_id.as_dict(), "format": j.sequence.fmt.name}
        assert j.key == coding_key(j.condition.coding_fields(), source, j.codec_identity, j.rate_point)
        identity = {k: "<machine>" if k in MACHINE_FACTS else v for k, v in j.codec_identity.items()}
        stable.append((coding_key(j.condition.coding_fields(), {**source, "sha256": "<content>"}, identity,
                                  j.rate_point), j.codec.name, j.sequence.name, json.dumps(j.rate_point)))
    assert sorted(stable) == sorted((r[1], r[2], r[3], r[4]) for r in rows)


def test_un_narrowed_demo_keys_match_the_reference_on_its_machine(demo_reference: tuple) -> None:
    """Where the machine's facts are the recording's (its ffmpeg, encoder libraries and rendered frames), the
    job keys themselves, whole; elsewhere they cannot be equal, and the stable keys above still hold."""
    rows, recorded, jobs, here = demo_reference
    if here != recorded:
        differ = sorted(k for k in {*here, *recorded} if here.get(k) != recorded.get(k))
        pytest.skip(f"this machine's facts differ from the recording's ({', '.join(differ)}): the whole keys "
                    f"cannot match; {DEMO_KEYS.name}'s stable keys are checked instead")
    assert sorted(j.key for j in jobs) == [r[0] for r in rows]
