"""Our driver for ``adapter: python-model``, run with the interpreter of the user's environment (it imports
only the standard library, numpy and the user's module; nothing from ``bench``).

The protocol a model implements (the README's "Evaluate your own codec" shows both kinds whole):

* ``factory(rate_point, device, **options)`` returns a codec object; the encoder's is made in one process and
  the decoder's in another, which never saw the input, so that nothing passes between them except the bytes;
* ``codec.compress(frame) -> bytes`` and ``codec.decompress(data, height, width) -> frame``, where a frame is a
  numpy float32 array (3, height, width) of R, G, B in [0, 1];
* a video codec (``kind: video``) may keep state between frames (its references); ``codec.reset()`` is called
  on the encoder before it compresses, and on the decoder before it decompresses, every intra frame (frame 0,
  N, 2N ... for intra period N; only frame 0 for -1). An image codec (``kind: image``) is never reset and
  must code every frame on its own.

A rate point is passed to the factory as the job description holds it: one number or word, or, where the
descriptor declares ``rate_point_fields``, a list of that many values in their order.

One run of the driver does one step (``"phase"``). ``encode`` reads the planar R, G, B input and writes each
frame's bytes to its own file (``frame_00000.bin`` ...). ``decode``, a separate process started by the suite in
a fresh folder that holds only those files (the input and the encoder's folder deleted before), reads every file
back and decompresses it; the output is clipped to [0, 1], rounded to 8 bits and written as planar R, G, B.
Each prints one JSON line per frame (``bytes`` and its step's seconds) and a last ``done`` line (see
bench.adapters.driver).

Usage: ``python model_driver.py SPEC.json`` with SPEC = {"model": "package.module:factory", "path": [folders
to import from], "options", "rate_point", "device", "kind", "gop", "input" (encode only), "width", "height",
"frames", "out", "phase": "encode" or "decode", "complexity" (encode: count frame 0 first, untimed),
"warmup" (decode: decompress frame 0 once first on an instance of its own, untimed)}.
"""

import importlib
import json
import sys
import time
from pathlib import Path


def _factory(spec):
    for folder in spec.get("path") or []:
        sys.path.insert(0, folder)
    module_name, _, name = spec["model"].partition(":")
    return getattr(importlib.import_module(module_name), name)


def _sync(device):
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _count(spec, factory, options, w, h):
    """Parameters and MACs of frame 0's compress and decompress, on instances of their own (untimed; also the
    warm-up of the timed pass), printed as one {"complexity": ...} line; a model without torch says so."""
    import numpy as np

    encoder = factory(spec["rate_point"], spec["device"], **options)
    if "torch" not in sys.modules:
        # Neither the model's module nor its factory imported torch (a numpy codec, say): there is nothing torch
        # could count, and importing it here only to find that out would cost seconds in every job.
        print(json.dumps({"complexity": {"not_counted": "the model does not use torch (not imported by its module "
                                                        "or factory): its operations cannot be counted"}}), flush=True)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import driver_complexity as dc

    with open(spec["input"], "rb") as src:
        raw = np.frombuffer(src.read(3 * w * h), dtype=np.uint8)
    x = (raw.reshape(3, h, w) / 255.0).astype(np.float32)
    if spec["kind"] == "video":
        encoder.reset()
    encode = dc.count_macs(lambda: encoder.compress(x))
    decoder = factory(spec["rate_point"], spec["device"], **options)
    if spec["kind"] == "video":
        decoder.reset()
    decode = dc.count_macs(lambda: decoder.decompress(encode[2], h, w))
    modules = dc.modules_of(encoder)
    dc.report(dc.unique_parameter_count(modules) if modules else None, encode[:2], decode[:2], w, h, "intra",
              "frame 0: compress(frame) and decompress(bytes, h, w) as the driver calls them; parameters of the "
              + ("codec object" if modules else "codec object: none found (no torch.nn.Module in it)"))


def _encode(spec, factory, options, np):
    w, h, frames, gop, device = spec["width"], spec["height"], spec["frames"], spec["gop"], spec["device"]
    out = Path(spec["out"])
    encoder = factory(spec["rate_point"], device, **options)
    with open(spec["input"], "rb") as src:
        for fi in range(frames):
            raw = np.frombuffer(src.read(3 * w * h), dtype=np.uint8)
            if raw.size != 3 * w * h:
                raise SystemExit(f"driver: {spec['input']} ends before frame {fi}")
            x = (raw.reshape(3, h, w) / 255.0).astype(np.float32)
            t0 = time.perf_counter()
            if spec["kind"] == "video" and fi % gop == 0:
                encoder.reset()
            data = encoder.compress(x)
            _sync(device)
            encode_s = time.perf_counter() - t0
            if not isinstance(data, (bytes, bytearray)):
                raise SystemExit(f"driver: compress() returned {type(data).__name__}, not bytes (frame {fi})")
            (out / f"frame_{fi:05d}.bin").write_bytes(bytes(data))
            print(json.dumps({"frame": fi, "bytes": len(data), "encode_s": encode_s}), flush=True)


def _decode(spec, factory, options, np):
    w, h, frames, gop, device = spec["width"], spec["height"], spec["frames"], spec["gop"], spec["device"]
    out = Path(spec["out"])
    if spec.get("warmup") and frames:  # the timed pass after one untimed call, as on the encoder's side
        warm = factory(spec["rate_point"], device, **options)
        if spec["kind"] == "video":
            warm.reset()
        warm.decompress((out / "frame_00000.bin").read_bytes(), h, w)
        _sync(device)
        del warm
    decoder = factory(spec["rate_point"], device, **options)
    with open(out / "decoded.rgb", "wb") as dec:
        for fi in range(frames):
            data = (out / f"frame_{fi:05d}.bin").read_bytes()
            t0 = time.perf_counter()
            if spec["kind"] == "video" and fi % gop == 0:
                decoder.reset()
            y = decoder.decompress(data, h, w)
            _sync(device)
            decode_s = time.perf_counter() - t0
            y = np.asarray(y, dtype=np.float32)
            if y.shape != (3, h, w):
                raise SystemExit(f"driver: decompress() gave an array of shape {y.shape}, expected (3, {h}, {w})")
            dec.write(np.clip(np.rint(y * 255), 0, 255).astype(np.uint8).tobytes())
            print(json.dumps({"frame": fi, "bytes": len(data), "decode_s": decode_s}), flush=True)


def main(spec_path):
    import numpy as np

    spec = json.loads(Path(spec_path).read_text())
    factory = _factory(spec)
    Path(spec["out"]).mkdir(parents=True, exist_ok=True)
    options = spec.get("options") or {}
    if spec["phase"] == "encode":
        if spec.get("complexity"):
            _count(spec, factory, options, spec["width"], spec["height"])
        _encode(spec, factory, options, np)
    elif spec["phase"] == "decode":
        _decode(spec, factory, options, np)
    else:
        raise SystemExit(f"driver: unknown phase {spec['phase']!r} (encode or decode)")
    print(json.dumps({"done": True, "python": sys.version.split()[0], "numpy": np.__version__}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
