"""``evaluate.py selftest``: it runs every check on this installation and prints one table (exit 0), and a check
that fails (XPSNR measured with its inputs swapped, as version 1 of the measure did) makes it exit 1."""

from __future__ import annotations

import pytest

from bench.cli import main
from bench.metrics import xpsnr
from bench.selftest_kit import Check, Mismatch, Skip, run_checks, table

pytestmark = pytest.mark.reference


def _rows(out: str) -> dict[str, str]:
    """Check name -> its row, from the printed table (rows between the rule and the count line)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("-----")) + 1
    end = next(i for i, line in enumerate(lines) if " passed, " in line)
    return {line[: lines[start - 1].index(" ")]: line for line in lines[start:end] if not line.startswith("[")}


def test_selftest_prints_one_table_and_passes(capsys: pytest.CaptureFixture) -> None:
    assert main(["selftest"]) == 0
    out = capsys.readouterr().out
    assert "selftest on this installation: ffmpeg " in out and "libvmaf " in out and "numba " in out
    header = next(line for line in out.splitlines() if line.startswith("check"))
    assert header.split() == ["check", "reference", "largest", "diff.", "tolerance", "result"]
    rows = _rows(out)
    names = " ".join(rows)
    for name in ("PSNR-Y 8-bit", "PSNR-V 10-bit", "PSNR-YUV (VTM) 10-bit", "MS-SSIM-Y 8-bit", "MS-SSIM-Y 10-bit",
                 "VMAF (vmaf_v0.6.1)", "XPSNR-Y/U/V 8-bit", "XPSNR-Y/U/V 10-bit", "BD-rate, JCTVC-E137",
                 "BD-PSNR, FAU-LMS", "import: CompressAI video JSON", "import: VTM encoder log"):
        assert name in names, name
    assert all(row.rstrip().endswith("pass") for row in rows.values()), out
    assert f"{len(rows)} passed, 0 failed, 0 skipped in " in out


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
    assert main(["selftest", "--only", "no such check"]) == 2
