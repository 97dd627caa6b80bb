"""Damaged measurements heal (issue 32): a measurement file that is missing, truncated, another job's, not a JSON
object or not shaped as one, and a stored bitstream or kept decoded file altered since coding. Reading never
crashes: every output (report page, its tables, summary, BD) names the job, the metrics and why they are not
measured; the next ``remeasure`` or ``run`` (plain or ``--retry-failed``) takes them again, for real, and the
folder then holds what an undamaged run holds: the same numbers, and a PSNR-Y that ffmpeg's decode of the stored
bitstream, compared with the source by numpy here, agrees with. A changed bitstream is named as changed since
coding; the next run codes the job again and keeps the old record aside."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.cli import main
from bench.store.results import ResultStore
from bench.tools import ffmpeg_exe

CONDITION = """
name: h
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
data_root: {clips}
frames: {{first: 0, count: 4}}
intra_period: 4
metrics: {{ms_ssim: []}}
codecs:
  - {{descriptor: x264, params: {{preset: veryfast}}, rate_points: [22, 30, 38, 46]{keep}}}
  - {{descriptor: x265, params: {{preset: ultrafast}}, rate_points: [22, 30, 38, 46]}}
anchor: x265
"""
METRICS = ["bits", "psnr_y", "psnr_u", "psnr_v", "psnr_yuv_611", "psnr_rgb"]
PSNR_LABELS = "PSNR-Y, PSNR-U, PSNR-V, PSNR-YUV (6:1:1), PSNR-YUV (VTM 4:1:1 MSE) and PSNR-RGB"


def _coded(root: Path, clips: Path, keep: str = "") -> tuple[Path, Path]:
    cond = root / "h.yaml"
    cond.write_text(CONDITION.format(clips=clips, keep=keep))
    assert main(["--conditions", str(cond), "--results", str(root / "results"), "--reports", str(root / "reports"),
                 "--no-progress", "--no-figures"]) == 0
    return cond, root / "results"


@pytest.fixture(scope="module")
def coded(clip_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One undamaged run (its condition and results folder); each test damages a copy."""
    return _coded(tmp_path_factory.mktemp("heal"), clip_dir)


@pytest.fixture()
def copy(coded: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(coded[1], tmp_path / "results")
    return coded[0], tmp_path / "results"


def _record(results: Path, codec: str, qp: int) -> dict:
    return next(r for r in ResultStore(results / "h").all_records() if (r["codec"]["name"], r["rate_point"]) == (codec, qp))


def _sse(results: Path, codec: str, qp: int) -> Path:
    store = ResultStore(results / "h")
    [path] = store.measurement_dir(_record(results, codec, qp)).glob("sse_*.json")
    return path


def _row(summary: pd.DataFrame, codec: str, qp: int) -> pd.Series:
    return summary[(summary["codec"] == codec) & (summary["rate_point"] == qp)].iloc[0]


def _psnr_y_by_ffmpeg(clips: Path, bitstream: Path, frames: int = 4) -> float:
    """Mean over frames of PSNR-Y (peak 255) of ffmpeg's decode of BITSTREAM against the source clip's first
    FRAMES frames: computed here with numpy, not by the suite."""
    raw = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(bitstream), "-f",
                          "rawvideo", "-pix_fmt", "yuv420p", "-"], capture_output=True, check=True).stdout
    size = 96 * 64 * 3 // 2
    source = np.fromfile(clips / "Pan_96x64_30.yuv", np.uint8)[:frames * size].reshape(frames, size)
    decoded = np.frombuffer(raw, np.uint8).reshape(-1, size)
    assert len(decoded) == frames
    mse = ((source[:, :96 * 64].astype(float) - decoded[:, :96 * 64]) ** 2).mean(axis=1)
    return float(np.mean(10 * np.log10(255.0**2 / mse)))


def _argv(cond: Path, results: Path, *extra: str) -> list[str]:
    return [*extra, "--conditions", str(cond), "--results", str(results), "--reports", str(results.parent / "r"),
            "--no-progress", "--no-figures"]


def _assert_healthy(cond: Path, results: Path, pristine: Path, capsys: pytest.CaptureFixture) -> None:
    """The folder holds what the undamaged run holds, and a plain rerun finds nothing to do or to say."""
    healed, before = pd.read_csv(results / "h" / "summary.csv"), pd.read_csv(pristine / "h" / "summary.csv")
    assert healed[["codec", "rate_point", *METRICS]].equals(before[["codec", "rate_point", *METRICS]])
    assert "not_measured" not in healed.columns
    capsys.readouterr()
    assert main(_argv(cond, results)) == 0
    out, err = capsys.readouterr()
    assert "h: 8 jobs, 0 coded, 8 already recorded, 0 failed" in out and "warning" not in err, err
    store = ResultStore(results / "h")
    assert all(not store.read_measurements(r)[1] for r in store.all_records())


