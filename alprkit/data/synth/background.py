"""Street backgrounds for full scenes: sky, buildings, trees, road, markings and signs.

Signs, shop fronts and posters carry text (Latin, digits and Chinese) so that a
detector learns that not every line of characters is a plate.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import fonts
from .degrade import normals, smooth_field
from .text import distractor_text


def _textured(h: int, w: int, color, rng, grain: float, blotch: float) -> np.ndarray:
    """A colour with stains at several scales and fine grain (asphalt, concrete, plaster)."""
    base = np.empty((h, w, 3), np.float32)
    base[:] = color
    cells = int(rng.integers(3, 7))
    stains = sum(0.5**octave * smooth_field((h, w), rng, cells * 4**octave) for octave in range(3))
    base += (blotch * stains)[..., None]
    base += grain * normals(rng, (h, w, 1))
    return base


def _sky(img, horizon, rng):
    top = rng.uniform([120, 160, 200], [200, 215, 245]) if rng.random() < 0.6 else np.full(3, rng.uniform(170, 230))
    bottom = np.clip(top + rng.uniform(10, 40), 0, 255)
    t = np.linspace(0, 1, max(1, horizon), dtype=np.float32)[:, None, None]
    img[:horizon] = (1 - t) * top.astype(np.float32) + t * bottom.astype(np.float32)


def _buildings(img, horizon, rng, region):
    h, w = img.shape[:2]
    x = -rng.uniform(0, 100)
    while x < w:
        bw = rng.uniform(0.15, 0.5) * w
        top = int(rng.uniform(-0.2, 0.8) * horizon)
        color = rng.uniform(90, 220, 3) * rng.uniform(0.8, 1.0, 3)
        x0, x1, y0 = int(max(0, x)), int(min(w, x + bw)), max(0, top)
        if x1 > x0 and horizon > y0:
            img[y0:horizon, x0:x1] = _textured(horizon - y0, x1 - x0, color, rng, 2.0, 8.0)
        win = rng.uniform(10, 30)
        glass = rng.uniform(20, 90, 3)
        for wy in np.arange(top + win, horizon - win, win * 1.8):
            for wx in np.arange(x + win * 0.6, x + bw - win, win * 1.6):
                cv2.rectangle(img, (int(wx), int(wy)), (int(wx + win), int(wy + win * 1.1)), glass.tolist(), -1)
        if rng.random() < 0.6:
            _sign(img, int(x + rng.uniform(0, bw * 0.5)), int(rng.uniform(y0, max(y0 + 1, horizon - 10))), rng, region)
        x += bw + rng.uniform(0, 40)


def _trees(img, horizon, rng):
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(0, 6))):
        cx, cy = int(rng.uniform(0, w)), int(horizon - rng.uniform(0, 0.5) * horizon)
        green = np.array([rng.uniform(30, 80), rng.uniform(70, 140), rng.uniform(30, 70)])
        for _ in range(8):
            r = int(rng.uniform(0.03, 0.09) * w)
            c = (cx + int(rng.normal(0, r)), cy + int(rng.normal(0, r * 0.6)))
            cv2.circle(img, c, r, (green * rng.uniform(0.7, 1.2)).tolist(), -1, cv2.LINE_AA)


def _ground(img, horizon, rng):
    h, w = img.shape[:2]
    if horizon >= h:
        return
    paved = rng.random() < 0.25
    if paved:
        color = rng.uniform([120, 90, 80], [170, 130, 110])
    else:
        color = rng.uniform(95, 150) * np.array([1.0, 1.0, 1.02])
    img[horizon:] = _textured(h - horizon, w, color, rng, 6.0, 14.0)
    if paved:  # bricks: a grid that narrows with distance
        for y in np.geomspace(horizon + 2, h, 40):
            cv2.line(img, (0, int(y)), (w, int(y)), (color * 0.7).tolist(), 1)
    vanish = rng.uniform(0.2, 0.8) * w
    paint = (230, 230, 225) if rng.random() < 0.6 else (220, 190, 60)
    for _ in range(int(rng.integers(1, 5))):  # lane or parking lines running to a vanishing point
        x_bottom = rng.uniform(-0.5, 1.5) * w
        pts = np.array([[vanish, horizon], [x_bottom - 6, h], [x_bottom + 6, h]], np.int32)
        cv2.fillConvexPoly(img, pts, paint, cv2.LINE_AA)


def _sign(img, x, y, rng, region):
    """A shop sign, street sign or poster with a line of text."""
    text = distractor_text(rng, region)
    height = int(rng.uniform(12, 40))
    mask = fonts.fitted_text(text, int(rng.choice([500, 700, 900])), 2000, height)
    bg = rng.uniform(0, 255, 3)
    ink = np.where(bg.mean() > 128, rng.uniform(0, 60, 3), rng.uniform(200, 255, 3))
    pad = height // 3
    h, w = mask.shape
    x1, y1 = min(img.shape[1], x + w + 2 * pad), min(img.shape[0], y + h + 2 * pad)
    if x1 <= x or y1 <= y or x < 0 or y < 0:
        return
    img[y:y1, x:x1] = bg
    region = img[y + pad : min(y1, y + pad + h), x + pad : min(x1, x + pad + w)]
    a = mask[: region.shape[0], : region.shape[1], None].astype(np.float32) / 255
    region += a * (ink.astype(np.float32) - region)


def street(rng, width: int, height: int, region: str = "cn", horizon: float | None = None) -> np.ndarray:
    """A float32 RGB street scene without vehicles, its signs in ``region``'s script;
    ``horizon`` is a fraction of the height."""
    img = np.zeros((height, width, 3), np.float32)
    hz = int((horizon if horizon is not None else rng.uniform(0.15, 0.5)) * height)
    _sky(img, hz, rng)
    if rng.random() < 0.85:
        _buildings(img, hz, rng, region)
    _trees(img, hz, rng)
    _ground(img, hz, rng)
    for _ in range(int(rng.integers(0, 3))):  # signs and posters at street level
        _sign(img, int(rng.uniform(0, width * 0.9)), int(rng.uniform(hz * 0.5, height * 0.9)), rng, region)
    return img
