"""Importers: results produced elsewhere, turned into records of the same model as our own runs.

Rates: a producer that gives kbps only (CompressAI's video files, VTM logs) is converted with
``bpp = kbps x 1000 / (fps x width x height)`` (and back), the frame size and rate taken, in this order, from
what the user gives (:class:`Geometry`: ``--size``/``--fps`` or ``--dataset``), from the file (its name or
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

Formats (detected from the content; a file that fits none is refused naming the key it expected):

* ``dcvc``: the JSON written by the DCVC family's ``test_video.py`` (every generation):
  ``{class: {sequence: {rate_key: {i_frame_num, p_frame_num, ave_all_frame_bpp, ave_all_frame_psnr, ...}}}}``.
  DCVC (2021) writes ``ave_all_frame_quality``: a value above 1 is PSNR, at most 1 is MS-SSIM.
  With ``ave_all_frame_psnr_y`` present the content was YUV 4:2:0 and ``ave_all_frame_psnr`` is the 6:1:1
  average; otherwise it was RGB. MS-SSIM values of 0 (``--calc_ssim`` off) are treated as absent.
* ``compressai``: ``{"name", "description", "results": {"bpp" | "bitrate", "psnr-rgb", ...}}``: dataset
  averages (CompressAI's plain mean over the sequences). The dataset is ``meta.dataset`` or the file's folder
  name; one we have a manifest of (``UVG-1080p`` is ``uvg``) makes the points a *dataset-average curve* of
  that class, comparable with a run's averaged class curves (see :mod:`bench.bdtable`); any other name is a
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
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import SCHEMA_VERSION
from bench.codec_logs import DHVC_FRAME, dcvc_entry_metrics
from bench.datasets import DATASETS, parse_file_name
from bench.errors import BenchError
from bench.metrics import metric_names
from bench.record import Record

FORMATS = ("dcvc", "compressai", "dhvc-json", "dhvc-stdout", "vtm-log", "csv")
# Formats whose producers spread one curve over several files (one VTM log per sequence and QP, one DHVC q*.json
# per quality): their points' origin, for telling one curve from merged ones, is the folder, not the file.
SPLIT_FORMATS = ("vtm-log", "dhvc-json")


def point_origin(source: str, fmt: str) -> str:
    """Where an imported point comes from, as BD tells one curve from points of several merged: its file, or the
    file's folder for formats whose producers spread one curve over files (:data:`SPLIT_FORMATS`). Written into
    every record as ``imported.origin``."""
    return str(Path(source).parent) if fmt in SPLIT_FORMATS else source


def with_origin(record: dict[str, Any]) -> dict[str, Any]:
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
class Geometry:
    """What the user says about imported points: frame size, frame rate, the dataset they are of."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    dataset: str | None = None  # a key of bench.datasets.DATASETS

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
    return int(w), int(h), float(fps)


def average_name(group: str) -> str:
    """The pseudo-sequence a dataset-average curve of class GROUP is filed under."""
    return f"{group} (dataset average)"


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
                    metrics: dict[str, float | None], bpp: float | None = None, kbps: float | None = None,
                    frames: int | None = None, fps: float | None = None, width: int | None = None,
                    height: int | None = None, per_frame: dict[str, list] | None = None,
                    timing: dict[str, float | None] | None = None, reported: dict[str, Any] | None = None,
                    measurement: str = "as computed by the producer",
                    dataset_average: dict[str, Any] | None = None) -> Record:
    """A record in our model for one imported RD point (its rate completed by :func:`complete_rate`).

    ``dataset_average`` marks a point that is a mean over a dataset's sequences (``{"dataset", "sequences",
    "rule"}``), not one sequence."""
    key = hashlib.sha256(json.dumps([str(source), codec, sequence, str(rate_point)]).encode()).hexdigest()
    seq: dict[str, Any] = {"name": sequence, "group": group, "fps": fps, "width": width, "height": height}
    if dataset_average:
        seq["dataset_average"] = dataset_average
    return {
        "schema_version": SCHEMA_VERSION,
        "key": key,
        "status": "ok",
        "imported": {"source": str(source), "format": fmt, "origin": point_origin(str(source), fmt)},
        "codec": {"name": codec, "adapter": f"imported:{fmt}", "description": f"imported from {source.name}",
                  "identity": {}},
        "sequence": seq,
        "source": {"count": frames},
        "rate_point": rate_point,
        "rate_knob": "imported",
        "rate": {"bpp": bpp, "kbps": kbps, "bits": None, "bits_source": f"reported by {fmt}"},
        "metrics": {k: v for k, v in metrics.items() if v is not None},
        "measurement": {"pooling": measurement, "psnr_peak": {"convention": measurement}},
        "per_frame": per_frame or {},
        "timing": timing or {},
        "codec_reported": reported or {},
    }


