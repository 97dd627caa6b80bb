"""Loaded by every Python process of a DCVC-family run whose descriptor says ``cpu_stream: true`` (this folder is
put first on PYTHONPATH): ``torch.cuda.synchronize`` becomes a no-op when no CUDA device is in play, so a stream
path that calls it only as a timing barrier runs on a CPU. Nothing else changes; the record says it was used."""

try:
    import torch

    _synchronize = torch.cuda.synchronize

    def _synchronize_cuda_only(device=None):  # noqa: ANN001, ANN202 (torch's own signature)
        if not torch.cuda.is_available() or (device is not None and torch.device(device).type != "cuda"):
            return None
        return _synchronize(device)

    torch.cuda.synchronize = _synchronize_cuda_only
except ImportError:  # an interpreter without torch: nothing to patch
    pass
