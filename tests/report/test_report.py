"""The HTML report: opened in headless Chromium, escaping of hostile names, comparison across runs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import unescape as html_unescape
from pathlib import Path

import pytest
from conftest import REPO

from bench.bd.sources import Source, sources_from
from bench.cli import main
from bench.report.html import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo condition (its four sequences, four codecs, four QPs) on its first 8 frames, run end to end."""
    root = tmp_path_factory.mktemp("demo_report")
    cond = root / "demo8.yaml"
    # x265 (the anchor) as a paper would name and draw it: its descriptor's display block, overridden here.
    cond.write_text(f"extends: {REPO / 'conditions' / 'demo.yaml'}\nname: demo8\nframes: {{first: 0, count: 8}}\n"
                    "intra_period: 4\ncodecs: [x264, {descriptor: x265, display: {label: 'x265 medium LDP', "
                    "colour: '#111111', marker: star}}, vvenc, svtav1]\n")
    assert main(["--conditions", str(cond), "--results", str(root / "results"), "--reports", str(root / "reports"),
                 "--no-progress", "--jobs", "2"]) == 0
    return root / "reports" / "demo8" / "index.html"


def _chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    if not CHROMIUM:  # .ci/run installs Debian's chromium package; elsewhere the browser checks are skipped
        pytest.skip("chromium is not installed (Debian's chromium package)")
    return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],  # noqa: S603
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.chromium
def test_demo_report_in_headless_chromium(demo_report: Path, tmp_path: Path) -> None:
    html = demo_report.read_text()
    # Nothing is fetched: the only URL is the SVG namespace name.
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    dom = _chromium("--enable-logging=stderr", "--v=0", "--dump-dom", demo_report.as_uri(), tmp=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, console
    page = initial = dom.stdout
    # The headline BD table, with every test codec, against the anchor.
    table = re.search(r'<table class="bd" id="bd-psnr_yuv_611">(.*?)</table>', page, re.S)
    assert table and all(f"<td>{c}</td>" in table.group(1) for c in ("svtav1", "vvenc", "x264"))
    # Charts are drawn from the page's JSON when shown; #open=all draws every one of them (as for printing).
    dom = _chromium("--enable-logging=stderr", "--v=0", "--dump-dom", demo_report.as_uri() + "#open=all", tmp=tmp_path)
    assert not [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    page = dom.stdout
    # Every RD figure: 4 sequences + 1 class, each for every metric, each naming its metric, with a legend.
    for seq in ("HopperPan", "HopperZoom", "TerrainFlyover", "MovingShapes"):
        for metric, name in (("psnr_yuv_611", "PSNR-YUV (6:1:1) [dB]"), ("psnr_y", "PSNR-Y [dB]"),
                             ("ms_ssim_y_db", "MS-SSIM-Y [dB]")):
            fig = re.search(rf'<figure class="lazy" id="seq-{metric}-{seq}"[^>]*>(.*?)</figure>', page, re.S)
            assert fig, (seq, metric)
            # 4 codecs x 4 rate points, each with its hover text; a legend entry per codec
            assert fig.group(1).count("<svg") == 1 and fig.group(1).count('class="pt"') == 16
            assert fig.group(1).count('class="lg') == 4 and f"{seq}: {name}</text>" in fig.group(1)
            assert "HopperPan" not in fig.group(1) or seq == "HopperPan"
    assert re.search(r'<figure class="lazy" id="class-psnr_yuv_611-demo"[^>]*><svg', page)
    # Per frame: quality and bits (log axis) for every sequence.
    assert page.count('class="lazy" id="frames-bits-') == 4 and "bits per frame [log]" in page
    # The axis switch redraws every per-sequence chart: kbps on a log axis.
    kbps = _chromium("--enable-logging=stderr", "--v=0", "--dump-dom",
                     demo_report.as_uri() + "#axis=kbps-log&open=all", tmp=tmp_path)
    assert not [line for line in kbps.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert kbps.stdout.count("kbps (bits x fps / frames / 1000) [log]") == 4 * len(("psnr_yuv_611", "psnr_y",
                                                                                    "psnr_rgb", "ms_ssim_y_db",
                                                                                    "ms_ssim_rgb_db"))
    # Without #open=all only the selected metric's charts are drawn (the others when selected).
    assert page.count('data-drawn="1"') > initial.count('data-drawn="1"') > 0
    shot = _chromium("--window-size=1300,2200", f"--screenshot={tmp_path / 'report.png'}", demo_report.as_uri(),
                     tmp=tmp_path)
    assert shot.returncode == 0 and (tmp_path / "report.png").stat().st_size > 50_000


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.chromium
def test_drag_zooms_a_chart_and_double_click_zooms_out(demo_report: Path, tmp_path: Path) -> None:
    """Mouse events sent to the first sequence chart: a drag across its middle narrows both axes to the dragged
    box; a double-click restores them. The page itself (a copy with the events appended) reports the ticks."""
    probe = """<script>
var fig = document.querySelector('figure[id^="seq-"]'), ticks = function () {
  return Array.prototype.map.call(fig.querySelectorAll('g.ticks text'), function (t) { return t.textContent; }).join(' ');
};
var before = ticks(), svg = fig.querySelector('svg'), r = svg.getBoundingClientRect();
var send = function (type, x, y) { svg.dispatchEvent(new MouseEvent(type, {clientX: r.left + x, clientY: r.top + y, bubbles: true})); };
send('mousedown', 150, 80); send('mousemove', 300, 200); send('mouseup', 300, 200);
var zoomed = ticks();
fig.querySelector('svg').dispatchEvent(new MouseEvent('dblclick', {bubbles: true}));
document.body.setAttribute('data-probe', JSON.stringify([before, zoomed, ticks()]));
</script>"""
    page = tmp_path / "probe.html"
    page.write_text(demo_report.read_text().replace("</body>", probe + "</body>"))
    dom = _chromium("--dump-dom", page.as_uri(), tmp=tmp_path).stdout
    before, zoomed, after = json.loads(html_unescape(re.search(r'data-probe="([^"]*)"', dom).group(1)))
    assert zoomed != before and after == before


@pytest.mark.slow
@pytest.mark.integration
def test_report_exports(demo_report: Path) -> None:
    root = demo_report.parent
    figures = {p.name for p in (root / "figures").iterdir()}
    for stem in ("rd_classes_psnr_yuv_611", "rd_sequences_demo_psnr_yuv_611", "rd_classes_ms_ssim_rgb_db"):
        assert {f"{stem}.pdf", f"{stem}.svg", f"{stem}.png"} <= figures
    tables = {p.name for p in (root / "tables").iterdir()}
    assert "bd_report_psnr_yuv_611_rate_pchip_classes.tex" in tables
    assert "bd_report_psnr_yuv_611_rate_pchip_per_sequence.csv" in tables
    assert (root / "data" / "per_frame.csv").stat().st_size > 10_000
    assert (root / "index.html").stat().st_mode & 0o044  # readable by others, like any file the run writes
    # The descriptor's display block names and draws the anchor everywhere: tables, the page, the figures.
    assert "against x265 medium LDP" in (root / "tables" / "summary.tex").read_text()
    assert "against x265 medium LDP" in (root / "tables" / "bd_report_psnr_yuv_611_rate_pchip_classes.tex").read_text()
    # colour, marker, dash pattern (solid: none), label, filled markers, the anchor (drawn heavier)
    assert '"x265":["#111111","star","","x265 medium LDP",true,true]' in demo_report.read_text()
    svg = (root / "figures" / "rd_classes_psnr_yuv_611.svg").read_text()
    assert "x265 medium LDP" in svg and "#111111" in svg


def _record_with(name: str, command: list[str]) -> dict:
    record = json.loads((Path(__file__).parents[1] / "data" / "record.json").read_text())
    record["sequence"]["name"] = name
    record["commands"] = [command]
    return record


@pytest.mark.slow
@pytest.mark.chromium
def test_hostile_names_are_text(tmp_path: Path) -> None:
    hostile = "<script>alert(1)</script>"
    command = ["ffmpeg", "-metadata", "title=a&b<c>\"d'e"]
    records = [_record_with(hostile, command)]
    path = build_report([Source("x", records)], tmp_path, f"title {hostile}", None)
    html = path.read_text()
    assert hostile not in html and "alert(1)" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "title=a&amp;b&lt;c&gt;&#34;d&#39;e" in html
    if CHROMIUM:
        dom = _chromium("--dump-dom", path.as_uri(), tmp=tmp_path)
        assert dom.returncode == 0 and hostile not in dom.stdout and "&lt;script&gt;alert(1)" in dom.stdout


@pytest.mark.slow
def test_failures_are_grouped_by_cause_and_keep_their_rows(tmp_path: Path) -> None:
    ok = _record_with("Pan", ["ffmpeg"])
    failed = []
    for rate_point, code in ((1, 3), (2, 4), (3, 5)):
        r = _record_with("Pan", ["broken"])
        r.update(status="failed", rate_point=rate_point, error={"message": f"codec c: exit code {code}: weights /m/{code}.pt"
                                                                           " missing", "stderr_tail": f"tail {code}"})
        r["codec"]["name"] = "c"
        failed.append(r)
    html = build_report([Source("x", [ok, *failed])], tmp_path, "t", None).read_text()
    assert "3 failed</a>" in html and "<strong>3 job(s): codec c: exit code …: weights … missing</strong>" in html
    # Each job named as the run's FAILED lines name it: the rate point in its adapter's words (a qp here).
    assert "c / Pan / qp 1; c / Pan / qp 2; c / Pan / qp 3" in html and "the other 2 job(s)" in html and "tail 5" in html


@pytest.mark.integration
def test_a_report_that_cannot_be_built_leaves_no_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    """A bad --metric is refused before anything is written; a failure while the page is built stops the figure
    processes started beside it, so no figure lands in a report folder that has no page."""
    import bench.report.html as html

    records = [_record_with("Pan", ["ffmpeg"])]
    folder = tmp_path / "run"
    (folder / "records" / "x" / "Pan").mkdir(parents=True)
    (folder / "records" / "x" / "Pan" / "r.json").write_text(json.dumps(records[0]))
    assert main(["report", str(folder), "--metric", "nope", "--out", str(tmp_path / "bad")]) == 2
    assert "--metric nope: no result has it" in capsys.readouterr().err and not (tmp_path / "bad").exists()

    def broken(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(html, "_bd_analysis", broken)
    with pytest.raises(OSError):
        build_report([Source("x", records)], tmp_path / "full", "t", None)
    assert not (tmp_path / "full" / "figures").exists()


@pytest.mark.integration
def test_comparison_says_how_conditions_differ(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, intra in ((a, 32), (b, -1)):
        rec = _record_with("HopperPan", ["ffmpeg"])
        rec["condition"]["fields"]["intra_period"] = intra
        (folder / "records" / "x" / "HopperPan").mkdir(parents=True)
        (folder / "records" / "x" / "HopperPan" / "r.json").write_text(json.dumps(rec))
        (folder / "condition.yaml").write_text(f"intra_period: {intra}\n")
    assert main(["report", str(a), str(b), "--out", str(tmp_path / "out")]) == 0
    html = (tmp_path / "out" / "index.html").read_text()
    diff = re.search(r'<div class="warn" id="condition-differences">(.*?)</div>', html, re.S)
    assert diff and "<td>intra_period</td><td>32</td><td>-1</td>" in diff.group(1)
    assert "report: " in capsys.readouterr().out
    sources = sources_from([str(a), str(b)])
    assert [s.label for s in sources] == ["a", "b"] and [s.path for s in sources] == [str(a), str(b)]
    # Same-named codecs of two runs stay two curves, named by their source.
    assert {r["codec"]["name"] for s in sources for r in s.records} == {"a:x264", "b:x264"}
    assert [s.label for s in sources_from([f"first={a}", f"second={b}"])] == ["first", "second"]
