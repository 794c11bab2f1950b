"""Contact sheets: a column per split with crops above and scenes below, a block per region."""

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
COLUMN_W = 160
SCENE_H = 128
GAP = 4
TITLE_H = 24
HEADER_H = 20


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` scaled to fit a width x height box, centred on white."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
    cell = np.full((height, width, 3), 255, np.uint8)
    y, x = (height - size[1]) // 2, (width - size[0]) // 2
    cell[y : y + size[1], x : x + size[0]] = small
    return cell


def contact_sheet(region: str, splits: Sequence[str], seed: int = 0, crops: int = 3, scenes: int = 1) -> np.ndarray:
    """One region's sheet: per split a column of ``crops`` recognition crops over ``scenes`` scenes."""
    cw, ch = PREVIEW_CROP[region]
    crop_h = round(COLUMN_W * ch / cw)
    column_h = crops * (crop_h + GAP) + scenes * (SCENE_H + GAP)
    sheet = np.full((TITLE_H + HEADER_H + column_h, len(splits) * (COLUMN_W + GAP), 3), 255, np.uint8)
    for s, split in enumerate(splits):
        x, y = s * (COLUMN_W + GAP), TITLE_H + HEADER_H
        for i in range(crops):
            crop = render_crop(np.random.default_rng([seed, s, i]), region, size=(cw, ch), split=split).image
            sheet[y : y + crop_h, x : x + COLUMN_W] = _fit(crop, COLUMN_W, crop_h)
            y += crop_h + GAP
        for i in range(scenes):
            scene = render_scene(np.random.default_rng([seed, s, 1000 + i]), region, split=split, max_plates=2).image
            sheet[y : y + SCENE_H, x : x + COLUMN_W] = _fit(scene, COLUMN_W, SCENE_H)
            y += SCENE_H + GAP
    canvas = Image.fromarray(sheet)
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 2), f"alprkit synth preview: region {region}, seed {seed}", font=fonts.noto(15, 700), fill=(0, 0, 0))
    for s, split in enumerate(splits):
        draw.text((s * (COLUMN_W + GAP) + 4, TITLE_H), split, font=fonts.noto(14, 600), fill=(0, 0, 0))
    return np.asarray(canvas)


def stack_sheets(sheets: Sequence[np.ndarray]) -> np.ndarray:
    """Several regions' sheets one above the other."""
    width = max(s.shape[1] for s in sheets)
    padded = [np.pad(s, ((0, GAP * 2), (0, width - s.shape[1]), (0, 0)), constant_values=255) for s in sheets]
    return np.vstack(padded)


def scene_sheet(folder, count: int = 6, columns: int = 3, width: int = 480) -> np.ndarray:
    """The first ``count`` scenes of a jsonl folder written by ``alprkit synth``, ``width`` px each, with
    every labelled plate boxed green and every recorded hard negative (``distractors``) red."""
    from ...errors import ConfigError, InputError
    from ...imageio import read_image
    from ..jsonl import load_jsonl

    if count < 1 or columns < 1 or width < 32:
        raise ConfigError(f"sheet.count={count}, sheet.columns={columns}, sheet.width={width}: need at least "
                          "1 scene, 1 column and 32 px")
    samples = load_jsonl(folder).samples[:count]
    if not samples:
        raise InputError(folder, "holds no scenes")
    cells = []
    for sample in samples:
        image = read_image(sample.path).pixels.copy()
        thick = max(2, round(image.shape[1] / width * 2))
        for item in sample.extra.get("distractors", []):
            x0, y0, x1, y1 = (int(round(v)) for v in item["box"])
            cv2.rectangle(image, (x0, y0), (x1, y1), (230, 30, 30), thick)
        for plate in sample.plates:
            x0, y0, x1, y1 = (int(round(v)) for v in plate.box)
            cv2.rectangle(image, (x0, y0), (x1, y1), (30, 210, 60), thick)
        cells.append(cv2.resize(image, (width, round(image.shape[0] * width / image.shape[1])),
                                interpolation=cv2.INTER_AREA))
    height = max(c.shape[0] for c in cells)
    rows = -(-len(cells) // columns)
    sheet = np.full((rows * (height + GAP) - GAP, columns * (width + GAP) - GAP, 3), 255, np.uint8)
    for i, cell in enumerate(cells):
        y, x = (i // columns) * (height + GAP), (i % columns) * (width + GAP)
        sheet[y : y + cell.shape[0], x : x + width] = cell
    return sheet