def _truncate(path: Path) -> str | tuple[str, ...]:
    path.write_bytes(path.read_bytes()[:100])
    return "not readable JSON (Unterminated string"


def _not_an_object(path: Path) -> str | tuple[str, ...]:
    path.write_text("[1, 2, 3]\n")
    return "not a JSON object"


def _too_few_frames(path: Path) -> str | tuple[str, ...]:
    doc = json.loads(path.read_text())
    doc["values"] = {k: v[:3] for k, v in doc["values"].items()}
    path.write_text(json.dumps(doc))
    return "holds 3 values of sse_", "for a job of 4 coded frames"


def _renamed_value(path: Path) -> str | tuple[str, ...]:  # shaped as a measurement, but no PSNR can be pooled from it
    doc = json.loads(path.read_text())
    doc["values"]["sse_q"] = doc["values"].pop("sse_y")
    path.write_text(json.dumps(doc))
    return "its values give no PSNR-Y (no 'sse_y')"


def _removed(path: Path) -> str | tuple[str, ...]:
    path.unlink()
    return "sse: no measurement is stored"


DAMAGE: dict[str, Callable[[Path], str | tuple[str, ...]]] = {
    "truncated": _truncate, "not an object": _not_an_object, "too few frames": _too_few_frames,
    "values not poolable": _renamed_value, "removed": _removed}


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize(("damage", "heal"), [("truncated", "remeasure"), ("not an object", "run"),
                                              ("too few frames", "retry-failed"), ("values not poolable", "run"),
                                              ("removed", "remeasure")])
