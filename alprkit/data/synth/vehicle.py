"""A vehicle's front or rear drawn around its plate, in the plate's own plane.

Body, bumper, lights, windows, grille and the plate recess are polygons in
millimetres relative to the plate centre (x right, y down). They go through the
same homography as the plate, so the car turns with it and a crop cut around the
plate shows what a detector's crop shows: paint, bumper edges, a frame or recess.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import distractors as hard
from . import fonts
from .degrade import gaussian_blur, smooth_field
from .text import distractor_text

PAINTS = (
    ((235, 235, 232), 0.25),  # white
    ((175, 178, 182), 0.2),  # silver
    ((95, 98, 102), 0.12),  # grey
    ((22, 22, 25), 0.18),  # black
    ((150, 25, 30), 0.08),  # red
    ((30, 55, 120), 0.08),  # blue
    ((110, 85, 60), 0.05),  # brown / bronze
    ((40, 90, 60), 0.04),  # green
)


def paint_color(rng) -> np.ndarray:
    colors, weights = zip(*PAINTS)
    w = np.array(weights) / sum(weights)
    base = np.array(colors[int(rng.choice(len(colors), p=w))], np.float32)
    return np.clip(base * rng.uniform(0.85, 1.1) + rng.normal(0, 6, 3), 0, 255)


def _project(matrix: np.ndarray, pts_mm: np.ndarray, px_per_mm: float) -> np.ndarray | None:
    """Plate-plane millimetres to image pixels; None when a point falls behind the camera."""
    xy = pts_mm * px_per_mm
    depth = xy @ matrix[2, :2] + matrix[2, 2]
    if np.any(depth <= 1e-3 * np.abs(depth).max()):
        return None
    return (xy @ matrix[:2, :2].T + matrix[:2, 2]) / depth[:, None]


def _rect(x0, y0, x1, y1, n=1):
    """A rectangle as a polygon; ``n`` > 1 subdivides its edges so perspective bends them smoothly."""
    t = np.arange(n) / n
    xs = np.concatenate([x0 + (x1 - x0) * t, np.full(n, x1), x1 - (x1 - x0) * t, np.full(n, x0)])
    ys = np.concatenate([np.full(n, y0), y0 + (y1 - y0) * t, np.full(n, y1), y1 - (y1 - y0) * t])
    return np.column_stack([xs, ys])


# Unit quarter circles for the corners TL, TR, BR, BL, in drawing order.
_ARCS = [np.column_stack([np.cos(a), np.sin(a)]) for a in np.radians(np.linspace(0, 90, 6) + [[180], [270], [0], [90]])]


def _rounded(x0, y0, x1, y1, r_top, r_bottom=0.0):
    """A rectangle with rounded top (and optionally bottom) corners, as a polygon."""
    tt, bb = r_top, r_bottom
    centres = ((x0 + tt, y0 + tt), (x1 - tt, y0 + tt), (x1 - bb, y1 - bb), (x0 + bb, y1 - bb))
    return np.vstack([arc * r + c for arc, r, c in zip(_ARCS, (tt, tt, bb, bb), centres)])


class PlanePainter:
    """Fills plate-plane polygons on an image through the plate's homography."""

    def __init__(self, image: np.ndarray, matrix: np.ndarray, px_per_mm: float):
        self.image, self.matrix, self.px_per_mm = image, matrix, px_per_mm

    def poly(self, pts_mm, color):
        pts = _project(self.matrix, np.asarray(pts_mm, np.float64), self.px_per_mm)
        if pts is not None:
            poly = [np.round(pts * 16).astype(np.int32)]
            cv2.fillPoly(self.image, poly, [float(c) for c in color], cv2.LINE_AA, shift=4)

    def rect(self, x0, y0, x1, y1, color):
        self.poly(_rect(x0, y0, x1, y1, 2), color)

    def shade(self, pts_mm, amount: float, soft_mm: float = 0.0):
        """Darken (``amount`` > 0) or lighten (< 0) inside a polygon, its edge blurred over ``soft_mm``."""
        pts = _project(self.matrix, np.asarray(pts_mm, np.float64), self.px_per_mm)
        if pts is None:
            return
        # pixels per plate-face pixel near the plate: the homography's local scale
        local_scale = abs(np.linalg.det(self.matrix[:2, :2])) ** 0.5 / max(1e-9, abs(self.matrix[2, 2]))
        soft = soft_mm * self.px_per_mm * local_scale
        pad = int(2 * soft) + 2
        h, w = self.image.shape[:2]
        x0, y0 = np.maximum(np.floor(pts.min(0)).astype(int) - pad, 0)
        x1, y1 = np.minimum(np.ceil(pts.max(0)).astype(int) + pad, [w, h])
        if x1 <= x0 or y1 <= y0:
            return
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        cv2.fillPoly(mask, [np.round((pts - [x0, y0]) * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
        mask = gaussian_blur(mask, soft)
        region = self.image[y0:y1, x0:x1]
        if amount > 0:
            region *= (1 - amount * mask)[..., None]
        else:
            region += (-amount * mask)[..., None] * (255 - region)

    def bounds(self, x0, y0, x1, y1):
        """The image box of a plate-plane rectangle (mm), clipped to the image; None if off it or behind."""
        pts = _project(self.matrix, _rect(x0, y0, x1, y1, 2), self.px_per_mm)
        if pts is None:
            return None
        h, w = self.image.shape[:2]
        (bx0, by0), (bx1, by1) = np.maximum(pts.min(0), 0), np.minimum(pts.max(0), [w, h])
        return (float(bx0), float(by0), float(bx1), float(by1)) if bx1 > bx0 and by1 > by0 else None

    def text(self, text: str, cx, cy, height, color):
        """A line of print centred at (cx, cy) mm, ``height`` mm tall, warped with the plane; returns
        its image box (None when nothing of it falls on the image)."""
        mask = fonts.fitted_text(text, 700, 4096, 48)
        h, w = mask.shape
        half_w, half_h = height * w / h / 2, height / 2
        quad_mm = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [half_w, half_h] + [cx, cy]
        dst = _project(self.matrix, quad_mm, self.px_per_mm)
        if dst is None:
            return None
        x0, y0 = np.floor(dst.min(0)).astype(int) - 1
        x1, y1 = np.ceil(dst.max(0)).astype(int) + 1
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, self.image.shape[1]), min(y1, self.image.shape[0])
        if x1 <= x0 or y1 <= y0:
            return None
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        warp = cv2.getPerspectiveTransform(src, np.float32(dst - [x0, y0]))
        cover = cv2.warpPerspective(mask, warp, (x1 - x0, y1 - y0)).astype(np.float32) / 255
        region = self.image[y0:y1, x0:x1]
        region += cover[..., None] * (np.float32(color) - region)
        return (float(x0), float(y0), float(x1), float(y1))


# How far a car reaches from its plate's centre, in mm: left/right, up, down (the ground).
EXTENT_MM = (900.0, 900.0, 520.0)


def draw_vehicle(
    image: np.ndarray,
    matrix: np.ndarray,
    plate_mm: tuple[float, float],
    px_per_mm: float,
    rng,
    region: str = "cn",
    near_only: bool = False,
    hard_negatives: bool = False,
) -> list[hard.Distractor]:
    """Draw a car front or rear around a plate on the float32 ``image`` in place.

    ``matrix`` takes plate-face pixels (origin at the plate's top-left corner) to
    image pixels; ``px_per_mm`` is the plate face's resolution. Rear windows may
    carry stickers with text in ``region``'s script (distractors for detectors).
    ``near_only`` skips what a crop around the plate never shows (wheels, shadow, roof).
    ``hard_negatives`` adds what real vehicles carry near their plates (:mod:`.distractors`: van
    lettering, stickers, grilles, dealer frames), returned as records; without it the drawing and
    the draws from ``rng`` are those of before.
    """
    pw, ph = plate_mm
    centre = np.array([[1, 0, pw / 2 * px_per_mm], [0, 1, ph / 2 * px_per_mm], [0, 0, 1]])
    paint = PlanePainter(image, matrix @ centre, px_per_mm)
    body = paint_color(rng)
    shade = lambda f: np.clip(body * f, 0, 255)  # noqa: E731 - a tiny colour helper
    rear = rng.random() < 0.6
    ground = rng.uniform(380, 520)  # plate centre to the ground, mm
    half = rng.uniform(820, 900)  # half the body width
    top = -rng.uniform(700, 900)
    bumper_top, bumper_bottom = -rng.uniform(120, 220), rng.uniform(200, 320)

    if not near_only:
        paint.shade(_rect(-half - 150, ground - 150, half + 150, ground + 60, 2), 0.7, 60)  # shadow on the ground
        for side in (-1, 1):  # wheels peeking out below the body
            wx0, wx1 = sorted((side * (half - 380), side * (half - 60)))
            paint.poly(_rounded(wx0, ground - 300, wx1, ground, 60, 60), (18, 18, 20))
    paint.poly(_rounded(-half, top, half, ground - 170, 260, 60), body)
    if not near_only:
        paint.shade(_rect(-half, top, half, top + 250, 2), -rng.uniform(0.05, 0.25), 80)  # sky reflected on top
        paint.shade(_rect(-half, bumper_bottom - 60, half, ground - 170, 2), rng.uniform(0.2, 0.4), 40)
    paint.poly(_rounded(-half - 10, bumper_top, half + 10, bumper_bottom, 40, 60), shade(rng.uniform(0.8, 0.95)))
    if rng.random() < 0.5:  # black plastic lower bumper
        paint.poly(_rounded(-half, bumper_bottom - rng.uniform(60, 140), half, bumper_bottom, 20, 40), (30, 30, 32))
    paint.shade(_rect(-half, bumper_top, half, bumper_top + 25, 2), 0.35, 15)  # the crease under the bumper lip

    if rear:
        window = [[-half + 200, top + 300], [-half + 300, top + 40], [half - 300, top + 40], [half - 200, top + 300]]
        paint.poly(window, (35, 40, 48))
        paint.shade(window, -rng.uniform(0.05, 0.3), 30)  # reflections
        if rng.random() < 0.3:
            paint.text(distractor_text(rng, region), rng.uniform(-300, 300), top + rng.uniform(100, 200),
                       rng.uniform(40, 70), rng.uniform(150, 255, 3))
        for side in (-1, 1):
            lx0, lx1 = sorted((side * (half - 30), side * (half - rng.uniform(250, 420))))
            ly0 = bumper_top - rng.uniform(250, 380)
            paint.poly(_rounded(lx0, ly0, lx1, bumper_top - 40, 40, 20), (170, 20, 25))
            paint.shade(_rect(lx0, ly0, lx1, ly0 + 40), -0.3, 10)
        if rng.random() < 0.4:
            paint.text(badge(rng), rng.uniform(-400, 400), bumper_top - 150, 45,
                       shade(0.5) if body.mean() > 100 else (200, 200, 200))
    else:
        grille = (25, 25, 28) if rng.random() < 0.7 else shade(0.6)
        gy0 = bumper_top - rng.uniform(150, 260)
        paint.poly(_rounded(-half * 0.55, gy0, half * 0.55, bumper_top - 10, 40, 40), grille)
        for y in np.arange(gy0 + 25, bumper_top - 20, 35):
            paint.rect(-half * 0.53, y, half * 0.53, y + 8, shade(0.9) if rng.random() < 0.5 else (60, 60, 62))
        for side in (-1, 1):
            lx0, lx1 = sorted((side * (half - 40), side * (half * 0.58)))
            paint.poly(_rounded(lx0, gy0 - 20, lx1, gy0 + rng.uniform(90, 150), 40, 40), (225, 228, 230))

    drawn = []
    if hard_negatives:
        shape = hard.BodyShape(half, top, bumper_top, bumper_bottom, rear, body, (pw, ph))
        drawn += hard.vehicle_distractors(paint, rng, region, shape)
    # The plate's mount: a recess or a plastic frame a little larger than the plate.
    mx, my = pw / 2 + rng.uniform(5, 40), ph / 2 + rng.uniform(5, 35)
    dealer = region == "us" and rng.random() < 0.2  # US plate frames often advertise the dealer
    bottom = my + (rng.uniform(12, 25) if dealer else 0.0)
    frame = (20, 20, 22) if rng.random() < 0.5 else shade(rng.uniform(0.35, 0.8))
    paint.rect(-mx, -my, mx, bottom, frame)
    if dealer:
        name = DEALERS[int(rng.integers(len(DEALERS)))]
        paint.text(name, 0, (ph / 2 + bottom) / 2, (bottom - ph / 2) * 0.6, (210, 210, 210))
    if hard_negatives and rng.random() < hard.DEALER_FRAME:
        drawn += hard.dealer_frame(paint, rng, region, (pw, ph))
    return drawn


DEALERS = ("DEALER SALES", "TOYOTA OF DALLAS", "LAMBORGHINI", "HONDA WORLD", "AUTONATION", "CARMAX")


def badge(rng) -> str:
    names = ("SEDAN", "1.6T", "HYBRID", "GLS", "SPORT", "AUTO", "TURBO", "XL", "2.0", "LIMITED")
    return names[int(rng.integers(len(names)))]


def body_texture(image: np.ndarray, rng, amount: float = 6.0) -> np.ndarray:
    """Soft reflections and grain over a painted region."""
    h, w = image.shape[:2]
    return image + (amount * smooth_field((h, w), rng, 3))[..., None]
