"""Plates cut out of labelled full images: crops for recognizers from photo sets.

Photo sets (``annotations.jsonl``, CCPD) label each plate with a box and often four
corners. :func:`plates_as_crops` turns such a set into a crops set, one sample per
plate with text, whose image is the plate cut out by its box (what a user with
those photos and a crop recognizer would do), so ``alprkit eval crops_from=box``
scores a recognizer on the EU and BR photo sets. Training cuts plates through
jittered corners instead (:class:`alprkit.train.data.PhotoPlatesSource`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import ConfigError
from ..geometry import box_quad, warp_quad
from ..types import Detection, Frame
from .dataset import CROPS, Dataset

CUT_BY = ("box", "corners")
# How training cuts a photo's plate through its (jittered) corners, as the rectifier of the pipeline
# that reads it will: a homography (perspective), seed 002's affine fit (affine, as affine_ransac),
# or no rectification, the axis-aligned box around the corners (box, as identity: seed 002's
# Table 6 "rectification off"). ``dataset.cut`` of the real_multi data set.
CUTS = ("perspective", "affine", "box")


def plate_quad(plate, by: str = "corners") -> np.ndarray | None:
    """TL, TR, BR, BL of a labelled plate: its corners (if ``by`` allows and it has them) or its box."""
    if by == "corners" and plate.corners is not None:
        return np.asarray(plate.corners, dtype=np.float64)
    return None if plate.box is None else box_quad(plate.box)


def plates_as_crops(dataset: Dataset, by: str = "box") -> Dataset:
    """One crops sample per plate with text and a box (or corners) of a full-image set."""
    if by not in CUT_BY:
        raise ConfigError(f"crops_from={by!r} is not one of {', '.join(CUT_BY)}")
    if dataset.kind == CROPS:
        return dataset
    samples = []
    for sample in dataset.samples:
        for index, plate in enumerate(sample.plates):
            quad = plate_quad(plate, by)
            if plate.text is None or quad is None:
                continue
            extra = {**sample.extra, "cut_quad": quad.tolist(), "cut_by": by, "plate_index": index}
            samples.append(replace(sample, plates=(plate,), extra=extra))
    return Dataset(name=dataset.name, kind=CROPS, root=dataset.root, samples=samples, problems=list(dataset.problems))


def cut_out(pixels: np.ndarray, quad, by: str = "box") -> np.ndarray:
    """The plate's pixels: the box's rectangle as is, or the corners warped to the plate's own size."""
    quad = np.asarray(quad, dtype=np.float64)
    h, w = pixels.shape[:2]
    if by == "box":
        x1, y1 = np.floor(quad.min(axis=0)).astype(int)
        x2, y2 = np.ceil(quad.max(axis=0)).astype(int)
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
        if x2 - x1 < 2 or y2 - y1 < 2:
            raise ValueError(f"plate box {quad.min(axis=0).tolist()}..{quad.max(axis=0).tolist()} is outside "
                             f"the {w}x{h} image")
        return pixels[y1:y2, x1:x2].copy()
    size = (max(8, int(round(np.linalg.norm(quad[1] - quad[0])))), max(4, int(round(np.linalg.norm(quad[3] - quad[0])))))
    x1, y1, x2, y2 = *quad.min(axis=0), *quad.max(axis=0)
    return warp_quad(Frame(pixels), Detection((x1, y1, x2, y2)), quad, size).pixels
