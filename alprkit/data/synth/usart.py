"""State-plate artwork of US plates: graphics behind and through the characters, emblems, stacked marks.

Real US plates are busy: a pale state emblem or outline under the characters, a
tree, cactus or lighthouse beside them, a coloured swoosh running through them, a
small emblem between the groups, and small stacked characters (a county number,
"DV", "RM") beside the main string that are not part of the registration. A
recognizer that has only seen clean white plates reads these as characters or
loses characters behind them. Everything here is drawn in millimetres on the plate
canvas, before the characters (which stay on top), with opacities that keep the
characters readable as on real plates.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import fonts
from .canvas import RGB, Canvas, paint_max

_SHIFT = 2  # fractional bits of the OpenCV polygon coordinates (sub-pixel, anti-aliased shapes)
PALE = ((120, 150, 190), (190, 140, 90), (130, 170, 120), (200, 120, 120), (150, 130, 180), (210, 190, 110))


def _fill(canvas: Canvas, polys_mm, color: RGB, opacity: float):
    """Fill polygons given in mm (list of (n, 2) arrays) in ``color`` at ``opacity``."""
    sizes = [len(p) for p in polys_mm]
    px = np.concatenate(polys_mm).astype(np.float64) * canvas.ppm
    # Only the shapes' bounding box is rasterised and composited (most shapes are small).
    (x0, y0), (x1, y1) = np.floor(px.min(0)).astype(int), np.ceil(px.max(0)).astype(int) + 1
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(canvas.width, x1), min(canvas.height, y1)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    fixed = np.round((px - (x0, y0)) * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, np.split(fixed, np.cumsum(sizes)[:-1]), 255, cv2.LINE_AA, shift=_SHIFT)
    canvas.paint(mask, x0, y0, color, opacity)


def _star(cx, cy, r, points=5, inner=0.45, turn=0.0) -> np.ndarray:
    a = turn - np.pi / 2 + np.arange(2 * points) * np.pi / points
    radius = np.where(np.arange(2 * points) % 2 == 0, r, r * inner)
    return np.stack([cx + radius * np.cos(a), cy + radius * np.sin(a)], 1)


def _blob(cx, cy, rx, ry, rng, n=48) -> np.ndarray:
    """A smooth random outline, like a state's silhouette."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    wobble = 1 + sum(rng.uniform(-0.18, 0.18) * np.sin(k * a + rng.uniform(0, 6.3)) for k in (2, 3, 5))
    return np.stack([cx + rx * wobble * np.cos(a), cy + ry * wobble * np.sin(a)], 1)


def _tree(x, base, height, width) -> list[np.ndarray]:
    """A conifer: three stacked triangles and a trunk."""
    parts = [np.array([[x - width * 0.08, base], [x + width * 0.08, base], [x + width * 0.08, base - height * 0.15],
                       [x - width * 0.08, base - height * 0.15]])]  # fmt: skip
    for k in range(3):
        bottom = base - height * (0.12 + 0.27 * k)
        half = width * (0.5 - 0.12 * k)
        parts.append(np.array([[x - half, bottom], [x + half, bottom], [x, bottom - height * 0.45]]))
    return parts


def _cactus(x, base, height, width) -> list[np.ndarray]:
    def bar(x0, y0, x1, y1):
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])

    stem = width * 0.3
    return [bar(x - stem / 2, base - height, x + stem / 2, base),
            bar(x - width / 2, base - height * 0.55, x - width / 2 + stem * 0.8, base - height * 0.85),
            bar(x - width / 2, base - height * 0.55, x, base - height * 0.48),
            bar(x + width / 2 - stem * 0.8, base - height * 0.45, x + width / 2, base - height * 0.75),
            bar(x, base - height * 0.45, x + width / 2, base - height * 0.38)]  # fmt: skip


def _sun(canvas: Canvas, cx, cy, r, color, opacity):
    """A sun or New Mexico's zia: a disc with rays."""
    canvas.disc(cx, cy, r * 0.45, color)
    a = np.arange(16)[:, None] * (2 * np.pi / 16)
    d, n = np.hstack([np.cos(a), np.sin(a)]), np.hstack([-np.sin(a), np.cos(a)]) * (r * 0.06)
    p0, p1 = (cx, cy) + d * (r * 0.55), (cx, cy) + d * r
    _fill(canvas, list(np.stack([p0 - n, p0 + n, p1 + n, p1 - n], 1)), color, opacity)  # 16 rays


def _pale(rng, accent: RGB) -> RGB:
    base = accent if rng.random() < 0.5 else PALE[int(rng.integers(len(PALE)))]
    return tuple(float(np.clip(c + rng.normal(0, 15), 0, 255)) for c in base)


