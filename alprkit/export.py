"""Recognizers and detectors to ONNX files that describe themselves, and the shipped weights' ONNX files.

A recognizer's file records its alphabet, input size, region and regions, its build options
and whether its rows are CTC steps (``blank``: 0) or character positions (None); a detector
writes one file per network (``<stem>.<part>.onnx``). Exported from a weights file,
each also records that file's name and sha256, so ``backend=auto`` can tell a file made
from the weights beside it from a stale one (:mod:`alprkit.shipped_onnx`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .backends import export_onnx
from .errors import AlprkitError, ConfigError
from .onnx_external import read_weights_from_safetensors
from .onnx_wire import file_metadata
from .shipped_onnx import WEIGHTS_SHA256, file_sha256, onnx_beside

INPUT_RANGE = "RGB 0..255, NCHW float32"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alprkit")
    except PackageNotFoundError:
        return "unknown"


def _source(weights_path) -> dict:
    if weights_path is None:
        return {}
    return {"weights_file": Path(weights_path).name, WEIGHTS_SHA256: file_sha256(weights_path)}


def export_recognizer(recognizer, path, opset=17, weights_path=None) -> Path:
    """The recognizer's torch network as ONNX at ``path``, with what reading needs as metadata."""
    network = getattr(recognizer, "network", None)
    if network is None:
        raise ConfigError("this recognizer has no torch network to export")
    metadata = {"alphabet": list(recognizer.alphabet), "input_size": list(recognizer.input_size),
                "region": recognizer.region, "regions": list(getattr(recognizer, "regions", ())),
                "architecture": getattr(network, "architecture", None),
                "options": getattr(network, "options", None),
                "blank": getattr(recognizer, "blank", 0),  # None: per-position rows (class 0: no character)
                "input_range": INPUT_RANGE, "alprkit_version": _version(), **_source(weights_path)}
    return export_onnx(network, recognizer.input_size, path, opset=opset, metadata=metadata)


def export_detector(detector, path, opset=17, weights_path=None) -> dict[str, Path]:
    """Each network of a detector that lists them (``onnx_parts()``) as ``<path stem>.<part>.onnx``
    (``mtcnn.onnx`` -> ``mtcnn.pnet.onnx``; beside weights: ``mtcnn.multi.safetensors`` -> ``mtcnn.multi.pnet.onnx``)."""
    if not hasattr(detector, "onnx_parts"):
        raise ConfigError("this detector has no networks to export")
    about = detector.metadata() if hasattr(detector, "metadata") else {}
    written = {}
    for part, (network, size, free_size) in detector.onnx_parts().items():
        target = onnx_beside(path, part)
        metadata = {"architecture": about.get("architecture"), "options": about.get("options"), "part": part,
                    "example_size": list(size), "free_size": bool(free_size), "input_range": INPUT_RANGE,
                    "alprkit_version": _version(), **_source(weights_path)}
        written[part] = export_onnx(network, size, target, opset=opset, dynamic_size=free_size, metadata=metadata)
    return written


def export_quality(selector, path, opset=17, weights_path=None) -> Path:
    """A stream selector's quality network (``selector.scorer.network``: RGB crops -> (batch,) scores in [0, 1])
    as ONNX at ``path``, with what rebuilds and describes it (the weights' metadata) as metadata."""
    scorer = getattr(selector, "scorer", None)
    network = getattr(scorer, "network", None)
    if network is None:
        raise ConfigError("this selector has no quality network to export")
    about = {k: v for k, v in getattr(scorer, "about", {}).items() if k not in ("command", WEIGHTS_SHA256)}
    metadata = {**about, "architecture": scorer.architecture, "input_size": list(scorer.input_size),
                "input_range": INPUT_RANGE, "outputs": "quality (batch,) in [0, 1]", "alprkit_version": _version(),
                **_source(weights_path)}
    return export_onnx(network, scorer.input_size, path, opset=opset, metadata=metadata, output_names=["quality"])


@dataclass(frozen=True)
class ShippedWeights:
    kind: str  # recognizer, detector or selector (its quality network)
    name: str  # registry name with its tag: lprnet_basic.cn
    path: Path  # the .safetensors file


