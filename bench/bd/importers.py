"""Importers: results produced elsewhere, turned into records of the same model as our own runs.

Rates: a producer that gives kbps only (CompressAI's video files, VTM logs) is converted with
``bpp = kbps x 1000 / (fps x width x height)`` (and back), the frame size and rate taken, in this order, from
what the user gives (:class:`GivenGeometry`: ``--size``/``--fps`` or ``--dataset``), from the file (its name or
keys), or from our manifest of the sequence. A dataset average converts only when every sequence of the
dataset shares one size and frame rate (UVG does; MCL-JCV and HEVC class B mix frame rates). The rule and
where its numbers came from are kept in ``rate.conversion``.

Each imported record is marked ``"imported": {"source": <file>, "format": <name>, "origin": <file or folder>}``
(``origin``: what BD tells one curve from points of several merged by, see :func:`point_origin`); its numbers are the
producer's own (their metric code, their rate accounting), and its ``measurement`` block says so. Sequence
names are mapped onto our dataset manifests by file stem (``BQTerrace_1920x1080_60.yuv`` -> ``BQTerrace``,
class ``B``) so imported curves line up with our runs in BD tables.

Curves: every file keeps its own curve(s), named as :func:`import_sources` says (a ``NAME=`` always wins; files
sharing a producer name are told apart by what differs in their file names; two files never feed one point).

Reading is bounded and every refusal is said in the file's own terms: a file is read whole only up to
``LVCBENCH_IMPORT_MAX_MB`` megabytes (64 unless set), and its reader stops at the line or key where the file
passes ``LVCBENCH_IMPORT_MAX_POINTS`` RD points (100,000) or ``LVCBENCH_IMPORT_MAX_FRAMES`` frames of per-frame
values (1,000,000), so memory and time stay bounded; a FIFO, a device or a symbolic link loop is refused before
it is opened; a point given twice (two CSV rows, two closing lines of a DHVC log, a JSON key twice in one object)
is refused naming both lines or the key; a non-finite number or rate point is refused naming its point; a value of
the wrong kind is named by its line and column or key path and what was expected there.

Formats (detected from the content; a file that fits none is refused naming the key it expected):

* ``dcvc``: the JSON written by the DCVC family's ``test_video.py`` (every generation):
  ``{class: {sequence: {rate_key: {i_frame_num, p_frame_num, ave_all_frame_bpp, ave_all_frame_psnr, ...}}}}``.
  DCVC (2021) writes ``ave_all_frame_quality``: a value above 1 is PSNR, at most 1 is MS-SSIM.
  With ``ave_all_frame_psnr_y`` present the content was YUV 4:2:0 and ``ave_all_frame_psnr`` is the 6:1:1
  average; otherwise it was RGB. MS-SSIM values of 0 (``--calc_ssim`` off) are treated as absent.
* ``compressai``: ``{"name", "description", "results": {"bpp" | "bitrate", "psnr-rgb", ...}}``: dataset
  averages (CompressAI's plain mean over the sequences). The dataset is ``meta.dataset`` or the file's folder
  name; one we have a manifest of (``UVG-1080p`` is ``uvg``) makes the points a *dataset-average curve* of
  that class, comparable with a run's averaged class curves (see :mod:`bench.bd.tables`); any other name is a
  sequence of its own (``kodak``).
* ``dhvc-json``: DHVC 1.0's ``q*.json`` list of ``{"video", "quality", "bpp", "psnr"}`` (later duplicates of a
  video and quality win: the official script appends on every run).
* ``dhvc-stdout``: DHVC 1.0's stdout: ``frame: i bpp: b psnr: p`` lines closed by the log line
  ``q=Q, ... frame_dir.stem=S, bpp=B, psnr=P``.
* ``vtm-log``: a VTM/HM/ECM encoder log with its ``Total Frames |`` summary; the sequence and QP come from the
  file name ``<sequence>..._qp<QP>.log``; the curve is ``hm`` for an HM log (its banner), else ``vtm``.
* ``csv``: a CSV with columns ``codec, sequence, rate_point`` and ``bpp`` or ``kbps`` (with ``fps``), optional
  ``group, frames, encode_s, decode_s``, and metric columns named as ours (``psnr_y``, ``psnr_yuv_611``,
  ``ms_ssim_rgb`` ...).
"""

from __future__ import annotations

import csv
import gc
import hashlib
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, overload

from bench import SCHEMA_VERSION
from bench.adapters.codec_logs import DHVC_FRAME, dcvc_entry_metrics
from bench.conditions.datasets import DATASETS, parse_file_name
from bench.errors import BenchError
from bench.files import LINK_LOOP, TooLarge, not_a_file, read_regular
from bench.metrics import metric_names
from bench.store.record import Rate, Record, SequenceRef

# Formats whose producers spread one curve over several files (one VTM log per sequence and QP, one DHVC q*.json
# per quality): their points' origin, for telling one curve from merged ones, is the folder, not the file.
SPLIT_FORMATS = ("vtm-log", "dhvc-json")


def point_origin(source: str, fmt: str) -> str:
    """Where an imported point comes from, as BD tells one curve from points of several merged: its file, or the
    file's folder for formats whose producers spread one curve over files (:data:`SPLIT_FORMATS`). Written into
    every record as ``imported.origin``."""
    return str(Path(source).parent) if fmt in SPLIT_FORMATS else source


def with_origin(record: Record) -> Record:
    """RECORD with ``imported.origin``: an imported record stored before the importer wrote it (an import folder,
    a shipped published curve) gets it derived from its file and format, as the importer would have; any
    other record is returned as it is."""
    imported = record.get("imported")
    if not imported or imported.get("origin"):
        return record
    return {**record, "imported": {**imported, "origin": point_origin(str(imported["source"]), imported["format"])}}


class ImportError_(BenchError):
    """A file this module cannot read as any known format."""


def _sequence_index() -> dict[str, tuple[str, str, float | None, int | None, int | None]]:
    index = {}
    for seqs in DATASETS.values():
        for s in seqs:
            stem = s.file.rsplit(".", 1)[0]
            for key in (stem, s.name):
                index[key.lower()] = (s.name, s.group, s.fps, s.width, s.height)
    return index


_SEQUENCES = _sequence_index()
_CLASS_NAMES = {"hevc_b": "B", "hevc_c": "C", "hevc_d": "D", "hevc_e": "E", "uvg": "UVG", "mcl-jcv": "MCL-JCV",
                "mcl_jcv": "MCL-JCV", "hevc_rgb": "RGB", "ustc-td": "USTC-TD"}


