"""Full scenes: cars with plates on a street, with the exact box and corners of every plate.

Cars are placed from the farthest (smallest plate) to the nearest, and a nearer
car is never placed over a plate already drawn, so every labelled plate is
visible; signs and stickers add text that is not a plate. In a share of the scenes
(``hard_negatives``) road signs, shop signs, van lettering, stickers, grilles and dealer
frames (:mod:`.roadsigns`, :mod:`.distractors`) stand next to the plates; they are
recorded in ``SceneSample.distractors``, never among the plate labels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Optional, Sequence

import numpy as np

from ...errors import ConfigError
from ..dataset import PlateLabel
from . import degrade
from .background import street
from .conditions import Conditions, apply_conditions, sample_conditions
from .crop import posed
from .distractors import Distractor
from .geometry import as_corners, plate_homography, quad_box, quad_height, warp_into
from .plates import check_layout_shares, check_share, render_plate
from .roadsigns import road_signs
from .text import weighted_choice
from .vehicle import EXTENT_MM, body_texture, draw_vehicle

# Image size (w, h) and plate width range (px, at conditions.scale 1) like each region's real sets.
SCENE_SIZES = {"cn": (720, 1160), "us": (1280, 720), "br": (1280, 720), "eu": (1280, 720)}
PLATE_WIDTHS = {"cn": (100.0, 220.0), "us": (55.0, 170.0), "br": (120.0, 320.0), "eu": (90.0, 300.0)}
MIN_PLATE_WIDTH = 24.0
EXTRA_PLATES = (0.75, 0.17, 0.08)  # probabilities of 1, 2, 3 plates when several are allowed


@dataclass(frozen=True, eq=False)
class SceneSample:
    image: np.ndarray  # uint8 RGB
    plates: tuple[PlateLabel, ...]
    region: str
    conditions: Conditions
    distractors: tuple[Distractor, ...] = ()  # hard negatives painted (a nearer car may hide some)

    @property
    def size(self) -> tuple[int, int]:
        return self.image.shape[1], self.image.shape[0]


def pick_region(regions: Mapping[str, float] | str, rng) -> str:
    if isinstance(regions, str):
        return regions
    names = list(regions)
    return weighted_choice(names, [float(regions[n]) for n in names], rng)


def _placement(rng, size, horizon: float, main: bool):
    """A plate centre below the horizon: the main car in the middle of the view, others anywhere."""
    w, h = size
    if main:
        return np.array([rng.uniform(0.25, 0.75) * w, rng.uniform(max(0.35, horizon), 0.75) * h])
    return np.array([rng.uniform(0.05, 0.95) * w, rng.uniform(max(0.3, horizon + 0.05), 0.9) * h])


def _vehicle_extent(centre, width_px, plate_mm_width) -> tuple[float, float, float, float]:
    s = width_px / plate_mm_width
    side, up, down = EXTENT_MM
    return (centre[0] - side * s, centre[1] - up * s, centre[0] + side * s, centre[1] + down * s)


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(quad, size, margin=2.0) -> bool:
    x0, y0, x1, y1 = quad_box(quad)
    return x0 >= margin and y0 >= margin and x1 <= size[0] - margin and y1 <= size[1] - margin


def render_scene(
    rng: np.random.Generator,
    regions: Mapping[str, float] | str = "cn",
    size: Optional[tuple[int, int]] = None,
    split: str = "mix",
    max_plates: int = 1,
    texts: Optional[Sequence[str]] = None,
    conditions: Optional[Conditions] = None,
    compress: bool = False,
    hard_negatives: float = 0.0,
    layout_shares: Optional[Mapping[str, float]] = None,
) -> SceneSample:
    """One scene of ``size`` (w, h; the region's usual size by default) with 1..``max_plates`` plates.

    ``texts`` fixes the plate strings (their number sets the plate count). With
    ``compress`` the image goes through JPEG at the conditions' quality, for
    in-memory use; writers compress when they save instead. ``hard_negatives`` is the
    probability that the scene gets hard negatives (0: the scene of before, same draws);
    ``layout_shares`` fixes some plate layouts' share (``{"cn_green": 0.3}``).
    """
    if max_plates < 1:
        raise ConfigError(f"max_plates must be at least 1, got {max_plates}")
    check_share(hard_negatives, "hard_negatives")
    shares = check_layout_shares(layout_shares)
    region = pick_region(regions, rng)
    c = conditions if conditions is not None else sample_conditions(split, rng)
    size = tuple(size) if size is not None else SCENE_SIZES[region]
    if texts is not None:
        count = len(texts)
    else:
        probs = np.array(EXTRA_PLATES[:max_plates])
        count = 1 + int(rng.choice(len(probs), p=probs / probs.sum()))

    horizon = rng.uniform(0.15, 0.5)
    image = street(rng, size[0], size[1], region, horizon)
    low, high = PLATE_WIDTHS[region]
    scale_to_fit = min(1.0, size[0] / SCENE_SIZES[region][0])
    widths = rng.uniform(low, high, count) * c.scale * scale_to_fit
    widths = sorted(np.clip(widths, MIN_PLATE_WIDTH, size[0] * 0.8).tolist(), reverse=True)
    # Place from the nearest car (the widest plate, in the middle of the view) outwards, keeping
    # each farther plate off every nearer car; then draw from the farthest, so nothing hides a plate.
    placed: list[tuple] = []  # (quad, plate, vehicle extent)
    for i, width_px in enumerate(widths):
        text = texts[i] if texts is not None else None
        plate = render_plate(rng, region, text, width_px=width_px, shares=shares)
        pose = c if i == 0 else replace(c, yaw=c.yaw + rng.normal(0, 10), roll=c.roll + rng.normal(0, 3))
        centred = posed(plate, pose, width_px)
        for _attempt in range(30):
            centre = _placement(rng, size, horizon, i == 0)
            quad = centred + centre
            if _inside(quad, size) and not any(_overlaps(quad_box(quad), extent) for _, _, extent in placed):
                placed.append((quad, plate, _vehicle_extent(centre, width_px, plate.size_mm[0])))
                break
        else:
            if texts is not None or i == 0:
                raise ConfigError(f"cannot fit a {width_px:.0f} px plate into a {size[0]}x{size[1]} scene")

    hard = hard_negatives > 0 and rng.random() < hard_negatives  # no draw at 0: old seeds, old scenes
    distractors: list[Distractor] = []
    if hard:
        vehicles = [extent for _, _, extent in placed]  # signs behind a car would be hidden: keep them off
        distractors += road_signs(image, rng, region, widths[0], vehicles, int(rng.integers(1, 4)))
    for quad, plate, _ in reversed(placed):
        matrix = plate_homography(plate.size, quad)
        distractors += draw_vehicle(image, matrix, plate.size_mm, plate.ppm, rng, region, hard_negatives=hard)
        face = degrade.dirt(plate.image.astype(np.float32), rng, c.dirt)
        warp_into(image, face, plate.alpha, quad)

    image = body_texture(image, rng, 3.0)
    main_quad = placed[0][0]
    image = degrade.occlude(image, rng, main_quad, c.occlusion)
    image = apply_conditions(image, c, rng, quad_height(main_quad))
    if compress:
        image = degrade.jpeg(image, c.jpeg)
    labels = tuple(
        PlateLabel(text=p.text, box=quad_box(q), corners=as_corners(q), region=p.region, extra={"layout": p.layout})
        for q, p, _ in placed
    )
    return SceneSample(image=degrade.to_uint8(image), plates=labels, region=region, conditions=c,
                       distractors=tuple(distractors))
