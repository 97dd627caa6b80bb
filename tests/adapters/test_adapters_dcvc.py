"""DCVC-family adapters without a DCVC checkout: the configs and command lines written for every generation, our
intra-period mapping, rate points in each generation's terms, parsing of their output JSON, and whole jobs
through the runner with a stand-in script (tests/dcvc_standin.py). The real checkout runs in the opt-in test
at the end when $LVCBENCH_DCVC_ROOT points at a microsoft/DCVC clone with checkpoints."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import dcvc_checkout

from bench.adapters import adapter_class
from bench.adapters.base import CodingTask
from bench.adapters.codec_logs import dcvc_entry_metrics as entry_metrics
from bench.adapters.dcvc import GENERATIONS, single_entry
from bench.bd.sources import sources_from
from bench.conditions.condition import load_condition
from bench.errors import AdapterError, ConditionError
from bench.report.html import build_report
from bench.report.tables import summary_frame
from bench.run.runner import RunOptions, run_condition
from bench.store.results import ResultStore
from bench.video.colour import ColourSpec, convert
from bench.video.formats import pixel_format
from bench.video.io import RawVideoReader, RawVideoWriter, write_png_frame


def _adapter(tmp_path: Path, name: str, **params: object):
    cls = adapter_class(name)
    folder = tmp_path / name if (tmp_path / name).is_dir() else dcvc_checkout(tmp_path, name)
    base = {"checkout": str(folder), "python": sys.executable}
    if name in ("dcvc", "dcvc-tcm"):
        base["checkpoints"] = [["image.pth.tar", "video.pth.tar"], ["image.pth.tar", "video.pth.tar"]]
    elif name == "evc":
        base.update(i_frame_model="image.pth.tar", cpu_sync_shim=True)
    else:
        base.update(i_frame_model="image.pth.tar", p_frame_model="video.pth.tar")
    if name in ("dcvc-rt", "dcvc-uf"):
        base["device"] = "cuda"
    return cls(cls.validate_params({**base, **params}, f"codecs/{name}.yaml"))


def _task(tmp_path: Path, intra_period: int, frames: int = 8, rate_point: object = 0, fmt: str = "gbrp",
          width: int = 96, height: int = 64) -> CodingTask:
    return CodingTask(tmp_path / "in.raw", pixel_format(fmt), width, height, 30.0, frames, intra_period, rate_point,
                      tmp_path)


def _flag(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None


# (generation, our intra period, frames) -> the period the script is given (config and --force_intra_period)
PERIODS = [
    ("dcvc-tcm", -1, 8, 8), ("dcvc-tcm", 4, 8, 4), ("dcvc-hem", -1, 96, 96), ("dcvc-hem", 32, 96, 32),
    ("dcvc-dc", -1, 8, 8), ("dcvc-fm", -1, 96, 96),  # FM's own -1 would make every frame intra
    ("dcvc-fm", 32, 96, 32), ("dcvc-rt", -1, 96, -1), ("dcvc-rt", 32, 96, 32), ("dcvc-uf", -1, 96, -1),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "ours", "frames", "theirs"), PERIODS)
def test_intra_period_mapping(tmp_path: Path, name: str, ours: int, frames: int, theirs: int) -> None:
    adapter = _adapter(tmp_path, name)
    task = _task(tmp_path, ours, frames)
    config = adapter.config_json(task, tmp_path / "data" / "bench")
    (info,) = (config["bench"]["sequences"] if "bench" in config else
               config["test_classes"]["bench"]["sequences"]).values()
    key = "gop" if name in ("dcvc-tcm", "dcvc-hem", "dcvc-dc") else "intra_period"
    assert info[key] == theirs and info["frames"] == frames
    argv = adapter.command(task, tmp_path / "c.json", tmp_path / "out", stream=True)
    assert _flag(argv, "--force_intra_period") == str(theirs) and _flag(argv, "--force_frame_num") == str(frames)


def test_dcvc_2021_config_has_no_force_flags(tmp_path: Path) -> None:
    adapter = _adapter(tmp_path, "dcvc")
    task = _task(tmp_path, -1, 10, width=128, height=64)
    assert adapter.config_json(task, tmp_path / "d") == {
        "bench": {"base_path": str(tmp_path / "d"), "sequences": {"sequence": {"frames": 10, "gop": 10}}}}
    argv = adapter.command(task, tmp_path / "c.json", tmp_path / "out", stream=True)
    assert "--force_intra_period" not in argv and "--cuda" not in argv
    assert _flag(argv, "--i_frame_model_name") == "cheng2020-anchor" and _flag(argv, "--model_type") == "psnr"
    assert _flag(argv, "--recon_bin_path") == str(tmp_path / "out" / "stream") and "--write_recon_frame" in argv


def test_configs_of_the_new_formats(tmp_path: Path) -> None:
    fm = _adapter(tmp_path, "dcvc-fm").config_json(_task(tmp_path, 32, 96, fmt="yuv420p", width=416, height=240),
                                                  tmp_path / "data" / "bench")
    assert fm == {"root_path": str(tmp_path / "data"), "test_classes": {"bench": {
        "test": 1, "base_path": "bench", "src_type": "yuv420",
        "sequences": {"sequence.yuv": {"width": 416, "height": 240, "frames": 96, "intra_period": 32}}}}}
    hem = _adapter(tmp_path, "dcvc-hem").config_json(_task(tmp_path, 32, 96), tmp_path / "data" / "bench")
    assert hem["test_classes"]["bench"]["src_type"] == "png"
    assert hem["test_classes"]["bench"]["sequences"] == {"sequence": {"width": 96, "height": 64, "frames": 96,
                                                                      "gop": 32}}
    evc = _adapter(tmp_path, "evc").config_json(_task(tmp_path, 1, 8), tmp_path / "data" / "bench")
    assert evc["test_classes"]["bench"] == {"test": 1, "base_path": "bench/sequence", "src_type": "png",
                                            "img_folder": 1}


@pytest.mark.slow
def test_rate_points_in_each_generations_terms(tmp_path: Path) -> None:
    out = tmp_path / "out"

    def argv(name: str, rate_point: object, **params: object) -> list[str]:
        return _adapter(tmp_path, name, **params).command(_task(tmp_path, 32, 96, rate_point), tmp_path / "c.json",
                                                          out, stream=True)

    dc = argv("dcvc-dc", 42)
    assert _flag(dc, "--rate_num") == "1" and _flag(dc, "--i_frame_q_indexes") == "42"
    assert "--p_frame_q_indexes" not in dc and _flag(dc, "--yuv420") == "1"  # yuv420 is DC's default src_type
    fm = argv("dcvc-fm", [10, 20])
    assert _flag(fm, "--q_indexes_i") == "10" and _flag(fm, "--q_indexes_p") == "20"
    rt = argv("dcvc-rt", 21)
    assert _flag(rt, "--qp_i") == "21" and _flag(rt, "--qp_p") == "21" and _flag(rt, "--cuda_idx") == "0"
    assert _flag(rt, "--force_zero_thres") == "0.12" and _flag(rt, "--reset_interval") == "64"
    uf = argv("dcvc-uf", 63, model_structure="htl", device="cuda:1")
    assert _flag(uf, "--model_structure") == "htl" and _flag(uf, "--cuda_idx") == "1" and "--write_stream" not in uf
    tcm = argv("dcvc-tcm", 1)
    assert _flag(tcm, "--i_frame_model_path").endswith("image.pth.tar") and _flag(tcm, "--cuda") == "0"
    # HEM: the q-scales their script tests for rate_num 4 are the checkpoint's own, read with their helpers;
    # for 3 rates they are log-interpolated between the first and last.
    hem = argv("dcvc-hem", 2)
    assert (_flag(hem, "--i_frame_q_scales"), _flag(hem, "--p_frame_y_q_scales"),
            _flag(hem, "--p_frame_mv_y_q_scales")) == ("0.699999988079071", "0.800000011920929", "0.8999999761581421")
    hem3 = _adapter(tmp_path, "dcvc-hem", rate_num=3).q_scales
    assert hem3["i"] == pytest.approx([1.5, (1.5 * 0.45) ** 0.5, 0.45], rel=1e-6)


def test_dc_src_type_and_yuv420_flag(tmp_path: Path) -> None:
    png = _adapter(tmp_path, "dcvc-dc", src_type="png")
    argv = png.command(_task(tmp_path, 32, 96, 0), tmp_path / "c.json", tmp_path / "out", stream=False)
    assert _flag(argv, "--yuv420") == "0" and _flag(argv, "--write_stream") == "0"
    assert png.input_format(pixel_format("yuv420p")).name == "gbrp"  # PNG frames via the condition's colour path
    yuv = _adapter(tmp_path, "dcvc-dc")
    assert yuv.params["src_type"] == "yuv420" and yuv.input_format(pixel_format("yuv420p")).name == "yuv420p"
    with pytest.raises(AdapterError, match=r"src_type yuv420 reads 8-bit 4:2:0; the condition codes yuv420p10le"):
        yuv.input_format(pixel_format("yuv420p10le"))


@pytest.mark.parametrize(("name", "params", "intra_period", "message"), [
    ("dcvc-rt", {"device": "cpu"}, -1, r"dcvc-rt runs only on a CUDA GPU"),
    ("dcvc-uf", {}, 32, r"dcvc-uf places periodic intra frames at 0, N\+1, 2N\+1"),
    ("evc", {}, 32, r"evc is an image codec; set intra_period: 1"),
    ("dcvc-hem", {"src_type": "yuv420"}, -1, r"src_type: dcvc-hem reads png, not 'yuv420'"),
    ("dcvc-fm", {"device": "gpu"}, -1, r"device: expected cpu, cuda or cuda:N, got 'gpu'"),
])
def test_bad_descriptors_and_conditions(tmp_path: Path, name: str, params: dict, intra_period: int,
                                        message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        _adapter(tmp_path, name, **params).check_condition(intra_period, "c.yaml: codec x")


def test_rate_point_validation() -> None:
    with pytest.raises(ConditionError, match=r"64 is not a rate point for dcvc-fm: expected an integer 0..63"):
        adapter_class("dcvc-fm").validate_rate_point(64, "c.yaml: rate_points[0]")
    with pytest.raises(ConditionError, match=r"dcvc-dc codes P frames at the intra q-index"):
        adapter_class("dcvc-dc").validate_rate_point([1, 2], "c.yaml: rate_points[0]")
    with pytest.raises(ConditionError, match=r"expected an index into the descriptor's checkpoints list"):
        adapter_class("dcvc-tcm").validate_rate_point(-1, "c.yaml: rate_points[0]")
    assert adapter_class("dcvc-rt").validate_rate_point([0, 63], "w") == [0, 63]


@pytest.mark.slow
def test_missing_checkout_and_checkpoint(tmp_path: Path) -> None:
    cls = adapter_class("dcvc-fm")
    with pytest.raises(AdapterError, match=r"codec dcvc-fm: no checkout given; set checkout: to the "
                                           r"DCVC-family/DCVC-FM folder"):
        cls(cls.validate_params({}, "w")).identity()
    with pytest.raises(AdapterError, match=r"has no test_video.py; point checkout: at the DCVC-family/DCVC-FM"):
        cls(cls.validate_params({"checkout": str(tmp_path)}, "w")).identity()
    adapter = _adapter(tmp_path, "dcvc-fm", p_frame_model="missing.pth.tar")
    with pytest.raises(AdapterError, match=r"p_frame_model .*missing.pth.tar does not exist"):
        adapter.identity()


# --- their output JSON, in each generation's format (keys as the fact sheet lists them; values ours) ---

def test_entry_metrics_of_every_format() -> None:
    rgb = {"i_frame_num": 1, "p_frame_num": 7, "ave_all_frame_bpp": 0.1, "ave_all_frame_psnr": 33.5,
           "ave_all_frame_msssim": 0.97}
    assert entry_metrics(rgb) == {"psnr_rgb": 33.5, "ms_ssim_rgb": 0.97}
    yuv = {**rgb, "ave_all_frame_msssim": 0.0, "ave_all_frame_psnr_y": 32.0, "ave_all_frame_psnr_u": 40.0,
           "ave_all_frame_psnr_v": 41.0, "ave_all_frame_msssim_y": 0.0}
    assert entry_metrics(yuv) == {"psnr_yuv_611": 33.5, "ms_ssim_yuv_611": None, "psnr_y": 32.0, "psnr_u": 40.0,
                                  "psnr_v": 41.0, "ms_ssim_y": None}  # 0 = --calc_ssim off, not a value
    assert entry_metrics({"ave_all_frame_quality": 0.95}) == {"ms_ssim_rgb": 0.95}  # DCVC 2021, --model_type msssim
    assert entry_metrics({"ave_all_frame_quality": 31.2}) == {"psnr_rgb": 31.2}
    assert entry_metrics({**rgb, "ave_all_frame_psnr": -999.9}) == {"psnr_rgb": -999.9, "ms_ssim_rgb": 0.97}
    data = {"bench": {"sequence.yuv": {"000": yuv}}}
    assert single_entry(data, Path("r.json")) is yuv
    with pytest.raises(AdapterError, match=r"r.json: expected one result entry .* found 2"):
        single_entry({"bench": {"a": {"000": rgb, "001": rgb}}}, Path("r.json"))


# --- whole jobs through the runner, with the stand-in script ---

def _condition(tmp_path: Path, clip_dir: Path, codec: str, colour: str = "") -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(f"""
name: nvc
sequences: [{{name: Pan, file: Pan_96x64_30.yuv}}]
data_root: {clip_dir}
frames: {{first: 2, count: 6}}
intra_period: 4
{colour}
metrics: {{ms_ssim: []}}
codecs: [{codec}]
""")
    return path


def _records(results: Path) -> list[dict]:
    return ResultStore(results / "nvc").run_records()


@pytest.mark.slow
@pytest.mark.integration
def test_png_generation_end_to_end(tmp_path: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HEM-shaped, on RGB content (a PNG folder, as the DCVC conditions' RGB sets): PNG frames in, per-frame
    .bin files and decoded PNGs out. Measured in the source's own RGB, our PSNR is theirs."""
    monkeypatch.setenv("LAYOUT", "hem")
    rgb = tmp_path / "data" / "PanRGB"
    rgb.mkdir(parents=True)
    yuv = pixel_format("yuv420p")
    for i, planes in enumerate(RawVideoReader(clip_dir / "Pan_96x64_30.yuv", yuv, 96, 64).frames(0, 8)):
        write_png_frame(rgb / f"im{i + 1:05d}.png", convert(planes, yuv, pixel_format("gbrp"), ColourSpec()))
    folder = dcvc_checkout(tmp_path, "dcvc-hem")
    codec = (f"{{name: hem, adapter: dcvc-hem, params: {{checkout: {folder}, python: {sys.executable}, "
             "i_frame_model: image.pth.tar, p_frame_model: video.pth.tar}, rate_points: [0, 3]}")
    cond = _condition(tmp_path, tmp_path / "data", codec)
    cond.write_text(cond.read_text().replace("{name: Pan, file: Pan_96x64_30.yuv}",
                                             "{name: PanRGB, file: PanRGB, format: gbrp, width: 96, height: 64, fps: 30}"))
    outcome = run_condition(load_condition(cond), RunOptions(tmp_path / "results", progress=False))
    assert outcome.coded == 2 and not outcome.failed, outcome.failed
    for r in _records(tmp_path / "results"):
        assert r["status"] == "ok" and r["rate"]["bits_source"] == "bitstream"
        assert r["rate"]["bitstream_bytes"] == [400, 61, 62, 63, 400, 65]  # frame 0 and 4 intra (period 4)
        assert r["per_frame"]["frame_type"] == ["I", "P", "P", "P", "I", "P"]
        # Their PSNR (on the PNGs they saved) and bpp equal ours: same frames, same files.
        diff = r["codec_reported"]["difference_to_ours"]
        assert abs(diff["psnr_rgb"]) < 1e-9 and abs(diff["bpp"]) < 1e-12
        argv = r["commands"][0]
        assert argv[1] == "test_video.py" and _flag(argv, "--force_intra_period") == "4"
        assert _flag(argv, "--force_frame_num") == "6" and _flag(argv, "--rate_num") == "1"
        assert r["codec_reported"]["intra_period_passed"] == 4 and r["codec"]["identity"]["q_scales"]["i"][0] == 1.5