RATE_RULE = "bpp = kbps x 1000 / (fps x width x height)"


def complete_rate(record: dict[str, Any], given: Geometry | None = None) -> dict[str, Any]:
    """RECORD with both bpp and kbps where its frame size and rate are known (see the module notes), and
    ``rate.conversion`` saying how (or why not)."""
    seq, rate = record["sequence"], record["rate"]
    average = seq.get("dataset_average")
    where = f"our manifest of {average['dataset']}" if average else "the file or our manifest of the sequence"
    if given is not None and (given.width or given.fps):
        seq.update({k: v for k, v in (("width", given.width), ("height", given.height), ("fps", given.fps)) if v})
        where = f"given on the command line ({given.describe()})"
    if (rate.get("bpp") is None) == (rate.get("kbps") is None):
        return record  # both given by the producer (or neither: refused by _checked)
    w, h, fps = seq.get("width"), seq.get("height"), seq.get("fps")
    have, wanted = ("kbps", "bpp") if rate.get("bpp") is None else ("bpp", "kbps")
    if not (w and h and fps):
        lacking = " and ".join(k for k, v in (("frame size", w and h), ("frame rate", fps)) if not v)
        rate["conversion"] = ("bpp as given; no kbps (the {lacking} unknown)" if have == "bpp" else
                              f"kbps only, not converted: the {lacking} unknown (import with --dataset, or --size "
                              "and --fps)").format(lacking=lacking)
        return record
    pixels_per_s = fps * w * h
    rate[wanted] = rate["kbps"] * 1000 / pixels_per_s if wanted == "bpp" else rate["bpp"] * pixels_per_s / 1000
    rate["conversion"] = f"{wanted} from {have}: {RATE_RULE}, {w}x{h} at {fps:g} fps from {where}"
    return record


# --- detection -----------------------------------------------------------------------------------------------

