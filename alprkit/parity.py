"""Does an exported ONNX file do what its torch network does? Checked by ``alprkit export`` and the tests.

Two levels: a network's outputs on random inputs (within a tolerance, with the same
greedy strings and regions), and a whole component built on the shipped ONNX files
against the same component on torch, on the built-in sample crops and on synthetic
scenes (the same reads, the same plates found).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .backends import OnnxBackend, TorchBackend
from .recognizers import softmax

SAMPLES = Path(__file__).resolve().parent / "samples"


def _outputs(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def _batch(input_size, count, seed) -> np.ndarray:
    w, h = input_size
    return np.random.default_rng(seed).uniform(0, 255, size=(count, 3, h, w)).astype(np.float32)


def parity(network, onnx_path, input_size, tolerance, count=16, seed=0) -> dict:
    """Compare eager PyTorch and onnxruntime logits and greedy strings on random crops."""
    batch = _batch(input_size, count, seed)
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


def output_parity(network, onnx_path, input_size, tolerance, count=4, seed=0) -> dict:
    """The largest difference between eager PyTorch and onnxruntime outputs on random images."""
    batch = _batch(input_size, count, seed)
    pairs = zip(_outputs(TorchBackend(network)(batch)), _outputs(OnnxBackend(onnx_path)(batch)))
    diff = max(float(np.abs(a - b).max()) for a, b in pairs)
    return {"max_abs_diff": diff, "ok": diff <= tolerance}


def sample_crops(input_size) -> list:
    """The built-in sample crops (cn and us), fitted to ``input_size``, as Crops."""
    from .geometry import fit_crop
    from .imageio import list_images, read_image
    from .types import Crop, Detection

    crops = []
    for path in list_images(SAMPLES):
        pixels = fit_crop(read_image(path).pixels, input_size)
        crops.append(Crop(pixels, Detection((0.0, 0.0, float(input_size[0]), float(input_size[1])))))
    return crops


def sample_scenes(count=4, seed=0) -> list:
    """Synthetic street scenes with plates of every region (the same ones on every call)."""
    from .data.synth.scenes import render_scene
    from .types import Frame

    rng = np.random.default_rng(seed)
    regions = ("cn", "us", "eu", "br")
    return [Frame(render_scene(rng, regions[i % len(regions)], size=(960, 540), max_plates=2).image)
            for i in range(count)]


def recognizer_agreement(reference, candidate, crops, tolerance) -> dict:
    """Two recognizers (torch and ONNX) on the same crops: probabilities within ``tolerance``,
    the same greedy string and predicted region for every crop."""
    expected, got = reference(crops), candidate(crops)
    # Rows of per-position scores cut where a plate ends (an attention decoder) may differ in number.
    same = [a.probs.shape == b.probs.shape for a, b in zip(expected, got)]
    diff = max(float(np.abs(a.probs - b.probs).max()) if ok and a.probs.size else 0.0 if ok else float("inf")
               for a, b, ok in zip(expected, got, same))
    strings = sum(not ok or (a.probs.argmax(axis=1) != b.probs.argmax(axis=1)).any()
                  for a, b, ok in zip(expected, got, same))
    regions = sum(a.region != b.region for a, b in zip(expected, got))
    ok = (diff <= tolerance and strings == 0 and regions == 0 and candidate.alphabet == reference.alphabet
          and tuple(candidate.regions) == tuple(reference.regions))
    return {"crops": len(crops), "max_prob_diff": diff, "strings_differ": int(strings), "regions_differ": int(regions),
            "same_alphabet": candidate.alphabet == reference.alphabet, "ok": bool(ok)}


def quality_agreement(reference, candidate, crops, tolerance) -> dict:
    """Two quality scorers (torch and ONNX) on the same crops: scores within ``tolerance``, and every two
    crops whose scores differ by more than twice it ranked the same way (the choice a selector makes)."""
    expected, got = np.asarray(reference(crops), np.float64), np.asarray(candidate(crops), np.float64)
    diff = float(np.abs(expected - got).max()) if len(crops) else 0.0
    apart = np.abs(expected[:, None] - expected[None, :]) > 2 * tolerance
    flipped = apart & (np.sign(expected[:, None] - expected[None, :]) != np.sign(got[:, None] - got[None, :]))
    return {"crops": len(crops), "max_score_diff": diff, "pairs_flipped": int(flipped.sum()) // 2,
            "ok": diff <= tolerance and not flipped.any()}


def detector_agreement(reference, candidate, frames, pixels=0.5) -> dict:
    """Two detectors (torch and ONNX) on the same frames: as many plates, boxes within ``pixels``."""
    counts_differ, box_diff, score_diff, found = 0, 0.0, 0.0, 0
    for frame in frames:
        a, b = reference(frame), candidate(frame)
        found += len(a)
        if len(a) != len(b):
            counts_differ += 1
            continue
        for x, y in zip(a, b):
            box_diff = max(box_diff, float(np.abs(np.subtract(x.box, y.box)).max()))
            score_diff = max(score_diff, abs(x.score - y.score))
    return {"frames": len(frames), "plates": found, "counts_differ": counts_differ, "max_box_diff": box_diff,
            "max_score_diff": score_diff, "ok": counts_differ == 0 and box_diff <= pixels}
