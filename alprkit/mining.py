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
from .data.cutouts import cut_out
from .data.negatives import NEGATIVES, negative_record
from .errors import ConfigError, InputError
from .geometry import box_quad
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


def _write_crop(pixels: np.ndarray, box, output: Path, rel: str) -> str | None:
    """Write the detection cut out to ``output/rel``; None when under 2 px of it lies on the photo."""
    try:
        crop = cut_out(pixels, box_quad(box))
    except ValueError:
        return None
    imwrite_atomic(output / rel, crop, quality=90)
    return rel


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
            rel = _write_crop(frame.pixels, found.box, output, f"crops/{index:06d}_{k:02d}.jpg") if crops else None
            records.append(negative_record(jsonl, sample.path, found.box, found.score, (frame.width, frame.height),
                                           sample.plates, rel))
        report.done(plates=len(negatives))
    with atomic_write(jsonl) as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return jsonl
