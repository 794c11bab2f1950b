"""What a segmenting recognizer learned (seed 002, Fig. 5): per plate, the detected patch with its
corners, the rectified plate, the segments its STNs cut from it, and the segments cut from the
unrectified plate (the detection's box) by a model trained without rectification.

A recognizer takes part by having ``segments(crops) -> (n, K, h, w, 3)`` uint8 (the
parallel-STN recognizer has it). :func:`plate_segments` collects the rows,
:func:`alprkit.draw.contact_sheet` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .errors import ConfigError
from .geometry import box_quad, expand_quad
from .types import Detection, Frame


@dataclass(frozen=True)
class SegmentRow:
    source: str
    patch: np.ndarray  # the detection's surroundings, corners drawn
    rectified: np.ndarray  # the crop the pipeline's rectifier cut
    segments: np.ndarray  # (K, h, w, 3) from ``rectified``
    text: str
    unrectified: Optional[np.ndarray] = None  # the detection's box, resized, and its segments and read
    unrectified_segments: Optional[np.ndarray] = None
    unrectified_text: str = ""


def check_segmenting(recognizer, key: str) -> None:
    if not callable(getattr(recognizer, "segments", None)):
        raise ConfigError(f"{key}: {type(recognizer).__name__} cuts no segments (a parallel-STN recognizer does: "
                          "recognizer=parallel_stn or pipeline=pstn_cn)")


def plate_segments(pipeline, frames, limit: int, unrectified=None, on_bad=None) -> list[SegmentRow]:
    """Rows for the first ``limit`` plates the pipeline finds in ``frames`` (an iterable of Frames,
    or of ``(name, error)`` for images that could not be read, passed to ``on_bad``).

    ``unrectified`` is ``(rectifier, recognizer)`` for the column without rectification: the
    same detection cut by that rectifier (identity: its box) and read by that recognizer.
    """
    check_segmenting(pipeline.recognizer, "recognizer")
    if unrectified is not None:
        check_segmenting(unrectified[1], "unrectified.weights")
    rows = []
    for frame in frames:
        if not isinstance(frame, Frame):
            if on_bad is not None:
                on_bad(*frame)
            continue
        for observation in pipeline.observe(frame)[: limit - len(rows)]:
            rows.append(_row(pipeline, frame, observation, unrectified))
        if len(rows) >= limit:
            break
    return rows


def _row(pipeline, frame, observation, unrectified) -> SegmentRow:
    crop = observation.crop
    recognition = pipeline.finish(pipeline.recognizer([crop])[0])
    extra = {}
    if unrectified is not None:
        rectifier, recognizer = unrectified
        plain = rectifier(frame, observation.detection, tuple(recognizer.input_size))
        read = pipeline.finish(recognizer([plain])[0])
        extra = {"unrectified": plain.pixels, "unrectified_segments": recognizer.segments([plain])[0],
                 "unrectified_text": read.text if read else ""}
    return SegmentRow(frame.source, detected_patch(frame, observation.detection), crop.pixels,
                      pipeline.recognizer.segments([crop])[0], recognition.text if recognition else "", **extra)


def detected_patch(frame: Frame, detection: Detection, margin: float = 0.25) -> np.ndarray:
    """The frame around a detection (``margin`` of its size on each side) with its corners drawn."""
    import cv2

    quad = np.asarray(detection.quad(), dtype=np.float64)
    around = expand_quad(box_quad((*quad.min(axis=0), *quad.max(axis=0))), margin)
    x1, y1 = np.maximum(np.floor(around.min(axis=0)), 0).astype(int)
    x2, y2 = np.minimum(np.ceil(around.max(axis=0)), [frame.width, frame.height]).astype(int)
    patch = np.ascontiguousarray(frame.pixels[y1:max(y2, y1 + 1), x1:max(x2, x1 + 1)])
    if detection.corners is not None:
        points = np.round(quad - [x1, y1]).astype(np.int32)
        cv2.polylines(patch, [points], True, (255, 60, 200), max(1, round(patch.shape[1] / 150)))
    return patch
