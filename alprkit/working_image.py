"""Detection at a working resolution: a large image is scaled down before a detector looks at it,
and what it finds is scaled back to the image's own pixels.

The detectors were trained on frames about 1280 px wide. A 4032-px photo of the same street
holds the same plates three times as large: searched at full size it costs ten times the
work and memory and is read differently, and a 12000x9000 image would not fit at all. Scaled
down to one working size, the same photo is seen the same way at any resolution, and the
memory a detector needs no longer grows with the image. Plate-size limits stay in pixels of
the original image, as the user measures them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Sequence

import cv2
import numpy as np

from .config import config_float, config_int
from .errors import ConfigError
from .types import Detection

DEFAULT_WORKING_SIZE = 1280  # the longest side detectors work at: the width of the frames they were trained on
MIN_WORKING_SIZE = 64


@dataclass(frozen=True)
class WorkingImage:
    """The image a detector works on and how it maps back: original = working / (scale_x, scale_y)."""

    pixels: np.ndarray  # uint8 RGB; the original array itself when it was small enough
    scale_x: float = 1.0  # working pixels per original pixel, <= 1
    scale_y: float = 1.0

    @property
    def scaled(self) -> bool:
        return self.scale_x != 1.0 or self.scale_y != 1.0

    def to_original(self, detections: Sequence[Detection]) -> list[Detection]:
        """Detections found on the working image, with boxes and corners in original pixels."""
        if not self.scaled:
            return list(detections)
        sx, sy = self.scale_x, self.scale_y
        out = []
        for d in detections:
            x1, y1, x2, y2 = d.box
            corners = None if d.corners is None else tuple((x / sx, y / sy) for x, y in d.corners)
            out.append(replace(d, box=(x1 / sx, y1 / sy, x2 / sx, y2 / sy), corners=corners))
        return out


def working_image(pixels: np.ndarray, working_size: Optional[int]) -> WorkingImage:
    """``pixels`` scaled down (area-averaged) so that the longest side is at most ``working_size``;
    unchanged when already that small or when ``working_size`` is None."""
    height, width = pixels.shape[:2]
    if working_size is None or max(width, height) <= working_size:
        return WorkingImage(pixels)
    factor = working_size / max(width, height)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    # INTER_AREA reads the large image once and keeps only the small one: no full-size float copy.
    small = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    return WorkingImage(small, size[0] / width, size[1] / height)


def checked_working_size(component: str, value) -> Optional[int]:
    """``working_size`` as the longest side in pixels (>= 64), or None for the full image."""
    number = config_int({"working_size": value}, "working_size", name=f"{component}: working_size")
    if number is not None and number < MIN_WORKING_SIZE:
        raise ConfigError(f"{component}: working_size must be >= {MIN_WORKING_SIZE} pixels (the longest side) "
                          f"or null for the full image, got {value!r}")
    return number


def checked_plate_heights(component: str, smallest, largest, smallest_required: bool = False):
    """(min_plate_height, max_plate_height) as floats in original pixels, each > 0 or None (no limit),
    the largest not below the smallest."""
    low = config_float({"v": smallest}, "v", 0.0, f"{component}: min_plate_height", above=True)
    high = config_float({"v": largest}, "v", 0.0, f"{component}: max_plate_height", above=True)
    if low is None and smallest_required:
        raise ConfigError(f"{component}: min_plate_height must be a number of pixels > 0, got None")
    if low is not None and high is not None and high < low:
        raise ConfigError(f"{component}: max_plate_height ({largest!r}) must be >= min_plate_height ({smallest!r})")
    return low, high


def within_plate_heights(detections: Sequence[Detection], smallest: Optional[float],
                         largest: Optional[float]) -> list[Detection]:
    """The detections whose box height lies within [smallest, largest] (None: no limit), order kept."""
    low, high = -np.inf if smallest is None else smallest, np.inf if largest is None else largest
    return [d for d in detections if low <= d.box[3] - d.box[1] <= high]
