"""Drawing primitives for plate faces, measured in millimetres of the physical plate.

A :class:`Canvas` holds a float RGB image and a plate-shape alpha mask; painters
fill it with backgrounds, bands, borders, rivets and ink layers. Ink layers are
composited once per colour, with an optional emboss (a thin highlight and shadow
along the strokes, as raised characters catch the light).
"""

from __future__ import annotations

import cv2
import numpy as np

from .degrade import normals

RGB = tuple[float, float, float]


def rounded_rect_mask(height: int, width: int, radius: int) -> np.ndarray:
    """uint8 mask of a ``width`` x ``height`` rectangle with rounded corners (255 inside)."""
    mask = np.zeros((height, width), np.uint8)
    r = int(max(0, min(radius, height // 2, width // 2)))
    if r == 0:
        mask[:] = 255
        return mask
    cv2.rectangle(mask, (r, 0), (width - 1 - r, height - 1), 255, -1)
    cv2.rectangle(mask, (0, r), (width - 1, height - 1 - r), 255, -1)
    for cx, cy in ((r, r), (width - 1 - r, r), (r, height - 1 - r), (width - 1 - r, height - 1 - r)):
        cv2.circle(mask, (cx, cy), r, 255, -1, cv2.LINE_AA)
    return mask


def paint_max(layer: np.ndarray, mask: np.ndarray, x: int, y: int):
    """Draw a float coverage ``mask`` into ``layer`` at (x, y), keeping the larger coverage; clipped."""
    h, w = mask.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(layer.shape[1], x + w), min(layer.shape[0], y + h)
    if x1 > x0 and y1 > y0:
        np.maximum(layer[y0:y1, x0:x1], mask[y0 - y : y1 - y, x0 - x : x1 - x], out=layer[y0:y1, x0:x1])


class Canvas:
    """A plate face ``width_mm`` x ``height_mm`` drawn at ``ppm`` pixels per millimetre."""

    def __init__(self, width_mm: float, height_mm: float, ppm: float, color: RGB = (0, 0, 0), corner_mm: float = 0.0):
        self.ppm = ppm
        self.width = max(8, round(width_mm * ppm))
        self.height = max(4, round(height_mm * ppm))
        self.image = np.empty((self.height, self.width, 3), np.float32)
        self.image[:] = color
        self.alpha = rounded_rect_mask(self.height, self.width, round(corner_mm * ppm))

    @property
    def width_mm(self) -> float:
        return self.width / self.ppm

    def px(self, mm: float) -> int:
        return int(round(mm * self.ppm))

    def box(self, x_mm, y_mm, w_mm, h_mm) -> tuple[int, int, int, int]:
        """Pixel slice bounds (x0, y0, x1, y1) of a millimetre rectangle, clipped to the canvas."""
        x0, y0 = max(0, self.px(x_mm)), max(0, self.px(y_mm))
        x1, y1 = min(self.width, self.px(x_mm + w_mm)), min(self.height, self.px(y_mm + h_mm))
        return x0, y0, max(x0, x1), max(y0, y1)

    def fill(self, x_mm, y_mm, w_mm, h_mm, top: RGB, bottom: RGB | None = None):
        """Fill a rectangle with a colour, or a vertical gradient from ``top`` to ``bottom``."""
        x0, y0, x1, y1 = self.box(x_mm, y_mm, w_mm, h_mm)
        if bottom is None:
            self.image[y0:y1, x0:x1] = top
            return
        t = np.linspace(0.0, 1.0, max(1, y1 - y0), dtype=np.float32)[:, None, None]
        self.image[y0:y1, x0:x1] = (1 - t) * np.float32(top) + t * np.float32(bottom)

    def paint(self, mask: np.ndarray, x: int, y: int, color: RGB, opacity: float = 1.0):
        """Composite a uint8 coverage mask at pixel (x, y) in ``color``; parts off the canvas are clipped."""
        h, w = mask.shape
        x0, y0, x1, y1 = max(0, x), max(0, y), min(self.width, x + w), min(self.height, y + h)
        if x1 <= x0 or y1 <= y0:
            return
        a = mask[y0 - y : y1 - y, x0 - x : x1 - x, None].astype(np.float32) * (opacity / 255.0)
        region = self.image[y0:y1, x0:x1]
        region += a * (np.float32(color) - region)

    def layer(self) -> np.ndarray:
        """An empty full-size ink layer (float32 coverage 0..1) to draw several marks into."""
        return np.zeros((self.height, self.width), np.float32)

    def apply_layer(self, layer: np.ndarray, color: RGB, emboss: float = 0.0, light=(1, 1)):
        """Composite an ink layer in ``color``; ``emboss`` > 0 adds highlight/shadow edges that many px wide."""
        x, y, w, h = cv2.boundingRect((layer > 0).astype(np.uint8))
        if w == 0:
            return
        d = max(1, int(round(emboss))) if emboss > 0 else 0
        x0, y0 = max(0, x - d - 1), max(0, y - d - 1)
        x1, y1 = min(self.width, x + w + d + 1), min(self.height, y + h + d + 1)
        ink, image = layer[y0:y1, x0:x1], self.image[y0:y1, x0:x1]
        keep = 1 - ink  # image * keep + paint: the ink and the emboss in two passes over the colours
        paint = ink[..., None] * np.float32(color)
        if d:
            dx, dy = light
            shadow = np.maximum(np.roll(ink, (dy * d, dx * d), axis=(0, 1)) - ink, 0)
            lit = np.maximum(np.roll(ink, (-dy * d, -dx * d), axis=(0, 1)) - ink, 0)
            paint += (np.float32(0.35 * 255) * lit * keep)[..., None]
            keep *= 1 - np.float32(0.45) * shadow - np.float32(0.35) * lit
        image *= keep[..., None]
        image += paint

    def border(self, layer: np.ndarray, inset_mm: float, width_mm: float, radius_mm: float):
        """Draw a rounded frame line ``inset_mm`` inside the plate edge into ``layer``."""
        inset, radius = self.px(inset_mm), self.px(radius_mm)
        thick = max(1, self.px(width_mm))
        outer = rounded_rect_mask(self.height - 2 * inset, self.width - 2 * inset, radius)
        inner = rounded_rect_mask(
            max(1, self.height - 2 * (inset + thick)), max(1, self.width - 2 * (inset + thick)), max(0, radius - thick)
        )
        frame = outer.astype(np.float32) / 255
        frame[thick : thick + inner.shape[0], thick : thick + inner.shape[1]] -= inner.astype(np.float32) / 255
        paint_max(layer, np.clip(frame, 0, 1), inset, inset)

    def disc(self, cx_mm, cy_mm, r_mm, color: RGB, layer: np.ndarray | None = None):
        """A filled circle, painted directly or drawn into ``layer``."""
        r = max(1.0, r_mm * self.ppm)
        cx, cy = cx_mm * self.ppm, cy_mm * self.ppm
        x0, y0 = int(cx - r) - 1, int(cy - r) - 1
        patch = np.zeros((int(2 * r) + 3, int(2 * r) + 3), np.float32)
        # 2 fractional bits give sub-pixel, anti-aliased circles
        cv2.circle(patch, (int((cx - x0) * 4), int((cy - y0) * 4)), int(r * 4), 1.0, -1, cv2.LINE_AA, shift=2)
        if layer is not None:
            paint_max(layer, patch, x0, y0)
        else:
            self.paint((patch * 255).astype(np.uint8), x0, y0, color)

    def rivet(self, cx_mm, cy_mm, r_mm, rng: np.random.Generator):
        """A bolt or rivet head: a metal disc in a dark ring, with a highlight."""
        metal = tuple(float(v) for v in rng.uniform(120, 230) * np.array([1.0, 1.0, 0.97]))
        self.disc(cx_mm, cy_mm, r_mm * 1.15, tuple(0.4 * c for c in metal))
        self.disc(cx_mm, cy_mm, r_mm, metal)
        self.disc(cx_mm - r_mm * 0.25, cy_mm - r_mm * 0.25, r_mm * 0.45, tuple(min(255.0, c * 1.25) for c in metal))

    def finish(self, rng: np.random.Generator, grain: float = 3.0):
        """The fine grain of retroreflective sheeting (light and gloss come with the capture)."""
        self.image += np.float32(rng.uniform(0.5, 1.0) * grain) * normals(rng, (self.height, self.width, 1))

    def to_uint8(self) -> np.ndarray:
        return np.clip(self.image + 0.5, 0, 255).astype(np.uint8)