def graphic(canvas: Canvas, rng, accent: RGB):
    """One piece of state artwork behind or through the character row (152 mm tall plate)."""
    w = canvas.width_mm
    color = _pale(rng, accent)
    kinds = {"emblem": 0.18, "outline": 0.14, "trees": 0.16, "cactus": 0.08, "swoosh": 0.2, "sun": 0.1, "stars": 0.14}
    kind = rng.choice(list(kinds), p=list(kinds.values()))
    if kind == "emblem":  # a large pale star or ring under the middle of the text
        cx, cy, r = w / 2 + rng.normal(0, 30), rng.uniform(65, 90), rng.uniform(35, 60)
        if rng.random() < 0.6:
            star = _star(cx, cy, r, int(rng.choice([5, 6, 8])), rng.uniform(0.4, 0.6), rng.uniform(0, 1))
            _fill(canvas, [star], color, rng.uniform(0.15, 0.35))
        else:
            ring = np.zeros((canvas.height, canvas.width), np.uint8)
            c = (int(cx * canvas.ppm), int(cy * canvas.ppm))
            cv2.circle(ring, c, int(r * canvas.ppm), 255, max(1, int(rng.uniform(6, 14) * canvas.ppm)), cv2.LINE_AA)
            canvas.paint(ring, 0, 0, color, rng.uniform(0.2, 0.4))
    elif kind == "outline":  # the state's silhouette, pale, under the characters
        cx, cy = w / 2 + rng.normal(0, 40), rng.uniform(65, 85)
        outline = _blob(cx, cy, rng.uniform(50, 110), rng.uniform(35, 55), rng)
        _fill(canvas, [outline], color, rng.uniform(0.12, 0.3))
    elif kind in ("trees", "cactus"):  # silhouettes standing up beside or between the characters
        draw = _tree if kind == "trees" else _cactus
        green = (40, 110, 60) if kind == "trees" else (70, 130, 70)
        fill = tuple(float(np.clip(c + rng.normal(0, 20), 0, 255)) for c in green)
        parts = []
        for _ in range(int(rng.integers(1, 4))):
            height = rng.uniform(50, 115)
            parts += draw(rng.uniform(10, w - 10), rng.uniform(125, 150), height, height * rng.uniform(0.35, 0.6))
        _fill(canvas, parts, fill, rng.uniform(0.35, 0.8))
    elif kind == "swoosh":  # a coloured wave running through the characters
        xs = np.linspace(-5, w + 5, 40)
        mid = rng.uniform(55, 110) + rng.uniform(5, 20) * np.sin(xs / w * rng.uniform(3, 8) + rng.uniform(0, 6.3))
        thick = rng.uniform(10, 30)
        band = np.concatenate([np.stack([xs, mid - thick / 2], 1), np.stack([xs, mid + thick / 2], 1)[::-1]])
        _fill(canvas, [band], color, rng.uniform(0.25, 0.6))
    elif kind == "sun":
        _sun(canvas, rng.uniform(60, w - 60), rng.uniform(60, 90), rng.uniform(30, 55), color, rng.uniform(0.3, 0.6))
    else:  # a scatter of small stars across the plate
        n = int(rng.integers(6, 16))
        stars = [_star(rng.uniform(5, w - 5), rng.uniform(30, 130), rng.uniform(3, 7)) for _ in range(n)]
        _fill(canvas, stars, color, rng.uniform(0.4, 0.8))


def emblem_separator(canvas: Canvas, x_mm, cy_mm, size_mm, color: RGB, rng):
    """A small emblem between the groups (Pennsylvania's keystone, a star, a state outline, a zia)."""
    kind = rng.choice(["star", "keystone", "outline", "sun"])
    r = size_mm / 2
    if kind == "star":
        _fill(canvas, [_star(x_mm, cy_mm, r)], color, 1.0)
    elif kind == "keystone":
        _fill(canvas, [np.array([[x_mm - r, cy_mm - r], [x_mm + r, cy_mm - r], [x_mm + r * 0.7, cy_mm + r],
                                 [x_mm - r * 0.7, cy_mm + r]])], color, 1.0)  # fmt: skip
    elif kind == "outline":
        _fill(canvas, [_blob(x_mm, cy_mm, r, r * 0.85, rng)], color, 1.0)
    else:
        _sun(canvas, x_mm, cy_mm, r, color, 1.0)


STACKED_MARKS = ("RM", "WC", "DV", "DL", "PH", "MC", "AB", "TK", "12", "49", "07", "LT")


def stacked_marks(canvas: Canvas, layer: np.ndarray, style: str, x_mm, y_mm, height_mm, rng) -> None:
    """Two small characters stacked at ``x_mm`` beside the row: drawn as ink, never part of the label."""
    mark = STACKED_MARKS[int(rng.integers(len(STACKED_MARKS)))]
    # Sizes on a 2 mm grid, as the row's cells are: the glyph caches then see few distinct sizes.
    cw, ch = (canvas.px(2 * round(height_mm * f / 2)) for f in (0.28, 0.44))
    if cw < 1 or ch < 2:
        return
    for k, char in enumerate(mark):
        mask = fonts.fitted_glyph(char, style, cw, ch)
        paint_max(layer, mask / np.float32(255), canvas.px(x_mm) - cw // 2, canvas.px(y_mm + k * height_mm * 0.54))
