"""Starting the CPU kernels' compile as early as a run can, on a fresh installation only.

numba keeps the compiled kernels of :mod:`bench.metrics.kernels` in its cache (index files ``kernels.*.nbi``
next to the source, or under ``NUMBA_CACHE_DIR``); when there are none yet, a run's first measurement would wait
seconds for them. :func:`warm_early_if_cold` looks for those files without importing numba and, when there are
none, starts compiling the 8-bit kernels in the background at once, before the condition is read, the demo
content rendered and the sources hashed; the run later warms the bit depths it will measure (:func:`bench.metrics.
kernels.warm_in_background`), which costs nothing for those already compiled.
"""

from __future__ import annotations

import os
from pathlib import Path


def kernel_cache_is_cold() -> bool:
    """Whether numba has no cached kernel of this installation yet (no ``kernels.*.nbi`` index file where it would
    keep them); decided without importing numba. Where numba keeps them elsewhere (a read-only installation: its
    user-wide cache), this says cold and the early start costs loading them on a background thread."""
    cache = os.environ.get("NUMBA_CACHE_DIR")
    if cache:  # numba keeps a source folder's files in <NUMBA_CACHE_DIR>/<folder name>_<hash of its path>/
        return not any(Path(cache).glob("metrics_*/kernels.*.nbi"))
    return not any((Path(__file__).resolve().parent / "__pycache__").glob("kernels.*.nbi"))


def warm_early_if_cold() -> bool:
    """Start compiling the 8-bit kernels in the background when the cache is cold; whether it was started."""
    if not kernel_cache_is_cold():
        return False
    from bench.metrics.kernels import warm_in_background  # imports numba: only on a fresh installation

    warm_in_background((8,))
    return True
