"""Hard negatives in the street: road signs on poles and shop signs, at the size of the plates.

ONE WAY, STOP and speed-limit signs, street-name signs (a Chinese one is blue with
white characters, like a plate) and shop signs with a name and a phone number are
the signs a detector trained on plain streets scores as plates. They are drawn in
image pixels before the vehicles, sized from the scene's plates and kept off every
vehicle (so none is hidden, and none lies under a labelled plate).
"""

from __future__ import annotations

import cv2
import numpy as np

from . import fonts
from .distractors import Distractor, contrast_ink
from .text import firm_name, phone_number, street_name, weighted_choice

WHITE, BLACK, RED = (240, 240, 238), (20, 20, 22), (200, 25, 30)
# Sign kinds and their weights; a region's streets have its own mix.
KINDS = {
    "cn": {"street": 3, "shop": 3, "stop": 1, "speed": 1.5, "one_way": 0.5},
    "us": {"one_way": 2.5, "stop": 2, "speed": 2, "street": 2, "shop": 2},
    "eu": {"street": 2, "shop": 2, "stop": 1.5, "speed": 2, "one_way": 1},
    "br": {"street": 2, "shop": 2.5, "stop": 2, "speed": 2, "one_way": 1},
}
STOP_WORDS = {"cn": "停", "br": "PARE"}


def _clip_box(img, x0, y0, x1, y1):
    h, w = img.shape[:2]
    return (float(max(0, x0)), float(max(0, y0)), float(min(w, x1)), float(min(h, y1)))


def _ink(img, text: str, cx: float, cy: float, height: float, max_width: float, color, weight=800):
    """A line of text centred at (cx, cy), ``height`` px of ink, at most ``max_width`` wide."""
    mask = fonts.fitted_text(text, weight, max(2, int(max_width)), max(2, int(round(height))))
    h, w = mask.shape
    x, y = int(round(cx - w / 2)), int(round(cy - h / 2))
    x0, y0, x1, y1 = max(0, x), max(0, y), min(img.shape[1], x + w), min(img.shape[0], y + h)
    if x1 > x0 and y1 > y0:
        a = mask[y0 - y : y1 - y, x0 - x : x1 - x, None].astype(np.float32) / 255
        img[y0:y1, x0:x1] += a * (np.float32(color) - img[y0:y1, x0:x1])


def _rect(img, x0, y0, x1, y1, color, border=0.0, border_color=WHITE):
    cv2.rectangle(img, (int(x0), int(y0)), (int(x1), int(y1)), border_color if border else color, -1)
    if border:
        b = int(round(border))
        cv2.rectangle(img, (int(x0) + b, int(y0) + b), (int(x1) - b, int(y1) - b), color, -1)


def _one_way(img, rng, region, x, y, h):
    """A black 3:1 panel with a white arrow reading ONE WAY."""
    w = 3 * h
    _rect(img, x, y, x + w, y + h, BLACK)
    right = rng.random() < 0.5
    sx = lambda f: x + (f if right else 1 - f) * w  # noqa: E731 - mirrors the arrow for a left-pointing sign
    shaft = np.array([[sx(0.06), y + 0.3 * h], [sx(0.72), y + 0.3 * h], [sx(0.72), y + 0.7 * h],
                      [sx(0.06), y + 0.7 * h]])
    head = np.array([[sx(0.7), y + 0.1 * h], [sx(0.95), y + 0.5 * h], [sx(0.7), y + 0.9 * h]])
    cv2.fillPoly(img, [np.round(shaft).astype(np.int32), np.round(head).astype(np.int32)], WHITE, cv2.LINE_AA)
    _ink(img, "ONE WAY", (sx(0.06) + sx(0.7)) / 2, y + 0.5 * h, 0.28 * h, 0.58 * w, BLACK)
    return w, "ONE WAY"


def _stop(img, rng, region, x, y, h):
    """A red octagon with a white rim and STOP (停 in China, PARE in Brazil)."""
    angles = np.radians(22.5 + 45 * np.arange(8))
    cx, cy = x + h / 2, y + h / 2
    outer = np.column_stack([cx + h / 2 * np.cos(angles), cy + h / 2 * np.sin(angles)])
    inner = np.column_stack([cx + h * 0.45 * np.cos(angles), cy + h * 0.45 * np.sin(angles)])
    cv2.fillPoly(img, [np.round(outer).astype(np.int32)], WHITE, cv2.LINE_AA)
    cv2.fillPoly(img, [np.round(inner).astype(np.int32)], RED, cv2.LINE_AA)
    word = STOP_WORDS.get(region, "STOP") if rng.random() < 0.7 else "STOP"
    _ink(img, word, cx, cy, h * (0.45 if len(word) == 1 else 0.3), h * 0.78, WHITE)
    return h, word


