"""``evaluate.py doctor``: with no codec named it imports no torch (its compressai line comes from package
metadata, checked against the packages' own version attributes), the generic adapters say they need a
descriptor, and an adapter that cannot run at all is the first and only cause given for its descriptor."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO

from bench.cli import main

# A fresh interpreter (this one may have imported torch already): what doctor imported, read from sys.modules.
_PROBE = textwrap.dedent("""
    import sys
    from bench.cli import main
    code = main(["doctor"])
    print("TORCH-IMPORTED" if "torch" in sys.modules else "NO-TORCH", "compressai" in sys.modules, code)
""")


def test_doctor_with_no_codec_named_imports_no_torch(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=False, cwd=REPO,
                          timeout=300, env={**os.environ, "LVCBENCH_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stdout + done.stderr
    *lines, verdict = done.stdout.strip().splitlines()
    assert verdict == "NO-TORCH False 0", done.stdout
    # The torch codecs are still reported: their versions as the installed packages give them (imported here,
    # in the test's own process, not by doctor).
    compressai = pytest.importorskip("compressai")
    torch = pytest.importorskip("torch")
    line = next(line for line in lines if line.startswith("  ok   compressai: "))
    assert f"compressai {compressai.__version__}, torch {torch.__version__.split('+')[0]} installed" in line
    assert "`doctor compressai` imports them" in line


@pytest.mark.integration
def test_generic_adapters_need_a_descriptor_and_unavailable_comes_first(capsys: pytest.CaptureFixture,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for name in ("command", "python-model"):  # not their empty defaults' parameter errors
        assert f"  --   {name}: needs a descriptor (adapter: {name} in your codec's YAML; see README 'Evaluate your " \
               "own codec')" in out
    assert "command.encode" not in out and "python-model.model" not in out
    # Named as an adapter: the same, and not a failure.
    assert main(["doctor", "command"]) == 0
    assert "  --   command: needs a descriptor" in capsys.readouterr().out
    # DHVC 2.0 (code not published) with its descriptor's ${LVCBENCH_DHVC_ROOT} unset: the cause a fix can
    # help with does not exist, so the unavailability is the one line, not the unset variable.
    monkeypatch.delenv("LVCBENCH_DHVC_ROOT", raising=False)
    assert main(["doctor", "dhvc-2.0"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("  FAIL dhvc-2.0: DHVC 2.0 is not available upstream: NJUVISION/DHVC publishes no DHVC "
                          "2.0 code"), out
    assert "LVCBENCH_DHVC_ROOT" not in out and out.count("\n") == 1
    # With the variable set (the descriptor loads), the same single cause.
    monkeypatch.setenv("LVCBENCH_DHVC_ROOT", "/nowhere")
    assert main(["doctor", "dhvc-2.0"]) == 1
    assert capsys.readouterr().out.startswith("  FAIL dhvc-2.0: DHVC 2.0 is not available upstream")


_GONE = '''
from bench.adapters.ffmpeg import X264


class Gone(X264):
    """An adapter whose code is not published: says so whatever its parameters."""

    name = "gone"

    @classmethod
    def unavailable(cls):
        return "Gone is not published: nothing to install"
'''


@pytest.mark.integration
def test_any_unavailable_adapter_is_said_first_for_a_descriptor_that_does_not_load(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule is the adapter's (its ``unavailable()``), not a name known to doctor: a plug-in by path, its
    descriptor's variable unset."""
    (tmp_path / "gone_codec.py").write_text(_GONE)
    (tmp_path / "gone.yaml").write_text("adapter: gone_codec:Gone\nparams: {preset: '${LVCBENCH_GONE_PRESET}'}\n"
                                        "rate_points: [22]\n")
    monkeypatch.delenv("LVCBENCH_GONE_PRESET", raising=False)
    assert main(["doctor", str(tmp_path / "gone.yaml")]) == 1
    assert capsys.readouterr().out == f"  FAIL {tmp_path / 'gone.yaml'}: Gone is not published: nothing to install\n"
    # A descriptor of an available adapter with the same problem still names the variable, then what the
    # adapter says of itself.
    (tmp_path / "fine.yaml").write_text("adapter: x264\nparams: {preset: '${LVCBENCH_GONE_PRESET}'}\n")
    assert main(["doctor", str(tmp_path / "fine.yaml")]) == 1
    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith(f"  FAIL {tmp_path / 'fine.yaml'}: ") and "LVCBENCH_GONE_PRESET is not set" in first
    assert second.startswith("       x264: core ")