def detect(path: Path, text: str) -> str:
    """The format of a file, from its content (and extension for CSV)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except RecursionError:
            raise ImportError_(f"{path}: JSON nested too deeply to be a result file") from None
        except json.JSONDecodeError as e:
            raise ImportError_(f"{path}: not valid JSON ({e.msg} at line {e.lineno}); a truncated DHVC q*.json? "
                               "rerun the producer") from None
        if isinstance(data, dict) and "results" in data:
            return "compressai"
        if isinstance(data, list):
            return "dhvc-json"
        if isinstance(data, dict):
            return "dcvc"
    if path.suffix.lower() == ".csv":
        return "csv"
    if re.search(r"^\s*frame:\s*\d+\s+bpp:", text, re.MULTILINE):
        return "dhvc-stdout"
    if "Total Frames" in text:
        return "vtm-log"
    raise ImportError_(f"{path}: not a format lvc-bench imports (expected a DCVC or CompressAI JSON, a DHVC "
                       "q*.json or stdout, a VTM/HM/ECM log with 'Total Frames', or a CSV)")


def split_label(item: str) -> tuple[str | None, Path]:
    """A command-line source ``LABEL=PATH`` (or a plain PATH, also one whose name holds '=')."""
    if "=" in item and not Path(item).exists():
        label, _, path = item.partition("=")
        return label, Path(path)
    return None, Path(item)


def import_path(path: Path, codec: str | None = None, given: Geometry | None = None) -> list[dict[str, Any]]:
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
    records: list[dict[str, Any]]
    folder: Path | None = None  # the folder it was given in, when it was
    item: int = 0  # which of the items given to import_sources it came from


@dataclass
class Imported:
    """What an import read: every file with its records, and the figures it skipped in folders."""

    files: list[ImportedFile]
    skipped: list[Path]  # figures, binary files (bitstreams) and decoder logs found in folders: not results

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for f in self.files for r in f.records]

    def curves(self) -> dict[str, list[Path]]:
        """Curve (codec) name -> the files its points come from, in the order read."""
        out: dict[str, list[Path]] = {}
        for f in self.files:
            for name in dict.fromkeys(r["codec"]["name"] for r in f.records):
                out.setdefault(name, []).append(f.path)
        return out


def import_sources(items: list[tuple[str | None, Path]], given: Geometry | None = None) -> Imported:
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


def _point(record: dict[str, Any]) -> tuple[str, str, str]:
    return record["codec"]["name"], record["sequence"]["name"], str(record["rate_point"])


def _one_point_each(f: ImportedFile) -> None:
    """Refuse a file that gives one point twice (a CSV of two runs, or NAME= on a CSV of several codecs)."""
    seen: set[tuple[str, str, str]] = set()
    for r in f.records:
        if (p := _point(r)) in seen:
            hint = (f" (NAME={f.label} names every curve of the file as one: import it without a name, its codec "
                    "column names the curves)" if f.label else "; keep one of them")
            raise ImportError_(f"{f.path}: gives {p[0]} / {p[1]} / rate point {p[2]} twice{hint}")
        seen.add(p)


def _sharing_points(files: list[ImportedFile]) -> list[list[ImportedFile]]:
    """Groups of files that give a same point (curve, sequence, rate point), each group in reading order."""
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
                r["imported"].update(name_in_file=produced, told_apart_by=f"its file name: {', '.join(p)}")
        return
    x, y = (unclear or pairs)[0]
    a, b = group[x], group[y]
    curve, sequence, rate_point = min(points[x] & points[y])
    folder = next((f.folder for f in (a, b) if f.label and f.folder), None)
    how = (f"NAME={a.label if a.folder == folder else b.label} on the folder {folder} names one curve, and its files "
           "make several: import the folder without a name, or name its files one by one (NAME=FILE)" if folder
           else f"give each its own name: NAME1={a.path} NAME2={b.path}")
    raise ImportError_(f"{a.path} and {b.path} would both give curve {curve!r} ({sequence}, rate point "
                       f"{rate_point}); {how}")


def import_file(path: str | Path, codec: str | None = None, given: Geometry | None = None) -> list[dict[str, Any]]:
    """Records for every RD point in ``path``; ``codec`` names the curve (default: from the file); ``given``
    is what the user says of the points' frame size, rate and dataset."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImportError_(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise ImportError_(f"{path}: not a text file") from None
    fmt = detect(path, text)
    reader = {"dcvc": _dcvc, "compressai": _compressai, "dhvc-json": _dhvc_json, "dhvc-stdout": _dhvc_stdout,
              "vtm-log": _vtm_log, "csv": _csv}[fmt]
    try:
        # No NAME= given: each format names the curve its own way (the producer's name, the file's stem, 'vtm').
        records = reader(path, text, codec, given or Geometry())
    except ImportError_:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError, ZeroDivisionError,
            RecursionError) as e:
        # A value of the wrong kind where the format has a number, a list or a mapping: named, never a traceback.
        raise ImportError_(f"{path}: not a valid {fmt} file: {type(e).__name__}: {e}") from None
    if not records:
        raise ImportError_(f"{path}: holds no RD points")
    return [_checked(complete_rate(r, given), path) for r in records]


