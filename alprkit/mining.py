"""False-positive mining: a detector's boxes on labelled photos that overlap no labelled plate.

A detection whose IoU with every labelled plate is below ``iou`` (0.3, below which both
detector recipes call a box a negative), and which lies at most half on a plate, is a
false positive. :func:`mine` writes them to
``negatives.jsonl`` (:mod:`alprkit.data.negatives`), with a crop of each, for the
``kind: negatives`` source of detector training. A plate the labels miss is mined as a
"negative" too: mine sets that label every plate, or look through the crops first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from .atomic import atomic_write
from .batch import BatchReport, progress
from .data.negatives import NEGATIVES, negative_record
from .errors import ConfigError, InputError
from .imageio import imwrite_atomic, read_image
from .metrics import iou_matrix
from .types import Detection


def false_positives(found: Sequence[Detection], plates: Sequence, iou: float) -> list[Detection]:
    """The detections of ``found`` whose IoU with every box of ``plates`` is below ``iou``, and which lie
    at most half on a plate: a box on part of a plate is the plate found badly, not something else."""
    if not found or not plates:
        return list(found)
    boxes, truths = np.asarray([d.box for d in found], float), np.asarray(list(plates), float)
    best = iou_matrix(boxes, truths).max(axis=1)
    corner_max, corner_min = np.maximum(boxes[:, None, :2], truths[None, :, :2]), np.minimum(boxes[:, None, 2:],
                                                                                           truths[None, :, 2:])
    on_plates = np.prod(np.clip(corner_min - corner_max, 0, None), axis=2).max(axis=1)
    area = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 1e-9, None), axis=1)
    return [d for d, overlap, share in zip(found, best, on_plates / area) if overlap < iou and share <= 0.5]


def _cut(pixels: np.ndarray, box) -> np.ndarray | None:
    h, w = pixels.shape[:2]
    x0, y0 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    return pixels[y0:y1, x0:x1] if x1 > x0 and y1 > y0 else None


def mine(detector, samples, output, iou: float = 0.3, crops: bool = True, report: BatchReport | None = None,
         show_progress: bool = False) -> Path:
    """Run ``detector`` over the labelled ``samples``; write ``output/negatives.jsonl`` (and crops).

    Unreadable photos and photos with a plate labelled without a box are reported to
    ``report`` and skipped; the JSONL appears, whole, only at the end.
    """
    if not 0 < iou <= 1:
        raise ConfigError(f"iou={iou!r}: a detection counts as a false positive below this IoU (0 < iou <= 1)")
    output = Path(output)
    jsonl = output / NEGATIVES
    if jsonl.exists():
        raise ConfigError(f"output={output}: already holds {NEGATIVES}; give a new folder (nothing is overwritten)")
    report = report if report is not None else BatchReport()
    records = []
    for index, sample in enumerate(progress(samples, desc="mining", total=len(samples), enabled=show_progress)):
        if any(p.box is None for p in sample.plates):
            report.fail(sample.path, "a plate is labelled without a box: which detections miss it is unknown")
            continue
        try:
            frame = read_image(sample.path)
        except InputError as exc:
            report.fail(sample.path, exc.reason)
            continue
        negatives = false_positives(detector(frame), [p.box for p in sample.plates], iou)
        for k, found in enumerate(negatives):
            crop, rel = _cut(frame.pixels, found.box), None
            if crops and crop is not None:
                rel = f"crops/{index:06d}_{k:02d}.jpg"
                imwrite_atomic(output / rel, crop, quality=90)
            records.append(negative_record(jsonl, sample.path, found.box, found.score, (frame.width, frame.height),
                                           sample.plates, rel))
        report.done(plates=len(negatives))
    with atomic_write(jsonl) as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return jsonl
