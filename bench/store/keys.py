"""The coding key of a job: the SHA-256 of canonical JSON over everything that changes its bitstream.

Computed from the parts a record stores, so that a stored record can be re-keyed on its own (migration) without
the condition model or any adapter; :mod:`bench.run.jobs` computes the same key when it plans a job.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

KEY_VERSION = 2


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def coding_key(coding_fields: dict[str, Any], source: dict[str, Any], codec_identity: dict[str, Any],
               rate_point: Any) -> str:
    """The key from its parts as a record stores them (so a stored record can be re-keyed on its own)."""
    payload = {
        "key_version": KEY_VERSION,
        "condition": coding_fields,
        "source": source,
        "codec": codec_identity,
        "rate_point": rate_point,
    }
    return hashlib.sha256(canonical_json(payload).encode("ascii")).hexdigest()