def shipped_weights(registry) -> list[ShippedWeights]:
    """Every weights file alprkit's own plugins ship (other distributions' folders are not written to)."""
    found = []
    for kind in ("recognizer", "detector", "selector"):
        for component in registry.components(kind):
            if component.provider.distribution != "alprkit":
                continue
            for tag, weights in sorted(component.weights.items()):
                found.append(ShippedWeights(kind, f"{component.name}.{tag}", Path(weights.path)))
    return found


def export_shipped(registry, opset=17, tolerance=1e-3, on_report=None, names=None) -> list[dict]:
    """Export every shipped weights file (or those ``names``, e.g. ``lprnet_reduced.cn``) to ONNX beside it,
    reading its tensors from the weights file (:mod:`alprkit.onnx_external`), and check each
    (:func:`check_shipped`); raise if any check fails."""
    items = shipped_weights(registry)
    if names is not None:
        unknown = sorted(set(names) - {item.name for item in items})
        if unknown:
            raise ConfigError(f"names: no shipped weights {', '.join(unknown)} (shipped: "
                              f"{', '.join(item.name for item in items)})")
        items = [item for item in items if item.name in names]
    reports, failed = [], []
    for item in items:
        reference = registry.create(item.kind, item.name, backend="torch")
        if item.kind == "recognizer":
            written = [export_recognizer(reference, onnx_beside(item.path), opset, item.path)]
        elif item.kind == "selector":
            written = [export_quality(reference, onnx_beside(item.path), opset, item.path)]
        else:
            written = list(export_detector(reference, item.path, opset, item.path).values())
        for path in written:  # the weights once, not twice: checked below as they ship
            read_weights_from_safetensors(path, item.path)
        report = check_shipped(registry, item, tolerance, reference)
        reports.append(report)
        if on_report:
            on_report(report)
        if not report["ok"]:
            failed.append(item.name)
    if failed:
        raise AlprkitError(f"exported ONNX files differ from PyTorch (or are not used by backend=auto) for "
                           f"{', '.join(failed)}; see the JSON lines above")
    return reports


def check_shipped(registry, item: ShippedWeights, tolerance=1e-3, reference=None) -> dict:
    """Whether the ONNX files beside a shipped weights file were made from it and do what it does.

    The networks are compared with torch on random inputs, then the component
    ``backend=auto`` builds (from the ONNX files) with the torch one on the sample crops
    (recognizers, selectors' quality networks) or synthetic scenes (detectors).
    """
    from .parity import (detector_agreement, output_parity, parity, quality_agreement, recognizer_agreement,
                         sample_crops, sample_scenes)

    reference = reference or registry.create(item.kind, item.name, backend="torch")
    built = registry.create(item.kind, item.name, backend="auto")
    if item.kind == "recognizer":
        files = {None: onnx_beside(item.path)}
        checks = {"random": parity(reference.network, files[None], reference.input_size, tolerance),
                  "samples": recognizer_agreement(reference, built, sample_crops(reference.input_size), tolerance)}
    elif item.kind == "selector":
        files = {None: onnx_beside(item.path)}
        reference, built = reference.scorer, built.scorer  # the quality networks: what the ONNX file holds
        checks = {"random": output_parity(reference.network, files[None], reference.input_size, tolerance),
                  "samples": quality_agreement(reference, built, sample_crops(reference.input_size), tolerance)}
    else:
        parts = reference.onnx_parts()
        files = {part: onnx_beside(item.path, part) for part in parts}
        checks = {f"random {part}": output_parity(network, files[part], size, tolerance)
                  for part, (network, size, _) in parts.items()}
        checks["scenes"] = detector_agreement(reference, built, sample_scenes())
    digest = file_sha256(item.path)
    fresh = all(_recorded_sha256(path) == digest for path in files.values())
    chosen = getattr(built, "backend_choice", None)
    on_onnx = chosen is not None and chosen.backend == "onnxruntime" and bool(chosen.sessions)
    return {"weights": item.name, "files": [str(f) for f in files.values()],
            "mb": round(sum(f.stat().st_size for f in files.values()) / 1e6, 2), "made_from_these_weights": fresh,
            "auto_runs_onnx": on_onnx, **checks, "ok": fresh and on_onnx and all(c["ok"] for c in checks.values())}


def _recorded_sha256(path) -> str | None:
    return file_metadata(path).get(WEIGHTS_SHA256)