def _speed(img, rng, region, x, y, h):
    """A US SPEED LIMIT panel, or elsewhere a white disc in a red ring with the limit."""
    limit = str(int(rng.choice([20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 100, 120])))
    if region == "us":
        w = 0.8 * h
        _rect(img, x, y, x + w, y + h, WHITE, border=max(1.0, 0.04 * h), border_color=BLACK)
        _ink(img, "SPEED", x + w / 2, y + 0.18 * h, 0.13 * h, 0.7 * w, BLACK)
        _ink(img, "LIMIT", x + w / 2, y + 0.36 * h, 0.13 * h, 0.7 * w, BLACK)
        _ink(img, limit, x + w / 2, y + 0.68 * h, 0.38 * h, 0.8 * w, BLACK)
        return w, f"SPEED LIMIT {limit}"
    centre, r = (int(x + h / 2), int(y + h / 2)), int(h / 2)
    cv2.circle(img, centre, r, RED, -1, cv2.LINE_AA)
    cv2.circle(img, centre, int(r * 0.78), WHITE, -1, cv2.LINE_AA)
    _ink(img, limit, x + h / 2, y + h / 2, 0.42 * h, 0.62 * h, BLACK)
    return h, limit


def _street(img, rng, region, x, y, h):
    """A street-name sign: US green, Chinese blue with pinyin below, European and Brazilian blue or white."""
    name, second = street_name(rng, region)
    color = {"us": (20, 110, 60), "cn": (25, 70, 170)}.get(region, (25, 70, 170) if rng.random() < 0.6 else WHITE)
    ink = WHITE if np.mean(color) < 128 else BLACK
    w = h * rng.uniform(3.5, 5.5)
    _rect(img, x, y, x + w, y + h, color, border=max(1.0, 0.05 * h), border_color=ink)
    if second:
        _ink(img, name, x + w / 2, y + 0.38 * h, 0.4 * h, 0.85 * w, ink)
        _ink(img, second, x + w / 2, y + 0.78 * h, 0.16 * h, 0.8 * w, ink, 600)
    else:
        _ink(img, name, x + w / 2, y + h / 2, 0.55 * h, 0.88 * w, ink)
    return w, f"{name} {second}".strip()


def _shop(img, rng, region, x, y, h):
    """A shop's light box: its name above a phone number."""
    color = tuple(float(v) for v in rng.uniform(0, 255, 3))
    ink = contrast_ink(color, rng)
    w = h * rng.uniform(2.5, 4.5)
    name, phone = firm_name(rng, region), phone_number(rng, region)
    _rect(img, x, y, x + w, y + h, color, border=max(1.0, 0.04 * h), border_color=ink)
    _ink(img, name, x + w / 2, y + 0.36 * h, 0.34 * h, 0.9 * w, ink)
    _ink(img, phone, x + w / 2, y + 0.74 * h, 0.22 * h, 0.9 * w, ink)
    return w, f"{name} {phone}"


PAINTERS = {"one_way": _one_way, "stop": _stop, "speed": _speed, "street": _street, "shop": _shop}
# Sign heights as a share of the widest plate's width: plate-sized, from half to twice a plate.
HEIGHTS = {"one_way": (0.2, 0.6), "stop": (0.4, 1.2), "speed": (0.4, 1.2), "street": (0.18, 0.5), "shop": (0.3, 0.8)}


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def road_signs(img, rng, region: str, plate_width: float, avoid, count: int) -> list[Distractor]:
    """Up to ``count`` signs on the float32 ``img``, off every box in ``avoid``; poles reach the ground."""
    kinds = KINDS.get(region, KINDS["us"])
    height, width = img.shape[:2]
    drawn = []
    for _ in range(count):
        kind = weighted_choice(list(kinds), list(kinds.values()), rng)
        low, high = HEIGHTS[kind]
        # At most half the image tall: a plate filling a small scene would ask for a sign taller than it.
        h = min(max(10.0, plate_width * rng.uniform(low, high)), 0.5 * height)
        aspect = {"one_way": 3.0, "stop": 1.0, "speed": 1.0, "street": 5.5, "shop": 4.5}[kind]
        for _attempt in range(10):
            x, y = rng.uniform(0, max(1.0, width - aspect * h)), rng.uniform(0.05 * height, 0.8 * height - h)
            box = (x, y, x + aspect * h, y + h)
            if not any(_overlaps(box, b) for b in [*avoid, *(d.box for d in drawn)]):
                break
        else:
            continue
        w, text = PAINTERS[kind](img, rng, region, x, y, h)
        pole, ground = max(2, int(0.05 * h)), int(min(height, y + h * rng.uniform(2.0, 4.0)))
        cv2.rectangle(img, (int(x + w / 2), int(y + h)), (int(x + w / 2) + pole, ground), (105, 108, 112), -1)
        drawn.append(Distractor(f"sign_{kind}", _clip_box(img, x, y, x + w, y + h), text))
    return drawn
