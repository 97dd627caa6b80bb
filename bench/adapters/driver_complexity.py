"""Counting a neural codec's parameters and multiply-accumulates with PyTorch's own FLOP counter.

Standalone on purpose (the standard library and torch only, nothing from ``bench``): the drivers import it
from their own folder inside a codec's own interpreter (DHVC, a user's Python model), and the suite imports
it for in-process models (:mod:`bench.adapters.complexity`), so one definition counts everywhere.

``torch.utils.flop_counter.FlopCounterMode`` counts a multiply-add as 2 FLOPs for every operator it has a
formula for (convolutions of every kind, matrix products, attention kernels; :func:`counted_operators`), so
MACs are its FLOPs halved. Everything else is not counted: elementwise work, pooling, interpolation,
``grid_sample``, quantisation and entropy coding.
"""

import json
import sys


def parameter_count(module):
    """Parameter elements of an ``nn.Module``, a parameter shared by several layers counted once."""
    return sum(p.numel() for p in module.parameters())


def modules_of(obj):
    """The ``nn.Module`` OBJ is, or the modules among its attributes (a codec object holding its networks)."""
    import torch

    if isinstance(obj, torch.nn.Module):
        return [obj]
    return [v for v in vars(obj).values() if isinstance(v, torch.nn.Module)] if hasattr(obj, "__dict__") else []


def unique_parameter_count(modules):
    seen, total = set(), 0
    for m in modules:
        for p in m.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                total += p.numel()
    return total


def _op_name(op):
    return str(op).removeprefix("aten.")


def counted_operators():
    """The forward operators this torch's FlopCounterMode counts (its formula registry less backward ops)."""
    from torch.utils.flop_counter import flop_registry

    return sorted(_op_name(op) for op in flop_registry if "backward" not in _op_name(op))


class _GlobalOnly:
    """Stands in for FlopCounterMode's module tracker: only the global total is used here, and the tracker's
    per-module autograd hooks fail on inputs that require grad without a graph (a parameter's view made under
    no_grad: DHVC's temporal bias)."""

    parents = frozenset({"Global"})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def count_macs(fn):
    """Run ``fn()`` once without autograd; return (MACs, {operator: MACs}) and fn's result."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    if hasattr(counter, "mod_tracker"):
        counter.mod_tracker = _GlobalOnly()
    with torch.no_grad(), counter:
        result = fn()
    by_op = {_op_name(op): int(flops) // 2 for op, flops in counter.get_flop_counts().get("Global", {}).items()}
    return int(counter.get_total_flops()) // 2, by_op, result


def report(params, encode, decode, width, height, where, what):
    """One JSON line of a driver's complexity count, in the fields of bench.adapters.complexity.ModelComplexity."""
    import torch

    pixels = width * height
    print(json.dumps({"complexity": {
        "params": params, "encode_macs": encode[0], "decode_macs": decode[0],
        "encode_kmac_per_pixel": encode[0] / pixels / 1000, "decode_kmac_per_pixel": decode[0] / pixels / 1000,
        "height": height, "width": width, "frame": where,
        "method": (f"torch.utils.flop_counter.FlopCounterMode (torch {torch.__version__}) in the codec's own "
                   f"interpreter on {what}; MACs = counted FLOPs / 2; kMAC/pixel = MACs / ({width}*{height}) / "
                   f"1000. Counted operators: {', '.join(counted_operators())}. Not counted: elementwise ops, "
                   "pooling, interpolation, grid_sample, quantisation, entropy coding"),
        "torch_version": torch.__version__, "encode_macs_by_op": encode[1], "decode_macs_by_op": decode[1]}}),
        flush=True)


if __name__ == "__main__":
    sys.exit("driver_complexity.py is imported by the drivers, not run")