@pytest.mark.slow
@pytest.mark.integration
def test_estimated_bits_only_when_allowed_and_marked(tmp_path: Path, clip_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """DC on a CPU cannot write a bitstream: refused unless allowed; then recorded and shown as estimated."""
    monkeypatch.setenv("LAYOUT", "hem")  # DC saves decoded frames in its estimation mode too
    folder = dcvc_checkout(tmp_path, "dcvc-dc")
    params = (f"checkout: {folder}, python: {sys.executable}, src_type: png, i_frame_model: image.pth.tar, "
              "p_frame_model: video.pth.tar")
    cond = _condition(tmp_path, clip_dir, f"{{name: dc, adapter: dcvc-dc, params: {{{params}}}, rate_points: [21]}}")
    outcome = run_condition(load_condition(cond), RunOptions(tmp_path / "r1", progress=False))
    assert len(outcome.failed) == 1
    assert outcome.failed[0]["error"]["message"] == (
        "cannot write a bitstream here (dcvc-dc's stream path calls torch.cuda.synchronize, which "
        "fails on a CPU); set allow_estimated_bits: true to accept the entropy estimate (marked estimated)")
    cond = _condition(tmp_path, clip_dir, f"{{name: dc, adapter: dcvc-dc, params: {{{params}, "
                                          "allow_estimated_bits: true}, rate_points: [21]}")
    outcome = run_condition(load_condition(cond), RunOptions(tmp_path / "r2", progress=False))
    assert not outcome.failed, outcome.failed
    (r,) = _records(tmp_path / "r2")
    assert r["rate"]["bits_source"] == "estimated" and r["rate"]["bitstreams"] == []
    assert r["rate"]["bits"] == pytest.approx(8 * (400 + 61 + 62 + 63 + 400 + 65))
    assert "entropy-model estimate" in r["rate"]["definition"]
    assert summary_frame([r])["codec"].tolist() == ["dc (estimated bits)"]
    html = build_report(sources_from([str(tmp_path / "r2" / "nvc")]), tmp_path / "report", "t", None).read_text()
    assert "dc (estimated bits)" in html and "none (estimated bits)" in html  # figures and the decode checks


@pytest.mark.slow
@pytest.mark.integration
def test_yuv_generation_end_to_end(tmp_path: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FM-shaped: the raw 4:2:0 file, one bitstream and one decoded .yuv per point; Y/U/V and 6:1:1 reported."""
    monkeypatch.setenv("LAYOUT", "fm")
    folder = dcvc_checkout(tmp_path, "dcvc-fm")
    codec = (f"{{name: fm, adapter: dcvc-fm, params: {{checkout: {folder}, python: {sys.executable}, "
             "i_frame_model: image.pth.tar, p_frame_model: video.pth.tar, cpu_sync_shim: true}, rate_points: [42]}")
    outcome = run_condition(load_condition(_condition(tmp_path, clip_dir, codec)),
                            RunOptions(tmp_path / "results", progress=False))
    assert not outcome.failed, outcome.failed
    (r,) = _records(tmp_path / "results")
    assert r["rate"]["bitstream_bytes"] == [400 + 61 + 62 + 63 + 400 + 65]
    diff = r["codec_reported"]["difference_to_ours"]
    assert {k: round(v, 9) for k, v in diff.items()} == {"psnr_yuv_611": 0, "psnr_y": 0, "psnr_u": 0, "psnr_v": 0,
                                                         "bpp": 0}
    assert r["codec_reported"]["cpu_sync_shim"] is True  # the stream path ran on the CPU through the shim
    assert _flag(r["commands"][0], "--q_indexes_i") == "42" and _flag(r["commands"][0], "--write_stream") == "1"


@pytest.mark.slow
@pytest.mark.integration
def test_script_failure_is_a_failed_record(tmp_path: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYOUT", "hem")
    folder = dcvc_checkout(tmp_path, "dcvc-hem")
    (folder / "test_video.py").write_text("import sys\nprint('RuntimeError: CUDA out of memory')\nsys.exit(1)\n")
    codec = (f"{{name: hem, adapter: dcvc-hem, params: {{checkout: {folder}, python: {sys.executable}, "
             "i_frame_model: image.pth.tar, p_frame_model: video.pth.tar}, rate_points: [0]}")
    outcome = run_condition(load_condition(_condition(tmp_path, clip_dir, codec)),
                            RunOptions(tmp_path / "results", progress=False))
    (failed,) = outcome.failed
    assert failed["error"]["message"] == ("test_video.py failed with exit code 1: RuntimeError: "
                                          "CUDA out of memory")


@pytest.mark.skipif(not os.environ.get("LVCBENCH_DCVC_ROOT"), reason="set LVCBENCH_DCVC_ROOT to a microsoft/DCVC "
                    "clone (with checkpoints under each generation's checkpoints/) to run the real scripts")
@pytest.mark.parametrize(("name", "params", "rate_point"), [
    ("dcvc-hem", {"i_frame_model": "checkpoints/acmmm2022_image_psnr.pth.tar",
                  "p_frame_model": "checkpoints/acmmm2022_video_psnr.pth.tar"}, 0),
    ("dcvc-dc", {"i_frame_model": "checkpoints/cvpr2023_image_yuv420_psnr.pth.tar",
                 "p_frame_model": "checkpoints/cvpr2023_video_yuv420_psnr.pth.tar", "allow_estimated_bits": True}, 21),
    ("dcvc-fm", {"i_frame_model": "checkpoints/cvpr2024_image.pth.tar",
                 "p_frame_model": "checkpoints/cvpr2024_video.pth.tar", "cpu_sync_shim": True}, 21),
])
def test_real_checkout(tmp_path: Path, demo_dir: Path, name: str, params: dict, rate_point: int) -> None:
    """Their script on 3 frames of a 416x240 demo sequence (their MS-SSIM needs more than 160 pixels a side)."""
    folder = Path(os.environ["LVCBENCH_DCVC_ROOT"]) / GENERATIONS[name].folder
    python = os.environ.get("LVCBENCH_DCVC_PYTHON", sys.executable)
    cls = adapter_class(name)
    adapter = cls(cls.validate_params({"checkout": str(folder), "python": python, **params}, "w"))
    fmt = pixel_format("gbrp" if adapter.params["src_type"] == "png" else "yuv420p")
    yuv = pixel_format("yuv420p")
    raw = tmp_path / "in.raw"
    with RawVideoWriter(raw, fmt) as writer:
        for planes in RawVideoReader(demo_dir / "HopperPan_416x240_30.yuv", yuv, 416, 240).frames(0, 3):
            writer.write(convert(planes, yuv, fmt, ColourSpec("bt709", "full", "bilinear")))
    work = tmp_path / "work"
    work.mkdir()
    progress: list[int] = []
    # Intra period 2: with randomly initialised weights HEM's P-frame latents grow past what its rANS coder takes
    # after a few frames (it then loops forever); trained checkpoints do not do that.
    task = CodingTask(raw, fmt, 416, 240, 30.0, 3, 2, rate_point, work, progress=lambda k, n: progress.append(k))
    result = adapter.code_sequence(task)
    assert result.decoded_path.stat().st_size == 3 * fmt.frame_bytes(416, 240)
    assert result.reported_metrics and result.codec_reported["intra_period_passed"] == 2
    assert (result.estimated_bits is None) == bool(result.bitstreams) and progress[-1] == 3


@pytest.mark.slow
def test_doctor_names_everything_missing(tmp_path: Path) -> None:
    adapter = _adapter(tmp_path, "dcvc-fm", p_frame_model="missing.pth.tar", device="cuda")
    with pytest.raises(AdapterError) as e:
        adapter.doctor()
    message = str(e.value)
    assert message.startswith("codec dcvc-fm: p_frame_model ") and "missing.pth.tar does not exist" in message
    assert ("its entropy coder src.models.MLCodec_rans does not import (build it: cd " in message
            and "&& cd src && mkdir build && cd build && cmake ../cpp -DCMAKE_BUILD_TYPE=Release && make -j)" in message)
    assert "device cuda: no CUDA device visible to torch" in message
    estimated = _adapter(tmp_path, "dcvc-dc", write_stream=False, allow_estimated_bits=True)
    assert estimated.doctor().endswith("device cpu; estimated bits (write_stream: false in the descriptor))")


def test_timings_from_their_fields_where_reported(tmp_path: Path) -> None:
    entry = {"avg_frame_encoding_time": 0.01, "avg_frame_decoding_time": 0.02}
    assert _adapter(tmp_path, "dcvc-rt")._codec_times(entry, 96, 50.0) == pytest.approx((0.96, 1.92))
    # UF HT: times are per call; 97 frames = the intra frame and 12 chunks of 8
    assert _adapter(tmp_path, "dcvc-uf", model_structure="htl")._codec_times(entry, 97, 50.0) == \
        pytest.approx((0.13, 0.26))
    assert _adapter(tmp_path, "dcvc-hem")._codec_times({"test_time": 3.0}, 96, 50.0) == (50.0, 0.0)


def test_progress_lines_as_their_scripts_print_them() -> None:
    """Captured from DC (after tqdm's bar, on the same line), FM in stream mode, and the end of every run."""
    from bench.adapters.dcvc import _FRAME_LINE

    coded = ["  0%|          | 0/1 [00:00<?, ?it/s]frame 0, 1.887 seconds, bits: 152054.703, PSNR: 7.5006",
             "frame 1, 4.368 seconds, bits: 71429.875, PSNR: 6.6061, MS-SSIM: 0.1070 ",
             "frame 4 encoded, 3.767 s, bits: 100232, PSNR: 7.8101, MS-SSIM: 0.2156 "]
    other = ["frame 3 decoded, 5.055 s, bits: 116360, PSNR: 7.8181 ", "Tested 3 frames from 1 sequences",
             "encoding/decoding 1 P frames, average encoding time 0 ms, average decoding time 0 ms."]
    assert [bool(_FRAME_LINE.search(line)) for line in coded + other] == [True] * 3 + [False] * 3


def test_estimated_bits_refused_where_the_generation_has_no_estimation_mode(tmp_path: Path) -> None:
    adapter = _adapter(tmp_path, "dcvc-rt", write_stream=False, allow_estimated_bits=True)
    with pytest.raises(AdapterError, match=r"^codec dcvc-rt: has no estimation mode; it needs write_stream on a CUDA "):
        adapter.code_sequence(_task(tmp_path / "job", -1))
