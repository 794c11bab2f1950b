"""Contact sheets: a row of crops and scenes per split, a block per region, to check realism by eye."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw

from . import fonts
from .crop import render_crop
from .scenes import render_scene

# Crop sizes that show each region's plate shape (the recognizer's input size may differ).
PREVIEW_CROP = {"cn": (94, 24), "us": (120, 60), "br": (120, 40), "eu": (136, 30)}
CELL_H = 72
LABEL_W = 90
GAP = 4
BACKGROUND = (255, 255, 255)


def _fit(image: np.ndarray, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA if h > height else cv2.INTER_NEAREST)


def _row(images: Sequence[np.ndarray]) -> np.ndarray:
    cells = [_fit(im, CELL_H) for im in images]
    width = sum(c.shape[1] for c in cells) + GAP * (len(cells) - 1)
    row = np.full((CELL_H, width, 3), BACKGROUND, np.uint8)
    x = 0
    for c in cells:
        row[:, x : x + c.shape[1]] = c
        x += c.shape[1] + GAP
    return row


def contact_sheet(region: str, splits: Sequence[str], seed: int = 0, crops: int = 6, scenes: int = 2) -> np.ndarray:
    """One region's sheet: per split, ``crops`` recognition crops then ``scenes`` full scenes."""
    rows = []
    for s, split in enumerate(splits):
        items = [render_crop(np.random.default_rng([seed, s, i]), region, size=PREVIEW_CROP[region], split=split).image for i in range(crops)]
        items += [render_scene(np.random.default_rng([seed, s, 1000 + i]), region, split=split, max_plates=2).image for i in range(scenes)]
        rows.append((split, _row(items)))
    width = LABEL_W + max(r.shape[1] for _, r in rows)
    title_h = 28
    sheet = np.full((title_h + len(rows) * (CELL_H + GAP), width, 3), BACKGROUND, np.uint8)
    for i, (_, row) in enumerate(rows):
        y = title_h + i * (CELL_H + GAP)
        sheet[y : y + CELL_H, LABEL_W : LABEL_W + row.shape[1]] = row
    canvas = Image.fromarray(sheet)
    draw = ImageDraw.Draw(canvas)
    draw.text((6, 4), f"alprkit synth: region {region}, seed {seed}", font=fonts.noto(16, 700), fill=(0, 0, 0))
    for i, (split, _) in enumerate(rows):
        draw.text((6, title_h + i * (CELL_H + GAP) + CELL_H // 2 - 9), split, font=fonts.noto(15, 600), fill=(0, 0, 0))
    return np.asarray(canvas)


def stack_sheets(sheets: Sequence[np.ndarray]) -> np.ndarray:
    """Several regions' sheets one above the other."""
    width = max(s.shape[1] for s in sheets)
    padded = [np.pad(s, ((0, GAP * 2), (0, width - s.shape[1]), (0, 0)), constant_values=255) for s in sheets]
    return np.vstack(padded)
