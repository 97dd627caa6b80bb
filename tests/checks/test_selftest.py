"""``evaluate.py selftest``: the table it prints and its exit codes. A check that fails (XPSNR measured with its
inputs swapped, as version 1 of the measure did) makes it exit 1; an ``--only`` that names no check is a user
error (``error:`` line, exit 2). Cheap checks stand for the table here: the metric checks themselves run, on the
reference tier's clips, in tests/metrics/test_reference_metrics.py (so no ffmpeg or libvmaf comparison runs twice)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.checks.selftest import bd_checks, checks, importer_checks
from bench.checks.selftest_kit import Check, Clips, Mismatch, Skip, run_checks, table
from bench.cli import main
from bench.metrics import xpsnr

pytestmark = pytest.mark.reference


def _rows(out: str) -> dict[str, str]:
    """Check name -> its row, from the printed table (rows between the rule and the count line)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("-----")) + 1
    end = next(i for i, line in enumerate(lines) if " passed, " in line)
    return {line[: lines[start - 1].index(" ")]: line for line in lines[start:end] if not line.startswith("[")}


def test_every_check_is_listed(tmp_path: Path) -> None:
    """What the full table shows, in order (listing builds no clip: checks run only when called)."""
    names = [c.name for c in checks(Clips(tmp_path))]
    assert names == ["PSNR-Y 8-bit", "PSNR-U 8-bit", "PSNR-V 8-bit", "PSNR-Y 10-bit", "PSNR-U 10-bit",
                     "PSNR-V 10-bit", "PSNR-YUV (VTM) 10-bit, peak 1020", "MS-SSIM-Y 8-bit", "MS-SSIM-Y 10-bit",
                     "VMAF (vmaf_v0.6.1) 8-bit", "XPSNR-Y/U/V 8-bit", "XPSNR-Y/U/V 10-bit",
                     "BD-rate, JCTVC-E137 vectors (pchip)", "BD-rate, FAU-LMS examples x 3 methods",
                     "BD-PSNR, FAU-LMS examples x 3 methods", "import: CompressAI video JSON",
                     "import: VTM encoder log"]
    assert list(tmp_path.iterdir()) == []


def test_bd_and_importer_checks_pass() -> None:
    """The checks the reference tier does not run (the metric checks run in test_reference_metrics.py); in a
    source checkout the importers' files are there, so nothing is skipped."""
    results = run_checks([*bd_checks(), *importer_checks()])
    assert [r.status for r in results] == ["pass"] * 5, [(r.check.name, r.note) for r in results]


@pytest.mark.integration
@pytest.mark.parametrize(("only", "count"), [("import:", 2), ("BD-", 3)])
def test_selftest_prints_one_table_and_passes(capsys: pytest.CaptureFixture, only: str, count: int) -> None:
    assert main(["selftest", "--only", only]) == 0
    out = capsys.readouterr().out
    assert "selftest on this installation: ffmpeg " in out and "libvmaf " in out and "numba " in out
    header = next(line for line in out.splitlines() if line.startswith("check"))
    assert header.split() == ["check", "reference", "largest", "diff.", "tolerance", "result"]
    rows = _rows(out)
    assert len(rows) == count and all(only in name for name in rows), out
    assert all(row.rstrip().endswith("pass") for row in rows.values()), out
    assert f"{count} passed, 0 failed, 0 skipped in " in out


@pytest.mark.integration
def test_a_failing_check_makes_it_exit_non_zero(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    real = xpsnr.run_filter

    def old_order(*args: object, first: str, **kwargs: object) -> object:  # version 1: decoded frames first
        return real(*args, first="decoded", **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(xpsnr, "run_filter", old_order)
    assert main(["selftest", "--only", "XPSNR"]) == 1
    out = capsys.readouterr().out
    rows = _rows(out)
    assert len(rows) == 2 and all(row.rstrip().endswith("FAIL") for row in rows.values()), out
    assert "0 passed, 2 failed, 0 skipped" in out
    # The difference is the swap itself: many dB, against a tolerance of 1e-4 dB.
    assert all(float(row.split()[-3]) > 5.0 for row in rows.values())


def test_errors_fail_with_their_message_and_skips_do_not_fail() -> None:
    def mismatch() -> tuple[float, float]:
        raise Mismatch("the inputs do not discriminate")

    def skip() -> tuple[float, float]:
        raise Skip("not installed here")

    results = run_checks([Check("exact", "ref", lambda: (0.0, 0.0)), Check("off", "ref", lambda: (2e-6, 1e-6)),
                          Check("nan", "ref", lambda: (float("nan"), 1.0)), Check("weak", "ref", mismatch),
                          Check("absent", "ref", skip)])
    assert [r.status for r in results] == ["pass", "FAIL", "FAIL", "FAIL", "skip"]
    text = table(results)
    assert "Mismatch: the inputs do not discriminate" in text and "absent: not installed here" in text


@pytest.mark.integration
def test_an_only_that_names_no_check_is_a_user_error(capsys: pytest.CaptureFixture) -> None:
    assert main(["selftest", "--only", "no such check"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("error: selftest --only 'no such check': no check's name contains it; the checks are: ")
    assert "PSNR-Y 8-bit; " in line and line.endswith("; import: VTM encoder log")


def test_without_a_source_tree_the_importer_checks_skip_saying_why(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    from bench.conditions import condition as conditions

    monkeypatch.setattr(conditions, "REPO_ROOT", tmp_path)  # an installation without tests/data
    results = run_checks(importer_checks())
    assert [r.status for r in results] == ["skip", "skip"]
    assert "tests/data/compressai-results/video/UVG-1080p/x264-medium-tune-zerolatency.json" in results[0].note
    assert all("install from a git clone with `pip install -e .`" in r.note for r in results)
    assert "skip [1]" in table(results) and "\n[2] import: VTM encoder log: not run: " in table(results)
