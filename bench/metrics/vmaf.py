"""VMAF through the bundled ffmpeg's ``libvmaf`` filter (the ``vmaf`` measure; metrics ``vmaf``, ``vmaf_neg``,
``vmaf_4k``).

The decoded frames are the filter's first input and the source its second, libvmaf's documented order
(distorted, reference; see :meth:`Vmaf.sequence`). Per-frame scores are read from libvmaf's own JSON log
(``frames[i].metrics.vmaf``, six decimals); the model is pinned by name and recorded, and libvmaf's version
(the ``version`` field of its log, found once per process with a two-frame probe) is part of the measurement
key. A condition asks with ``vmaf: true`` (the
built-in ``vmaf_v0.6.1``) or a list of models: ``vmaf_v0.6.1``, ``vmaf_v0.6.1neg`` (no enhancement gain),
``vmaf_4k_v0.6.1``. libvmaf runs on YUV: RGB sources are converted to YUV 4:4:4 by the condition's colour
path. Pooled as the mean over frames (libvmaf's own pooled score). VMAF saturates near 100, so the BD
engine flags curves whose shared quality range lies mostly above 95.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from bench.errors import BenchError, ConditionError
from bench.metrics.ffmpeg_filter import probe_dir, run_filter
from bench.metrics.registry import (
    Measure,
    MeasureOutput,
    MeasureRequest,
    Metric,
    PoolingContext,
    register_measure,
    register_metric,
    request,
)

if TYPE_CHECKING:  # measuring needs the frames; listing the metrics does not (no numba, no kernels)
    from bench.metrics.frames import MeasuredSequence

MODELS = {"vmaf_v0.6.1": "vmaf", "vmaf_v0.6.1neg": "vmaf_neg", "vmaf_4k_v0.6.1": "vmaf_4k"}  # model -> metric
DEFAULT_MODEL = "vmaf_v0.6.1"
SATURATION = 95.0


@functools.lru_cache(maxsize=1)
def libvmaf_version() -> str:
    """libvmaf's version as it writes it into its log, from scoring two tiny generated frames."""
    import subprocess

    from bench.tools import ffmpeg_exe

    work = probe_dir("vmaf")
    try:
        # Two identical inputs: only the log's version field is read, so their order does not matter here.
        argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                "testsrc2=size=64x64:rate=25", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25", "-frames:v", "2",
                "-lavfi", "[0:v][1:v]libvmaf=log_fmt=json:log_path=probe.json", "-f", "null", "-"]
        proc = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0 or not (work / "probe.json").exists():
            raise BenchError(f"VMAF: this ffmpeg ({ffmpeg_exe()}) has no working libvmaf filter: "
                             f"{(proc.stderr.strip().splitlines() or ['no message'])[-1]}")
        return str(json.loads((work / "probe.json").read_text())["version"])
    finally:
        shutil.rmtree(work, ignore_errors=True)


class Vmaf(Measure):
    name = "vmaf"
    version = 1
    scope = "sequence"
    description = "libvmaf through ffmpeg's libvmaf filter, per-frame scores from its JSON log"
    condition_key: ClassVar[str | None] = "vmaf"
    condition_default: ClassVar[Any] = False

    def requests_from_condition(self, value: Any, where: str) -> list[MeasureRequest]:
        if value is False:
            return []
        models = [DEFAULT_MODEL] if value is True else [value] if isinstance(value, str) else value
        if not isinstance(models, list) or any(m not in MODELS for m in models):
            raise ConditionError(f"{where}: expected true, false or model names ({', '.join(MODELS)}), got {value!r}")
        return [request(self.name, model=m) for m in dict.fromkeys(models)]

    def implementation(self, params: Mapping[str, Any]) -> dict[str, str]:
        return {"libvmaf": libvmaf_version()}

    def sequence(self, seq: MeasuredSequence, params: Mapping[str, Any]) -> MeasureOutput:
        model = params["model"]
        # Decoded first, source second. Netflix's own guide to libvmaf in ffmpeg (github.com/Netflix/vmaf,
        # resource/doc/ffmpeg.md) labels the inputs ``[distorted][reference]libvmaf``; ffmpeg's libvmaf filter
        # names its input pads "main" (the distorted video, passed on to the output) and "reference", and its
        # documentation (ffmpeg-filters, libvmaf) compares "main.mpg being processed" with "the reference file
        # ref.mpg" by ``ffmpeg -i main.mpg -i ref.mpg -lavfi libvmaf``. VMAF is not symmetric: swapped, a
        # blurred clip against its sharp source scores far higher.
        text, argv = run_filter(seq, f"libvmaf=model=version={model}:log_fmt=json:log_path=vmaf.json:n_threads=1",
                                "vmaf.json", f"VMAF ({model})", first="decoded")
        frames = json.loads(text)["frames"]
        scores = [float(f["metrics"]["vmaf"]) for f in sorted(frames, key=lambda f: f["frameNum"])]
        if len(scores) != seq.count:
            raise BenchError(f"VMAF ({model}): libvmaf scored {len(scores)} frames, expected {seq.count}")
        return MeasureOutput({"vmaf": scores}, commands=[argv])


def _frames(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext) -> list[Any]:
    return list(values["vmaf"])


def _mean(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext) -> float:
    return float(np.mean(values["vmaf"]))


register_measure(Vmaf())
for _model, _name in MODELS.items():
    register_metric(Metric(
        _name, {"vmaf": "VMAF", "vmaf_neg": "VMAF NEG", "vmaf_4k": "VMAF 4K"}[_name], "",
        f"VMAF, libvmaf model {_model} (ffmpeg libvmaf filter)", "mean over frames", request("vmaf", model=_model),
        _frames, _mean, saturates_at=SATURATION, headline=6 if _name == "vmaf" else None))
