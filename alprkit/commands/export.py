"""``alprkit export``: recognizers and detectors to ONNX, checked for parity with PyTorch.

``alprkit export recognizer=NAME [output=FILE.onnx]`` writes one file carrying the
alphabet, input size and region as ONNX metadata, so it is usable without alprkit. With
``check=true`` (the default) it is run in onnxruntime beside eager PyTorch on random
crops; the command fails if the logits differ beyond ``tolerance`` or a decoded string differs.

``alprkit export +detector=NAME [output=FILE.onnx]`` exports each network of a detector
that lists them (``onnx_parts()``) as ``FILE.<part>.onnx`` (``mtcnn.pnet.onnx``,
``mtcnn.onet.onnx``), each checked the same way on random images.

``alprkit export +selector=NAME [output=FILE.onnx]`` exports a stream selector's quality
network (EQ-LPR's ``eqlpr_p``, ``eqlpr_s``, ``eqlpr_e``: RGB crops -> quality scores), checked the same way.

``alprkit export shipped=true`` (re)writes the ONNX files beside every weights file the
bundled plugins ship (``lprnet_basic.cn.onnx``, ``mtcnn.multi.pnet.onnx`` ...), which the
default ``backend=auto`` runs on onnxruntime without PyTorch; they read their weights from the
safetensors file beside them (:mod:`alprkit.onnx_external`). Each is checked on random
inputs and, built as ``backend=auto`` builds it, against torch on the sample crops or
synthetic scenes; the command fails when any differs. Run it after retraining a shipped
model: an ONNX file made from other weights is not used, and the test suite fails on it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import AlprkitError
from ..export import export_detector, export_quality, export_recognizer, export_shipped
from ..parity import output_parity, parity
from ..pipeline import build_component

__all__ = ["main", "parity", "output_parity"]


def main(cfg, words) -> int:
    if cfg.shipped:
        from .. import plugins

        def show(report):
            print(json.dumps(report), flush=True)
            print(f"alprkit: {report['weights']}: {', '.join(Path(f).name for f in report['files'])} "
                  f"({report['mb']:.2f} MB) {'ok' if report['ok'] else 'DIFFERS'}", file=sys.stderr)

        names = list(cfg.get("names") or []) or None
        export_shipped(plugins.registry(), int(cfg.opset), float(cfg.tolerance), show, names=names)
        return 0
    if cfg.get("detector"):
        return _export_detector(cfg)
    if cfg.get("selector"):
        return _export_selector(cfg)
    recognizer = build_component("recognizer", _on_torch(cfg.recognizer))
    output = Path(cfg.output or f"{cfg.recognizer.name}.onnx")
    export_recognizer(recognizer, output, int(cfg.opset))
    print(f"alprkit: exported {cfg.recognizer.name} to {output} ({output.stat().st_size / 1e6:.2f} MB)",
          file=sys.stderr)
    if cfg.check:
        report = parity(recognizer.network, output, recognizer.input_size, float(cfg.tolerance))
        print(json.dumps(report))
        if not report["ok"]:
            raise AlprkitError(f"{output}: ONNX output differs from PyTorch (max |logit diff| "
                               f"{report['max_abs_diff']:.2e} > {cfg.tolerance}, "
                               f"{report['strings_differ']} decoded strings differ)")
    return 0


def _export_detector(cfg) -> int:
    detector = build_component("detector", _on_torch(cfg.detector))
    output = Path(cfg.output or f"{cfg.detector.name}.onnx")
    written = export_detector(detector, output, int(cfg.opset))
    failed = []
    for part, (network, size, _) in detector.onnx_parts().items():
        path = written[part]
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


def _export_selector(cfg) -> int:
    selector = build_component("selector", _on_torch(cfg.selector))
    output = Path(cfg.output or f"{cfg.selector.name}.onnx")
    export_quality(selector, output, int(cfg.opset))
    print(f"alprkit: exported the quality network of {cfg.selector.name} to {output} "
          f"({output.stat().st_size / 1e6:.2f} MB)", file=sys.stderr)
    if cfg.check:
        scorer = selector.scorer
        report = output_parity(scorer.network, output, scorer.input_size, float(cfg.tolerance))
        print(json.dumps(report))
        if not report["ok"]:
            raise AlprkitError(f"{output}: ONNX quality scores differ from PyTorch by {report['max_abs_diff']:.2e} "
                               f"> {cfg.tolerance}")
    return 0


def _on_torch(node):
    """The component node with ``backend=torch``: export needs the torch network, not a shipped ONNX file."""
    from omegaconf import OmegaConf

    return OmegaConf.merge(node, {"backend": "torch"}) if "backend" in node else node