@dataclass(frozen=True)
class GivenGeometry:
    """What the user says about imported points: frame size, frame rate, the dataset they are of."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    dataset: str | None = None  # a key of bench.conditions.datasets.DATASETS

    def describe(self) -> str:
        parts = [f"{self.width}x{self.height}" if self.width else "", f"{self.fps:g} fps" if self.fps else "",
                 f"dataset {self.dataset}" if self.dataset else ""]
        return ", ".join(p for p in parts if p) or "nothing"


def dataset_key(name: str) -> str | None:
    """The manifest a dataset is named by, as producers spell it (``UVG-1080p``, ``HEVC_B``, ``MCL-JCV``)."""
    n = re.sub(r"[-\s]+", "_", name.strip().lower())
    for key in sorted(DATASETS, key=len, reverse=True):
        if re.fullmatch(rf"{key}(_\d{{3,4}}p)?", n) or n == key.replace("hevc_", "hevc_class_"):
            return key
    return None


def dataset_geometry(key: str) -> tuple[int, int, float] | str:
    """(width, height, fps) shared by every sequence of a dataset, or why there is none."""
    seqs = DATASETS[key]
    shapes = {(s.width, s.height) for s in seqs}
    rates = {s.fps for s in seqs}
    if None in rates or len(rates) > 1 or len(shapes) > 1:
        mixed = ", ".join(f"{r:g}" for r in sorted(r for r in rates if r is not None)) or "unknown"
        return (f"the sequences of {key} differ in frame size or rate ({mixed} fps): a dataset-average kbps has "
                "no single bpp; give --size and --fps")
    (w, h), fps = shapes.pop(), rates.pop()
    if w is None or h is None or fps is None:  # a manifest without the frame size (none ships one so far)
        return (f"the sequences of {key} have no frame size in our manifest: a dataset-average kbps has no bpp; "
                "give --size and --fps")
    return int(w), int(h), float(fps)


def average_name(group: str) -> str:
    """The pseudo-sequence a dataset-average curve of class GROUP is filed under."""
    return f"{group} (dataset average)"


@lru_cache(maxsize=4096)  # the rows of a CSV or log name the same few sequences again and again
def canonical_sequence(raw: str, group: str | None = None) -> tuple[str, str, float | None, int | None, int | None]:
    """Our (name, class, fps, width, height) for a sequence named by a file, folder or path."""
    stem = Path(raw.rstrip("/")).name
    for suffix in (".yuv", ".y4m", ".png"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    if stem.lower() in _SEQUENCES:
        return _SEQUENCES[stem.lower()]
    parsed = parse_file_name(stem + ".yuv")
    name = stem.split("_")[0] if parsed else stem
    klass = _CLASS_NAMES.get((group or "").lower(), group or "imported")
    return (name, klass, parsed.fps if parsed else None, parsed.width if parsed else None,
            parsed.height if parsed else None)


def imported_record(*, source: Path, fmt: str, codec: str, sequence: str, group: str, rate_point: Any,
                    metrics: Mapping[str, float | None], bpp: float | None = None, kbps: float | None = None,
                    frames: int | None = None, fps: float | None = None, width: int | None = None,
                    height: int | None = None, per_frame: dict[str, list] | None = None,
                    timing: Mapping[str, float | None] | None = None, reported: dict[str, Any] | None = None,
                    measurement: str = "as computed by the producer",
                    dataset_average: dict[str, Any] | None = None) -> Record:
    """A record in our model for one imported RD point (its rate completed by :func:`complete_rate`).

    ``dataset_average`` marks a point that is a mean over a dataset's sequences (``{"dataset", "sequences",
    "rule"}``), not one sequence."""
    # The strings every point of a file shares are interned: one copy for the file, not one per point.
    src = sys.intern(str(source))
    key = hashlib.sha256(json.dumps([src, codec, sequence, str(rate_point)]).encode()).hexdigest()
    seq: SequenceRef = {"name": sequence, "group": group, "fps": fps, "width": width, "height": height}
    if dataset_average:
        seq["dataset_average"] = dataset_average
    return {
        "schema_version": SCHEMA_VERSION,
        "key": key,
        "status": "ok",
        "imported": {"source": src, "format": fmt, "origin": sys.intern(point_origin(src, fmt))},
        "codec": {"name": codec, "adapter": sys.intern(f"imported:{fmt}"),
                  "description": sys.intern(f"imported from {source.name}"), "identity": {}},
        "sequence": seq,
        "source": {"count": frames},
        "rate_point": rate_point,
        "rate_knob": "imported",
        "rate": {"bpp": bpp, "kbps": kbps, "bits": None, "bits_source": sys.intern(f"reported by {fmt}")},
        "metrics": {k: v for k, v in metrics.items() if v is not None},
        "measurement": {"pooling": measurement, "psnr_peak": {"convention": measurement}},
        "per_frame": per_frame or {},
        "timing": dict(timing) if timing else {},
        "codec_reported": _json_safe(reported) if reported else {},
    }


RATE_RULE = "bpp = kbps x 1000 / (fps x width x height)"


def complete_rate(record: Record, given: GivenGeometry | None = None) -> Record:
    """RECORD with both bpp and kbps where its frame size and rate are known (see the module notes), and
    ``rate.conversion`` saying how (or why not)."""
    seq, rate = record["sequence"], record["rate"]
    average = seq.get("dataset_average")
    where = f"our manifest of {average['dataset']}" if average else "the file or our manifest of the sequence"
    if given is not None and (given.width or given.fps):
        # What the user gave replaces the file's and the manifest's; what they did not give is kept.
        if given.width:
            seq["width"] = given.width
        if given.height:
            seq["height"] = given.height
        if given.fps:
            seq["fps"] = given.fps
        where = f"given on the command line ({given.describe()})"
    bpp, kbps = rate.get("bpp"), rate.get("kbps")
    if (bpp is None) == (kbps is None):
        return record  # both given by the producer (or neither: refused by _checked)
    w, h, fps = seq.get("width"), seq.get("height"), seq.get("fps")
    have, wanted = ("kbps", "bpp") if bpp is None else ("bpp", "kbps")
    if not (w and h and fps):
        lacking = " and ".join(k for k, v in (("frame size", w and h), ("frame rate", fps)) if not v)
        rate["conversion"] = sys.intern(("bpp as given; no kbps (the {lacking} unknown)" if have == "bpp" else
                                         f"kbps only, not converted: the {lacking} unknown (import with --dataset, "
                                         "or --size and --fps)").format(lacking=lacking))
        return record
    pixels_per_s = fps * w * h
    if kbps is not None:  # kbps given, bpp wanted (exactly one of them is given, see above)
        rate["bpp"] = kbps * 1000 / pixels_per_s
    elif bpp is not None:
        rate["kbps"] = bpp * pixels_per_s / 1000
    rate["conversion"] = sys.intern(f"{wanted} from {have}: {RATE_RULE}, {w}x{h} at {fps:g} fps from {where}")
    return record


# --- reading and detection ----------------------------------------------------------------------------------

LIMIT_ENV = "LVCBENCH_IMPORT_MAX_MB"
# Far above any producer's result file (DCVC's JSON of every HEVC class with per-frame values is a few MB, a VTM
# log of 600 frames well under one); a file beyond it is not a result, and reading it whole could fill memory.
DEFAULT_LIMIT_MB = 64


def import_limit() -> int:
    """The most bytes one imported file may hold: ``LVCBENCH_IMPORT_MAX_MB`` megabytes (10^6 bytes), 64 unless
    set."""
    raw = os.environ.get(LIMIT_ENV, "").strip()
    if not raw:
        return DEFAULT_LIMIT_MB * 10**6
    try:
        mb = float(raw)
    except ValueError:
        mb = math.nan
    if not (math.isfinite(mb) and mb > 0):
        raise ImportError_(f"{LIMIT_ENV}={raw!r}: expected a size in MB (default {DEFAULT_LIMIT_MB}), e.g. 512")
    return int(mb * 10**6)


POINTS_ENV = "LVCBENCH_IMPORT_MAX_POINTS"
FRAMES_ENV = "LVCBENCH_IMPORT_MAX_FRAMES"
# The size limit alone does not bound memory: a point is a record of ~2.3 KB in memory (and a file when written):
# a CSV of a million 16-byte rows took 2.8 GB and 46 s of CPU to read (64 MB hold four million), a 64 MB DCVC JSON
# of one point with 32 million per-frame bpps 2.8 GB and 23 s. A paper's whole result file is far below both caps: a DCVC JSON of
# HEVC B-E, UVG and MCL-JCV (our manifests) at six rates and full length holds 318 points, 94,170 frames.
DEFAULT_MAX_POINTS = 100_000
DEFAULT_MAX_FRAMES = 1_000_000


def _count_limit(env: str, default: int) -> int:
    """The count the environment variable ENV sets, DEFAULT unless set."""
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        count = int(raw)
    except ValueError:
        count = 0
    if count < 1:
        raise ImportError_(f"{env}={raw!r}: expected a whole number of at least 1 (default {default:,}), e.g. "
                           f"{default * 10}")
    return count


class _Budget:
    """What one file may still give: ``LVCBENCH_IMPORT_MAX_POINTS`` RD points (100,000 unless set) and
    ``LVCBENCH_IMPORT_MAX_FRAMES`` frames of per-frame values (1,000,000 unless set), counted by its reader as it
    goes, so that a file beyond either is refused where it crosses it, before the rest costs memory or time."""

    def __init__(self) -> None:
        self.max_points = _count_limit(POINTS_ENV, DEFAULT_MAX_POINTS)
        self.max_frames = _count_limit(FRAMES_ENV, DEFAULT_MAX_FRAMES)
        self.points = self.frames = 0

    def point(self, where: str, count: int = 1) -> None:
        """COUNT more RD points, read at WHERE (the file and its line or key)."""
        self.points += count
        if self.points > self.max_points:
            raise ImportError_(f"{where}: more than {self.max_points:,} RD points in one file, the import limit (no "
                               f"producer's result file is near it): not a result file? set {POINTS_ENV} to a "
                               "larger number to read it")

    def frame_values(self, count: int, where: str) -> None:
        """COUNT more frames of per-frame values, read at WHERE."""
        self.frames += count
        if self.frames > self.max_frames:
            raise ImportError_(f"{where}: more than {self.max_frames:,} frames of per-frame values in one file, the "
                               f"import limit (no producer's result file is near it): not a result file? set "
                               f"{FRAMES_ENV} to a larger number to read it")


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cycle collector paused while files are read and checked: records are trees (no reference cycles), so
    its passes over the hundreds of thousands of dicts a large file makes free nothing; they were a third of the
    CPU time of importing a 100,000-row CSV."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_result_file(path: Path) -> str:
    """The text of a result file: a regular file (a FIFO, a device, a folder or a link loop is refused before
    it is opened), of at most :func:`import_limit` bytes, UTF-8 (a byte-order mark, as spreadsheets write one,
    dropped)."""
    limit = import_limit()
    problem = not_a_file(path)
    if problem == LINK_LOOP:
        raise ImportError_(f"{path}: {LINK_LOOP}")
    if problem is not None:
        raise ImportError_(f"{path}: {problem}; give a result file")
    try:
        data = read_regular(path, limit)
    except TooLarge:
        raise ImportError_(f"{path}: larger than {limit / 10**6:g} MB, the import limit (no producer's result file "
                           f"is near it): not a result file? set {LIMIT_ENV} to a larger size to read it") from None
    except BenchError as e:
        raise ImportError_(f"{e}; give a result file") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ImportError_(f"{path}: not UTF-8 text (byte {e.start} cannot be read): not a result file") from None


class _KeyTwice(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _no_key_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _KeyTwice(key)
        out[key] = value
    return out


def _json(path: Path, text: str) -> Any:
    """A result file's JSON; a key given twice in one object is refused (JSON readers keep the last silently: one
    of two points would vanish)."""
    try:
        return json.loads(text, object_pairs_hook=_no_key_twice)
    except _KeyTwice as e:
        raise ImportError_(f"{path}: key {_shown(e.key)} is given twice in one object (a JSON reader keeps only the "
                           "last); keep one of them") from None
    except RecursionError:
        raise ImportError_(f"{path}: JSON nested too deeply to be a result file") from None
    except json.JSONDecodeError as e:
        raise ImportError_(f"{path}: not valid JSON ({e.msg} at line {e.lineno}); a truncated DHVC q*.json? "
                           "rerun the producer") from None
    except ValueError:  # an integer of more digits than Python converts (4300)
        raise ImportError_(f"{path}: a number of thousands of digits: not a result file") from None


def _shown(value: Any) -> str:
    """A value as a message shows it: its repr, cut short (a broken file's 'value' can be megabytes)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _named(name: Any) -> str:
    """A name from a file (a JSON key, a sequence or codec name) as a message shows it: as it is when it is
    plain text, else as its repr (a line break in a key must not break the one-line message), cut short."""
    text = name if isinstance(name, str) and name.isprintable() and name.strip() == name and name else repr(name)
    return text if len(text) <= 60 else text[:57] + "..."


def detect(path: Path, text: str) -> str:
    """The format of a file, from its content (and extension for CSV)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        data = _json(path, text)
        if isinstance(data, dict) and "results" in data:
            return "compressai"
        if isinstance(data, list):
            return "dhvc-json"
        if isinstance(data, dict):
            return "dcvc"
    if path.suffix.lower() == ".csv":
        return "csv"
    # [ \t]*, not \s*: \s also takes line breaks, which made this search quadratic in a file of blank lines.
    if re.search(r"^[ \t]*frame:[ \t]*\d+[ \t]+bpp:", text, re.MULTILINE):
        return "dhvc-stdout"
    if "Total Frames" in text:
        return "vtm-log"
    raise ImportError_(f"{path}: not a format lvc-bench imports (expected a DCVC or CompressAI JSON, a DHVC "
                       "q*.json or stdout, a VTM/HM/ECM log with 'Total Frames', or a CSV)")


def check_import_folder(out: Path) -> None:
    """Refuse to import into a run's results folder: its records would be read as the run's own (status, bd and
    report take every record of the folder), and nothing could tell them apart later."""
    marks = [name for name in ("run.json", "condition.yaml") if (out / name).is_file()]
    if marks:
        raise ImportError_(f"--out {out}: a run's results folder ({' and '.join(marks)} in it), where imported "
                           f"records would pass for the run's; import into a folder of its own (e.g. --out "
                           f"{out.parent / (out.name + '-imported')}) and give both folders to bd or report")


def split_label(item: str) -> tuple[str | None, Path]:
    """A command-line source ``LABEL=PATH`` (or a plain PATH, also one whose name holds '=')."""
    if "=" in item and not Path(item).exists():
        label, _, path = item.partition("=")
        return label, Path(path)
    return None, Path(item)


def import_path(path: Path, codec: str | None = None, given: GivenGeometry | None = None) -> list[Record]:
    """Records of a file, or of every result file of a folder (one VTM log per sequence and QP, say), each
    file's curves kept apart as :func:`import_sources` says."""
    return import_sources([(codec, path)], given).records


# Figures producers keep beside their result files (CompressAI's rd-curves-kodak-psnr.png), binary files and
# decoder logs (bitstreams beside encoder logs): not results, skipped and named in the summary rather than refused, so that
# a producer's folder imports as it ships.
FIGURES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".pdf", ".eps")