_LIMIT = 1e12  # beyond any bpp, kbps, PSNR or MS-SSIM: a value this large is a broken file, not a result


def _checked(record: dict[str, Any], path: Path) -> dict[str, Any]:
    """RECORD if every number in it is finite and of a sane size and every name is text; ImportError_ naming the
    point and the value otherwise (a NaN PSNR would silently drop the point from every curve)."""
    where = f"{path}: {record['codec']['name']} / {record['sequence']['name']} / {record['rate_point']}"

    def number(value: Any, what: str, optional: bool = True) -> None:
        if value is None and optional:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or \
                abs(value) > _LIMIT:
            raise ImportError_(f"{where}: {what} is {value!r}, not a finite number")

    for name in (record["codec"]["name"], record["sequence"]["name"], record["sequence"]["group"]):
        if not isinstance(name, str) or not name.strip():
            raise ImportError_(f"{where}: a codec, sequence or group name is {name!r}, not text")
    if not isinstance(record["rate_point"], (str, int, float)) or isinstance(record["rate_point"], bool):
        raise ImportError_(f"{where}: the rate point is {record['rate_point']!r}, not a number or text")
    for key, value in record["metrics"].items():
        number(value, f"metric {key}")
    for key in ("bpp", "kbps"):
        number(record["rate"].get(key), key)
        if record["rate"].get(key) is not None and record["rate"][key] <= 0:
            raise ImportError_(f"{where}: {key} is {record['rate'][key]!r}, not positive")
    if record["rate"].get("bpp") is None and record["rate"].get("kbps") is None:
        raise ImportError_(f"{where}: neither bpp nor kbps")
    for key, value in (record.get("timing") or {}).items():
        number(value, f"timing {key}")
    for key, values in (record.get("per_frame") or {}).items():
        if values is None:
            continue
        if not isinstance(values, list):
            raise ImportError_(f"{where}: per-frame {key} is {type(values).__name__}, not a list")
        for i, v in enumerate(values):
            if key == "frame_type":
                if not isinstance(v, str):
                    raise ImportError_(f"{where}: per-frame {key}[{i}] is {v!r}, not a frame type")
            else:
                number(v, f"per-frame {key}[{i}]", optional=False)
    return record


# --- DCVC family -----------------------------------------------------------------------------------------------

def _number(entry: dict[str, Any], key: str, path: Path, where: str, required: bool = False) -> float | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise ImportError_(f"{path}: {where}: expected key {key!r} (a DCVC test_video.py result entry)")
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ImportError_(f"{path}: {where}.{key}: expected a number, got {value!r}")
    return float(value)


