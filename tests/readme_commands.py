"""The README as a test, its reading half: every shell command of the fenced code blocks of README.md and of
the Markdown files under examples/, and stand-in sequence files named as the README's list of the standard test
sets names them. Standard library only (and numpy for the stand-ins' pictures), so that finding and classifying
the commands takes milliseconds and depends on nothing the suite computes.

What counts as a command: in a block without a language or with sh, bash, console or shell, a line whose first
word (after an optional ``$ `` prompt and ``NAME=value`` assignments) is one of PROGRAMS; ``evaluate.py`` only when
a subcommand or an option follows (the Layout block lists ``evaluate.py     shim for ...``). In a block of a
shell language every line counts; in a block with ``$ `` prompts only the prompted lines do (the rest is the
program's output). ``\\`` continuations are joined, a trailing ``# comment`` dropped, and ``a && b`` gives one
command per part. YAML, TOML and Python blocks are never commands.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SHELL_LANGUAGES = frozenset({"sh", "bash", "console", "shell"})
PROGRAMS = ("python", "python3", ".venv/bin/python", ".venv/bin/pip", "pip", "lvcbench", "evaluate.py")
# evaluate.py's subcommands, for telling `evaluate.py ls` (a command) from `evaluate.py  shim for ...` (a listing).
SUBCOMMANDS = frozenset({"run", "remeasure", "migrate", "status", "bd", "report", "import", "validate", "ls",
                         "doctor", "selftest", "check-adapter"})
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*([^\s`]*)")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Command:
    """One command as the document shows it: FILE (relative to the repository root), the LINE it starts on,
    its PART in an ``&&`` chain (1-based; 0 when it stands alone) and its TEXT (continuations joined, the
    trailing comment dropped)."""

    file: str
    line: int
    part: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}" + (f" (part {self.part})" if self.part else "")

    @property
    def key(self) -> str:
        return normalise(self.text)


def normalise(text: str) -> str:
    """The key of a command in the classification table: its words joined by single spaces."""
    return " ".join(text.split())


def documents(root: Path) -> list[Path]:
    """README.md, then every Markdown file under examples/ in path order (whatever exists when the test runs)."""
    found = [root / "README.md"] if (root / "README.md").is_file() else []
    return found + sorted(p for p in (root / "examples").rglob("*.md") if p.is_file())


def fenced_blocks(text: str) -> Iterator[tuple[str, int, list[str]]]:
    """(language, line number of the block's first content line, its lines) of every fenced block; an
    unclosed block runs to the end of the text, as CommonMark reads it."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, language = m.group(1), m.group(2).lower()
        start = i + 1
        end = start
        while end < len(lines) and not re.match(r"^\s{0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$",
                                               lines[end]):
            end += 1
        yield language, start + 1, lines[start:end]
        i = end + 1


def strip_comment(line: str) -> str:
    """LINE without a trailing ``# comment`` (a ``#`` at the start or after a blank, outside quotes)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def _logical_lines(lines: list[str], first: int) -> Iterator[tuple[int, str]]:
    """(line number, text) with backslash continuations joined and comments dropped."""
    pending: list[str] = []
    start = first
    for n, raw in enumerate(lines, first):
        text = strip_comment(raw)
        if not pending:
            start = n
        if text.endswith("\\"):
            pending.append(text[:-1].strip())
            continue
        pending.append(text.strip())
        yield start, " ".join(p for p in pending if p)
        pending = []
    if pending:
        yield start, " ".join(p for p in pending if p)


def _program(text: str) -> str | None:
    """The program a line starts with (after assignments), if it is one of PROGRAMS used as a command."""
    words = text.split()
    while words and _ASSIGNMENT.match(words[0]):
        words = words[1:]
    if not words or words[0] not in PROGRAMS:
        return None
    if words[0] == "evaluate.py" and not (len(words) > 1 and (words[1] in SUBCOMMANDS or words[1].startswith("-"))):
        return None
    return words[0]


def _split_chain(text: str) -> list[str]:
    """``a && b`` as [a, b] (outside quotes)."""
    parts, quote, current = [], "", ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif text.startswith("&&", i):
            parts.append(current.strip())
            current, i = "", i + 2
            continue
        current += ch
        i += 1
    return [p for p in parts + [current.strip()] if p]


def commands_in(text: str, name: str) -> list[Command]:
    """Every command of the fenced blocks of one document, in order; NAME is its path for the ids."""
    found = []
    for language, first, lines in fenced_blocks(text):
        if language and language not in SHELL_LANGUAGES:
            continue
        prompted = any(line.lstrip().startswith("$ ") for line in lines)
        for number, line in _logical_lines(lines, first):
            stripped = line.lstrip()
            if prompted:
                if not stripped.startswith("$ "):
                    continue
                stripped = stripped[2:].lstrip()
            parts = _split_chain(stripped)
            if not parts or (not language and _program(parts[0]) is None):
                continue
            for k, part in enumerate(parts, 1):
                found.append(Command(name, number, k if len(parts) > 1 else 0, part))
    return found


def all_commands(root: Path) -> list[Command]:
    """The commands of README.md and of examples/**/*.md, in that order."""
    out = []
    for doc in documents(root):
        out += commands_in(doc.read_text(encoding="utf-8"), doc.relative_to(root).as_posix())
    return out


# --- stand-in sequences ---------------------------------------------------------------------------------------

_LIST_LINE = re.compile(r"^- `([a-z0-9_]+)`: (.*)$")
_LIST_ITEM = re.compile(r"`([^`*]+\.yuv)` \((\d+) frames, ([\d,]+) bytes\)")
_SIZE = re.compile(r"_(\d+)x(\d+)_")


@dataclass(frozen=True)
class ListedFile:
    """A file of the README's "Obtaining the standard test sets" list: its name, frames and bytes as listed."""

    name: str
    frames: int
    size: int
    width: int
    height: int


def listed_files(readme: str, dataset: str) -> list[ListedFile]:
    """The files the README lists for DATASET (``hevc_b``, ``uvg`` ...), each checked for a consistent listing:
    its bytes are its frames of 8-bit 4:2:0 at the size its name gives (W x H x 3/2 per frame)."""
    for line in readme.splitlines():
        m = _LIST_LINE.match(line)
        if not m or m.group(1) != dataset:
            continue
        files = []
        for name, frames, size in _LIST_ITEM.findall(m.group(2)):
            geometry = _SIZE.search(name)
            assert geometry, f"README: {name} of {dataset} has no WxH in its name"
            w, h = int(geometry.group(1)), int(geometry.group(2))
            f = ListedFile(name, int(frames), int(size.replace(",", "")), w, h)
            assert f.size == f.frames * w * h * 3 // 2, (
                f"README lists {name} as {f.frames} frames and {f.size:,} bytes: {w}x{h} 8-bit 4:2:0 frames make "
                f"{f.frames * w * h * 3 // 2:,}")
            files.append(f)
        assert files, f"README: the list of {dataset}'s files names no file with its frames and bytes"
        return files
    raise AssertionError(f"README: no list of the files of dataset {dataset} (a line '- `{dataset}`: ...')")


def write_standins(folder: Path, files: list[ListedFile], pictured_frames: int) -> None:
    """Write FILES into FOLDER at their listed sizes: the first PICTURED_FRAMES frames a moving picture (content
    the encoders have to code: a gradient, a moving bar and noise), the rest left as a sparse hole of zeros,
    so a 1.9 GB sequence costs a few MB of disk."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(33)
    for f in files:
        y_grid, x_grid = np.mgrid[0:f.height, 0:f.width]
        with open(folder / f.name, "wb") as out:
            for t in range(min(pictured_frames, f.frames)):
                luma = 16 + (x_grid * 180 // f.width + y_grid * 40 // f.height) % 220
                luma[:, (t * 16) % f.width:(t * 16) % f.width + 64] = 200
                luma = np.clip(luma + rng.integers(-6, 7, luma.shape), 16, 235).astype(np.uint8)
                chroma = np.full((f.height // 2, f.width // 2), 128, np.uint8)
                chroma[:, : f.width // 4] = 100 + t
                out.write(luma.tobytes() + chroma.tobytes() + chroma[::-1].tobytes())
            out.truncate(f.size)
