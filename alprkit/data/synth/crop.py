"""Recognition crops: a plate as a detector hands it to a recognizer.

The plate is posed, drawn on a car, lit and blurred at its capture resolution,
then cut out by its bounding box with a small random margin (sometimes negative:
a detector's box often clips a plate edge) and resized to the recognizer's input,
as the LPRNet paper trains on automatically cropped plates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ...types import Corners
from . import degrade
from .conditions import Conditions, apply_conditions, sample_conditions
from .geometry import as_corners, plate_homography, posed_quad, quad_box, quad_height, transform_points, warp_into
from .plates import RenderedPlate, render_plate
from .vehicle import body_texture, draw_vehicle

# Width of the plate in the captured frame, in output widths, at conditions.scale 1 (fn
# far/near multiplies it): crops are mostly shrunk from a larger capture, as a detector's are.
CAPTURE_WIDTH = (0.75, 2.2)
MARGIN = (-0.02, 0.08)  # detector box margin per side, in plate widths / heights


@dataclass(frozen=True, eq=False)
class CropSample:
    image: np.ndarray  # uint8 RGB at the requested size
    text: str
    region: str
    layout: str
    corners: Corners  # the plate's corners in the crop (may lie outside it where the box clipped)
    char_quads: tuple[Corners, ...]  # each character's box corners, in the crop
    conditions: Conditions


def posed(plate: RenderedPlate, c: Conditions, width_px: float) -> np.ndarray:
    """The plate's corner quad (centred at the origin) at ``width_px`` across, turned as in ``c``."""
    w, h = plate.size
    return posed_quad(width_px, width_px * h / w, c.yaw, c.pitch, c.roll, c.distance)


def render_crop(
    rng: np.random.Generator,
    region: str = "cn",
    text: Optional[str] = None,
    layout: Optional[str] = None,
    size: tuple[int, int] = (94, 24),
    split: str = "mix",
    conditions: Optional[Conditions] = None,
    margin: tuple[float, float] = MARGIN,
) -> CropSample:
    """One recognition crop of ``size`` (w, h) for a random or given ``text``."""
    c = conditions if conditions is not None else sample_conditions(split, rng)
    width_px = float(np.clip(rng.uniform(*CAPTURE_WIDTH) * size[0] * c.scale, 24, 700))
    plate = render_plate(rng, region, text, layout, width_px=width_px)
    quad = posed(plate, c, width_px)

    x0, y0, x1, y1 = quad_box(quad)
    bw, bh = x1 - x0, y1 - y0
    left, right = rng.uniform(*margin, 2) * bw
    top, bottom = rng.uniform(*margin, 2) * bh
    wx0, wy0 = int(np.floor(x0 - left)), int(np.floor(y0 - top))
    ww = max(8, int(np.ceil(x1 + right)) - wx0)
    wh = max(4, int(np.ceil(y1 + bottom)) - wy0)
    quad = quad - [wx0, wy0]

    window = np.zeros((wh, ww, 3), np.float32)
    matrix = plate_homography(plate.size, quad)
    draw_vehicle(window, matrix, plate.size_mm, plate.ppm, rng, region, near_only=True)
    window = body_texture(window, rng)
    face = degrade.dirt(plate.image.astype(np.float32), rng, c.dirt)
    warp_into(window, face, plate.alpha, quad)
    window = degrade.occlude(window, rng, quad, c.occlusion)
    window = apply_conditions(window, c, rng, quad_height(quad))
    if rng.random() < 0.5:
        window = degrade.jpeg(window, c.jpeg)  # the camera's own compression, before cropping
    image = degrade.resample(window, size, rng)
    if rng.random() < 0.6:
        image = degrade.jpeg(image, int(rng.integers(70, 96)))

    scale = np.array([size[0] / ww, size[1] / wh])
    boxes = np.array([[(a, b), (x, b), (x, d), (a, d)] for a, b, x, d in plate.char_boxes], float).reshape(-1, 2)
    char_quads = (transform_points(matrix, boxes) * scale).reshape(-1, 4, 2)
    return CropSample(
        image=degrade.to_uint8(image),
        text=plate.text,
        region=plate.region,
        layout=plate.layout,
        corners=as_corners(quad * scale),
        char_quads=tuple(as_corners(q) for q in char_quads),
        conditions=c,
    )

