"""``alprkit export recognizer=NAME [output=FILE.onnx]``: a recognizer to ONNX, checked for parity.

The file carries the alphabet, input size and region as ONNX metadata, so it is
usable without alprkit. With ``check=true`` (the default) the exported model is run
in onnxruntime beside eager PyTorch on random crops; the command fails if the logits
differ beyond ``tolerance`` or a decoded string differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ..backends import OnnxBackend, TorchBackend, export_onnx
from ..errors import AlprkitError, ConfigError
from ..pipeline import build_component
from ..recognizers import softmax


def main(cfg, words) -> int:
    recognizer = build_component("recognizer", cfg.recognizer)
    network = getattr(recognizer, "network", None)
    if network is None:
        raise ConfigError(f"recognizer {cfg.recognizer.name!r} has no torch network to export")
    output = Path(cfg.output or f"{cfg.recognizer.name}.onnx")
    export_onnx(network, recognizer.input_size, output, opset=int(cfg.opset))
    _add_metadata(output, {"alphabet": json.dumps(recognizer.alphabet, ensure_ascii=False),
                           "input_size": json.dumps(list(recognizer.input_size)),
                           "region": str(recognizer.region), "input_range": "RGB 0..255, NCHW float32"})
    print(f"alprkit: exported {cfg.recognizer.name} to {output} ({output.stat().st_size / 1e6:.2f} MB)",
          file=sys.stderr)
    if cfg.check:
        report = parity(network, output, recognizer.input_size, float(cfg.tolerance))
        print(json.dumps(report))
        if not report["ok"]:
            raise AlprkitError(f"{output}: ONNX output differs from PyTorch (max |logit diff| "
                               f"{report['max_abs_diff']:.2e} > {cfg.tolerance}, "
                               f"{report['strings_differ']} decoded strings differ)")
    return 0


def parity(network, onnx_path, input_size, tolerance, count=16, seed=0) -> dict:
    """Compare eager PyTorch and onnxruntime logits and greedy strings on random crops."""
    w, h = input_size
    batch = np.random.default_rng(seed).uniform(0, 255, size=(count, 3, h, w)).astype(np.float32)
    expected = TorchBackend(network)(batch)
    got = OnnxBackend(onnx_path)(batch)
    diff = float(np.abs(expected - got).max())
    strings_differ = int(sum((a.argmax(axis=0) != b.argmax(axis=0)).any()
                             for a, b in zip(softmax(expected, 1), softmax(got, 1))))
    return {"max_abs_diff": diff, "strings_differ": strings_differ, "ok": diff <= tolerance and strings_differ == 0}


def _add_metadata(path, values: dict):
    import onnx

    from ..atomic import write_bytes_atomic

    model = onnx.load(str(path))
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    write_bytes_atomic(path, model.SerializeToString())