def _dcvc(path: Path, text: str, codec: str | None, _: Geometry) -> list[dict[str, Any]]:
    data = json.loads(text)
    codec = codec or path.stem
    records = []
    for klass, seqs in data.items():
        if not isinstance(seqs, dict):
            raise ImportError_(f"{path}: {klass}: expected a mapping of sequences (DCVC layout class -> sequence -> "
                               "rate key)")
        for seq_key, rates in seqs.items():
            if not isinstance(rates, dict):
                raise ImportError_(f"{path}: {klass}.{seq_key}: expected a mapping of rate keys")
            name, group, fps, width, height = canonical_sequence(seq_key, klass)
            for rate_key, e in rates.items():
                where = f"{klass}.{seq_key}.{rate_key}"
                if not isinstance(e, dict):
                    raise ImportError_(f"{path}: {where}: expected a result entry")
                bpp = _number(e, "ave_all_frame_bpp", path, where, required=True)
                frames = int(_number(e, "i_frame_num", path, where, True) + _number(e, "p_frame_num", path, where, True))
                yuv = "ave_all_frame_psnr_y" in e
                for key in ("ave_all_frame_quality", "ave_all_frame_psnr", "ave_all_frame_msssim",
                            *(f"ave_all_frame_{m}_{p}" for m in ("psnr", "msssim") for p in "yuv")):
                    _number(e, key, path, where)  # a present value must be a number
                if "ave_all_frame_quality" not in e and "ave_all_frame_psnr" not in e and not yuv:
                    raise ImportError_(f"{path}: {where}: expected key 'ave_all_frame_psnr' or "
                                       "'ave_all_frame_quality'")
                metrics = dcvc_entry_metrics(e)
                per_frame = {}
                if isinstance(e.get("frame_bpp"), list):
                    pixels = e.get("frame_pixel_num") or ((width or 0) * (height or 0))
                    per_frame["bits"] = [b * pixels for b in e["frame_bpp"]] if pixels else None
                    per_frame["frame_type"] = ["I" if t == 0 else "P" for t in e.get("frame_type", [])] or None
                    psnr_key = "psnr_yuv_611" if yuv else "psnr_rgb"
                    if isinstance(e.get("frame_psnr"), list):
                        per_frame[psnr_key] = e["frame_psnr"]
                timing = {}
                if "avg_frame_encoding_time" in e:
                    timing["encode_s"] = float(e["avg_frame_encoding_time"]) * frames
                if "avg_frame_decoding_time" in e:
                    timing["decode_s"] = float(e["avg_frame_decoding_time"]) * frames
                reported = {k: v for k, v in e.items() if not isinstance(v, list)}
                records.append(imported_record(
                    source=path, fmt="dcvc", codec=codec, sequence=name, group=group, rate_point=rate_key,
                    metrics=metrics, bpp=bpp, frames=frames, fps=fps, width=width, height=height,
                    per_frame=per_frame, timing=timing, reported=reported,
                    measurement="DCVC test_video.py: mean of per-frame values"))
    return records


# --- CompressAI ------------------------------------------------------------------------------------------------

_COMPRESSAI_METRICS = {"psnr-rgb": "psnr_rgb", "ms-ssim-rgb": "ms_ssim_rgb", "psnr-y": "psnr_y", "psnr-u": "psnr_u",
                       "psnr-v": "psnr_v", "psnr": "psnr_rgb", "ms-ssim": "ms_ssim_rgb"}


_COMPRESSAI_KNOWN = {*_COMPRESSAI_METRICS, "bpp", "bitrate", "q", "qp", "encoding_time", "decoding_time", "psnr-yuv",
                     "ms-ssim-db-rgb"}


def _compressai(path: Path, text: str, codec: str | None, given: Geometry) -> list[dict[str, Any]]:
    data = json.loads(text)
    results = data.get("results")
    if not isinstance(results, dict):
        raise ImportError_(f"{path}: expected key 'results' holding lists of values (a CompressAI results JSON)")
    rate_key = "bpp" if "bpp" in results else "bitrate" if "bitrate" in results else None
    if rate_key is None:
        raise ImportError_(f"{path}: results: expected key 'bpp' or 'bitrate'")
    n = len(results[rate_key])
    for k, v in results.items():
        if not isinstance(v, list) or len(v) != n:
            raise ImportError_(f"{path}: results.{k}: expected a list of {n} values, like results.{rate_key}")
    meta = data.get("meta") or {}
    dataset_name = str(meta.get("dataset") or path.parent.name)
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
    labels = results.get("q") or results.get("qp") or list(range(n))
    records = []
    for i in range(n):
        metrics = {ours: float(results[theirs][i]) for theirs, ours in _COMPRESSAI_METRICS.items() if theirs in results}
        if "ms-ssim-db-rgb" in results and "ms_ssim_rgb" not in metrics:
            metrics["ms_ssim_rgb"] = 1 - 10 ** (-float(results["ms-ssim-db-rgb"][i]) / 10)
        if "psnr-yuv" in results:  # CompressAI's own weighting; kept under its own name, never as ours
            metrics["psnr_yuv_compressai"] = float(results["psnr-yuv"][i])
        timing = {k: float(results[src][i]) for k, src in (("encode_s", "encoding_time"), ("decode_s", "decoding_time"))
                  if src in results}
        records.append(imported_record(
            source=path, fmt="compressai", codec=codec or str(data.get("name") or path.stem),
            sequence=name, group=group, rate_point=labels[i],
            metrics=metrics, bpp=float(results["bpp"][i]) if rate_key == "bpp" else None,
            kbps=float(results["bitrate"][i]) if rate_key == "bitrate" else None, frames=1, fps=fps,
            width=width, height=height, timing=timing,
            reported={"description": data.get("description"), "meta": meta,
                      "unmapped": sorted(k for k in results if k not in _COMPRESSAI_KNOWN)},
            measurement="CompressAI: averages over the dataset", dataset_average=average))
    return records


