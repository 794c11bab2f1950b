"""``alprkit export recognizer=NAME [output=FILE.onnx]``: a recognizer to ONNX, checked for parity.

The file carries the alphabet, input size and region as ONNX metadata, so it is
usable without alprkit. With ``check=true`` (the default) the exported model is run
in onnxruntime beside eager PyTorch on random crops; the command fails if the logits
differ beyond ``tolerance`` or a decoded string differs.

``alprkit export +detector=NAME [output=FILE.onnx]`` exports each network of a
detector that lists them (``onnx_parts()``) as ``FILE.<part>.onnx`` (``mtcnn.pnet.onnx``,
``mtcnn.onet.onnx``), each checked the same way on random images.
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
    if cfg.get("detector"):
        return export_detector(cfg)
    recognizer = build_component("recognizer", cfg.recognizer)
    network = getattr(recognizer, "network", None)
    if network is None:
        raise ConfigError(f"recognizer {cfg.recognizer.name!r} has no torch network to export")
    output = Path(cfg.output or f"{cfg.recognizer.name}.onnx")
    export_onnx(network, recognizer.input_size, output, opset=int(cfg.opset))
    _add_metadata(output, {"alphabet": json.dumps(recognizer.alphabet, ensure_ascii=False),
                           "input_size": json.dumps(list(recognizer.input_size)),
                           "region": str(recognizer.region), "input_range": "RGB 0..255, NCHW float32",
                           "regions": json.dumps(list(getattr(recognizer, "regions", ())))})
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
    expected = _outputs(TorchBackend(network)(batch))
    got = _outputs(OnnxBackend(onnx_path)(batch))
    diff = max(float(np.abs(a - b).max()) for a, b in zip(expected, got))
    # Logits first; a region head's argmax must agree as well.
    strings_differ = int(sum((a.argmax(axis=0) != b.argmax(axis=0)).any()
                             for a, b in zip(softmax(expected[0], 1), softmax(got[0], 1))))
    regions_differ = int((expected[1].argmax(axis=1) != got[1].argmax(axis=1)).sum()) if len(expected) > 1 else 0
    report = {"max_abs_diff": diff, "strings_differ": strings_differ,
              "ok": diff <= tolerance and strings_differ == 0 and regions_differ == 0}
    if len(expected) > 1:
        report["regions_differ"] = regions_differ
    return report


def _outputs(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def export_detector(cfg) -> int:
    detector = build_component("detector", cfg.detector)
    if not hasattr(detector, "onnx_parts"):
        raise ConfigError(f"detector {cfg.detector.name!r} has no networks to export")
    output = Path(cfg.output or f"{cfg.detector.name}.onnx")
    failed = []
    for part, (network, size, exporter) in detector.onnx_parts().items():
        path = output.with_name(f"{output.stem}.{part}.onnx")
        exporter(network, size, path, opset=int(cfg.opset))
        _add_metadata(path, {"detector": str(cfg.detector.name), "part": part, "example_size": json.dumps(list(size)),
                             "input_range": "RGB 0..255, NCHW float32"})
        print(f"alprkit: exported {cfg.detector.name} {part} to {path} ({path.stat().st_size / 1e6:.2f} MB)",
              file=sys.stderr)
        if cfg.check:
            report = {"part": part, **output_parity(network, path, size, float(cfg.tolerance))}
            print(json.dumps(report))
            if not report["ok"]:
                failed.append(f"{path} (max |output diff| {report['max_abs_diff']:.2e})")
    if failed:
        raise AlprkitError(f"ONNX output differs from PyTorch beyond {cfg.tolerance}: {', '.join(failed)}")
    return 0


def output_parity(network, onnx_path, input_size, tolerance, count=4, seed=0) -> dict:
    """The largest difference between eager PyTorch and onnxruntime outputs on random images."""
    w, h = input_size
    batch = np.random.default_rng(seed).uniform(0, 255, size=(count, 3, h, w)).astype(np.float32)
    pairs = zip(_outputs(TorchBackend(network)(batch)), _outputs(OnnxBackend(onnx_path)(batch)))
    diff = max(float(np.abs(a - b).max()) for a, b in pairs)
    return {"max_abs_diff": diff, "ok": diff <= tolerance}


def _add_metadata(path, values: dict):
    import onnx

    from ..atomic import write_bytes_atomic

    model = onnx.load(str(path))
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    write_bytes_atomic(path, model.SerializeToString())
