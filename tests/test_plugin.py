"""The plug-in example (examples/plugin) installed as a user installs it, then used only through the command line:
``ls`` lists its adapter and its descriptor, ``check-adapter`` passes, its own conformance test passes, and its
condition runs against x265 with a BD-rate. Also: ``check-adapter`` on a class that breaks the contract, and two
plug-ins that ship one descriptor name.

The package is installed with pip into a folder of the test's own (``pip install --target``, about a second),
never into the suite's environment (other tests run beside this one), and found through PYTHONPATH: pip writes
its ``*.dist-info`` there, whose entry points importlib.metadata reads as it reads those of site-packages.
The numbers are checked against tools the example does not use: its JPEG 2000 codestreams are decoded again by
ffmpeg's own JPEG 2000 decoder (not OpenJPEG) and measured with numpy, and the BD-rate is recomputed with the
``bjontegaard`` package from the recorded points.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "plugin"
LS_ADAPTER = "example-jpeg2000: plug-in lvcbench_example.jpeg2000:Jpeg2000 (from lvcbench-plugin-example)"
LS_CODECS = "codecs (from plug-ins): example-jpeg2000 (lvcbench-plugin-example)"


def _pip_install(target: Path, *packages: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "install", "--no-deps",
                    "--no-build-isolation", "--target", str(target), *map(str, packages)], check=True)


def _copy(src: Path, dest: Path) -> Path:
    """A copy of a package's folder: pip builds in it (build/, *.egg-info), never in the repository."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    return dest


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plugin")
    _pip_install(root / "site", _copy(EXAMPLE, root / "src"))
    return root / "site"


def _env(*paths: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths)), **extra}


def _evaluate(args: list[str], cwd: Path, *paths: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "evaluate.py"), *args], cwd=cwd, env=_env(*paths, **env),
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.integration
def test_ls_and_doctor_find_the_installed_adapter_and_descriptor(site: Path, tmp_path: Path) -> None:
    from PIL import Image, features

    ls = _evaluate(["ls"], tmp_path, site)
    assert ls.returncode == 0, ls.stderr
    assert LS_ADAPTER in ls.stdout and LS_CODECS in ls.stdout.splitlines()
    assert "example-jpeg2000" not in _evaluate(["ls"], tmp_path).stdout  # not installed: not listed
    doctor = _evaluate(["doctor", "example-jpeg2000"], tmp_path, site)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert f"ok   example-jpeg2000: OpenJPEG {features.version('jpg_2000')} via Pillow {Image.__version__}" \
        in doctor.stdout


@pytest.mark.integration
def test_check_adapter_by_its_entry_point_name(site: Path, tmp_path: Path) -> None:
    done = _evaluate(["check-adapter", "example-jpeg2000"], tmp_path, site)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("adapter example-jpeg2000: class lvcbench_example.jpeg2000.Jpeg2000; plug-in")
    checks = [line.split(None, 1) for line in lines[1:-1]]
    assert {name for _, name in checks} >= {"declared", "parameters", "rate points", "identity", "errors",
                                            "codes two frames"}
    assert {status for status, _ in checks} == {"passed"}  # two real frames coded, decoded, re-decoded
    assert lines[-1] == f"{len(checks)} checks: {len(checks)} passed"


