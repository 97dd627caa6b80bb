"""Jobs: one codec x sequence x rate point of a condition, with a coding key.

The key (:mod:`bench.store.keys`) is the SHA-256 of canonical JSON over everything that changes the bitstream or its decoded frames:
the key version, the condition's coding fields (frames, intra period, colour path, spatial handling), the
identity of the frames read (file size and a hash of exactly the bytes read), the codec's identity (adapter,
its version, result-affecting parameters, the tool's version string and binary hash) and the rate point.
Change any of them and the job is new; change nothing and a rerun finds the record and does no coding.

How the decoded frames are measured is deliberately not in it: measurements are keyed on their own
(:func:`bench.metrics.registry.measurement_key`), so a new metric or pooling never codes anything again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bench.adapters import adapter_class
from bench.conditions.condition import CodecSpec, Condition
from bench.conditions.datasets import SequenceInfo, SourceFile
from bench.store.keys import coding_key
from bench.store.labels import rate_label
from bench.store.record import SourceRef


@dataclass(frozen=True)
class SourceIdentity:
    """What was read from a sequence file: its size and the hash of the frames used."""

    path: str
    size: int
    sha256: str
    first: int
    count: int

    def as_dict(self) -> SourceRef:
        return {"size": self.size, "sha256": self.sha256, "first": self.first, "count": self.count}


def identify_source(source: SourceFile, first: int, count: int) -> SourceIdentity:
    h = hashlib.sha256()
    for chunk in source.reader().frame_bytes_at(first, count):
        h.update(chunk)
    size = sum(p.stat().st_size for p in source.path.iterdir()) if source.path.is_dir() else source.path.stat().st_size
    return SourceIdentity(str(source.path), size, h.hexdigest(), first, count)


@dataclass(frozen=True)
class Job:
    condition: Condition
    sequence: SequenceInfo
    source: SourceFile
    source_id: SourceIdentity
    codec: CodecSpec
    codec_identity: dict[str, Any]
    rate_point: Any
    key: str

    @property
    def label(self) -> str:
        """How the console names the job: the codec as the condition names it, once (never its adapter: a
        failure line of a ``command`` codec read "mine / Pan / command 1: codec command: ..."), the sequence,
        and the rate point in its adapter's words ("qp 22", "quality 4", "rate point 1")."""
        return f"{self.codec.name} / {self.sequence.name} / " \
               f"{rate_label(adapter_class(self.codec.adapter).rate_knob, self.rate_point)}"

    def manifest_entry(self) -> dict[str, Any]:
        """What the run manifest keeps of a job: enough for ``status`` to name it without the data."""
        return {"key": self.key, "codec": self.codec.name, "sequence": self.sequence.name,
                "rate_point": self.rate_point}


# Bump only when what the key covers changes meaning (the record schema can change without it: records are
# migrated, see bench.store.migrate). 2: the metrics block left the key.
def job_key(condition: Condition, source_id: SourceIdentity, sequence: SequenceInfo,
            codec_identity: dict[str, Any], rate_point: Any) -> str:
    return coding_key(condition.coding_fields(), {**source_id.as_dict(), "format": sequence.fmt.name},
                      codec_identity, rate_point)