@dataclass
class ImportedFile:
    """One file of an import: its records and the NAME= it was given (on the file or on its folder)."""

    path: Path
    label: str | None
    records: list[Record]
    folder: Path | None = None  # the folder it was given in, when it was
    item: int = 0  # which of the items given to import_sources it came from


@dataclass
class Imported:
    """What an import read: every file with its records, and the figures it skipped in folders."""

    files: list[ImportedFile]
    skipped: list[Path]  # figures, binary files (bitstreams) and decoder logs found in folders: not results

    @property
    def records(self) -> list[Record]:
        return [r for f in self.files for r in f.records]

    def curves(self) -> dict[str, list[Path]]:
        """Curve (codec) name -> the files its points come from, in the order read."""
        out: dict[str, list[Path]] = {}
        for f in self.files:
            for name in dict.fromkeys(r["codec"]["name"] for r in f.records):
                out.setdefault(name, []).append(f.path)
        return out


@_no_cycle_collection()
def import_sources(items: list[tuple[str | None, Path]], given: GivenGeometry | None = None) -> Imported:
    """Every (NAME or None, file or folder) read, with each file's curves kept apart.

    Curve names: a ``NAME=`` always names the curve(s) of its file (or of every file of its folder); otherwise
    the producer's name (see each format). Two files never feed one point: files without a NAME that would give
    the same point (curve, sequence, rate point) are told apart by what differs in their file names, the parts
    of the stem (split at ``_``) that not all of them share, ``mbt2018 (mse, cuda)`` from
    ``compressai-mbt2018_mse_cuda.json`` beside ``..._mse_cpu``, ``..._ms-ssim_cpu`` ...; where a NAME was given
    or the file names do not tell them apart, the import is refused naming both files. Files that give different
    points of one curve (one VTM log per sequence and QP, one DHVC q*.json per quality) make one curve, and the
    import summary lists its files."""
    files: list[ImportedFile] = []
    skipped: list[Path] = []
    for item, (label, path) in enumerate(items):
        if not path.is_dir():
            files.append(ImportedFile(path, label, import_file(path, label, given), item=item))
            continue
        inside = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        skipped += [p for p in inside if _not_results(p)]
        results = [p for p in inside if not _not_results(p)]
        if not results:
            raise ImportError_(f"{path}: no result files in this folder; give files to import (or a "
                               "results/<condition> folder)")
        files += [ImportedFile(p, label, import_file(p, label, given), path, item) for p in results]
    for f in files:
        _one_point_each(f)
    for group in _sharing_points(files):
        _tell_apart(group)
    if leftover := _sharing_points(files):  # two file names told apart into one name another file has already
        _tell_apart(leftover[0], renaming=False)
    return Imported(files, skipped)


