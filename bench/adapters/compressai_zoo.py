"""CompressAI's model zoo as codecs: the learned image codecs frame by frame, and the video codec ``ssf2020``.

One adapter, ``compressai``, runs a zoo architecture (``bmshj2018-factorized``, ``bmshj2018-hyperprior``,
``mbt2018-mean``, ``mbt2018``, ``cheng2020-anchor``, ``cheng2020-attn``, ``ssf2020``) in this process, at a quality
level (the rate point), with real entropy coding:

* **Encode**: each frame (RGB from the condition's colour path, scaled to [0, 1], padded on the right and
  bottom to the model's multiple) goes through the model's ``compress`` (``encode_keyframe``/``encode_inter``
  for SSF); its strings are written to one file per frame (:mod:`bench.adapters.frame_container`). The rate is
  those files' bytes.
* **Decode**, a separate step with a second model instance loaded from the same weights: every frame is
  read back from its file and decompressed; the output, cropped back and rounded to the input bit depth, is
  what the suite measures. The decoder's output must equal the encoder-side reconstruction bit for bit
  (SSF's encoder reconstruction, which it also uses as the next reference; for image models the encoder's
  own ``decompress`` of its in-memory strings), or the job fails: a learned entropy coder that does not
  reproduce is a broken codec, not a data point.
* Image models code every frame as an intra frame whatever the condition's intra period (all-intra);
  ``ssf2020`` codes a key frame at frames 0, N, 2N ... (``-1``: frame 0 only) and references the previous
  decoded frame clamped to [0, 1], as CompressAI's own video evaluation does.
* The model's likelihood estimate (sum of -log2 of a forward pass's likelihoods) is kept per frame as a
  labelled diagnostic, never as the rate.

Weights (``weights:``):

* ``pretrained``: the official zoo file for the architecture, metric and quality, by its zoo file name,
  found in ``weights_dir`` or else in the torch hub cache (``$TORCH_HOME/hub/checkpoints``, where
  ``torch.hub`` keeps the files it downloads). Nothing is ever downloaded: a missing file is an error
  naming the file, where it was looked for and the URL to fetch it from elsewhere.
* ``checkpoints``: your own files, ``{quality: path}``. Loaded with the zoo's rules: the weights under
  ``network``/``state_dict``/``model_state_dict`` if present (as CompressAI's ``eval_model``), old key names
  renamed (``compressai.zoo.load_state_dict``), the architecture's ``from_state_dict``.
* ``random``: randomly initialised with ``seed`` (the tests; a smoke run). Only on request, and every record
  says so in its ``cautions``, which the report prints in bold. A plain random init maps every frame to
  latents below 0.5 in magnitude (measured: at most 0.49 over the seven architectures), so every symbol would
  be 0 and the decoded frame would not depend on the input; the last convolution of each analysis transform
  is therefore scaled by ``random_gain`` (default 50), which gives the entropy coder real symbols to code.

Entropy-coder tables: kept as stored when the file has them (the zoo files do); computed with
``update(force=True)`` when it has none (a state dict saved during training), as ``eval_model`` does. Which
of the two happened is in the record.

Devices: ``cpu``, ``cuda``, ``cuda:N``. The device type is part of the job key (learned entropy coding can
differ across devices); timing synchronises CUDA around each call and leaves out a warm-up frame; on CUDA the
peak GPU memory of the encode and of the decode is recorded. Jobs share one GPU one at a time, so the peak
and the times belong to one job.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from bench.adapters import register
from bench.adapters.base import (
    Adapter,
    Capabilities,
    CodingResult,
    CodingTask,
    Param,
    validate_device,
)
from bench.adapters.frame_container import INTER, INTRA, CodedFrame, LatentGroup, decode_frame, encode_frame
from bench.errors import AdapterError, ConditionError
from bench.tools import remembered, tool_sha256
from bench.video.formats import PixelFormat, Planes, make_format
from bench.video.io import RawVideoReader, RawVideoWriter

if TYPE_CHECKING:  # torch and compressai load only when a CompressAI codec is used (compressai takes ~10 s)
    import torch


@dataclass(frozen=True)
class Architecture:
    kind: str  # "image" (every frame intra) or "video"
    pad_multiple: int  # the input size must divide by this (CompressAI's eval scripts: 2^6 image, 2^7 SSF)


ARCHITECTURES: dict[str, Architecture] = {
    "bmshj2018-factorized": Architecture("image", 64),
    "bmshj2018-hyperprior": Architecture("image", 64),
    "mbt2018-mean": Architecture("image", 64),
    "mbt2018": Architecture("image", 64),
    "cheng2020-anchor": Architecture("image", 64),
    "cheng2020-attn": Architecture("image", 64),
    "ssf2020": Architecture("video", 128),
}

# Tables a state dict saved before update() holds empty, and one from elsewhere may lack altogether.
_TABLE_SUFFIXES = ("._quantized_cdf", "._offset", "._cdf_length")
_RANDOM_INIT = threading.Lock()  # torch's seed is process-wide: two jobs seeding at once would mix their weights
_DEVICE_LOCKS: dict[str, threading.Lock] = {}
_DEVICE_LOCKS_GUARD = threading.Lock()


# --- what the installed compressai offers --------------------------------------------------------------------

@functools.cache
def _zoo() -> dict[str, Any]:
    """compressai's zoo tables (imported on first use). compressai decorates a few functions with
    torch.jit.script, which recent torch answers with a FutureWarning on import: not ours to act on, and in
    ``doctor`` it reads like a broken install, so it is silenced here (and only this one)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.* is deprecated", category=FutureWarning)
        import compressai
        from compressai.zoo import image, video

    return {"version": compressai.__version__, "classes": {**image.model_architectures, **video.model_architectures},
            "urls": {**image.model_urls, **video.model_urls}, "image_cfgs": image.cfgs}


