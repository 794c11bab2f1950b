"""Video tracks: one vehicle's plate crossing the view over a run of frames, UFPR-ALPR style.

The car approaches along a path through the frame, so its plate grows; camera
shake, focus, motion blur and light change from frame to frame, and on top the
quality changes of driving (:mod:`alprkit.degrade`: motion, defocus, distance,
darkness or glare, noise, compression) rise and fall smoothly over the track, so
frame quality varies within a track and choosing the frame to read matters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator, Optional

import numpy as np

from ... import degrade as driving  # a module import: alprkit.degrade itself imports this package
from ..dataset import PlateLabel
from . import degrade
from .background import street
from .conditions import Conditions, apply_conditions, sample_conditions
from .crop import posed
from .geometry import as_corners, plate_homography, quad_box, quad_height, transform_points, warp_into
from .plates import render_plate
from .scenes import PLATE_WIDTHS
from .vehicle import EXTENT_MM, draw_vehicle

TRACK_SIZE = (1280, 720)
DEGRADE_MAX = 0.7  # the strongest quality change a track reaches (alprkit.degrade strengths run 0..1)
DEGRADE_SHARE = 0.5  # the chance of each change being present in a track


@dataclass(frozen=True, eq=False)
class TrackFrame:
    image: np.ndarray  # uint8 RGB
    plate: PlateLabel  # text, box, corners, region; extra["chars"]: per-character boxes
    vehicle_box: tuple[float, float, float, float]
    conditions: Conditions
    jpeg: int
    degradation: driving.Degradation  # the driving quality changes applied to this frame


def _frame_conditions(base: Conditions, t: float, rng) -> Conditions:
    """How capture quality drifts along the track (``t`` runs from 0 to 1)."""
    focus = abs(t - rng.uniform(0.3, 0.7))  # sharpest near one moment of the pass
    shake = rng.uniform(0.0, 0.12) if rng.random() < 0.25 else rng.uniform(0.0, 0.03)
    return replace(
        base,
        motion=base.motion + shake,
        defocus=base.defocus + 0.08 * focus**2 * rng.uniform(0.5, 1.5),
        gain=base.gain * rng.uniform(0.85, 1.15),
        shadow=rng.uniform(0.3, 0.6) if rng.random() < 0.15 else base.shadow,
        noise=base.noise * rng.uniform(0.8, 1.3),
    )


def render_track(
    rng: np.random.Generator,
    region: str = "br",
    frames: int = 30,
    size: tuple[int, int] = TRACK_SIZE,
    split: str = "base",
    text: Optional[str] = None,
    degrade_max: float = DEGRADE_MAX,
    degrade_share: float = DEGRADE_SHARE,
) -> Iterator[TrackFrame]:
    """The frames of one track (generated lazily, one at a time).

    ``degrade_max`` and ``degrade_share`` shape the track's quality schedule
    (:func:`alprkit.degrade.track_schedule`); ``degrade_max=0`` leaves only the capture conditions.
    """
    c = sample_conditions(split, rng)
    schedule = driving.track_schedule(rng, frames, max_strength=degrade_max, share=degrade_share)
    w, h = size
    low, high = PLATE_WIDTHS[region]
    fit = min(1.0, w / 1280)
    start_width = float(np.clip(rng.uniform(low * 0.5, low), 24, w * 0.3)) * fit
    end_width = float(np.clip(rng.uniform(low, high) * c.scale, start_width * 1.2, w * 0.45)) * fit
    plate = render_plate(rng, region, text, width_px=end_width)
    horizon = rng.uniform(0.15, 0.3)
    start = np.array([rng.uniform(0.3, 0.7) * w, rng.uniform(horizon + 0.05, 0.45) * h])
    end = np.array([np.clip(start[0] + rng.normal(0, 0.15) * w, 0.2 * w, 0.8 * w), rng.uniform(0.6, 0.8) * h])
    yaw0, yaw1 = c.yaw, c.yaw + rng.normal(0, 8)
    background = street(rng, w, h, region, horizon)
    vehicle_seed = int(rng.integers(2**63))  # the same car in every frame
    face = degrade.dirt(plate.image.astype(np.float32), rng, c.dirt)

    for i in range(frames):
        t = i / max(1, frames - 1)
        width = start_width * (end_width / start_width) ** t  # perspective: growth speeds up
        centre = start + (end - start) * t + rng.normal(0, 1.5, 2)
        fc = _frame_conditions(replace(c, yaw=yaw0 + (yaw1 - yaw0) * t), t, rng)
        quad = _shifted_inside(posed(plate, fc, width) + centre, size)
        image = background.copy()
        matrix = plate_homography(plate.size, quad)
        draw_vehicle(image, matrix, plate.size_mm, plate.ppm, np.random.default_rng(vehicle_seed), region)
        warp_into(image, face, plate.alpha, quad)
        image = apply_conditions(image, fc, rng, quad_height(quad))
        image = driving.degrade(degrade.to_uint8(image), schedule[i], rng, plate_height=quad_height(quad))
        chars = tuple(quad_box(transform_points(matrix, _box_corners(b))) for b in plate.char_boxes)
        s = width / plate.size_mm[0]
        side, up, down = EXTENT_MM
        vehicle = (max(0.0, centre[0] - side * s), max(0.0, centre[1] - up * s),
                   min(w, centre[0] + side * s), min(h, centre[1] + down * s))  # fmt: skip
        label = PlateLabel(text=plate.text, box=quad_box(quad), corners=as_corners(quad), region=plate.region,
                           extra={"chars": chars, "layout": plate.layout})  # fmt: skip
        yield TrackFrame(image, label, vehicle, fc, int(np.clip(fc.jpeg, 60, 95)), schedule[i])


def _shifted_inside(quad: np.ndarray, size, margin: float = 2.0) -> np.ndarray:
    """``quad`` moved (not reshaped) so that it lies inside the frame."""
    low = np.array([margin, margin]) - quad.min(0)
    high = np.array(size, float) - margin - quad.max(0)
    return quad + np.clip(0, low, high) if np.all(low <= high) else quad + low


def _box_corners(box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)
