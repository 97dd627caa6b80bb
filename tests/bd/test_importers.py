"""Importers: fixtures written in each producer's documented format, and refusals that name the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import VTM_LOG

from bench.bd.importers import ImportError_, import_file
from bench.report.tables import summary_frame

DATA = Path(__file__).parents[1] / "data" / "dcvc"


def _write(tmp_path: Path, name: str, content: object) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_dcvc_yuv420_generation(tmp_path: Path) -> None:
    recs = import_file(DATA / "test.json", "dcvc-dc")
    assert len(recs) == 20 and {r["imported"]["format"] for r in recs} == {"dcvc"}
    r = next(x for x in recs if x["sequence"]["name"] == "Cactus" and x["rate_point"] == "002")
    raw = json.loads((DATA / "test.json").read_text())["HEVC_B"]["Cactus_1920x1080_50"]["002"]
    assert r["sequence"]["group"] == "B" and r["source"]["count"] == raw["i_frame_num"] + raw["p_frame_num"] == 64
    assert r["rate"]["bpp"] == raw["ave_all_frame_bpp"]
    assert r["metrics"]["psnr_yuv_611"] == raw["ave_all_frame_psnr"]
    assert r["metrics"]["psnr_y"] == raw["ave_all_frame_psnr_y"]
    assert "ms_ssim_yuv_611" not in r["metrics"]  # 0 = --calc_ssim was off, not a measurement
    assert r["codec_reported"]["ave_i_frame_bpp"] == raw["ave_i_frame_bpp"]
    # kbps from the manifest's frame rate (Cactus: 50 fps) and size
    assert r["rate"]["kbps"] == pytest.approx(raw["ave_all_frame_bpp"] * 1920 * 1080 * 50 / 1000)


def test_dcvc_2021_quality_key_and_tcm_per_frame_lists(tmp_path: Path) -> None:
    dcvc = {"HEVC_D": {"BasketballPass_384x192_50": {"model_dcvc_quality_0_psnr": {
        "i_frame_num": 10, "p_frame_num": 90, "ave_i_frame_bpp": 0.5, "ave_i_frame_quality": 33.0,
        "ave_p_frame_bpp": 0.05, "ave_p_frame_quality": 31.0, "ave_all_frame_bpp": 0.095,
        "ave_all_frame_quality": 31.2}}}}
    (r,) = import_file(_write(tmp_path, "dcvc.json", dcvc), "dcvc")
    assert r["metrics"] == {"psnr_rgb": 31.2} and r["rate_point"] == "model_dcvc_quality_0_psnr"
    assert r["sequence"]["name"] == "BasketballPass"  # the cropped 384x192 file still maps to the sequence
    ms = json.loads(json.dumps(dcvc).replace("31.2", "0.97"))
    assert import_file(_write(tmp_path, "ms.json", ms))[0]["metrics"] == {"ms_ssim_rgb": 0.97}
    tcm = {"HEVC_RGB": {"Kimono1_1920x1080_24": {"inter_psnr_TMM_q1": {
        "i_frame_num": 1, "p_frame_num": 2, "ave_all_frame_bpp": 0.1, "ave_all_frame_psnr": 35.0,
        "ave_all_frame_msssim": 0.98, "frame_bpp": [0.2, 0.05, 0.05], "frame_psnr": [36.0, 34.5, 34.5],
        "frame_type": [0, 1, 1], "test_time": 12.0}}}}
    (r,) = import_file(_write(tmp_path, "tcm.json", tcm), "tcm")
    assert r["metrics"] == {"psnr_rgb": 35.0, "ms_ssim_rgb": 0.98}
    assert r["per_frame"]["frame_type"] == ["I", "P", "P"] and r["per_frame"]["psnr_rgb"] == [36.0, 34.5, 34.5]
    assert r["per_frame"]["bits"] == pytest.approx([0.2 * 1920 * 1080, 0.05 * 1920 * 1080, 0.05 * 1920 * 1080])


def test_dcvc_rt_times(tmp_path: Path) -> None:
    rt = {"UVG": {"Beauty_1920x1080_120fps_420_8bit_YUV.yuv": {"000": {
        "i_frame_num": 1, "p_frame_num": 95, "ave_all_frame_bpp": 0.01, "ave_all_frame_psnr": 34.0,
        "ave_all_frame_psnr_y": 33.0, "ave_all_frame_psnr_u": 38.0, "ave_all_frame_psnr_v": 38.0,
        "avg_frame_encoding_time": 0.02, "avg_frame_decoding_time": 0.01, "qp_i": 0, "qp_p": 0}}}}
    (r,) = import_file(_write(tmp_path, "rt.json", rt), "dcvc-rt")
    assert (r["sequence"]["name"], r["sequence"]["group"]) == ("Beauty", "UVG")
    assert r["timing"] == {"encode_s": pytest.approx(0.02 * 96), "decode_s": pytest.approx(0.01 * 96)}


def test_compressai_results_json(tmp_path: Path) -> None:
    data = {"name": "bmshj2018-hyperprior", "description": "Inference (ans)", "meta": {"dataset": "kodak"},
            "results": {"q": [1, 2, 3, 4], "bpp": [0.1, 0.2, 0.4, 0.8], "psnr-rgb": [27.0, 29.0, 31.0, 33.0],
                        "ms-ssim-rgb": [0.9, 0.93, 0.95, 0.97], "encoding_time": [0.1] * 4, "decoding_time": [0.2] * 4}}
    recs = import_file(_write(tmp_path, "bmshj.json", data))
    assert [r["rate_point"] for r in recs] == [1, 2, 3, 4] and recs[0]["codec"]["name"] == "bmshj2018-hyperprior"
    assert recs[2]["metrics"] == {"psnr_rgb": 31.0, "ms_ssim_rgb": 0.95} and recs[2]["rate"]["bpp"] == 0.4
    assert recs[0]["sequence"]["name"] == "kodak" and recs[0]["timing"]["decode_s"] == 0.2
    video = {"name": "x265", "description": "", "results": {"bitrate": [100.0, 200.0], "psnr-yuv": [33.0, 35.0],
                                                            "psnr-y": [32.0, 34.0]}}
    (tmp_path / "UVG-1080p").mkdir()
    recs = import_file(_write(tmp_path / "UVG-1080p", "x265.json", video))
    assert recs[1]["rate"]["kbps"] == 200.0 and recs[1]["metrics"]["psnr_yuv_compressai"] == 35.0
    # The folder names the dataset: a UVG dataset-average curve, its bpp from every UVG sequence's 1920x1080 at 120.
    assert recs[1]["sequence"]["name"] == "UVG (dataset average)" and recs[1]["sequence"]["group"] == "UVG"
    assert recs[1]["sequence"]["dataset_average"]["dataset"] == "uvg"
    assert recs[1]["rate"]["bpp"] == pytest.approx(200.0 * 1000 / (120 * 1920 * 1080), rel=1e-15)
    assert "kbps x 1000 / (fps x width x height)" in recs[1]["rate"]["conversion"]


def test_dhvc_json_and_stdout(tmp_path: Path) -> None:
    entries = [{"video": "/data/UVG/Beauty", "quality": 6, "bpp": 0.05, "psnr": 33.0},
               {"video": "/data/UVG/Jockey", "quality": 6, "bpp": 0.04, "psnr": 35.0},
               {"video": "/data/UVG/Beauty", "quality": 6, "bpp": 0.051, "psnr": 33.1}]  # appended by a rerun
    recs = import_file(_write(tmp_path, "q6.json", entries), "dhvc")
    assert len(recs) == 2 and recs[0]["codec_reported"]["duplicates_dropped"] == 1
    beauty = next(r for r in recs if r["sequence"]["name"] == "Beauty")
    assert beauty["rate"]["bpp"] == 0.051 and beauty["metrics"] == {"psnr_rgb": 33.1} and beauty["rate_point"] == 6
    stdout = ("frame: 0 bpp: 0.30 psnr: 36.0\nframe: 1 bpp: 0.10 psnr: 35.0\n"
              "2024-01-01 10:00:00 [INFO ]  \x1b[32mq=6, time=1.0s. evaluate 2 out of 2 frames. "
              "frame_dir.stem=HoneyBee, bpp=0.2, psnr=35.5\x1b[0m\n"
              "frame: 0 bpp: 0.20 psnr: 34.0\n"
              "2024-01-01 10:00:01 [INFO ]  q=6, time=1.0s. evaluate 1 out of 1 frames. frame_dir.stem=Jockey, "
              "bpp=0.2, psnr=34.0\nAVERAGE BPP: 0.2, AVERAGE PSNR: 34.75\n")
    recs = import_file(_write(tmp_path, "dhvc.log", stdout), "dhvc")
    assert [(r["sequence"]["name"], r["source"]["count"]) for r in recs] == [("HoneyBee", 2), ("Jockey", 1)]
    assert recs[0]["per_frame"]["psnr_rgb"] == [36.0, 35.0] and recs[0]["metrics"]["psnr_rgb"] == 35.5
    with pytest.raises(ImportError_, match="2 frame lines at the end have no closing"):
        import_file(_write(tmp_path, "cut.log", "frame: 0 bpp: 0.3 psnr: 36.0\nframe: 1 bpp: 0.1 psnr: 35.0\n"))


def test_vtm_and_hm_logs(tmp_path: Path) -> None:
    (r,) = import_file(_write(tmp_path, "BQTerrace_1920x1080_60_qp27.log", VTM_LOG))
    assert (r["codec"]["name"], r["sequence"]["name"], r["sequence"]["group"], r["rate_point"]) == ("vtm", "BQTerrace", "B", 27)
    assert r["metrics"]["psnr_y"] == 36.7669 and r["metrics"]["psnr_yuv_vtm"] == 38.1849
    assert r["metrics"]["psnr_yuv_611"] == pytest.approx((6 * 36.7669 + 41.5226 + 42.3380) / 8)
    assert r["rate"]["kbps"] == 3416.5964 and r["rate"]["bpp"] == pytest.approx(3416.5964 * 1000 / (60 * 1920 * 1080))
    assert r["source"]["count"] == 97 and r["timing"]["encode_s"] == 121.5
    hm = VTM_LOG.replace("\tTotal Frames |  Bitrate      Y-PSNR", "\tTotal Frames |   Bitrate     Y-PSNR")
    hm = hm.replace("\t       97    a", "Average: \t       97    a")
    (r,) = import_file(_write(tmp_path, "Cactus_QP32.txt", hm), "hm")
    assert (r["sequence"]["name"], r["rate_point"], r["codec"]["name"]) == ("Cactus", 32, "hm")
    with pytest.raises(ImportError_, match="name the log <sequence>_qp<QP>.log"):
        import_file(_write(tmp_path, "encoder.log", VTM_LOG))


def test_csv(tmp_path: Path) -> None:
    text = ("codec,sequence,rate_point,kbps,fps,frames,psnr_y,ms_ssim_rgb,encode_s\n"
            "paper-x,BQTerrace,1,1000,,96,35.0,0.95,10\n"
            "paper-x,Mine_1280x720_30,2,2000,,,37.0,,\n")
    recs = import_file(_write(tmp_path, "paper.csv", text))
    assert recs[0]["rate"]["bpp"] == pytest.approx(1000 * 1000 / (60 * 1920 * 1080))  # fps from the manifest
    assert recs[1]["rate"]["bpp"] == pytest.approx(2000 * 1000 / (30 * 1280 * 720))  # fps from the name
    assert recs[1]["metrics"] == {"psnr_y": 37.0} and recs[0]["timing"]["encode_s"] == 10.0
    df = summary_frame(recs)
    assert list(df["origin"].unique()) == [str(tmp_path / "paper.csv")]
    with pytest.raises(ImportError_, match=r"line 2, column psnr_y: 'abc' is not a number"):
        import_file(_write(tmp_path, "bad.csv", "codec,sequence,rate_point,bpp,psnr_y\nx,s,1,0.1,abc\n"))
    with pytest.raises(ImportError_, match="expected column 'rate_point'"):
        import_file(_write(tmp_path, "bad2.csv", "codec,sequence,bpp\nx,s,0.1\n"))


@pytest.mark.parametrize(("content", "message"), [
    ({"HEVC_B": {"BQTerrace": {"000": {"i_frame_num": 1, "p_frame_num": 1, "ave_all_frame_psnr": 30}}}},
     r"HEVC_B.BQTerrace.000: expected key 'ave_all_frame_bpp'"),
    ({"HEVC_B": {"BQTerrace": {"000": {"i_frame_num": 1, "p_frame_num": 1, "ave_all_frame_bpp": 0.1}}}},
     r"expected key 'ave_all_frame_psnr' or 'ave_all_frame_quality'"),
    ({"HEVC_B": [1, 2]}, r"HEVC_B: expected a mapping of sequences"),
    ({"name": "x", "results": {"psnr-rgb": [30]}}, r"results: expected key 'bpp' or 'bitrate'"),
    ({"name": "x", "results": {"bpp": [0.1, 0.2], "psnr-rgb": [30]}}, r"results.psnr-rgb: expected a list of 2 values"),
    ([{"video": "a", "bpp": 0.1}], r"entry 0: expected keys video, quality, bpp, psnr"),
    ("hello world\n", r"not a format lvc-bench imports"),
    ('[{"video": "a", "quality": 6, "bpp": 0.1', r"not valid JSON"),
])
def test_refusals_name_what_was_expected(tmp_path: Path, content: object, message: str) -> None:
    with pytest.raises(ImportError_, match=message):
        import_file(_write(tmp_path, "f.json" if not isinstance(content, str) or content.startswith("[") else "f.txt",
                           content))


@pytest.mark.integration
def test_import_command_writes_a_source_and_says_what_it_found(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    from bench.cli import main

    csv = tmp_path / "mine.csv"
    csv.write_text("codec,sequence,rate_point,bpp,psnr_yuv_611,lpips\n"
                   + "".join(f"mine,Pan,{i},{0.1 * i},{30 + 2 * i},0.1\n" for i in range(1, 5)))
    assert main(["import", str(csv), "--out", str(tmp_path / "src")]) == 0
    out = capsys.readouterr().out
    assert "4 RD points imported" in out and "mine: 4 points, 1 sequence (Pan); metrics: psnr_yuv_611" in out
    assert "rate: bpp as given; no kbps (the frame size and frame rate unknown)" in out
    assert "not mapped to a metric of the suite: lpips" in out
    from bench.bd.sources import sources_from

    [source] = sources_from([str(tmp_path / "src")])
    assert [r["metrics"]["psnr_yuv_611"] for r in sorted(source.records, key=lambda r: r["rate_point"])] == \
        [32.0, 34.0, 36.0, 38.0]
    assert main(["import", str(tmp_path / "none.json"), "--out", str(tmp_path / "x")]) == 2