def qualities(architecture: str) -> list[int]:
    """The quality levels the zoo defines for an architecture."""
    zoo = _zoo()
    if architecture in zoo["image_cfgs"]:
        return sorted(zoo["image_cfgs"][architecture])
    return sorted(zoo["urls"][architecture]["mse"])


def official_url(architecture: str, metric: str, quality: int) -> str | None:
    return _zoo()["urls"].get(architecture, {}).get(metric, {}).get(quality)


def torch_hub_checkpoints() -> Path:
    """Where ``torch.hub`` keeps downloaded weights ($TORCH_HOME/hub/checkpoints)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


@dataclass
class LoadedModel:
    net: Any  # a compressai CompressionModel, in eval mode, on the job's device
    description: dict[str, Any]


@dataclass
class _Encoded:
    paths: list[Path] = field(default_factory=list)
    frame_types: list[str] = field(default_factory=list)
    digests: list[str | None] = field(default_factory=list)
    estimated_bits: list[float] = field(default_factory=list)
    seconds: float = 0.0
    frame_seconds: list[float] = field(default_factory=list)


@register
class CompressAIModel(Adapter):
    name = "compressai"
    version = 1
    rate_knob = "quality"
    capabilities: ClassVar[Capabilities] = Capabilities(("gbrp", "gbrp10le"), separate_decode=True, gpu=True,
                                                        in_process_torch=True)
    conformance_example = ({"architecture": "bmshj2018-factorized", "weights": "random"}, [1])
    PARAMS: ClassVar[dict[str, Param]] = {
        "architecture": Param(str, None, "zoo architecture: " + ", ".join(ARCHITECTURES)),
        "metric": Param(str, "mse", "the distortion the weights were trained for (the zoo's mse or ms-ssim files)",
                        ("mse", "ms-ssim")),
        "weights": Param(str, "pretrained", "pretrained (official zoo files, local), checkpoints (your own files, "
                         "{quality: path}) or random (randomly initialised: tests and smoke runs only)",
                         ("pretrained", "checkpoints", "random")),
        "weights_dir": Param(str, None, "folder holding the official zoo files, searched before the torch hub cache",
                             affects_result=False),
        "checkpoints": Param(dict, {}, "quality level -> checkpoint file (weights: checkpoints)", affects_result=False),
        "seed": Param(int, 0, "torch seed of the random initialisation (weights: random)"),
        "random_gain": Param((int, float), 50.0, "weights: random: scale of the analysis transforms' last "
                             "convolution (a plain random init puts every latent below 0.5, so every symbol would "
                             "be 0 and the output would not depend on the content)"),
        "device": Param(str, "cpu", "cpu, cuda or cuda:N (the device type is part of the job key)",
                        affects_result=False),
        "pad_mode": Param(str, "replicate", "how frames are padded to the model's multiple (right and bottom)",
                          ("replicate", "zero")),
        "verify_decode": Param(bool, True, "fail the job unless the decoder reproduces the encoder-side "
                               "reconstruction bit for bit", affects_result=False),
        "estimate_bits": Param(bool, True, "also record the model's likelihood estimate per frame (a diagnostic)",
                               affects_result=False),
        "warmup": Param(bool, True, "code frame 0 once, untimed, before the timed run (encode and decode)",
                        affects_result=False),
    }

    # -- parameters -----------------------------------------------------------------------------------------

    @classmethod
    def validate_params(cls, raw: Any, where: str) -> dict[str, Any]:
        params = super().validate_params(raw, where)
        arch = params["architecture"]
        if arch is not None and arch not in ARCHITECTURES:
            raise ConditionError(f"{where}.architecture: {arch!r} is not one of {', '.join(ARCHITECTURES)}")
        validate_device(params["device"], where)
        checkpoints = params["checkpoints"]
        for quality, path in checkpoints.items():
            if isinstance(quality, bool) or not isinstance(quality, int) or not isinstance(path, str):
                raise ConditionError(f"{where}.checkpoints: expected quality level: file path pairs, got "
                                     f"{quality!r}: {path!r}")
        if params["weights"] == "checkpoints" and not checkpoints:
            raise ConditionError(f"{where}.checkpoints: weights: checkpoints needs a {{quality: file}} mapping")
        if params["weights"] != "checkpoints" and checkpoints:
            raise ConditionError(f"{where}.checkpoints: given, but weights is {params['weights']!r}; set weights: "
                                 "checkpoints to use them")
        return params

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConditionError(f"{where}: {value!r} is not a rate point for compressai: expected a quality "
                                 "level (1, 2, ...)")
        return value

    @property
    def architecture(self) -> str:
        arch = self.params["architecture"]
        if arch is None:
            raise AdapterError(f"codec {self.name}: no architecture given; set architecture: to one of "
                               f"{', '.join(ARCHITECTURES)}")
        return arch

    # -- weights --------------------------------------------------------------------------------------------

    def weights_file(self, quality: int) -> tuple[Path, str]:
        """(file, where it was found) for a quality level; AdapterError naming the file and the places looked."""
        arch, metric = self.architecture, self.params["metric"]
        if self.params["weights"] == "checkpoints":
            raw = self.params["checkpoints"].get(quality)
            if raw is None:
                raise AdapterError(f"codec {self.name}: rate point {quality} has no entry in checkpoints "
                                   f"(it lists {', '.join(map(str, sorted(self.params['checkpoints'])))})")
            path = Path(raw).expanduser()
            if not path.is_file():
                raise AdapterError(f"codec {self.name}: checkpoint {path} (quality {quality}) does not exist")
            return path, "checkpoints"
        self._check_quality(quality)
        url = official_url(arch, metric, quality)
        if url is None:
            raise AdapterError(f"codec {self.name}: the zoo has no official {metric} weights for {arch} quality "
                               f"{quality}; use weights: checkpoints with your own file")
        file_name = url.rsplit("/", 1)[-1]
        places = []
        if self.params["weights_dir"]:
            places.append((Path(self.params["weights_dir"]).expanduser(), "weights_dir"))
        places.append((torch_hub_checkpoints(), "torch hub cache"))
        for folder, label in places:
            if (folder / file_name).is_file():
                return folder / file_name, label
        looked = " or ".join(f"{folder} ({label})" for folder, label in places)
        raise AdapterError(f"codec {self.name}: weights file {file_name} not found in {looked}; nothing is "
                           f"downloaded at run time: fetch {url} and put it in one of those folders")

    def _check_quality(self, quality: int) -> None:
        levels = qualities(self.architecture)
        if quality not in levels:
            raise AdapterError(f"codec {self.name}: quality {quality} is not a level of {self.architecture} "
                               f"({', '.join(map(str, levels))})")

    def load_model(self, quality: int, device: str) -> LoadedModel:
        """A fresh model instance for a quality level, in eval mode on DEVICE, entropy tables ready."""
        import torch

        arch, zoo = self.architecture, _zoo()
        cls = zoo["classes"][arch]
        if self.params["weights"] == "random":
            self._check_quality(quality)
            with _RANDOM_INIT:
                torch.manual_seed(self.params["seed"])
                net = cls(*zoo["image_cfgs"][arch][quality]) if arch in zoo["image_cfgs"] else cls()
            gain = float(self.params["random_gain"])
            with torch.no_grad():
                for analysis in ("g_a", "img_encoder", "res_encoder", "motion_encoder"):
                    if hasattr(net, analysis):
                        # The transform's own last convolution, not one inside a final attention block.
                        last = [m for m in getattr(net, analysis).children() if isinstance(m, torch.nn.Conv2d)][-1]
                        last.weight.mul_(gain)
                        if last.bias is not None:  # a convolution made with bias=False has none to scale
                            last.bias.mul_(gain)
            net.update(force=True)
            description = {"source": "random", "seed": self.params["seed"], "analysis_gain": gain,
                           "entropy_tables": "computed by update(force=True)"}
        else:
            path, found_in = self.weights_file(quality)
            state = load_state_dict(path)
            stored = _has_entropy_tables(state)
            try:
                net = cls.from_state_dict(_with_table_keys(state))
            except Exception as e:  # compressai raises KeyError/RuntimeError/IndexError for a foreign file
                detail = " ".join(str(e).split())  # torch lists the missing and unexpected keys on many lines
                raise AdapterError(f"codec {self.name}: {path} does not fit architecture {arch}: "
                                   f"{type(e).__name__}: {detail[:300]}") from None
            if not stored:
                net.update(force=True)
            description = {"source": found_in, "file": str(path), "sha256": _file_sha256(path),
                           "entropy_tables": "stored in the file" if stored else "computed by update(force=True)"}
        return LoadedModel(net.eval().to(device), description)

    # -- identity and checks --------------------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        import torch

        _ = self.architecture
        return {**super().identity(), "compressai": _zoo()["version"], "torch": torch.__version__,
                "device_type": self.params["device"].split(":")[0]}

    @functools.cache  # noqa: B019 (one adapter per codec and run; the cache ends with it)
    def rate_point_identity(self, rate_point: Any) -> dict[str, Any]:
        """The weights file of this quality level, checked against the architecture before any job runs."""
        if self.params["weights"] == "random":
            self._check_quality(rate_point)
            return {}
        loaded = self.load_model(rate_point, "cpu")  # the fit check: from_state_dict on the architecture
        return {"weights": {"file": Path(loaded.description["file"]).name, "sha256": loaded.description["sha256"]}}

    def check_condition(self, intra_period: int, where: str) -> None:
        """A CUDA device that is not there stops the run before the first job, not every job one by one."""
        _ = self.architecture
        _check_device(self.params["device"], where)

    def input_format(self, coding: PixelFormat) -> PixelFormat:
        return make_format("rgb", "444", coding.bit_depth)  # the models take RGB; the runner converts

    @classmethod
    def doctor_summary(cls) -> str:
        """The installed compressai and torch by their package metadata: importing them takes seconds (torch,
        and compressai's own imports of scipy and torch_geometric), which a plain ``doctor`` does not spend."""
        from importlib import metadata

        try:
            versions = f"compressai {metadata.version('compressai')}, torch {metadata.version('torch')} installed"
        except metadata.PackageNotFoundError as e:
            raise AdapterError(f"codec {cls.name}: the package {e.name} is not installed") from None
        return f"{versions}; `doctor compressai` imports them and lists the architectures, `doctor <descriptor>` " \
               "checks a model's weights"

    def doctor(self) -> str:
        import torch

        zoo = _zoo()
        head = f"compressai {zoo['version']}, torch {torch.__version__}"
        _check_device(self.params["device"], f"codec {self.name}")
        if self.params["architecture"] is None:
            listing = "; ".join(f"{a} ({ARCHITECTURES[a].kind}, quality {min(qualities(a))}..{max(qualities(a))}, "
                                f"{'/'.join(m for m in zoo['urls'][a])})" for a in ARCHITECTURES)
            return f"{head}; architectures: {listing}"
        arch = self.architecture
        if self.params["weights"] == "random":
            return f"{head}; {arch}, **random weights** (seed {self.params['seed']}), quality levels " \
                   f"{', '.join(map(str, qualities(arch)))}"
        levels = sorted(self.params["checkpoints"]) if self.params["weights"] == "checkpoints" else qualities(arch)
        found, problems = [], []
        for q in levels:
            try:
                loaded = self.load_model(q, "cpu")
                found.append(f"q{q} ({loaded.description['source']})")
            except AdapterError as e:
                problems.append(str(e).removeprefix(f"codec {self.name}: "))
        if not found:
            raise AdapterError(f"codec {self.name}: no usable weights for {arch}: " + "; ".join(problems))
        missing = f"; not usable: {'; '.join(problems)}" if problems else ""
        return f"{head}; {arch} {self.params['metric']}: weights fit for {', '.join(found)}{missing}"

    # -- coding ---------------------------------------------------------------------------------------------

    def code_sequence(self, task: CodingTask) -> CodingResult:
        import torch

        arch = ARCHITECTURES[self.architecture]
        device = self.job_device(task)  # the pinned GPU under --gpus
        _check_device(device, f"codec {self.name}")
        streams = task.work_dir / "streams"
        streams.mkdir(parents=True, exist_ok=True)
        decoded = task.work_dir / "decoded.rgb"
        with _device_lock(device), torch.inference_mode():
            if device != "cpu":
                torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
            peaks: dict[str, int] = {}
            _reset_peak(device)
            encoder = self.load_model(task.rate_point, device)
            encoded = self._encode(encoder.net, arch, task, streams, device)
            del encoder.net
            peaks["encode"] = _peak(device)
            _reset_peak(device)
            decoder = self.load_model(task.rate_point, device)
            frame_decode_s = self._decode(decoder.net, arch, task, encoded, decoded, device)
            peaks["decode"] = _peak(device)
            del decoder.net
        complexity = self._complexity(task, device)
        frame_bits = [8 * p.stat().st_size for p in encoded.paths]
        reported: dict[str, Any] = {}
        if encoded.estimated_bits:
            reported.update({
                "estimated_bits": sum(encoded.estimated_bits), "estimated_frame_bits": encoded.estimated_bits,
                "estimated_bits_definition": "diagnostic only, not the rate: sum over latents of -log2 likelihood "
                                             "from the model's forward pass on the padded frame (SSF inter frames: "
                                             "against the encoder's reference)"})
        timing = {"warmup_excluded": self.params["warmup"], "cuda_synchronised": device != "cpu",
                  "threads": torch.get_num_threads(), "device": device,
                  "timed": "per frame: the model's compress/decompress (encode_keyframe/encode_inter ...) calls, "
                           "CUDA synchronised; padding and tensor conversion outside, file I/O outside"}
        if device != "cpu":
            timing.update({"peak_gpu_memory_bytes": peaks, "gpu": torch.cuda.get_device_name(torch.device(device))})
        return CodingResult(
            bitstreams=encoded.paths, decoded_path=decoded, encode_seconds=encoded.seconds,
            decode_seconds=sum(frame_decode_s), frame_encode_s=encoded.frame_seconds, frame_decode_s=frame_decode_s,
            complexity=complexity, frame_types=encoded.frame_types, frame_bits=frame_bits,
            codec_reported=reported,
            processing=self._processing(arch, task, decoder.description, device), timing_details=timing,
            cautions=self._cautions())

    def _complexity(self, task: CodingTask, device: str) -> dict[str, Any]:
        """Parameters and kMAC/pixel of this architecture and quality at the task's coded size, counted once per
        (architecture, quality, size, torch and compressai versions) and remembered: the count depends on
        the shapes, never on the weights."""
        import compressai
        import torch

        from bench.adapters.complexity import compressai_complexity

        arch = ARCHITECTURES[self.architecture]
        kind = (f"complexity {self.architecture} q{task.rate_point} {task.width}x{task.height} pad "
                f"{arch.pad_multiple} torch {torch.__version__} compressai {compressai.__version__}")
        def count() -> dict[str, Any]:
            # A model of its own, made outside inference mode: the FLOP counter's module hooks need autograd's
            # bookkeeping, which inference tensors (the coding models' weights) do not have.
            with torch.inference_mode(False):
                model = self.load_model(task.rate_point, device).net
                return compressai_complexity(model, task.height, task.width, pad_multiple=arch.pad_multiple).to_dict()

        return remembered(kind, [], count)

    def redecode(self, task: CodingTask, bitstreams: list[Path]) -> Path:
        import torch

        arch = ARCHITECTURES[self.architecture]
        device = self.job_device(task)
        _check_device(device, f"codec {self.name}")
        decoded = task.work_dir / "decoded.rgb"
        with _device_lock(device), torch.inference_mode():
            if device != "cpu":
                torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
            decoder = self.load_model(task.rate_point, device)
            self._decode(decoder.net, arch, task, _Encoded(paths=list(bitstreams), digests=[None] * len(bitstreams)),
                         decoded, device)
        return decoded

    def _processing(self, arch: Architecture, task: CodingTask, weights: dict[str, Any],
                    device: str) -> dict[str, Any]:
        m = arch.pad_multiple
        peak = task.fmt.peak
        padded = [-(-task.width // m) * m, -(-task.height // m) * m]
        frames = ("every frame intra (image model: the condition's intra period does not apply)" if arch.kind == "image"
                  else "key frames at 0, N, 2N ... (N = intra period; -1: frame 0 only); inter frames predict from "
                       "the previous decoded frame clamped to [0, 1]")
        return {
            "model": f"compressai {_zoo()['version']} {self.architecture} ({arch.kind}), metric "
                     f"{self.params['metric']}, quality {task.rate_point}",
            "weights": weights,
            "input": f"RGB {task.fmt.bit_depth}-bit from the condition's colour path, divided by {peak} to [0, 1]",
            "output": f"decoder output clamped to [0, 1], times {peak}, rounded half up to {task.fmt.bit_depth}-bit RGB",
            "padding": {"multiple": m, "mode": self.params["pad_mode"], "where": "right and bottom",
                        "coded_size": [task.width, task.height], "model_size": padded,
                        "cropped_back": padded != [task.width, task.height]},
            "frames": frames,
            "device": device,
            "decode_check": ("decoder output equal to the encoder-side reconstruction bit for bit on every frame "
                             "(SHA-256 of the float32 tensor)") if self.params["verify_decode"] else "off",
            "bitstream": "one file per frame: the model's strings and latent shapes, layout in "
                         "bench/adapters/frame_container.py",
        }

    def _cautions(self) -> list[str]:
        if self.params["weights"] != "random":
            return []
        return [f"**RANDOMLY INITIALISED WEIGHTS** (weights: random, seed {self.params['seed']}, analysis gain "
                f"{float(self.params['random_gain']):g}): not a trained model; its rates and quality say nothing "
                f"about {self.architecture}'s real performance"]

    def _frames(self, task: CodingTask, device: str, first: int = 0,
                count: int | None = None) -> Iterator[torch.Tensor]:
        import torch

        reader = RawVideoReader(task.input_path, task.fmt, task.width, task.height)
        for planes in reader.frames(first, task.frames if count is None else count):
            rgb = np.stack(planes).astype(np.float32) / task.fmt.peak
            yield torch.from_numpy(rgb).unsqueeze(0).to(device)

    def _pad(self, x: torch.Tensor, multiple: int) -> torch.Tensor:
        import torch.nn.functional as F  # noqa: N812 (the usual name)

        h, w = x.shape[-2:]
        extra = (0, -(-w // multiple) * multiple - w, 0, -(-h // multiple) * multiple - h)
        if extra == (0, 0, 0, 0):
            return x
        if self.params["pad_mode"] == "replicate":
            return F.pad(x, extra, mode="replicate")
        return F.pad(x, extra, mode="constant", value=0.0)

    def _encode(self, net: Any, arch: Architecture, task: CodingTask, streams: Path, device: str) -> _Encoded:
        out = _Encoded()
        verify, estimate = self.params["verify_decode"], self.params["estimate_bits"]
        if self.params["warmup"]:
            self._warm_up_encoder(net, arch, task, device)
        ref = None
        for i, frame in enumerate(self._frames(task, device)):
            x = self._pad(frame, arch.pad_multiple)
            intra = arch.kind == "image" or ref is None or (task.intra_period > 0 and i % task.intra_period == 0)
            _sync(device)
            t0 = time.perf_counter()
            enc, recon, groups = _encode_frame(net, arch, x, intra, ref)
            _sync(device)
            out.frame_seconds.append(time.perf_counter() - t0)
            out.seconds += out.frame_seconds[-1]
            coded = CodedFrame(INTRA if intra else INTER, task.width if intra else 0, task.height if intra else 0,
                               tuple(LatentGroup((int(s[0]), int(s[1])), tuple(_one(v) for v in strs))
                                     for s, strs in groups))
            path = streams / f"frame_{i:05d}.bin"
            path.write_bytes(encode_frame(coded))
            out.paths.append(path)
            out.frame_types.append("I" if intra else "P")
            out.digests.append(_verified_digest(net, arch, enc, recon) if verify else None)
            if estimate:
                out.estimated_bits.append(_estimated_bits(net, arch, x, intra, ref))
            if arch.kind == "video":
                assert recon is not None  # encode_keyframe and encode_inter return their reconstruction
                ref = recon.clamp(0, 1)
            if task.progress:
                task.progress(i + 1, task.frames)
        return out

    def _warm_up_encoder(self, net: Any, arch: Architecture, task: CodingTask, device: str) -> None:
        """Code frame 0 once (encode and decode), untimed, before the timed run (the warmup parameter)."""
        x0 = self._pad(next(self._frames(task, device, 0, 1)), arch.pad_multiple)
        if arch.kind == "image":
            enc = net.compress(x0)
            net.decompress(enc["strings"], enc["shape"])
        else:
            _, enc = net.encode_keyframe(x0)
            net.decode_keyframe(enc["strings"], enc["shape"])

    def _decode(self, net: Any, arch: Architecture, task: CodingTask, encoded: _Encoded, decoded: Path,
                device: str) -> list[float]:
        """Decode every frame into DECODED; the seconds of each frame's decode."""
        if self.params["warmup"]:
            self._decode_one(net, arch, decode_frame(encoded.paths[0].read_bytes(), encoded.paths[0]), None)
        seconds: list[float] = []
        ref, size, mismatched = None, (task.width, task.height), []
        with RawVideoWriter(decoded, task.fmt) as writer:
            for i, path in enumerate(encoded.paths):
                frame = decode_frame(path.read_bytes(), path)
                if frame.kind == INTRA:
                    size = (frame.width, frame.height)
                elif arch.kind == "image" or ref is None:
                    raise AdapterError(f"bitstream {path}: an inter frame where {self.architecture} needs an intra one")
                _sync(device)
                t0 = time.perf_counter()
                x_hat = self._decode_one(net, arch, frame, ref)
                _sync(device)
                seconds.append(time.perf_counter() - t0)
                if encoded.digests[i] is not None and _digest(x_hat) != encoded.digests[i]:
                    mismatched.append(i)
                if arch.kind == "video":
                    ref = x_hat.clamp(0, 1)
                writer.write(_to_planes(x_hat, size, task.fmt))
        if mismatched:
            shown = ", ".join(map(str, mismatched[:10])) + (" ..." if len(mismatched) > 10 else "")
            raise AdapterError(f"codec {self.name}: decoding the written bitstream does not reproduce the "
                               f"encoder-side reconstruction on frame(s) {shown} of {len(encoded.paths)} "
                               f"({self.architecture} on {device}); these bitstreams are not usable")
        return seconds

    @staticmethod
    def _decode_one(net: Any, arch: Architecture, frame: CodedFrame, ref: torch.Tensor | None) -> torch.Tensor:
        groups = [([[s] for s in g.strings], g.shape) for g in frame.groups]
        if arch.kind == "image":
            return net.decompress(*groups[0])["x_hat"]
        if frame.kind == INTRA:
            return net.decode_keyframe(*groups[0])
        (motion, motion_shape), (residual, residual_shape) = groups
        return net.decode_inter(ref, {"motion": motion, "residual": residual},
                                {"motion": motion_shape, "residual": residual_shape})


# --- helpers ---------------------------------------------------------------------------------------------------

def load_state_dict(path: Path) -> dict[str, Any]:
    """A checkpoint's weights by the zoo's rules: unwrap a training checkpoint, rename old keys."""
    import torch
    from compressai.zoo import load_state_dict as rename_old_keys

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise AdapterError(f"checkpoint {path}: torch.load failed ({type(e).__name__}: "
                           f"{str(e).strip().splitlines()[0][:200] if str(e).strip() else ''}); is it a PyTorch "
                           "state dict of plain tensors?") from None
    if not isinstance(checkpoint, dict):
        raise AdapterError(f"checkpoint {path}: holds a {type(checkpoint).__name__}, not a state dict")
    state = checkpoint
    for key in ("network", "state_dict", "model_state_dict"):  # CompressAI eval_model's order
        if key in checkpoint:
            state = checkpoint[key]
    return rename_old_keys(state)


def _file_sha256(path: Path) -> str:
    """A weights file's SHA-256, computed once per file version and remembered across runs (planning and both
    model instances of every job would otherwise hash the same ~100 MB again)."""
    return tool_sha256(path)


def _has_entropy_tables(state: dict[str, Any]) -> bool:
    tables = [v for k, v in state.items() if k.endswith("._quantized_cdf")]
    return bool(tables) and all(v.numel() > 0 for v in tables)


def _with_table_keys(state: dict[str, Any]) -> dict[str, Any]:
    """Empty tables where a state dict has none at all (compressai's loader would stop with a KeyError);
    update() then computes them."""
    import torch

    bottlenecks = {k.removesuffix(".quantiles") for k in state if k.endswith(".quantiles")}
    gaussians = {k.removesuffix(".lower_bound_scale.bound") for k in state if k.endswith(".lower_bound_scale.bound")}
    filled = dict(state)
    for prefix in bottlenecks | gaussians:
        for suffix in _TABLE_SUFFIXES:
            filled.setdefault(prefix + suffix, torch.zeros(0, dtype=torch.int32))
    for prefix in gaussians:
        filled.setdefault(prefix + ".scale_table", torch.zeros(0))
    return filled


def _one(strings: Any) -> bytes:
    """compressai keeps one string per batch element; we code one frame at a time."""
    if len(strings) != 1:
        raise AdapterError(f"expected one string per latent for a batch of one frame, got {len(strings)}")
    return bytes(strings[0])


def _digest(x: torch.Tensor) -> str:
    return hashlib.sha256(x.detach().float().cpu().contiguous().numpy().tobytes()).hexdigest()


def _encode_frame(net: Any, arch: Architecture, x: torch.Tensor, intra: bool,
                  ref: torch.Tensor | None) -> tuple[Any, torch.Tensor | None, list[tuple[Any, Any]]]:
    """One frame through the model's encoder: its output, its reconstruction (None from an image codec's
    compress, which gives none) and its latent groups as (shape, strings), in the order they are stored."""
    if arch.kind == "image":
        enc = net.compress(x)
        return enc, None, [(enc["shape"], enc["strings"])]
    if intra:
        recon, enc = net.encode_keyframe(x)
        return enc, recon, [(enc["shape"], enc["strings"])]
    recon, enc = net.encode_inter(x, ref)
    return enc, recon, [(enc["shape"][k], enc["strings"][k]) for k in ("motion", "residual")]


def _verified_digest(net: Any, arch: Architecture, enc: Any, recon: torch.Tensor | None) -> str:
    """The digest of a frame's reconstruction (verify_decode): an image codec's decoded here from its output
    ENC, a video codec's RECON from its encoder."""
    if arch.kind == "image":
        recon = net.decompress(enc["strings"], enc["shape"])["x_hat"]
    assert recon is not None  # decoded just above, or returned by encode_keyframe and encode_inter
    return _digest(recon)


def _to_planes(x_hat: torch.Tensor, size: tuple[int, int], fmt: PixelFormat) -> Planes:
    width, height = size
    x = x_hat[0, :, :height, :width].clamp(0, 1) * fmt.peak
    values = (x + 0.5).floor().cpu().numpy().astype(fmt.dtype)
    return values[0], values[1], values[2]


def _estimated_bits(net: Any, arch: Architecture, x: torch.Tensor, intra: bool, ref: torch.Tensor | None) -> float:
    if arch.kind == "image":
        likelihoods = net(x)["likelihoods"]
    elif intra:
        likelihoods = net.forward_keyframe(x)[1]
    else:
        likelihoods = net.forward_inter(x, ref)[1]
    return float(sum(-t.log2().sum().item() for t in _tensors(likelihoods)))


def _tensors(tree: Any) -> Iterator[Any]:
    if isinstance(tree, dict):
        for v in tree.values():
            yield from _tensors(v)
    else:
        yield tree


def _check_device(device: str, where: str) -> None:
    if device == "cpu":
        return
    import torch

    if not torch.cuda.is_available():
        raise AdapterError(f"{where}: device {device}: no CUDA device visible to torch")
    index = torch.device(device).index
    if index is not None and index >= torch.cuda.device_count():
        raise AdapterError(f"{where}: device {device}: torch sees {torch.cuda.device_count()} CUDA device(s)")


def _device_lock(device: str) -> Any:
    """One job at a time per GPU (its peak memory and times are then that job's); none for the CPU."""
    if device == "cpu":
        return contextlib.nullcontext()
    import torch

    index = torch.device(device).index
    key = f"cuda:{torch.cuda.current_device() if index is None else index}"
    with _DEVICE_LOCKS_GUARD:
        return _DEVICE_LOCKS.setdefault(key, threading.Lock())


def _sync(device: str) -> None:
    if device != "cpu":
        import torch

        torch.cuda.synchronize(torch.device(device))


def _reset_peak(device: str) -> None:
    if device != "cpu":
        import torch

        torch.cuda.reset_peak_memory_stats(torch.device(device))


def _peak(device: str) -> int:
    if device == "cpu":
        return 0
    import torch

    return int(torch.cuda.max_memory_allocated(torch.device(device)))