def describe_import(imported: Imported) -> list[str]:
    """The import summary: each curve with the file(s) its points come from, what it holds, how its rate was
    converted; the figures skipped in folders."""
    lines = []
    for codec, paths in imported.curves().items():
        recs = [r for r in imported.records if r["codec"]["name"] == codec]
        seqs = sorted({r["sequence"]["name"] for r in recs})
        found = sorted({m for r in recs for m in r["metrics"]})
        fmts = sorted({r["imported"]["format"] for r in recs})
        where = str(paths[0]) if len(paths) == 1 else \
            f"{len(paths)} files: {', '.join(p.name for p in paths[:4])}{' ...' if len(paths) > 4 else ''}"
        lines.append(f"  {codec}: {len(recs)} points, {len(seqs)} sequence{'s' if len(seqs) != 1 else ''} ({', '.join(seqs[:6])}"
                     f"{' ...' if len(seqs) > 6 else ''}); metrics: {', '.join(found) or 'none'}; from {where} "
                     f"({', '.join(fmts)})")
        told = sorted({r["imported"]["name_in_file"] for r in recs if "name_in_file" in r["imported"]})
        if told:
            lines.append(f"    named {told[0]!r} in the file, like other files here: told apart by its file name")
        for rule in sorted({r["rate"].get("conversion") or "bpp and kbps as given" for r in recs}):
            lines.append(f"    rate: {rule}")
        averages = sorted({r["sequence"]["dataset_average"]["dataset"] for r in recs
                           if r["sequence"].get("dataset_average")})
        if averages:
            lines.append(f"    dataset averages of {', '.join(averages)}: one curve per class, compared as an "
                         "averaged curve (DCVC convention)")
        unmapped = sorted({k for r in recs for k in (r.get("codec_reported") or {}).get("unmapped", [])})
        if unmapped:
            lines.append(f"    not mapped to a metric of the suite: {', '.join(unmapped)}")
    if imported.skipped:
        lines.append("  skipped, not results (figures, binary files, decoder logs): "
                     + ", ".join(str(p) for p in imported.skipped))
    return lines


def _not_results(path: Path) -> bool:
    """A figure, a binary file (a bitstream beside the encoder logs) or a VTM/HM/ECM decoder log (no rates): in a
    folder, skipped and listed."""
    if path.suffix.lower() in FIGURES:
        return True
    with path.open("rb") as f:
        head = f.read(8192)
    return b"\0" in head or b"Decoder Version" in head


def _point(record: Record) -> tuple[str, str, str]:
    return record["codec"]["name"], record["sequence"]["name"], str(record["rate_point"])


def _one_point_each(f: ImportedFile) -> None:
    """Refuse a file that gives one point twice (a CSV of two runs, or NAME= on a CSV of several codecs)."""
    seen: set[tuple[str, str, str]] = set()
    for r in f.records:
        if (p := _point(r)) in seen:
            hint = (f" (NAME={f.label} names every curve of the file as one: import it without a name, its codec "
                    "column names the curves)" if f.label else "; keep one of them")
            raise ImportError_(f"{f.path}: gives {_named(p[0])} / {_named(p[1])} / rate point {_named(p[2])} "
                               f"twice{hint}")
        seen.add(p)