# --- DHVC ------------------------------------------------------------------------------------------------------

def _dhvc_json(path: Path, text: str, codec: str | None, _: Geometry) -> list[dict[str, Any]]:
    entries = json.loads(text)
    codec = codec or path.stem
    latest: dict[tuple[str, Any], dict[str, Any]] = {}
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not {"video", "quality", "bpp", "psnr"} <= set(e):
            raise ImportError_(f"{path}: entry {i}: expected keys video, quality, bpp, psnr (a DHVC q*.json entry)")
        latest[(str(e["video"]), e["quality"])] = e  # the script appends on every run: the last one wins
    records = []
    for (video, quality), e in latest.items():
        name, group, fps, width, height = canonical_sequence(video)
        metrics = {"psnr_rgb": float(e["psnr"])}
        if "msssim" in e:
            metrics["ms_ssim_rgb"] = float(e["msssim"])
        records.append(imported_record(source=path, fmt="dhvc-json", codec=codec, sequence=name, group=group,
                                       rate_point=quality, metrics=metrics, bpp=float(e["bpp"]), fps=fps,
                                       width=width, height=height,
                                       reported={"duplicates_dropped": len(entries) - len(latest)},
                                       measurement="DHVC test.py: mean of per-frame RGB PSNR"))
    return records


_DHVC_SEQ = re.compile(r"q=(\S+?),.*?frame_dir\.stem=(\S+?),\s*bpp=([-\d.eE+]+),\s*psnr=([-\d.eE+]+)")


