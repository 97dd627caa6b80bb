"""Test conditions: YAML files validated into frozen :class:`Condition` objects.

A condition says everything that changes a result: which sequences (a dataset manifest or an explicit list),
which frames, the intra period, the colour path, spatial handling, the metrics and their pooling, and the
codecs with their rate points (descriptor names from ``codecs/`` or inline definitions). Files may
``extends:`` other files for shared defaults (a file next to it, or one of the suite's conditions by name;
mappings merge key by key, lists replace), and ``${VAR}`` in
strings expands from the environment.

Every problem is a :class:`ConditionError` naming the file and the key path, e.g.
``conditions/demo.yaml: codecs[1].rate_points[0]: ...``. Unknown keys are errors, never ignored: a typo
must not silently fall back to a default.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from bench.adapters import adapter_class
from bench.conditions.datasets import SequenceInfo, dataset, dataset_names
from bench.conditions.display import MARKER_NAMES
from bench.conditions.timing import MODES
from bench.errors import BenchError, ConditionError, known_names
from bench.files import LINK_LOOP, is_link_loop, not_a_file
from bench.metrics import POOLINGS, PSNR_PEAKS, MetricSpec, measures, request
from bench.metrics.registry import device_problem
from bench.video.colour import CHROMA_UPSAMPLING, MATRICES, RANGES, ColourSpec
from bench.video.formats import PIXEL_FORMATS, PixelFormat, pixel_format

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_ROOT_ENV = "LVCBENCH_DATA_ROOT"
_REQUIRED = object()
_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


# --- the validated model -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FrameRange:
    first: int = 0
    count: int | None = None  # None: every frame from ``first`` to the end of each sequence


@dataclass(frozen=True)
class Narrowing:
    """What ``--frames N``/``--sequences A,B`` (or a condition file's ``narrow:``) kept of a condition, for a
    quick look: the first N of the frames the condition takes, and only the named sequences."""

    base: str  # the name of the condition it narrows
    frames: int | None  # the first FRAMES of the condition's frames; None: all of them
    sequences: tuple[str, ...] | None  # the sequences kept, in the condition's order; None: all of them

    def describe(self) -> str:
        parts = []
        if self.frames is not None:
            parts.append(f"first {self.frames} frame{'s' if self.frames != 1 else ''}")
        if self.sequences is not None:
            parts.append(f"sequence{'s' if len(self.sequences) != 1 else ''} {', '.join(self.sequences)}")
        return f"narrowed from {self.base}: {', '.join(parts)}"

    def as_key(self) -> dict[str, Any]:
        """The ``narrow:`` key of a condition file that narrows the same way."""
        return {**({"frames": self.frames} if self.frames is not None else {}),
                **({"sequences": list(self.sequences)} if self.sequences is not None else {})}

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.base, "frames": self.frames,
                "sequences": list(self.sequences) if self.sequences is not None else None}


@dataclass(frozen=True)
class SpatialSpec:
    """``none``: code as is; ``pad``: pad to a multiple and crop back; ``crop``: crop the source to a multiple."""

    mode: str = "none"
    multiple: int = 1
    pad: str = "replicate"
    crop_anchor: str = "top-left"

    def describe(self) -> str:
        if self.mode == "pad":
            return f"padded ({self.pad}, right/bottom) to a multiple of {self.multiple}, metrics after cropping back"
        if self.mode == "crop":
            return f"source cropped ({self.crop_anchor}) to a multiple of {self.multiple}; metrics on the crop"
        return "coded at the source size"


@dataclass(frozen=True)
class ColourPath:
    """Source format (checked when given), the format codecs receive, and how YUV and RGB relate."""

    source_format: str | None = None
    coding_format: str | None = None  # None: code in the source format
    matrix: str = "bt709"
    range: str = "limited"
    chroma_upsampling: str = "bilinear"

    @property
    def spec(self) -> ColourSpec:
        return ColourSpec(self.matrix, self.range, self.chroma_upsampling)

    def coding(self, source: PixelFormat) -> PixelFormat:
        return pixel_format(self.coding_format) if self.coding_format else source


@dataclass(frozen=True)
class CodecSpec:
    """A codec as a condition uses it: adapter, validated parameters and rate points."""

    name: str
    adapter: str
    params: tuple[tuple[str, Any], ...]
    rate_points: tuple[Any, ...]
    description: str = ""
    defined_in: str = ""
    # What a cluster job of this codec asks the scheduler for (gpus, cpus, mem_gb, time_min, partition, account,
    # qos, constraint, exclusive, sbatch, setup: RESOURCE_KEYS); operational, so not part of any job key.
    resources: tuple[tuple[str, Any], ...] = ()
    # Whether the decoded frames are kept (FFV1, lossless) for measuring later: "auto" keeps them only for
    # codecs that cannot decode a stored bitstream on their own (DCVC, DHVC harnesses); not in any key.
    keep_decoded: str = "auto"
    # How reports draw and name it (label, colour, marker); presentation only, so not part of any job key.
    display: tuple[tuple[str, str], ...] = ()

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True)
class Condition:
    name: str
    description: str
    path: Path
    text: str
    dataset: str | None
    sequences: tuple[SequenceInfo, ...]
    data_root: Path | None
    frames: FrameRange
    intra_period: int
    colour: ColourPath
    spatial: SpatialSpec
    metrics: MetricSpec
    codecs: tuple[CodecSpec, ...]
    anchor: str | None
    timing: str = "shared"  # "exclusive": every job alone on the machine, so its times compare across codecs
    # The document as read: extends: merged, ${VAR}s expanded (what expanded_text writes out).
    merged: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # Set when --frames/--sequences (or a file's narrow:) kept part of the condition: see :func:`narrow`.
    narrowed: Narrowing | None = None

    def coding_fields(self) -> dict[str, Any]:
        """Every condition field that changes a bitstream, its decoded frames or what its record says of the
        coding (the job key adds the source, the codec and the rate point). The ``metrics:`` block is not among
        them: measuring never recodes. ``timing: exclusive`` is (records timed on a shared machine are not
        exclusive ones), and only when set, so that every shared run keeps its keys."""
        return {**({"timing": self.timing} if self.timing != "shared" else {}),
            # A narrowed run is its own condition: its keys differ from the full run's even for the same frames,
            # and bd/report flag it as coded under another condition. Absent otherwise, so no full run's keys move.
            **({"narrowed": self.narrowed.as_dict()} if self.narrowed is not None else {}),
            "frames": {"first": self.frames.first, "count": self.frames.count},
            "intra_period": self.intra_period,
            "colour": {"source_format": self.colour.source_format, "coding_format": self.colour.coding_format,
                       "matrix": self.colour.matrix, "range": self.colour.range,
                       "chroma_upsampling": self.colour.chroma_upsampling},
            "spatial": {"mode": self.spatial.mode, "multiple": self.spatial.multiple, "pad": self.spatial.pad,
                        "crop_anchor": self.spatial.crop_anchor},
        }

    def expanded_text(self) -> str:
        """The condition as a run used it, as YAML that loads to the same condition: the file with every
        ``extends:`` merged in and every ``${VAR}`` expanded, the data root as found, and each codec written out
        in full (adapter, validated parameters, rate points) instead of by descriptor. Stored beside the results,
        it still means the same when the files it came from have changed or moved."""
        doc = {k: v for k, v in self.merged.items() if k not in ("name", "data_root", "codecs", "narrow")}
        cut = self.narrowed  # written as the condition it narrows plus its narrow: key, which loads back the same
        doc = {"name": cut.base if cut else self.name, **doc,
               **({"data_root": str(self.data_root)} if self.data_root else {}),
               **({"narrow": cut.as_key()} if cut else {}), "codecs": [_codec_entry(c) for c in self.codecs]}
        head = (f"# Condition {self.name} as run{f' ({cut.describe()})' if cut else ''}: {self.path}, its extends: "
                "merged, ${VAR}s expanded, the data root as found and every codec written out in full.\n")
        return head + yaml.safe_dump(json.loads(json.dumps(doc, default=str)), sort_keys=False, allow_unicode=True,
                                     width=120)

    def displays(self) -> dict[str, dict[str, str]]:
        """Codec name -> its ``display:`` block (label, colour, marker), for the codecs that have one."""
        return {c.name: dict(c.display) for c in self.codecs if c.display}

    def codec(self, name: str) -> CodecSpec:
        for c in self.codecs:
            if c.name == name:
                return c
        raise ConditionError(f"{self.path}: no codec named {name!r} in this condition")


# --- reading YAML --------------------------------------------------------------------------------------------

class _Section:
    """Typed access to one mapping of a YAML document; remembers which keys were read."""

    def __init__(self, data: Any, where: str, file: Path) -> None:
        self.file, self.where = file, where
        if not isinstance(data, Mapping):
            self.fail(f"expected a mapping, got {_kind(data)}")
        self.data: Mapping[str, Any] = data
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def fail(self, message: str, key: str | None = None) -> None:
        where = self.key(key) if key else self.where
        raise ConditionError(f"{self.file}: {where or '(top level)'}: {message}")

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = _REQUIRED,
            choices: tuple[Any, ...] | None = None, check: Callable[[Any], str | None] | None = None) -> Any:
        self.seen.add(name)
        if name not in self.data or self.data[name] is None:
            if default is _REQUIRED:
                self.fail("is required", name)
            return default
        return _typed(self.data[name], kind, self.file, self.key(name), choices, check)

    def raw(self, name: str, default: Any) -> Any:
        """The value as YAML gave it (its reader checks it), or DEFAULT when absent or empty."""
        self.seen.add(name)
        value = self.data.get(name)
        return default if value is None else value

    def section(self, name: str) -> _Section:
        self.seen.add(name)
        return _Section(self.data.get(name) or {}, self.key(name), self.file)

    def done(self) -> None:
        unknown = [k for k in self.data if k not in self.seen]
        if unknown:
            known = ", ".join(sorted(self.seen))
            self.fail(f"unknown key {unknown[0]!r} (known keys here: {known})")


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a mapping", type(None): "nothing"}.get(type(value), type(value).__name__)


def _typed(value: Any, kind: type | tuple[type, ...], file: Path, where: str,
           choices: tuple[Any, ...] | None = None, check: Callable[[Any], str | None] | None = None) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        hint = ""
        if str in kinds and isinstance(value, (int, float, bool)):
            # YAML 1.1 reads 4:2:0 as a number and no/yes as booleans: tell the user to quote.
            hint = ' (YAML read it as a non-string: put it in quotes, e.g. "yuv420p")'
        names = " or ".join(_kind(k()) if k is not type(None) else "nothing" for k in kinds)
        raise ConditionError(f"{file}: {where}: expected {names}, got {_kind(value)} {value!r}{hint}")
    if choices is not None and value not in choices:
        raise ConditionError(f"{file}: {where}: {value!r} is not one of {', '.join(map(str, choices))}")
    if check is not None:
        problem = check(value)
        if problem:
            raise ConditionError(f"{file}: {where}: {problem}")
    return value


# Set while a condition is read only to be compared (``diff``): an unset ${VAR} is left as written, since
# variables name where things are (a checkout, a data root), never a protocol setting.
_KEEP_UNSET_ENV: contextvars.ContextVar[bool] = contextvars.ContextVar("keep_unset_env", default=False)


@contextlib.contextmanager
def unset_variables_kept() -> Iterator[None]:
    """Within it, conditions and descriptors load with unset ``${VAR}``s left as written instead of refused."""
    token = _KEEP_UNSET_ENV.set(True)
    try:
        yield
    finally:
        _KEEP_UNSET_ENV.reset(token)


def _expand_env(node: Any, file: Path, where: str = "") -> Any:
    if isinstance(node, str):
        def sub(m: re.Match[str]) -> str:
            var = m.group(1)
            if var not in os.environ and _KEEP_UNSET_ENV.get():
                return m.group(0)
            if var not in os.environ:
                raise ConditionError(f"{file}: {where or '(top level)'}: environment variable {var} is not set "
                                     f"(used as ${{{var}}}); set it or change the value")
            return os.environ[var]
        return _ENV_VAR.sub(sub, node)
    if isinstance(node, Mapping):
        return {k: _expand_env(v, file, f"{where}.{k}" if where else str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_env(v, file, f"{where}[{i}]") for i, v in enumerate(node)]
    return node


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        out = dict(base)
        for k, v in override.items():
            out[k] = _merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(override)


class _StrictLoader(yaml.SafeLoader):
    """YAML as conditions and descriptors may use it: a key given twice is an error (PyYAML keeps the last one
    silently: `intra_period: 4` then `32` ran at 32), and aliases are refused (a few hundred bytes of nested
    aliases expand to billions of nodes)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(None, None, "aliases (*name) are not accepted here; write the "
                                                    "value out", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, str] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            kind = _key_kind(key)
            if kind is None:  # a mapping or list as a key (`? {a: 1}`), a date: nothing reads such keys
                raise yaml.constructor.ConstructorError(None, None, f"{_kind(key)} is used as a key; keys are names "
                                                        "or numbers", key_node.start_mark)
            other = next(iter(seen.items()), None)
            if other is not None and other[1] != kind:
                # {0: 1, x: 2}: keys of two kinds cannot be sorted or told apart once written as JSON ("0" and 0).
                raise yaml.constructor.ConstructorError(None, None, f"keys of different kinds in one mapping: "
                                                        f"{other[0]!r} ({other[1]}) and {key!r} ({kind}); quote the "
                                                        "keys so that all are text", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice", key_node.start_mark)
            seen[key] = kind
        return super().construct_mapping(node, deep=deep)


def _key_kind(key: Any) -> str | None:
    """The kind of a mapping key YAML gave (text, a number, a boolean: YAML 1.1 reads yes/no/on/off as
    booleans, null), or None for one that is no name at all."""
    if isinstance(key, bool):
        return "a boolean"
    if isinstance(key, (int, float)):
        return "a number"
    if isinstance(key, str):
        return "text"
    return "null" if key is None else None


def read_yaml(path: Path) -> Any:
    if path.is_dir():
        raise ConditionError(f"{path}: is a folder; give a condition file (.yaml)")
    if is_link_loop(path):
        raise ConditionError(f"{path}: {LINK_LOOP}")
    if path.exists() and not path.is_file():
        raise ConditionError(f"{path}: not a regular file")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConditionError(f"{path}: file not found") from None
    except UnicodeDecodeError as e:
        raise ConditionError(f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise ConditionError(f"{path}: cannot be read ({e.strerror or e})") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConditionError(f"{path}: not valid YAML{where}: {problem}") from None


def _load_with_extends(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    if is_link_loop(path):  # resolve() would raise on it
        raise ConditionError(f"{path}: {LINK_LOOP}")
    path = path.resolve()
    if path in chain:
        raise ConditionError(f"{path}: extends itself through {' -> '.join(p.name for p in chain)}")
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConditionError(f"{path}: the top level must be a mapping of keys, got {_kind(data)}")
    data = dict(data)
    parents = data.pop("extends", None)
    if parents is None:
        return data
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise ConditionError(f"{path}: extends: expected a file name or a list of file names")
    merged: dict[str, Any] = {}
    for parent in parents:
        merged = _merge(merged, _load_with_extends(_extended_file(path, parent), (*chain, path)))
    return _merge(merged, data)


def _extended_file(path: Path, parent: str) -> Path:
    """The file an ``extends:`` entry of PATH names: a file next to PATH, else one of the suite's own conditions by
    name (``hevc_b_ip32`` or ``hevc_b_ip32.yaml``), as ``--conditions`` finds them."""
    here = path.parent / parent
    problem = not_a_file(here)
    if problem is None:
        return here
    suite = REPO_ROOT / "conditions" / (parent if parent.endswith((".yaml", ".yml")) else f"{parent}.yaml")
    if "/" not in parent and parent not in (".", "..") and not_a_file(suite) is None:
        return suite
    raise ConditionError(f"{path}: extends: {parent!r} is not a file next to it ({problem}) nor one of the suite's "
                         "conditions (evaluate.py ls lists them)")


# --- sections --------------------------------------------------------------------------------------------------

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def name_problem(name: str) -> str | None:
    """Names become folder and file names (results/<condition>/records/<codec>/<sequence>/): letters, digits,
    '.', '_' and '-', starting with a letter or digit, so that no name can reach outside its folder ('..',
    '/abs', 'a/b') and two names never share one."""
    if NAME_PATTERN.fullmatch(name):
        return None
    return (f"{name!r} may hold only letters, digits, '.', '_' and '-' (starting with a letter or digit, at most "
            "100): it becomes a folder name")


def _positive(v: int) -> str | None:
    return None if v >= 1 else f"must be at least 1, got {v}"


def _frames(value: Any, file: Path) -> FrameRange:
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        value = {"count": value}
    s = _Section(value, "frames", file)
    first = s.get("first", int, 0, check=lambda v: None if v >= 0 else f"must be 0 or more, got {v}")
    count = s.get("count", (int, str), "all")
    if isinstance(count, str):
        if count != "all":
            s.fail(f"expected a frame count or 'all', got {count!r}", "count")
        count = None
    elif count < 1:
        s.fail(f"must be at least 1 (or 'all'), got {count}", "count")
    s.done()
    return FrameRange(first, count)


def _colour(s: _Section) -> ColourPath:
    formats = tuple(sorted(PIXEL_FORMATS))
    path = ColourPath(
        source_format=s.get("source_format", str, None, choices=formats),
        coding_format=s.get("coding_format", str, None, choices=formats),
        matrix=s.get("matrix", str, "bt709", choices=tuple(MATRICES)),
        range=s.get("range", str, "limited", choices=RANGES),
        chroma_upsampling=s.get("chroma_upsampling", str, "bilinear", choices=CHROMA_UPSAMPLING),
    )
    s.done()
    return path


def _timing(doc: _Section) -> str:
    """``timing: exclusive`` (or ``timing: {mode: exclusive}``): how the jobs are timed; default shared."""
    raw = doc.data.get("timing")
    if raw is None or isinstance(raw, str):
        return doc.get("timing", str, "shared", choices=MODES)
    section = doc.section("timing")
    mode = section.get("mode", str, "shared", choices=MODES)
    section.done()
    return mode


def _spatial(s: _Section) -> SpatialSpec:
    spec = SpatialSpec(
        mode=s.get("mode", str, "none", choices=("none", "pad", "crop")),
        multiple=s.get("multiple", int, 1, check=_positive),
        pad=s.get("pad", str, "replicate", choices=("replicate", "zero")),
        crop_anchor=s.get("crop_anchor", str, "top-left", choices=("top-left", "center")),
    )
    s.done()
    if spec.mode != "none" and spec.multiple == 1:
        s.fail(f"mode {spec.mode} needs a multiple greater than 1", "multiple")
    if spec.multiple % 2 and spec.multiple != 1:
        s.fail(f"must be even so that 4:2:0 chroma stays aligned, got {spec.multiple}", "multiple")
    return spec


def _metrics(s: _Section) -> MetricSpec:
    # PSNR's SSE is always measured; every other measure is asked for by its own key (ms_ssim, vmaf, xpsnr),
    # which the measure itself parses (the registry is the one place that knows them).
    requests = [request("sse")]
    for m in measures().values():
        if m.condition_key is None:
            continue
        value = s.raw(m.condition_key, m.condition_default)
        try:
            requests += m.requests_from_condition(value, s.key(m.condition_key))
        except ConditionError as e:
            raise ConditionError(f"{s.file}: {e}") from None
    spec = MetricSpec(
        pooling=s.get("pooling", str, "mean_psnr", choices=POOLINGS),
        psnr_peak=s.get("psnr_peak", str, "bitdepth", choices=PSNR_PEAKS),
        requests=tuple(requests),
        device=s.get("device", str, "auto", check=device_problem),
    )
    s.done()
    return spec


def _explicit_sequence(value: Any, file: Path, where: str) -> SequenceInfo:
    s = _Section(value, where, file)
    fmt = s.get("format", str, "yuv420p", choices=tuple(sorted(PIXEL_FORMATS)))
    pf = pixel_format(fmt)
    info = SequenceInfo(
        name=s.get("name", str, check=name_problem),
        group=s.get("group", str, "custom", check=name_problem),
        file=s.get("file", str),
        width=s.get("width", int, None, check=_positive),
        height=s.get("height", int, None, check=_positive),
        fps=s.get("fps", float, None, check=lambda v: None if v > 0 else f"must be positive, got {v}"),
        frames=s.get("frames", int, None, check=_positive),
        bit_depth=pf.bit_depth,
        chroma="rgb" if pf.family == "rgb" else pf.chroma,
    )
    s.done()
    return info


def _sequences(doc: _Section, dataset_name: str | None) -> tuple[SequenceInfo, ...]:
    raw = doc.get("sequences", (list, str), None)
    manifest: list[SequenceInfo] = []
    if dataset_name is not None:
        try:
            manifest = dataset(dataset_name)
        except BenchError as e:
            doc.fail(str(e), "dataset")
    if raw is None or raw == "all":
        if dataset_name is None:
            doc.fail("give a dataset or a list of sequences", "sequences")
        return tuple(manifest)
    if isinstance(raw, str):
        doc.fail(f"expected a list of sequences or 'all', got {raw!r}", "sequences")
    by_name = {s.name: s for s in manifest}
    out = []
    for i, item in enumerate(raw):
        where = f"sequences[{i}]"
        if isinstance(item, str):
            if item not in by_name:
                known = ", ".join(by_name) or "(no dataset given)"
                doc.fail(f"unknown sequence {item!r} in dataset {dataset_name}; known: {known}", where)
            out.append(by_name[item])
        else:
            out.append(_explicit_sequence(item, doc.file, where))
    names = [s.name for s in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        doc.fail(f"sequence {sorted(dup)[0]!r} is listed twice", "sequences")
    return tuple(out)


# --- codecs ---------------------------------------------------------------------------------------------------

def codec_dirs(condition_file: Path) -> list[Path]:
    """Where descriptor names are looked up: the condition's own folder (a project of your own keeps its
    descriptor beside its condition), a ``codecs`` folder next to the condition's folder, the repository's."""
    here = condition_file.resolve().parent
    dirs = [here, here.parent / "codecs", REPO_ROOT / "codecs", Path.cwd() / "codecs"]
    seen: list[Path] = []
    for d in dirs:
        if d not in seen:
            seen.append(d)
    return seen


def _is_descriptor(path: Path) -> bool:
    """A codec descriptor names its adapter at the top level (a condition beside it does not)."""
    try:
        return any(line.startswith("adapter:") for line in path.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return False


def find_descriptor(name: str, condition_file: Path) -> Path:
    """The descriptor NAME: in :func:`codec_dirs`, then one an installed plug-in ships (bench.adapters.plugins)."""
    from bench.adapters.plugins import CODECS_GROUP, plugin_descriptors

    for d in codec_dirs(condition_file):
        candidate = d / f"{name}.yaml"
        if candidate.is_file() and _is_descriptor(candidate):
            return candidate
    shipped = plugin_descriptors()
    if name in shipped:
        return shipped[name].path
    known = sorted({p.stem for d in codec_dirs(condition_file) if d.is_dir() for p in d.glob("*.yaml")
                    if _is_descriptor(p)} | set(shipped))
    names = known_names(name, known, "codecs")
    # A plug-in installed into another environment (pip of another python) is the usual surprise: name ours.
    raise ConditionError(f"unknown codec {name!r} ({names}): no {name}.yaml in "
                         f"{', '.join(str(d) for d in codec_dirs(condition_file))}, nor from a plug-in ({CODECS_GROUP}; "
                         f"found only when installed in the Python that runs evaluate.py, {sys.executable})")


def _build_codec(raw: Mapping[str, Any], file: Path, where: str, default_name: str | None,
                 descriptor: Path | None = None) -> CodecSpec:
    s = _Section(raw, where, file)
    name = s.get("name", str, default_name)
    if name is None:
        s.fail("an inline codec needs a name", "name")
    if (problem := name_problem(name)) is not None:
        s.fail(f"codec name {problem}", "name")
    adapter = s.get("adapter", str)
    try:
        cls = adapter_class(adapter, search=file.parent)
    except ConditionError as e:
        s.fail(str(e), "adapter")
    raw_params = dict(s.get("params", dict, {}))
    if (odd := next((k for k in raw_params if not isinstance(k, str)), None)) is not None:
        # A descriptor's params merged with a condition's {0: 1}: the adapter sorts the names (mixed kinds cannot).
        s.fail(f"parameter names are text, got {odd!r}; quote it or fix the name", "params")
    if "descriptor_dir" in cls.PARAMS:  # relative paths in its commands start at the descriptor's folder
        raw_params.setdefault("descriptor_dir", str((descriptor or file).parent.resolve()))
    params = cls.validate_params(raw_params, f"{file}: {s.key('params')}")
    points = s.get("rate_points", list)
    if not points:
        s.fail("needs at least one rate point", "rate_points")
    rate_points = tuple(cls.validate_rate_point(p, f"{file}: {s.key('rate_points')}[{i}]") for i, p in enumerate(points))
    # Compared as canonical JSON: an [intra, inter] rate point is a list, which a set cannot hold.
    canonical = [json.dumps(p, sort_keys=True) for p in rate_points]
    if len(set(canonical)) != len(canonical):
        s.fail("lists a rate point twice", "rate_points")
    description = s.get("description", str, "")
    resources = _resources(s.get("resources", dict, {}), file, s.key("resources"))
    keep_decoded = s.get("keep_decoded", str, "auto", choices=KEEP_DECODED)
    display = _display(s.section("display") if "display" in raw else None)
    s.done()
    return CodecSpec(name, adapter, tuple(sorted(params.items())), rate_points, description, str(file),
                     tuple(sorted(resources.items())), keep_decoded, display)


def _display(s: _Section | None) -> tuple[tuple[str, str], ...]:
    """``display: {label: "VTM-23.13 LDB", colour: "#0072B2", marker: square}``: how reports show the codec."""
    if s is None:
        return ()
    out = {"label": s.get("label", str, ""), "colour": s.get("colour", str, ""),
           "marker": s.get("marker", str, "", choices=("", *MARKER_NAMES))}
    if out["colour"] and not re.fullmatch(r"#[0-9A-Fa-f]{6}", out["colour"]):
        s.fail(f"{out['colour']!r} is not a colour; write it as #rrggbb", "colour")
    s.done()
    return tuple((k, v) for k, v in out.items() if v)


KEEP_DECODED = ("auto", "always", "never")


def _codec_entry(c: CodecSpec) -> dict[str, Any]:
    """CODEC as an inline entry of a condition (what ``_build_codec`` reads back to the same spec)."""
    entry: dict[str, Any] = {"name": c.name, "adapter": c.adapter, "params": dict(c.params),
                             "rate_points": list(c.rate_points)}
    if c.description:
        entry["description"] = c.description
    if c.resources:  # sbatch and setup back as written (a mapping, a list)
        entry["resources"] = {k: dict(v) if k == "sbatch" else list(v) if k == "setup" else v
                              for k, v in c.resources}
    if c.keep_decoded != "auto":
        entry["keep_decoded"] = c.keep_decoded
    if c.display:
        entry["display"] = dict(c.display)
    return entry


# Cluster options (bench.run.cluster): operational, so in no job key. sbatch: any other sbatch option -> value;
# setup: shell lines the job runs first (module load ..., source .../activate).
# Each key's type(s), as isinstance takes them.
RESOURCE_KEYS: dict[str, type[Any] | tuple[type[Any], ...]] = {
    "gpus": int, "cpus": int, "mem_gb": (int, float), "time_min": int, "partition": str, "account": str, "qos": str,
    "constraint": str, "exclusive": bool, "sbatch": Mapping, "setup": list}


def _resources(raw: Mapping[str, Any], file: Path, where: str) -> dict[str, Any]:
    """The validated ``resources`` block, hashable (sbatch as sorted pairs, setup as a tuple of lines)."""
    out = dict(raw)
    for key, value in raw.items():
        kind = RESOURCE_KEYS.get(key)
        if kind is None:
            raise ConditionError(f"{file}: {where}: unknown key {key!r} (known keys here: "
                                 f"{', '.join(sorted(RESOURCE_KEYS))})")
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind) \
                or (kind in (int, (int, float)) and value < (1 if key == "time_min" else 0)):
            raise ConditionError(f"{file}: {where}.{key}: {value!r} is not a valid value"
                                 + (" (minutes, 1 or more)" if key == "time_min" else ""))
        if key == "sbatch":
            bad = next((k for k, v in value.items() if not isinstance(k, str) or not k or k.startswith("-")
                        or not isinstance(v, (str, int, float, bool))), None)
            if bad is not None:
                raise ConditionError(f"{file}: {where}.sbatch.{bad}: write sbatch options as name: value (e.g. "
                                     "mail-type: END, no leading --; a value is text, a number or true)")
            out[key] = tuple(sorted(value.items()))
        elif key == "setup":
            if not all(isinstance(line, str) for line in value):
                raise ConditionError(f"{file}: {where}.setup: a list of shell lines (text), e.g. [module load "
                                     "ffmpeg, source ~/venv/bin/activate]")
            out[key] = tuple(value)
    return out


def load_codec_descriptor(path: Path, overrides: Mapping[str, Any] | None = None,
                          used_at: tuple[Path, str] | None = None) -> CodecSpec:
    """A descriptor file, with a condition's overrides applied; ``used_at`` (condition file, key path) makes
    errors point at the condition entry that brought the descriptor in."""
    data = read_yaml(path)
    if not isinstance(data, Mapping):
        raise ConditionError(f"{path}: a codec descriptor must be a mapping")
    data = _expand_env(dict(data), path)
    if overrides:
        data = dict(data)
        if overrides.get("params") is not None:
            if not isinstance(overrides["params"], Mapping):
                where = f"{used_at[0]}: {used_at[1]}.params" if used_at else f"{path}: params"
                raise ConditionError(f"{where}: expected a mapping of parameters, got {_kind(overrides['params'])}")
            base = data.get("params") or {}
            if not isinstance(base, Mapping):
                raise ConditionError(f"{path}: params: expected a mapping of parameters, got {_kind(base)}")
            data["params"] = {**base, **overrides["params"]}
        for key in ("name", "rate_points", "description", "resources", "keep_decoded", "display"):
            if key in overrides:
                data[key] = overrides[key]
    if used_at is None:
        return _build_codec(data, path, "", path.stem)
    file, where = used_at
    # Errors name the condition's entry; the descriptor's relative paths still start at its own folder.
    return _build_codec(data, file, f"{where} (descriptor {path.name})", path.stem, descriptor=path)


def _codecs(doc: _Section) -> tuple[CodecSpec, ...]:
    raw = doc.get("codecs", list)
    if not raw:
        doc.fail("list at least one codec", "codecs")
    out = []
    for i, item in enumerate(raw):
        where = f"codecs[{i}]"
        try:
            if isinstance(item, str):
                out.append(load_codec_descriptor(find_descriptor(item, doc.file)))
            elif isinstance(item, Mapping) and "descriptor" in item:
                extra = set(item) - {"descriptor", "name", "params", "rate_points", "description", "resources",
                                     "keep_decoded", "display"}
                if extra:
                    doc.fail(f"unknown key {sorted(extra)[0]!r} (with descriptor: name, params, rate_points, "
                             "description, resources, keep_decoded, display)", where)
                overrides = {k: v for k, v in item.items() if k != "descriptor"}
                out.append(load_codec_descriptor(find_descriptor(str(item["descriptor"]), doc.file), overrides,
                                                 (doc.file, where)))
            elif isinstance(item, Mapping):
                out.append(_build_codec(item, doc.file, where, None))
            else:
                doc.fail(f"expected a codec name or a mapping, got {_kind(item)}", where)
        except ConditionError as e:
            message = str(e)
            if message.startswith("unknown codec"):
                raise ConditionError(f"{doc.file}: {where}: {message}") from None
            raise
    names = [c.name for c in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        doc.fail(f"codec name {sorted(dup)[0]!r} is used twice; give one of them another name", "codecs")
    return tuple(out)


# --- entry point ----------------------------------------------------------------------------------------------

def _data_root(path: Path, cli: str | Path | None, in_file: str | None, dataset_name: str | None) -> Path | None:
    """``--data-root``, else the file's ``data_root`` (relative to the file), else ``$LVCBENCH_DATA_ROOT``;
    the demo set lives in its cache when none is given."""
    if cli is not None:
        return Path(cli).expanduser().resolve()
    if in_file is not None:
        return (path.parent / Path(in_file).expanduser()).resolve()
    if os.environ.get(DATA_ROOT_ENV):
        return Path(os.environ[DATA_ROOT_ENV]).expanduser().resolve()
    if dataset_name == "demo":
        from bench.conditions.demo import demo_root

        return demo_root()
    return None


def condition_path(text: str) -> Path:
    """A condition given as a file, or by name: ./conditions/NAME.yaml, then the suite's conditions/NAME.yaml."""
    path = Path(text)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in text:
        return path
    for folder in (Path.cwd() / "conditions", REPO_ROOT / "conditions"):
        if (folder / f"{text}.yaml").is_file():
            return folder / f"{text}.yaml"
    return path  # not found: the loader names it


def load_condition(path: str | Path, data_root: str | Path | None = None,
                   overrides: Mapping[str, Any] | None = None) -> Condition:
    """Read, merge, expand and validate a condition file. ``data_root`` (from ``--data-root``) wins over the
    file's ``data_root``, which wins over the ``LVCBENCH_DATA_ROOT`` environment variable. OVERRIDES (the Python
    API's) merge over the file as a condition that ``extends:`` it would: mappings key by key, lists replace, a
    None value unsets."""
    path = Path(path)
    merged = _merge(_load_with_extends(path), dict(overrides)) if overrides else _load_with_extends(path)
    text = path.read_text(encoding="utf-8")
    doc = _Section(_expand_env(merged, path), "", path)
    name = doc.get("name", str, path.stem, check=name_problem)
    reserved = _reserved_suffix(doc, name)
    description = doc.get("description", str, "")
    dataset_name = doc.get("dataset", str, None, choices=tuple(dataset_names()))
    file_root = doc.get("data_root", str, None)
    resolved_root = _data_root(path, data_root, file_root, dataset_name)
    sequences = _sequences(doc, dataset_name)
    frames = _frames(doc.data.get("frames", {}), path)
    doc.seen.add("frames")
    intra_period = doc.get("intra_period", int, -1,
                           check=lambda v: None if v == -1 or v >= 1 else
                           f"must be -1 (one intra frame) or a period of 1 or more, got {v}")
    colour = _colour(doc.section("colour"))
    spatial = _spatial(doc.section("spatial"))
    metrics = _metrics(doc.section("metrics"))
    codecs = _codecs(doc)
    anchor = doc.get("anchor", str, None)
    timing = _timing(doc)
    cut = _narrow_key(doc)
    if anchor is not None and anchor not in [c.name for c in codecs]:
        doc.fail(f"anchor {anchor!r} is not one of the condition's codecs ({', '.join(c.name for c in codecs)})", "anchor")
    doc.done()
    if colour.source_format:
        for seq in sequences:
            if seq.fmt.name != colour.source_format:
                doc.fail(f"sequence {seq.name} is {seq.fmt.name}, not the source_format {colour.source_format}",
                         "colour.source_format")
    condition = Condition(name[:reserved], description, path, text, dataset_name, sequences, resolved_root, frames,
                          intra_period, colour, spatial, metrics, codecs, anchor, timing, doc.data)
    condition = condition if cut is None else narrow(condition, *cut, where=str(path))
    if reserved is not None and condition.name != name:  # it spells a narrowing its narrow: key does not make
        doc.fail(f"{name!r} ends in {name[reserved:]!r}, reserved for the results folders of --frames/--sequences "
                 f"quick looks, but its narrow: key makes it {condition.name!r}; name it {name[:reserved]!r}", "name")
    return condition


# --- narrowing (--frames, --sequences) --------------------------------------------------------------------------

# The suffixes of :func:`narrowed_name`: a condition named so would share the results folder of another
# condition's quick look (a file named demo.first2 and ``demo --frames 2``).
RESERVED_SUFFIX = re.compile(r"\.first\d+(?=\.seq|$)|\.seq-|\.seq\d+of\d+-")


def _reserved_suffix(doc: _Section, name: str) -> int | None:
    """Where NAME's reserved suffix (:data:`RESERVED_SUFFIX`) starts, None if it has none; refused unless the
    file has a ``narrow:`` key, which must then make exactly NAME of the name before the suffix (checked once
    the condition is narrowed)."""
    found = RESERVED_SUFFIX.search(name)
    if found is None:
        return None
    if doc.data.get("narrow") is None:
        source = "" if "name" in doc.data else " (the file's name: it has no name: key)"
        doc.fail(f"{name!r}{source}: the suffix {name[found.start():]!r} is reserved for the results folders of "
                 "--frames/--sequences quick looks; rename the condition", "name")
    return found.start()


def narrow(condition: Condition, frames: int | None = None, sequences: list[str] | None = None,
           where: str | None = None) -> Condition:
    """CONDITION cut down for a quick look: only its first FRAMES frames (of the frames it takes: from its
    ``frames.first`` on) and only the SEQUENCES named. The result is another condition: its name says what was
    kept (:func:`narrowed_name`, so its results go to their own folder and the full run's are never touched),
    its description starts with "narrowed from ...", and its coding fields carry the narrowing, so its job keys
    differ from the full run's and bd/report flag it as coded under another condition. WHERE: the file whose
    ``narrow:`` key asked for it (None: the command-line options ``--frames``/``--sequences``)."""
    if frames is None and sequences is None:
        return condition
    opt = (lambda o: f"--{o}") if where is None else (lambda o: f"{where}: narrow.{o}")
    if condition.narrowed is not None:
        raise ConditionError(f"{opt('frames' if frames is not None else 'sequences')}: condition {condition.name} is "
                             f"already {condition.narrowed.describe()}; narrow the condition it came from instead")
    have = condition.frames.count
    if frames is not None:
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
            raise ConditionError(f"{opt('frames')} {frames}: give a number of frames, 1 or more")
        if have is not None and frames > have:
            first = condition.frames.first
            raise ConditionError(f"{opt('frames')} {frames}: condition {condition.name} codes only {have} frames "
                                 f"({first}..{first + have - 1}); give {have} or fewer")
    kept = condition.sequences if sequences is None else _kept_sequences(condition, sequences, opt("sequences"))
    cut = Narrowing(condition.name, frames, None if sequences is None else tuple(s.name for s in kept))
    return replace(condition, name=narrowed_name(cut, len(condition.sequences)),
                   # Not the full condition's description: its frame and sequence counts would be wrong here.
                   description=f"{cut.describe()[0].upper()}{cut.describe()[1:]}; a quick look, not "
                               f"{condition.name} itself.",
                   sequences=kept, frames=FrameRange(condition.frames.first, frames if frames is not None else have),
                   narrowed=cut)


def _kept_sequences(condition: Condition, names: list[str], opt: str) -> tuple[SequenceInfo, ...]:
    known = [s.name for s in condition.sequences]
    if not names:
        raise ConditionError(f"{opt}: name at least one sequence (its sequences: {', '.join(known)})")
    for name in names:
        if name not in known:
            raise ConditionError(f"{opt}: condition {condition.name} has no sequence {name!r}; its sequences: "
                                 f"{', '.join(known)}")
        if names.count(name) > 1:
            raise ConditionError(f"{opt}: sequence {name!r} is named twice")
    return tuple(s for s in condition.sequences if s.name in names)


def narrowed_name(cut: Narrowing, total: int) -> str:
    """The narrowed condition's name, which is its results folder's: the base name, then ``.first<N>`` for
    ``--frames N``, then ``.seq-<A>_<B>`` for the sequences kept (in the condition's order, so that A,B and B,A
    are one folder). Where the names would be long (over 40 characters) or could run together (a name holding
    '_'), ``.seq<K>of<M>-<hash>`` instead: K of the condition's M sequences, the first 8 hex digits of the
    SHA-256 of the names joined by newlines. Only letters, digits, '.', '_' and '-', as every condition name."""
    name = cut.base + (f".first{cut.frames}" if cut.frames is not None else "")
    if cut.sequences is None:
        return name
    joined = "_".join(cut.sequences)
    if len(joined) <= 40 and not any("_" in s for s in cut.sequences):
        return f"{name}.seq-{joined}"
    digest = hashlib.sha256("\n".join(cut.sequences).encode()).hexdigest()[:8]
    return f"{name}.seq{len(cut.sequences)}of{total}-{digest}"


def _narrow_key(doc: _Section) -> tuple[int | None, list[str] | None] | None:
    """A condition file's ``narrow: {frames: N, sequences: [A, B]}`` (what a narrowed run's stored condition.yaml
    says), or None when absent."""
    if "narrow" not in doc.data:  # not listed among the known keys either: the suite writes it, people seldom do
        return None
    if doc.data["narrow"] is None:
        doc.seen.add("narrow")
        return None
    s = doc.section("narrow")
    frames = s.get("frames", int, None)
    sequences = s.get("sequences", list, None)
    if sequences is not None and not all(isinstance(n, str) for n in sequences):
        s.fail("expected a list of sequence names", "sequences")
    s.done()
    return frames, sequences