def _sharing_points(files: list[ImportedFile]) -> list[list[ImportedFile]]:
    """Groups of files that give a same point (curve, sequence, rate point), each group in reading order."""
    if len(files) < 2:  # one file gives each point once (_one_point_each): no walk over its points
        return []
    parent = list(range(len(files)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[tuple[str, str, str], int] = {}
    for i, f in enumerate(files):
        for r in f.records:
            j = owner.setdefault(_point(r), i)
            if root(j) != root(i):
                parent[root(i)] = root(j)
    groups: dict[int, list[ImportedFile]] = {}
    for i, f in enumerate(files):
        groups.setdefault(root(i), []).append(f)
    return [g for g in groups.values() if len(g) > 1]


def _tell_apart(group: list[ImportedFile], renaming: bool = True) -> None:
    """Rename the curves of files that share a producer name and a point after what differs in their file names
    (see :func:`import_sources`); refuse, naming two files that share a point, where a NAME was given or the
    file names do not tell them apart."""
    stems = [f.path.stem.split("_") for f in group]
    common = set.intersection(*(set(s) for s in stems))
    parts = [tuple(t for t in s if t not in common) for s in stems]
    points = [{_point(r) for r in f.records} for f in group]
    pairs = [(x, y) for x in range(len(group)) for y in range(x + 1, len(group)) if points[x] & points[y]]
    unclear = [(x, y) for x, y in pairs if not parts[x] or not parts[y] or parts[x] == parts[y]]
    labelled = any(f.label for f in group)
    if renaming and not labelled and not unclear:
        for f, p in zip(group, parts, strict=True):
            for r in f.records:
                produced = r["codec"]["name"]
                r["codec"]["name"] = f"{produced} ({', '.join(p)})"
                r["imported"]["name_in_file"] = produced
                r["imported"]["told_apart_by"] = f"its file name: {', '.join(p)}"
        return
    x, y = (unclear or pairs)[0]
    a, b = group[x], group[y]
    curve, sequence, rate_point = min(points[x] & points[y])
    folder = next((f.folder for f in (a, b) if f.label and f.folder), None)
    how = (f"NAME={a.label if a.folder == folder else b.label} on the folder {folder} names one curve, and its files "
           "make several: import the folder without a name, or name its files one by one (NAME=FILE)" if folder
           else f"give each its own name: NAME1={a.path} NAME2={b.path}")
    raise ImportError_(f"{a.path} and {b.path} would both give curve {curve!r} ({_named(sequence)}, rate point "
                       f"{_named(rate_point)}); {how}")


# What a reader's slip past its own checks is said as (the fuzz tests fail on it: every reader names what it
# expected where, in the file's own terms).
UNFORESEEN = "a value is not of the kind the format has in its place"


def import_file(path: str | Path, codec: str | None = None, given: GivenGeometry | None = None) -> list[Record]:
    """Records for every RD point in ``path``; ``codec`` names the curve (default: from the file); ``given``
    is what the user says of the points' frame size, rate and dataset."""
    path = Path(path)
    budget = _Budget()  # first: a mistyped limit is said before a large file is read
    text = read_result_file(path)
    fmt = detect(path, text)
    reader = {"dcvc": _dcvc, "compressai": _compressai, "dhvc-json": _dhvc_json, "dhvc-stdout": _dhvc_stdout,
              "vtm-log": _vtm_log, "csv": _csv}[fmt]
    with _no_cycle_collection():
        try:
            # No NAME= given: each format names the curve its own way (the producer's name, the file's stem, 'vtm').
            records = reader(path, text, codec, given or GivenGeometry(), budget)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError, ZeroDivisionError,
                RecursionError):
            # Every reader checks what it reads; should a value slip past, it is still the file's fault, said so.
            raise ImportError_(f"{path}: not readable as a {fmt} file: {UNFORESEEN}") from None
        if not records:
            raise ImportError_(f"{path}: holds no RD points")
        return [_checked(complete_rate(r, given), path) for r in records]


_LIMIT = 1e12  # beyond any bpp, kbps, PSNR or MS-SSIM: a value this large is a broken file, not a result


def _checked(record: Record, path: Path) -> Record:
    """RECORD if every number in it is finite and of a sane size and every name is text; ImportError_ naming the
    point and the value otherwise (a NaN PSNR would silently drop the point from every curve)."""
    def where() -> str:  # built only when refused, not for each of a file's points
        return (f"{path}: {_named(record['codec']['name'])} / {_named(record['sequence']['name'])} / "
                f"{_named(str(record['rate_point']))}")

    _check_names(record, where)
    _check_rate_point(record["rate_point"], where)
    for key, value in record["metrics"].items():
        _check_number(value, f"metric {key}", where)
    _check_rate(record["rate"], where)
    for key, value in (record.get("timing") or {}).items():
        _check_number(value, f"timing {key}", where)
    _check_per_frame(record.get("per_frame") or {}, where)
    return record


def _check_number(value: Any, what: str, where: Callable[[], str], optional: bool = True) -> None:
    """Refuse VALUE (said as WHAT, at the point WHERE() names) unless it is a number of a sane size; None passes
    when OPTIONAL."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) <= _LIMIT:  # NaN too
        raise ImportError_(f"{where()}: {what} is {_shown(value)}, not a finite number")


def _check_names(record: Record, where: Callable[[], str]) -> None:
    """Refuse a codec, sequence or group name that is not text, or is blank."""
    for name in (record["codec"]["name"], record["sequence"]["name"], record["sequence"]["group"]):
        if not isinstance(name, str) or not name.strip():
            raise ImportError_(f"{where()}: a codec, sequence or group name is {_shown(name)}, not text")


def _check_rate_point(given: Any, where: Callable[[], str]) -> None:
    """Refuse a rate point that is neither a label (non-blank text) nor a finite number of a sane size."""
    point = given
    if isinstance(point, str) and point.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
        point = float(point)  # a label that reads as NaN is the NaN rate point written as text (a CSV's)
    if not isinstance(point, (str, int, float)) or isinstance(point, bool) or (isinstance(point, str) and not
            point.strip()) or (not isinstance(point, str) and not abs(point) <= _LIMIT):  # NaN fails <= too
        # A NaN rate point passed the store's writer once (it refuses NaN) but not a report, which showed 'nan'.
        raise ImportError_(f"{where()}: the rate point is {_shown(given)}, not a finite number or a label")


def _check_rate(rate: Rate, where: Callable[[], str]) -> None:
    """Refuse a bpp or kbps that is not a positive number of a sane size, and a point with neither."""
    for key, value in (("bpp", rate.get("bpp")), ("kbps", rate.get("kbps"))):
        _check_number(value, key, where)
        if value is not None and value <= 0:
            raise ImportError_(f"{where()}: {key} is {value!r}, not positive")
    if rate.get("bpp") is None and rate.get("kbps") is None:
        raise ImportError_(f"{where()}: neither bpp nor kbps")


def _check_per_frame(per_frame: dict[str, Any], where: Callable[[], str]) -> None:
    """Refuse a per-frame entry that is not a list, a frame type that is not text, or another per-frame value that
    is not a number of a sane size (None, for a whole entry, passes)."""
    for key, values in per_frame.items():
        if values is None:
            continue
        if not isinstance(values, list):
            raise ImportError_(f"{where()}: per-frame {key} is {type(values).__name__}, not a list")
        for i, v in enumerate(values):
            if key == "frame_type":
                if not isinstance(v, str):
                    raise ImportError_(f"{where()}: per-frame {key}[{i}] is {_shown(v)}, not a frame type")
            else:
                _check_number(v, f"per-frame {key}[{i}]", where, optional=False)


@overload
def _number_at(value: Any, where: str, *, optional: Literal[False] = False, finite: bool = False) -> float: ...


@overload
def _number_at(value: Any, where: str, *, optional: bool, finite: bool = False) -> float | None: ...


def _number_at(value: Any, where: str, *, optional: bool = False, finite: bool = False) -> float | None:
    """VALUE as a float, or ImportError_ saying WHERE a number was expected (None passes when OPTIONAL, and only
    then is None returned; non-finite values are named by :func:`_checked` with their point, or here when
    FINITE)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ImportError_(f"{where}: expected a number, got {_shown(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise ImportError_(f"{where}: {_shown(value)} is too large to be a result's number") from None
    if finite and not math.isfinite(number):
        raise ImportError_(f"{where}: {number!r} is not a finite number")
    return number


def _text_number(raw: str, where: str) -> float:
    """A number written in a log or CSV, or ImportError_ saying WHERE and what was there."""
    try:
        return float(raw)
    except ValueError:
        raise ImportError_(f"{where}: {_shown(raw)} is not a number") from None


def _whole(value: Any, where: str, minimum: int) -> int:
    """A count (frames): a whole number of at least MINIMUM."""
    number = _number_at(value, where, finite=True)
    if number != int(number) or number < minimum:
        raise ImportError_(f"{where}: expected a whole number of at least {minimum}, got {_shown(value)}")
    return int(number)


def _json_safe(value: Any, depth: int = 0) -> Any:
    """VALUE with every non-finite float as its text ('nan', 'inf'): what a producer reported beside its numbers
    is kept as it was, and a record is strict JSON (the store refuses NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if depth > 50:  # nothing a producer reports is nested this deep: kept as text, not walked
        return _shown(value)
    if isinstance(value, dict):
        return {k: _json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v, depth + 1) for v in value]
    return value


# --- DCVC family -----------------------------------------------------------------------------------------------

def _entry_number(entry: dict[str, Any], key: str, where: str, required: bool = False) -> float | None:
    if entry.get(key) is None and required:
        raise ImportError_(f"{where}: expected key {key!r} (a DCVC test_video.py result entry)")
    return _number_at(entry.get(key), f"{where}.{key}", optional=True)


def _dcvc(path: Path, text: str, codec: str | None,
          _: GivenGeometry, budget: _Budget) -> list[Record]:
    data = _json(path, text)
    codec = codec or path.stem
    records = []
    for klass, seqs in data.items():
        if not isinstance(seqs, dict):
            raise ImportError_(f"{path}: {_named(klass)}: expected a mapping of sequences (DCVC layout class -> "
                               "sequence -> rate key)")
        for seq_key, rates in seqs.items():
            if not isinstance(rates, dict):
                raise ImportError_(f"{path}: {_named(klass)}.{_named(seq_key)}: expected a mapping of rate keys")
            for rate_key, entry in rates.items():
                where = f"{path}: {_named(klass)}.{_named(seq_key)}.{_named(rate_key)}"
                budget.point(where)
                budget.frame_values(_dcvc_frame_count(entry), where)  # before its lists are converted
                records.append(_dcvc_point(path, codec, (klass, seq_key, rate_key), entry))
    return records


def _dcvc_point(path: Path, codec: str, keys: tuple[str, str, str], e: Any) -> Record:
    """One rate key's entry of a DCVC JSON as a record; KEYS: its class, sequence and rate key."""
    klass, seq_key, rate_key = keys
    where = f"{path}: {_named(klass)}.{_named(seq_key)}.{_named(rate_key)}"
    if not isinstance(e, dict):
        raise ImportError_(f"{where}: expected a result entry (a mapping with ave_all_frame_bpp, i_frame_num ...)")
    name, group, fps, width, height = canonical_sequence(seq_key, klass)
    bpp = _entry_number(e, "ave_all_frame_bpp", where, required=True)
    for key in ("i_frame_num", "p_frame_num"):
        _entry_number(e, key, where, required=True)
    frames = _whole(e["i_frame_num"], f"{where}.i_frame_num", 0) + _whole(e["p_frame_num"], f"{where}.p_frame_num", 0)
    if frames < 1:
        raise ImportError_(f"{where}: i_frame_num + p_frame_num is 0: no frame was coded")
    yuv = "ave_all_frame_psnr_y" in e
    for key in ("ave_all_frame_quality", "ave_all_frame_psnr", "ave_all_frame_msssim",
                *(f"ave_all_frame_{m}_{p}" for m in ("psnr", "msssim") for p in "yuv")):
        _entry_number(e, key, where)  # a present value must be a number
    if "ave_all_frame_quality" not in e and "ave_all_frame_psnr" not in e and not yuv:
        raise ImportError_(f"{where}: expected key 'ave_all_frame_psnr' or 'ave_all_frame_quality'")
    timing = {}
    for ours, theirs in (("encode_s", "avg_frame_encoding_time"), ("decode_s", "avg_frame_decoding_time")):
        if (seconds := _entry_number(e, theirs, where)) is not None:
            timing[ours] = seconds * frames
    return imported_record(
        source=path, fmt="dcvc", codec=codec, sequence=name, group=group, rate_point=rate_key,
        metrics=dcvc_entry_metrics(e), bpp=bpp, frames=frames, fps=fps, width=width, height=height,
        per_frame=_dcvc_frames(e, where, (width or 0) * (height or 0), yuv), timing=timing,
        reported={k: v for k, v in e.items() if not isinstance(v, list)},
        measurement="DCVC test_video.py: mean of per-frame values")


def _dcvc_frame_count(e: Any) -> int:
    """How many frames an entry's per-frame lists cover (the longest of them)."""
    lists = [e.get(k) for k in ("frame_bpp", "frame_type", "frame_psnr")] if isinstance(e, dict) else []
    return max((len(v) for v in lists if isinstance(v, list)), default=0)


def _dcvc_frames(e: dict[str, Any], where: str, pixels: int, yuv: bool) -> dict[str, Any]:
    """An entry's per-frame lists (bits from ``frame_bpp`` x the frame's pixels, frame types, PSNRs), each
    value checked where it is."""
    if not isinstance(e.get("frame_bpp"), list):
        return {}
    bpps = [_number_at(b, f"{where}.frame_bpp[{i}]") for i, b in enumerate(e["frame_bpp"])]
    given = _entry_number(e, "frame_pixel_num", where)
    if given is not None and not (math.isfinite(given) and given > 0):
        raise ImportError_(f"{where}.frame_pixel_num: expected the frame's pixel count, got {_shown(given)}")
    frame_pixels = given or pixels
    per_frame: dict[str, Any] = {"bits": [b * frame_pixels for b in bpps] if frame_pixels else None}
    types = e.get("frame_type", [])
    if not isinstance(types, list):
        raise ImportError_(f"{where}.frame_type: expected a list of frame types (0: intra, 1: inter)")
    per_frame["frame_type"] = ["I" if _number_at(t, f"{where}.frame_type[{i}]") == 0 else "P"
                               for i, t in enumerate(types)] or None
    if isinstance(e.get("frame_psnr"), list):
        per_frame["psnr_yuv_611" if yuv else "psnr_rgb"] = [_number_at(v, f"{where}.frame_psnr[{i}]")
                                                            for i, v in enumerate(e["frame_psnr"])]
    return per_frame


# --- CompressAI ------------------------------------------------------------------------------------------------

_COMPRESSAI_METRICS = {"psnr-rgb": "psnr_rgb", "ms-ssim-rgb": "ms_ssim_rgb", "psnr-y": "psnr_y", "psnr-u": "psnr_u",
                       "psnr-v": "psnr_v", "psnr": "psnr_rgb", "ms-ssim": "ms_ssim_rgb"}


_COMPRESSAI_KNOWN = {*_COMPRESSAI_METRICS, "bpp", "bitrate", "q", "qp", "encoding_time", "decoding_time", "psnr-yuv",
                     "ms-ssim-db-rgb"}


def _compressai(path: Path, text: str, codec: str | None,
                given: GivenGeometry, budget: _Budget) -> list[Record]:
    data = _json(path, text)
    results, rate_key, n = _compressai_results(path, data)
    budget.point(f"{path}: results.{rate_key}", n)
    meta = _compressai_meta(path, data)
    dataset_name = meta.get("dataset") or path.parent.name
    sequence = _compressai_sequence(dataset_name, given)
    labels = results.get("q") or results.get("qp") or list(range(n))
    records = []
    for i in range(n):
        def value(key: str, i: int = i) -> float:
            return _number_at(results[key][i], f"{path}: results.{key}[{i}]")

        metrics = _compressai_metrics(path, results, i, value)
        timing = {k: value(src) for k, src in (("encode_s", "encoding_time"), ("decode_s", "decoding_time"))
                  if src in results}
        records.append(imported_record(
            source=path, fmt="compressai", codec=codec or data.get("name") or path.stem, rate_point=labels[i],
            metrics=metrics, bpp=value("bpp") if rate_key == "bpp" else None,
            kbps=value("bitrate") if rate_key == "bitrate" else None, frames=1, timing=timing, **sequence,
            reported={"description": data.get("description"), "meta": meta,
                      "unmapped": sorted(k for k in results if k not in _COMPRESSAI_KNOWN)},
            measurement="CompressAI: averages over the dataset"))
    return records


def _compressai_results(path: Path, data: Any) -> tuple[dict[str, Any], str, int]:
    """A CompressAI file's ``results`` block, its rate key (bpp or bitrate) and its number of points, each of its
    keys checked to be a list of that many values."""
    results = data.get("results")
    if not isinstance(results, dict):
        raise ImportError_(f"{path}: expected key 'results' holding lists of values (a CompressAI results JSON)")
    rate_key = "bpp" if "bpp" in results else "bitrate" if "bitrate" in results else None
    if rate_key is None:
        raise ImportError_(f"{path}: results: expected key 'bpp' or 'bitrate'")
    n = len(results[rate_key]) if isinstance(results[rate_key], list) else -1
    for k, v in results.items():
        if not isinstance(v, list) or len(v) != n:
            count = f"{n} values" if n >= 0 else "values"
            raise ImportError_(f"{path}: results.{_named(k)}: expected a list of {count}, like results.{rate_key}")
    return results, rate_key, n


def _compressai_meta(path: Path, data: Any) -> dict[str, Any]:
    """A CompressAI file's ``meta`` block (empty if absent), with its curve name and dataset checked to be text."""
    meta = data.get("meta") or {}
    if not isinstance(meta, dict):
        raise ImportError_(f"{path}: meta: expected a mapping (CompressAI's meta block), got {_shown(meta)}")
    for where, value in (("name", data.get("name")), ("meta.dataset", meta.get("dataset"))):
        if value is not None and not isinstance(value, str):
            raise ImportError_(f"{path}: {where}: expected text, got {_shown(value)}")
    return meta


def _compressai_metrics(path: Path, results: dict[str, Any], i: int, value: Callable[[str], float],
                        ) -> dict[str, float]:
    """Point I's metrics under our names (VALUE reads one of its results, checked): MS-SSIM given only in dB
    converted back, CompressAI's PSNR-YUV kept under a name of its own."""
    metrics = {ours: value(theirs) for theirs, ours in _COMPRESSAI_METRICS.items() if theirs in results}
    if "ms-ssim-db-rgb" in results and "ms_ssim_rgb" not in metrics:
        db = value("ms-ssim-db-rgb")
        if not (math.isfinite(db) and db >= 0):
            raise ImportError_(f"{path}: results.ms-ssim-db-rgb[{i}]: {db!r} is not an MS-SSIM in dB (0 or more)")
        metrics["ms_ssim_rgb"] = 1 - 10 ** (-db / 10)
    if "psnr-yuv" in results:  # CompressAI's own weighting; kept under its own name, never as ours
        metrics["psnr_yuv_compressai"] = value("psnr-yuv")
    return metrics


def _compressai_sequence(dataset_name: str, given: GivenGeometry) -> dict[str, Any]:
    """What a CompressAI file's points are of: a sequence of its own (``kodak``), or, for a dataset we have a
    manifest of, that class's dataset-average curve (with the geometry its sequences share, if they do)."""
    name, group, fps, width, height = canonical_sequence(dataset_name, dataset_name)
    average = None
    if key := given.dataset or dataset_key(dataset_name):  # a mean over a dataset we know: its class's curve
        seqs = DATASETS[key]
        group = seqs[0].group if len({s.group for s in seqs}) == 1 else key
        name = average_name(group)
        geometry = dataset_geometry(key)
        width, height, fps = geometry if isinstance(geometry, tuple) else (None, None, None)
        average = {"dataset": key, "named_in_file": dataset_name, "sequences": [s.name for s in seqs],
                   "rule": "CompressAI: plain mean over the dataset's sequences of each sequence's mean"}
    return {"sequence": name, "group": group, "fps": fps, "width": width, "height": height,
            "dataset_average": average}


# --- DHVC ------------------------------------------------------------------------------------------------------

def _dhvc_json(path: Path, text: str, codec: str | None,
               _: GivenGeometry, budget: _Budget) -> list[Record]:
    entries = _json(path, text)
    codec = codec or path.stem
    latest: dict[tuple[str, Any], tuple[int, dict[str, Any]]] = {}
    for i, e in enumerate(entries):
        where = f"{path}: entry {i}"
        if not isinstance(e, dict) or not {"video", "quality", "bpp", "psnr"} <= set(e):
            raise ImportError_(f"{where}: expected keys video, quality, bpp, psnr (a DHVC q*.json entry)")
        if not isinstance(e["video"], str) or not e["video"].strip():
            raise ImportError_(f"{where}.video: expected the sequence's folder or name, got {_shown(e['video'])}")
        quality = e["quality"]
        if isinstance(quality, bool) or not isinstance(quality, (int, float, str)) or \
                (isinstance(quality, float) and not math.isfinite(quality)):
            raise ImportError_(f"{where}.quality: expected the quality index (a finite number), got {_shown(quality)}")
        if (e["video"], quality) not in latest:
            budget.point(where)
        latest[(e["video"], quality)] = (i, e)  # the script appends on every run: the last one wins
    records = []
    for (video, quality), (i, e) in latest.items():
        name, group, fps, width, height = canonical_sequence(video)
        metrics = {"psnr_rgb": _number_at(e["psnr"], f"{path}: entry {i}.psnr")}
        if e.get("msssim") is not None:
            metrics["ms_ssim_rgb"] = _number_at(e["msssim"], f"{path}: entry {i}.msssim")
        records.append(imported_record(source=path, fmt="dhvc-json", codec=codec, sequence=name, group=group,
                                       rate_point=quality, metrics=metrics,
                                       bpp=_number_at(e["bpp"], f"{path}: entry {i}.bpp"), fps=fps,
                                       width=width, height=height,
                                       reported={"duplicates_dropped": len(entries) - len(latest)},
                                       measurement="DHVC test.py: mean of per-frame RGB PSNR"))
    return records


_DHVC_SEQ = re.compile(r"q=(\S+?),.*?frame_dir\.stem=(\S+?),\s*bpp=([-\d.eE+]+),\s*psnr=([-\d.eE+]+)")
_LONGEST_CLOSING = 10_000  # DHVC's closing line is a few hundred characters; a longer one is not searched


def _dhvc_stdout(path: Path, text: str, codec: str | None,
                 _: GivenGeometry, budget: _Budget) -> list[Record]:
    codec = codec or path.stem
    clean = re.sub(r"\x1b\[[0-9;]*m", "", text)
    records: list[Record] = []
    frames: list[tuple[float, float]] = []
    closed: dict[tuple[str, str], int] = {}  # (sequence, q) -> the line that closed it
    for number, line in enumerate(clean.splitlines(), start=1):
        where = f"{path}: line {number}"
        if m := DHVC_FRAME.match(line):
            budget.frame_values(1, where)
            frames.append((_text_number(m.group(2), f"{where}: bpp"), _text_number(m.group(3), f"{where}: psnr")))
        elif len(line) <= _LONGEST_CLOSING and "frame_dir.stem=" in line and (m := _DHVC_SEQ.search(line)):
            if not frames:
                raise ImportError_(f"{where}: sequence {m.group(2)} has no 'frame: i bpp: b psnr: p' lines before it")
            budget.point(where)
            name, group, fps, width, height = canonical_sequence(m.group(2))
            if (first := closed.setdefault((name, m.group(1)), number)) != number:
                raise ImportError_(f"{path}: lines {first} and {number} both close sequence {name} at q={m.group(1)} "
                                   "(two runs in one log?); keep one run's lines")
            bpps, psnrs = [f[0] for f in frames], [f[1] for f in frames]
            records.append(imported_record(
                source=path, fmt="dhvc-stdout", codec=codec, sequence=name, group=group, rate_point=m.group(1),
                metrics={"psnr_rgb": _text_number(m.group(4), f"{where}: psnr")},
                bpp=_text_number(m.group(3), f"{where}: bpp"), frames=len(frames), fps=fps,
                width=width, height=height, per_frame={"psnr_rgb": psnrs, "bpp": bpps},
                reported={"mean_frame_bpp": sum(bpps) / len(bpps), "mean_frame_psnr": sum(psnrs) / len(psnrs)},
                measurement="DHVC test.py: mean of per-frame RGB PSNR"))
            frames = []
    if frames:
        raise ImportError_(f"{path}: {len(frames)} frame lines at the end have no closing "
                           "'q=..., frame_dir.stem=..., bpp=..., psnr=...' line (was the run cut short?)")
    return records


# --- VTM / HM / ECM --------------------------------------------------------------------------------------------

_QP_IN_NAME = re.compile(r"(?:^|[_.-])qp?(\d{1,2})(?=[_.-]|$)", re.IGNORECASE)


def _vtm_log(path: Path, text: str, codec: str | None,
             _: GivenGeometry, _budget: _Budget) -> list[Record]:
    from bench.adapters.codec_logs import parse_summary

    summary = parse_summary(text)
    if summary is None:
        raise ImportError_(f"{path}: expected a 'Total Frames |' summary header followed by '<frames> a <bitrate> "
                           "<psnr>...' (a VTM/HM/ECM encoder log)")
    stem = path.stem
    qp = _QP_IN_NAME.search(stem)
    if qp is None or "Bitrate" not in summary:
        raise ImportError_(f"{path}: name the log <sequence>_qp<QP>.log so the sequence and QP are known")
    if summary["frames"] < 1:
        raise ImportError_(f"{path}: the 'Total Frames' summary counts {summary['frames']} frames: no frame was coded")
    name, group, fps, width, height = canonical_sequence(stem[: qp.start()] or stem)
    metrics = {"psnr_y": summary.get("Y-PSNR"), "psnr_u": summary.get("U-PSNR"), "psnr_v": summary.get("V-PSNR"),
               "psnr_yuv_vtm": summary.get("YUV-PSNR")}
    if all(summary.get(k) is not None for k in ("Y-PSNR", "U-PSNR", "V-PSNR")):
        metrics["psnr_yuv_611"] = (6 * summary["Y-PSNR"] + summary["U-PSNR"] + summary["V-PSNR"]) / 8
    timing = {}
    if m := re.search(r"Total Time:\s*(\d+(?:\.\d*)?)\s*sec\.\s*\[user\]\s*(\d+(?:\.\d*)?)\s*sec\.\s*\[elapsed\]",
                      text):
        timing["encode_s"] = float(m.group(2))
    return [imported_record(source=path, fmt="vtm-log", codec=codec or ("hm" if "HM software" in text else "vtm"), sequence=name,
                            group=group, rate_point=int(qp.group(1)), metrics=metrics, kbps=summary["Bitrate"],
                            frames=int(summary["frames"]), fps=fps, width=width, height=height, timing=timing,
                            reported={"summary": summary},
                            measurement="encoder log: mean of per-frame PSNR at the internal bit depth, "
                                        "peak 255 << (b-8); rate = bits the encoder counted")]


# --- CSV -------------------------------------------------------------------------------------------------------

_CSV_COLUMNS = ("codec, sequence, rate_point, bpp or kbps, metric columns named as ours (psnr_y, psnr_yuv_611 ...), "
                "optional group, fps, frames, encode_s, decode_s")


def _csv(path: Path, text: str, codec: str | None,
        _: GivenGeometry, budget: _Budget) -> list[Record]:
    """The rows of a CSV, read one at a time (strict quoting: a quote never closed is an error, not a field
    that swallows the rest of the file); a row that repeats a point is refused naming both lines, a row beyond
    the point limit (:class:`_Budget`) where it is reached."""
    reader = csv.reader(_lines(text), strict=True)
    records: list[Record] = []
    try:
        header = [h.strip() for h in next(reader, [])]
        _csv_header(path, header)
        layout = _CsvLayout.of(header)
        first_line: dict[tuple[str, str, str], int] = {}
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            if len(row) != len(header):
                raise ImportError_(f"{path}: line {line}: {len(row)} fields, but the header has {len(header)} "
                                   f"({', '.join(_named(h) for h in header)})")
            budget.point(f"{path}: line {line}")
            record = _csv_row(path, row, line, codec, layout)
            point = _point(record)
            if (first := first_line.setdefault(point, line)) != line:
                hint = (f" (NAME={codec} names every row's curve: import without a name, the codec column names "
                        "the curves)" if codec else "; keep one of them")
                raise ImportError_(f"{path}: lines {first} and {line} both give {_named(point[0])} / "
                                   f"{_named(point[1])} / rate point {_named(point[2])}{hint}")
            records.append(record)
    except csv.Error as e:
        raise ImportError_(f"{path}: line {reader.line_num}: {_csv_problem(e)}") from None
    if not records:
        raise ImportError_(f"{path}: the CSV has no rows")
    return records


# A line and its ending (\r\n, \r or \n, kept as they are), as io.StringIO(text, newline="") gives them to the
# csv module, but as slices of the text: StringIO holds a copy of four bytes a character (256 MB for a 64 MB file).
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")


def _lines(text: str) -> Iterator[str]:
    """TEXT's lines, one at a time, each with its line ending."""
    return (m.group() for m in _LINE.finditer(text))


def _csv_problem(error: csv.Error) -> str:
    """The csv module's complaint in a CSV writer's terms."""
    text = str(error)
    if "field larger than field limit" in text:
        return f"a field longer than {csv.field_size_limit():,} characters: not a CSV of RD points"
    if "unexpected end of data" in text:
        return "a quoted field is never closed (a quote \" opened and no closing quote)"
    if "expected after" in text:
        return "text after a closing quote; quote the whole field"
    return f"not CSV ({text})"


def _csv_header(path: Path, header: list[str]) -> None:
    if not any(header):
        raise ImportError_(f"{path}: the CSV has no header line; expected columns {_CSV_COLUMNS}")
    twice = next((h for i, h in enumerate(header) if h in header[:i]), None)
    if twice is not None:
        raise ImportError_(f"{path}: line 1: column {twice!r} is given twice; keep one")
    missing = [c for c in ("codec", "sequence", "rate_point") if c not in header]
    if missing:
        raise ImportError_(f"{path}: line 1: expected column {missing[0]!r} (columns: {_CSV_COLUMNS})")
    if "bpp" not in header and "kbps" not in header:
        raise ImportError_(f"{path}: line 1: expected column 'bpp' or 'kbps'")


_CSV_KNOWN = {"codec", "sequence", "rate_point", "bpp", "kbps", "group", "fps", "frames", "encode_s", "decode_s"}


@dataclass(frozen=True)
class _CsvLayout:
    """What a CSV's header says, worked out once for all its rows rather than again for each (with a dict of
    the row and a look-up of the metric registry): where each column is, which are metrics, which are not
    mapped to anything of ours."""

    column: dict[str, int]
    metrics: tuple[str, ...]
    timing: tuple[str, ...]
    unmapped: tuple[str, ...]

    @classmethod
    def of(cls, header: list[str]) -> _CsvLayout:
        names = metric_names()
        return cls({h: i for i, h in enumerate(header)}, tuple(h for h in header if h in names),
                   tuple(k for k in ("encode_s", "decode_s") if k in header),
                   tuple(sorted(h for h in header if h not in _CSV_KNOWN and h not in names)))


def _csv_row(path: Path, row: list[str], line: int, codec: str | None, layout: _CsvLayout) -> Record:
    """One CSV row (its fields in the header's order) as a record; every value checked where it is (line,
    column)."""
    def cell(key: str) -> str:
        return row[layout.column[key]] if key in layout.column else ""

    def num(key: str, positive: bool = False) -> float | None:
        raw = cell(key).strip()
        if not raw:
            return None
        value = _text_number(raw, f"{path}: line {line}, column {key}")
        if not math.isfinite(value) or (positive and value <= 0):
            raise ImportError_(f"{path}: line {line}, column {key}: {_shown(raw)} is not a "
                               f"{'positive' if positive else 'finite'} number")
        return value

    for column in ("sequence", "rate_point"):
        if not cell(column).strip():
            raise ImportError_(f"{path}: line {line}: column {column} is empty")
    name, group, fps, width, height = canonical_sequence(cell("sequence").strip(), cell("group") or None)
    if cell("group").strip():
        group = cell("group").strip()
    frames = num("frames", positive=True)
    if frames is not None and frames != int(frames):
        raise ImportError_(f"{path}: line {line}, column frames: {cell('frames').strip()!r} is not a whole number")
    return imported_record(
        # interned: the rows of a curve share one name string instead of holding a copy each
        source=path, fmt="csv", codec=sys.intern(codec or cell("codec").strip() or path.stem), sequence=name,
        group=group, rate_point=cell("rate_point").strip(), metrics={m: num(m) for m in layout.metrics},
        bpp=num("bpp"), kbps=num("kbps"), frames=int(frames) if frames else None,
        fps=num("fps", positive=True) or fps, width=width, height=height,
        timing={k: num(k) for k in layout.timing},
        reported={"unmapped": list(layout.unmapped)} if layout.unmapped else None)