def _dhvc_stdout(path: Path, text: str, codec: str | None, _: Geometry) -> list[dict[str, Any]]:
    codec = codec or path.stem
    clean = re.sub(r"\x1b\[[0-9;]*m", "", text)
    records, frames = [], []
    for line in clean.splitlines():
        if m := DHVC_FRAME.match(line):
            frames.append((int(m.group(1)), float(m.group(2)), float(m.group(3))))
        elif m := _DHVC_SEQ.search(line):
            if not frames:
                raise ImportError_(f"{path}: sequence {m.group(2)} has no 'frame: i bpp: b psnr: p' lines before it")
            name, group, fps, width, height = canonical_sequence(m.group(2))
            bpps, psnrs = [f[1] for f in frames], [f[2] for f in frames]
            records.append(imported_record(
                source=path, fmt="dhvc-stdout", codec=codec, sequence=name, group=group, rate_point=m.group(1),
                metrics={"psnr_rgb": float(m.group(4))}, bpp=float(m.group(3)), frames=len(frames), fps=fps,
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


def _vtm_log(path: Path, text: str, codec: str | None, _: Geometry) -> list[dict[str, Any]]:
    from bench.codec_logs import parse_summary

    summary = parse_summary(text)
    if summary is None:
        raise ImportError_(f"{path}: expected a 'Total Frames |' summary header followed by '<frames> a <bitrate> "
                           "<psnr>...' (a VTM/HM/ECM encoder log)")
    stem = path.stem
    qp = _QP_IN_NAME.search(stem)
    if qp is None or "Bitrate" not in summary:
        raise ImportError_(f"{path}: name the log <sequence>_qp<QP>.log so the sequence and QP are known")
    name, group, fps, width, height = canonical_sequence(stem[: qp.start()] or stem)
    metrics = {"psnr_y": summary.get("Y-PSNR"), "psnr_u": summary.get("U-PSNR"), "psnr_v": summary.get("V-PSNR"),
               "psnr_yuv_vtm": summary.get("YUV-PSNR")}
    if all(summary.get(k) is not None for k in ("Y-PSNR", "U-PSNR", "V-PSNR")):
        metrics["psnr_yuv_611"] = (6 * summary["Y-PSNR"] + summary["U-PSNR"] + summary["V-PSNR"]) / 8
    timing = {}
    if m := re.search(r"Total Time:\s*([\d.]+)\s*sec\.\s*\[user\]\s*([\d.]+)\s*sec\.\s*\[elapsed\]", text):
        timing["encode_s"] = float(m.group(2))
    return [imported_record(source=path, fmt="vtm-log", codec=codec or ("hm" if "HM software" in text else "vtm"), sequence=name,
                            group=group, rate_point=int(qp.group(1)), metrics=metrics, kbps=summary["Bitrate"],
                            frames=int(summary["frames"]), fps=fps, width=width, height=height, timing=timing,
                            reported={"summary": summary},
                            measurement="encoder log: mean of per-frame PSNR at the internal bit depth, "
                                        "peak 255 << (b-8); rate = bits the encoder counted")]


# --- CSV -------------------------------------------------------------------------------------------------------

def _csv(path: Path, text: str, codec: str | None, _: Geometry) -> list[dict[str, Any]]:
    rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        raise ImportError_(f"{path}: the CSV has no rows")
    required = {"codec", "sequence", "rate_point"}
    missing = required - set(rows[0])
    if missing:
        raise ImportError_(f"{path}: expected column {sorted(missing)[0]!r} (columns: codec, sequence, rate_point, "
                           "bpp or kbps, metric columns)")
    if "bpp" not in rows[0] and "kbps" not in rows[0]:
        raise ImportError_(f"{path}: expected column 'bpp' or 'kbps'")

    def num(row: dict[str, str], key: str, line: int) -> float | None:
        raw = (row.get(key) or "").strip()
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            raise ImportError_(f"{path}: line {line}, column {key}: {raw!r} is not a number") from None
        if not math.isfinite(value):
            raise ImportError_(f"{path}: line {line}, column {key}: {raw!r} is not finite")
        return value

    known = {"codec", "sequence", "rate_point", "bpp", "kbps", "group", "fps", "frames", "encode_s", "decode_s",
             *metric_names()}
    unmapped = sorted(str(c) for c in rows[0] if c not in known)
    records = []
    for line, row in enumerate(rows, start=2):
        name, group, fps, width, height = canonical_sequence(row["sequence"], row.get("group") or None)
        if row.get("group"):
            group = row["group"]
        fps = num(row, "fps", line) or fps
        metrics = {m: num(row, m, line) for m in row if m in metric_names()}
        frames = num(row, "frames", line)
        records.append(imported_record(
            source=path, fmt="csv", codec=codec or row["codec"] or path.stem, sequence=name, group=group,
            rate_point=row["rate_point"], metrics=metrics, bpp=num(row, "bpp", line), kbps=num(row, "kbps", line),
            frames=int(frames) if frames else None, fps=fps, width=width, height=height,
            timing={k: num(row, k, line) for k in ("encode_s", "decode_s") if k in row},
            reported={"unmapped": unmapped} if unmapped else None))
    return records