def test_a_damaged_measurement_is_named_everywhere_and_taken_again(
        damage: str, heal: str, copy: tuple[Path, Path], coded: tuple[Path, Path], clip_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    cond, results = copy
    path = _sse(results, "x264", 30)
    said = DAMAGE[damage](path)
    said = (said,) if isinstance(said, str) else said
    # The report is built (no KeyError), and names the job, its metrics and why, at the top of the page.
    assert main(["report", str(results / "h"), "--out", str(tmp_path / "page"), "--no-figures"]) == 0
    out, err = capsys.readouterr()
    if damage != "removed":
        assert str(path) in err and all(s in err for s in said), err
    page = (tmp_path / "page" / "index.html").read_text().replace("&#39;", "'")
    caution = f"{PSNR_LABELS} of Pan at rate point 30: not measured ("
    assert caution in page and all(s in page.split(caution)[1][:400] for s in said)
    # Its tables: that job's PSNR cells are empty and named as not measured; every other job's stand.
    table = pd.read_csv(tmp_path / "page" / "data" / "per_sequence.csv")
    pristine = pd.read_csv(coded[1] / "h" / "summary.csv")
    assert table["not_measured"].notna().sum() == 1
    job = _row(table, "x264", 30)
    assert job["not_measured"].split(", ")[:2] == ["psnr_y", "psnr_u"] and pd.isna(job["psnr_y"])
    both = table.merge(pristine, on=["codec", "rate_point"], suffixes=("", "_pristine"))
    others = both[(both["codec"] != "x264") | (both["rate_point"] != 30)]
    assert len(others) == 7 and others["psnr_y"].round(6).tolist() == others["psnr_y_pristine"].tolist()
    # BD: that curve has no value, with the point named and said to be not measured (not "not finite").
    assert main(["bd", str(results / "h"), "--anchor", "x265", "--out", str(tmp_path / "bd")]) == 0
    capsys.readouterr()
    bd = pd.read_csv(next((tmp_path / "bd").glob("bd_*_psnr_yuv_611_*per_sequence.csv")))
    assert bd["status"].tolist() == ["metric_missing"]
    assert "was not measured for x264 Pan at rate point 30" in bd["message"][0]
    # The next remeasure / run / run --retry-failed measures it again: only that job, from its bitstream.
    argv = _argv(cond, results, *(["remeasure"] if heal == "remeasure" else []),
                 *(["--retry-failed"] if heal == "retry-failed" else []))
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "0 coded, 1 measured again (1 measurements; 1 bitstreams decoded again" in out, out + err
    healed = _row(pd.read_csv(results / "h" / "summary.csv"), "x264", 30)
    bitstream = results / "h" / _record(results, "x264", 30)["rate"]["bitstreams"][0]
    assert healed["psnr_y"] == pytest.approx(_psnr_y_by_ffmpeg(clip_dir, bitstream), abs=2e-6)
    _assert_healthy(cond, results, coded[1], capsys)


@pytest.mark.integration
def test_another_jobs_measurement_is_not_used_and_is_taken_again(copy: tuple[Path, Path], coded: tuple[Path, Path],
                                                                 capsys: pytest.CaptureFixture) -> None:
    cond, results = copy
    shutil.copyfile(_sse(results, "x264", 22), _sse(results, "x264", 38))  # a valid file, of the job at QP 22
    store = ResultStore(results / "h")
    view = next(v for v in store.run_records() if (v["codec"]["name"], v["rate_point"]) == ("x264", 38))
    assert "psnr_y" not in view["metrics"]  # never QP 22's 2+ dB better PSNR under QP 38's rate
    [entry] = view["not_measured"]
    assert entry["measure"] == "sse" and entry["reason"].startswith("holds a measurement of another job (job key ")
    capsys.readouterr()
    assert main(_argv(cond, results)) == 0
    assert "1 measured again" in capsys.readouterr().out
    _assert_healthy(cond, results, coded[1], capsys)


def _flip(path: Path) -> None:
    """Forty bytes in the middle of PATH inverted: coded picture data, not a header or an index at either end
    that a decoder could do without."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 40] = bytes(b ^ 0x5A for b in data[middle:middle + 40])
    path.write_bytes(bytes(data))


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("heal", ["run", "retry-failed"])
def test_a_bitstream_changed_since_coding_is_named_and_the_job_coded_again(
        heal: str, copy: tuple[Path, Path], coded: tuple[Path, Path], clip_dir: Path,
        capsys: pytest.CaptureFixture) -> None:
    cond, results = copy
    record = _record(results, "x264", 30)
    bitstream = results / "h" / record["rate"]["bitstreams"][0]
    _flip(bitstream)
    altered = bitstream.read_bytes()
    _sse(results, "x264", 30).unlink()  # so that it must be measured again from that stream
    capsys.readouterr()
    # remeasure codes nothing: it names the stream as changed since coding (not the decoder) and what comes next.
    assert main(_argv(cond, results, "remeasure")) == 1
    out, err = capsys.readouterr()
    assert f"its bitstream {bitstream} changed since coding" in out + err
    assert "the next `evaluate.py run` codes this job again" in err and "not deterministic" not in out + err
    assert _record(results, "x264", 30) == record  # left as it was
    # The next run codes it again, keeping the old record, the altered stream and why aside.
    assert main(_argv(cond, results, *(["--retry-failed"] if heal == "retry-failed" else []))) == 0
    out, err = capsys.readouterr()
    assert f"CODING AGAIN x264 / Pan / qp 30: its bitstream {bitstream} changed since coding" in out
    assert "1 coded, 7 already recorded, 0 failed" in out
    [aside] = (results / "h" / "superseded").iterdir()
    assert f"kept in {aside}" in out
    assert json.loads((aside / "records" / Path(record["rate"]["bitstreams"][0]).relative_to("bitstreams")
                       .with_suffix(".json")).read_text()) == record
    assert (aside / record["rate"]["bitstreams"][0]).read_bytes() == altered
    assert "changed since coding" in (aside / "why.txt").read_text()
    assert _psnr_y_by_ffmpeg(clip_dir, bitstream) == pytest.approx(
        _row(pd.read_csv(results / "h" / "summary.csv"), "x264", 30)["psnr_y"], abs=2e-6)
    _assert_healthy(cond, results, coded[1], capsys)


@pytest.mark.integration
def test_kept_decoded_frames_changed_since_coding_are_named_and_the_job_coded_again(
        clip_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cond, results = _coded(tmp_path, clip_dir, ", keep_decoded: always")
    shutil.copytree(results, tmp_path / "pristine")
    record = _record(results, "x264", 30)
    kept = results / "h" / record["decoded"]["kept"]["path"]
    _flip(kept)
    _sse(results, "x264", 30).unlink()
    capsys.readouterr()
    assert main(_argv(cond, results)) == 0
    out, err = capsys.readouterr()
    assert f"CODING AGAIN x264 / Pan / qp 30: its kept decoded frames {kept} restore to frames that differ from " \
           "those measured when the job was coded (SHA-256): the file changed since coding" in out, out + err
    assert "not deterministic" not in out + err
    [aside] = (results / "h" / "superseded").iterdir()
    assert (aside / record["decoded"]["kept"]["path"]).is_file()
    _assert_healthy(cond, results, tmp_path / "pristine", capsys)


@pytest.mark.integration
def test_a_report_on_a_folder_of_unreadable_records_is_refused(copy: tuple[Path, Path], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture) -> None:
    _, results = copy
    for path in (results / "h" / "records").rglob("*.json"):
        path.write_bytes(path.read_bytes()[:50])
    capsys.readouterr()
    assert main(["report", str(results / "h"), "--out", str(tmp_path / "page"), "--no-figures"]) == 2
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: no report: {results / 'h'}: none of its 8 record file(s) can be read")
    assert "run its condition again" in line
    assert not (tmp_path / "page" / "index.html").exists()


@pytest.mark.integration
def test_a_folder_where_a_measurement_file_goes_is_moved_aside_and_the_job_measured_again(
        copy: tuple[Path, Path], coded: tuple[Path, Path], clip_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    cond, results = copy
    path = _sse(results, "x264", 30)
    path.unlink()
    # A folder appearing there after the run looked (a race): the rename into place fails; named, no traceback.
    real = ResultStore.write_measurement

    def blocked(store: ResultStore, record: dict, doc: dict) -> Path:
        store.measurement_path(record, doc["measure"], doc["key"]).mkdir()
        return real(store, record, doc)

    monkeypatch.setattr(ResultStore, "write_measurement", blocked)
    capsys.readouterr()
    assert main(_argv(cond, results, "remeasure")) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and path.is_dir()
    assert f"NOT MEASURED x264 / Pan / qp 30: {path}: Is a directory; fix it (or free space) and run again" in err
    # The next remeasure finds it there: moved aside (with what it holds), said once, measured again.
    monkeypatch.undo()
    (path / "inside.txt").write_text("kept\n")
    assert main(_argv(cond, results, "remeasure")) == 0
    out, err = capsys.readouterr()
    [aside] = (results / "h" / "superseded").iterdir()
    assert (f"warning: {path}: a folder, not a regular file, where a measurement should be; moved aside into "
            f"{aside}; x264 / Pan / qp 30: measured again now") in err.splitlines(), err
    assert (aside / path.relative_to(results / "h") / "inside.txt").read_text() == "kept\n"
    assert "0 coded, 1 measured again (1 measurements; 1 bitstreams decoded again" in out, out + err
    healed = _row(pd.read_csv(results / "h" / "summary.csv"), "x264", 30)
    bitstream = results / "h" / _record(results, "x264", 30)["rate"]["bitstreams"][0]
    assert healed["psnr_y"] == pytest.approx(_psnr_y_by_ffmpeg(clip_dir, bitstream), abs=2e-6)
    _assert_healthy(cond, results, coded[1], capsys)


XPSNR_CONDITION = """
name: x
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
data_root: {clips}
frames: {{first: 0, count: 4}}
intra_period: 4
metrics: {{ms_ssim: [], xpsnr: true}}
codecs:
  - {{descriptor: x264, params: {{preset: veryfast}}, rate_points: [30, 38]}}
anchor: x264
"""


@pytest.mark.integration
def test_a_truncated_xpsnr_measurement_is_not_pooled_over_fewer_frames(clip_dir: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    """XPSNR (a sequence-scope measure) stores one value per frame too: three values for four coded frames is
    not a three-frame XPSNR but a damaged file, named, and measured again."""
    cond = tmp_path / "x.yaml"
    cond.write_text(XPSNR_CONDITION.format(clips=clip_dir))
    results = tmp_path / "results"
    assert main(_argv(cond, results)) == 0
    pristine = _row(pd.read_csv(results / "x" / "summary.csv"), "x264", 30)
    store = ResultStore(results / "x")
    [path] = store.measurement_dir(next(r for r in store.all_records() if r["rate_point"] == 30)).glob("xpsnr_*")
    doc = json.loads(path.read_text())
    full = doc["values"]["xpsnr_y"]
    assert abs(np.mean(full[:3]) - np.mean(full)) > 1e-3  # three frames pooled alone would give another number
    doc["values"] = {k: v[:3] for k, v in doc["values"].items()}
    path.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["report", str(results / "x"), "--out", str(tmp_path / "page"), "--no-figures"]) == 0
    assert f"{path}: holds 3 values of xpsnr_y, for a job of 4 coded frames" in capsys.readouterr().err
    job = _row(pd.read_csv(tmp_path / "page" / "data" / "per_sequence.csv"), "x264", 30)
    assert job["not_measured"].split(", ") == ["xpsnr_y", "xpsnr_u", "xpsnr_v"] and pd.isna(job["xpsnr_y"])
    assert job["psnr_y"] == pytest.approx(pristine["psnr_y"], abs=1e-6)  # the job's other metrics stand
    assert main(_argv(cond, results, "remeasure")) == 0
    assert "0 coded, 1 measured again (1 measurements" in capsys.readouterr().out
    healed = _row(pd.read_csv(results / "x" / "summary.csv"), "x264", 30)
    assert healed[["xpsnr_y", "xpsnr_u", "xpsnr_v"]].tolist() == pristine[["xpsnr_y", "xpsnr_u", "xpsnr_v"]].tolist()


@pytest.mark.integration
def test_a_file_no_measurement_is_read_from_is_named_as_not_used(copy: tuple[Path, Path], tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    """A damaged file under an earlier key and a stray file: nothing measures them again, so nothing says it
    will; they are named once, to be removed, and stop nothing, not even under --strict."""
    cond, results = copy
    folder = _sse(results, "x264", 30).parent
    old, stray = folder / "sse_0123456789abcdef.json", folder / "notes.json"
    old.write_text('{"job_key": "')
    stray.write_text("[]\n")
    said = {old: "not readable JSON (Unterminated string", stray: "not a JSON object"}
    capsys.readouterr()
    for argv in (["report", str(results / "h"), "--out", str(tmp_path / "page"), "--no-figures", "--strict"],
                 _argv(cond, results, "--strict", "--rebuild-outputs")):
        assert main(argv) == 0
        out, err = capsys.readouterr()
        for path, why in said.items():
            [line] = [line for line in err.splitlines() if str(path) in line]
            assert line.startswith(f"warning: {path}: {why}") and line.endswith(
                "; not used by any job (no measurement the condition asks for is stored under this name); remove it")
        assert "measures it again" not in err and "measured again" not in out
    table = pd.read_csv(tmp_path / "page" / "data" / "per_sequence.csv")
    assert "not_measured" not in table.columns and table["psnr_y"].notna().all()
    assert old.exists() and stray.exists()  # named, not touched


@pytest.mark.slow
@pytest.mark.integration
def test_with_a_cluster_executor_a_job_changed_since_coding_is_coded_again_through_it(
        copy: tuple[Path, Path], coded: tuple[Path, Path], clip_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    from bench.conditions.condition import load_condition
    from bench.run.cluster import run_on_submitit
    from bench.run.runner import RunOptions, _Work, run_condition

    cond, results = copy
    bitstream = results / "h" / _record(results, "x264", 30)["rate"]["bitstreams"][0]
    _flip(bitstream)
    _sse(results, "x264", 30).unlink()
    submitted = []

    def spy(condition: object, todo: list, *rest: object) -> object:
        submitted.append([job.label for job in todo])
        yield from run_on_submitit(condition, todo, *rest)

    def here(*args: object) -> None:
        raise AssertionError("coded on the submitting host, not through the executor")

    monkeypatch.setattr(_Work, "code_job", here)
    capsys.readouterr()
    outcome = run_condition(load_condition(cond), RunOptions(results, progress=False, executor="submitit-local",
                                                             remote=spy))
    assert submitted == [[], ["x264 / Pan / qp 30"]]
    assert outcome.coded == 1 and outcome.skipped == 7 and not outcome.failed and not outcome.measure_failed
    assert f"CODING AGAIN x264 / Pan / qp 30: its bitstream {bitstream} changed since coding" in capsys.readouterr().out
    assert len(list((results / "h" / "submitit").rglob("*_result.pkl"))) == 1
    [aside] = (results / "h" / "superseded").iterdir()
    assert (aside / "why.txt").read_text().startswith("x264 / Pan / qp 30: its bitstream")
    monkeypatch.undo()
    assert main(_argv(cond, results)) == 0  # the tables of the run, then: the folder is whole again
    assert _psnr_y_by_ffmpeg(clip_dir, bitstream) == pytest.approx(
        _row(pd.read_csv(results / "h" / "summary.csv"), "x264", 30)["psnr_y"], abs=2e-6)
    _assert_healthy(cond, results, coded[1], capsys)
