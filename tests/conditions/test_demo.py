"""The demo set: deterministic, real texture and motion, named and sized as the manifest says."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from bench.conditions import demo
from bench.video.formats import pixel_format
from bench.video.io import RawVideoReader


@pytest.mark.slow
def test_demo_is_deterministic_and_moves(demo_dir: Path, tmp_path: Path) -> None:
    demo.generate(tmp_path)
    for name in demo.SEQUENCE_NAMES:
        file = f"{name}_416x240_30.yuv"
        a, b = (demo_dir / file).read_bytes(), (tmp_path / file).read_bytes()
        assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest(), name
        reader = RawVideoReader(demo_dir / file, pixel_format("yuv420p"), 416, 240)
        assert reader.num_frames == 32
        y = [f[0].astype(np.int64) for f in reader.frames()]
        assert min(float(f.std()) for f in y) > 20, name  # textured, not flat
        diffs = [float(np.abs(y[i + 1] - y[i]).mean()) for i in range(31)]
        assert min(diffs) > 1.0, name  # something moves in every frame
        assert 16 <= min(f.min() for f in y) and max(f.max() for f in y) <= 235  # limited range


@pytest.mark.slow
def test_manifest_matches_files(demo_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LVCBENCH_CACHE", str(demo_dir.parent / "cache"))
    seqs = demo.demo_manifest()
    assert [s.name for s in seqs] == list(demo.SEQUENCE_NAMES)
    assert all((s.width, s.height, s.fps, s.frames, s.group) == (416, 240, 30, 32, "demo") for s in seqs)
    assert all((demo.demo_root() / s.file).exists() for s in seqs)