@pytest.mark.slow
def test_the_examples_own_conformance_test_passes(site: Path, tmp_path: Path) -> None:
    # Run from elsewhere, so that lvcbench_example is the installed copy, not the source folder.
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(EXAMPLE / "tests")], cwd=tmp_path, env=_env(site, PYTHONDONTWRITEBYTECODE="1"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 passed" in done.stdout


def _demo_cache(demo_dir: Path, cache: Path) -> Path:
    """A private cache holding the session's demo files (hard links: no copy), where the suite looks for them."""
    (cache / "demo" / "v1").mkdir(parents=True)
    for f in demo_dir.glob("*.yuv"):
        os.link(f, cache / "demo" / "v1" / f.name)
    return cache


def _reference_psnr(codestream: Path, source: np.ndarray) -> float:
    """PSNR of one plane decoded by ffmpeg's native JPEG 2000 decoder (not OpenJPEG, which the example uses)."""
    import imageio_ffmpeg

    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-c:v", "jpeg2000", "-i", str(codestream),
                          "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    decoded = np.frombuffer(raw, np.uint8).reshape(source.shape).astype(np.float64)
    return float(10 * np.log10(255.0 ** 2 / np.mean((decoded - source) ** 2)))


def _check_against_ffmpeg(record: dict, folder: Path) -> None:
    """The record's rate is its files' bytes, and each plane's PSNR is what ffmpeg's decoder of the same files
    gives: a swapped plane, a dropped frame or a mis-ordered file list would be many dB off."""
    files = [folder / p for p in record["rate"]["bitstreams"]]
    assert len(files) == 3 * 2 and record["rate"]["bits"] == 8 * sum(f.stat().st_size for f in files)
    w, h = record["sequence"]["width"], record["sequence"]["height"]
    shapes = [(h, w), (h // 2, w // 2), (h // 2, w // 2)]
    frames = np.fromfile(record["sequence"]["file"], np.uint8, count=2 * w * h * 3 // 2).reshape(2, -1)
    for i, frame in enumerate(frames):
        offset = 0
        for k, (plane, shape) in enumerate(zip(("psnr_y", "psnr_u", "psnr_v"), shapes, strict=True)):
            source = frame[offset:offset + shape[0] * shape[1]].reshape(shape)
            offset += source.size
            assert _reference_psnr(files[3 * i + k], source) == pytest.approx(record["per_frame"][plane][i], abs=0.01)


def _bjontegaard(records: list[dict], sequence: str) -> float:
    import bjontegaard

    def curve(codec: str) -> np.ndarray:
        return np.array(sorted((r["rate"]["bpp"], r["metrics"]["psnr_yuv_611"]) for r in records
                               if r["codec"]["name"] == codec and r["sequence"]["name"] == sequence))

    a, t = curve("x265"), curve("example-jpeg2000")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its own low-overlap warning; the overlap is the suite's to flag
        return float(bjontegaard.bd_rate(a[:, 0], a[:, 1], t[:, 0], t[:, 1], method="pchip", min_overlap=0))


@pytest.mark.slow
@pytest.mark.integration
def test_the_example_condition_runs_against_x265(site: Path, tmp_path: Path, demo_dir: Path) -> None:
    """The README's run command from the repository's example, narrowed to 2 frames, from a folder of its own
    (default relative results/ and reports/)."""
    from bench.store.results import ResultStore

    cache = _demo_cache(demo_dir, tmp_path / "cache")
    done = _evaluate(["--conditions", str(EXAMPLE / "compare.yaml"), "--frames", "2", "--no-progress",
                      "--no-figures"], tmp_path, site, LVCBENCH_CACHE=str(cache))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "16 jobs, 16 coded" in done.stdout and "\n1  example-jpeg2000 " in done.stdout
    [folder] = (tmp_path / "results").iterdir()
    records = ResultStore(folder).run_records()
    ours = [r for r in records if r["codec"]["name"] == "example-jpeg2000"]
    assert len(ours) == 8 and all(r["status"] == "ok" for r in ours)
    assert all(set(r["per_frame"]["frame_type"]) == {"I"} for r in records)  # both codecs all intra
    for record in ours:
        _check_against_ffmpeg(record, folder)
    [table] = (tmp_path / "reports").glob("*/tables/*_psnr_yuv_611_*per_sequence.csv")
    bd = pd.read_csv(table).set_index("sequence")
    for sequence in ("HopperPan", "MovingShapes"):
        assert bd.loc[sequence, "status"] == "ok"
        assert bd.loc[sequence, "value"] == pytest.approx(_bjontegaard(records, sequence), abs=0.01)


BAD_ADAPTER = """
    from bench.adapters.base import Adapter, Capabilities, Param
    from bench.errors import AdapterError, ConditionError


    class Bad(Adapter):
        name = "bad-codec"
        capabilities = Capabilities(("yuv420p",))
        PARAMS = {"level": Param(int, 1, "")}  # the one breach: a parameter without its help text

        @classmethod
        def validate_rate_point(cls, value, where):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConditionError(f"{where}: {value!r} is not a level")
            return value

        def input_format(self, coding):
            if coding.name != "yuv420p":
                raise AdapterError(f"bad-codec codes yuv420p only, not {coding.name}")
            return coding

        def code_sequence(self, task):
            raise AdapterError("not written")

        def doctor(self):
            return "bad-codec 0"
"""


@pytest.mark.integration
def test_check_adapter_lists_a_breach_once_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "bad_codec.py").write_text(textwrap.dedent(BAD_ADAPTER))
    done = _evaluate(["check-adapter", "bad_codec:Bad"], tmp_path)  # found in the current folder
    assert done.returncode == 1, done.stdout + done.stderr
    breach = "failed  declared: parameter 'level' has no help text"
    assert (done.stdout + done.stderr).count("has no help text") == 1 and f"  {breach}" in done.stdout.splitlines()
    assert done.stdout.splitlines()[-1] == "7 checks: 5 passed, 1 failed, 1 skipped"


@pytest.mark.integration
@pytest.mark.parametrize("args", [["x264", "--params", "preset"], ["x264", "--params", '{"preset": 3}'],
                                  ["no-such-adapter"], ["no_such_module:Codec"],
                                  ["x264", "--no-run", "--rate-points", "99"], ["x264", "--rate-points", "22", "99"]])
def test_check_adapter_bad_arguments_are_one_line(args: list[str], tmp_path: Path) -> None:
    done = _evaluate(["check-adapter", *args], tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("error: ")


@pytest.mark.integration
def test_check_adapter_names_a_bad_rate_point_before_any_check(tmp_path: Path) -> None:
    """A rate point the adapter refuses is a bad argument, named as given: with --no-run it was never looked at
    ('passed rate points', exit 0), and with a run it failed naming a temporary conformance.yaml."""
    done = _evaluate(["check-adapter", "x264", "--no-run", "--rate-points", "99"], tmp_path)
    assert done.stderr == "error: check-adapter x264 --rate-points: 99 is not a valid QP for x264: expected an " \
                          "integer 0..51\n", done.stdout + done.stderr


@pytest.mark.integration
def test_check_adapter_says_how_to_give_parameters_on_the_command_line(tmp_path: Path) -> None:
    done = _evaluate(["check-adapter", "python-model", "--no-run"], tmp_path)  # it has no example parameters
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = [x for x in done.stdout.splitlines() if "instance from the example parameters" in x]
    assert line.endswith("; give --params key=value"), line  # not assert_conforms' params= (a Python keyword)


@pytest.mark.integration
def test_an_adapter_not_installed_here_names_the_python_that_looks(tmp_path: Path) -> None:
    """The plug-in installed with another environment's pip is the usual cause: the message names ours."""
    done = _evaluate(["check-adapter", "example-jpeg2000"], tmp_path)  # not on this PYTHONPATH
    assert done.returncode == 2 and done.stdout == ""
    # The count is the subprocess's (built-ins and whatever plug-ins this environment has), not this process's.
    assert re.fullmatch(
        r"error: unknown adapter 'example-jpeg2000' \(\d+ known adapters: `evaluate.py ls`\), or package.module:Class "
        r"for one of your own; a plug-in's adapter \(lvcbench.adapters\) is found only when installed in the Python "
        f"that runs evaluate.py, {re.escape(sys.executable)}\n", done.stderr), done.stderr


def _descriptor_package(root: Path, dist: str, package: str) -> Path:
    """A package that ships only descriptors (for a built-in adapter), one named 'shared-name'."""
    (root / package / "codecs").mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "codecs" / "shared-name.yaml").write_text("adapter: x264\nrate_points: [30]\n")
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "{dist}"
        version = "0.1"
        [project.entry-points."lvcbench.codecs"]
        descriptors = "{package}:codecs"
        [tool.setuptools]
        packages = ["{package}"]
        [tool.setuptools.package-data]
        {package} = ["codecs/*.yaml"]
    """))
    return root


@pytest.mark.slow
@pytest.mark.integration
def test_two_plug_ins_shipping_one_descriptor_name_are_named(tmp_path: Path) -> None:
    _pip_install(tmp_path / "site", _descriptor_package(tmp_path / "a", "lvcbench-codecs-a", "codecs_a"),
                 _descriptor_package(tmp_path / "b", "lvcbench-codecs-b", "codecs_b"))
    (tmp_path / "c.yaml").write_text("name: c\ndataset: demo\ncodecs: [shared-name]\n")
    for args in (["ls"], ["validate", "--conditions", "c.yaml"]):
        done = _evaluate(args, tmp_path, tmp_path / "site")
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        [line] = done.stderr.splitlines()
        assert "codec descriptor 'shared-name' is shipped by two plug-ins" in line
        assert "lvcbench-codecs-a" in line and "lvcbench-codecs-b" in line


def test_a_descriptor_beside_the_condition_comes_before_the_plug_ins(site: Path, tmp_path: Path) -> None:
    for folder in ("mine", "theirs"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "c.yaml").write_text(f"name: {folder}\ndataset: demo\ncodecs: [example-jpeg2000]\n")
    (tmp_path / "mine" / "example-jpeg2000.yaml").write_text("adapter: example-jpeg2000\nrate_points: [7, 9]\n")
    show = ("import sys\nfrom bench.conditions.condition import load_condition\n"
            "for f in sys.argv[1:]:\n    c = load_condition(f).codecs[0]\n    print(c.defined_in, list(c.rate_points))")
    done = subprocess.run([sys.executable, "-c", show, "../mine/c.yaml", "c.yaml"], cwd=tmp_path / "theirs",
                          env=_env(site), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    mine, theirs = done.stdout.splitlines()
    assert mine == f"{tmp_path / 'mine' / 'example-jpeg2000.yaml'} [7, 9]"
    assert theirs == f"{site / 'lvcbench_example' / 'codecs' / 'example-jpeg2000.yaml'} [6, 10, 16, 25]"
