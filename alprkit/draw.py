"""Annotated images: plate boxes, corners, text and confidence (and a predicted region) drawn on the frame."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

BOX = (0, 200, 255)
DROPPED = (150, 150, 150)  # a video track that is no vehicle (too short, unsure, never read)
CORNERS = (255, 60, 200)
LABEL_BG = (0, 0, 0)
LABEL_FG = (255, 255, 255)


@lru_cache(maxsize=8)
def _font(size: int, full: bool = False):
    """The bundled label font (Noto Sans CJK SC Bold cut to the plate characters: alprkit/fonts), or with
    ``full`` the whole Noto Sans CJK font of the train extra when it is installed."""
    from PIL import ImageFont

    from .fonts import LABEL_FONT

    if full:
        try:
            from importlib.resources import files

            font = ImageFont.truetype(str(files("manimgx_fonts_cjk") / "NotoSansCJK-VF.otf.ttc"), size, index=2)
            font.set_variation_by_name("Bold")  # face 2: Simplified Chinese; the default weight is Thin
            return font
        except (ModuleNotFoundError, OSError):
            pass
    return ImageFont.truetype(str(LABEL_FONT), size)


@lru_cache(maxsize=1)
def _label_characters() -> frozenset:
    from .fonts import label_characters

    return label_characters()


def read_label(recognition) -> str:
    """``TEXT 0.97``, and where the recognizer predicted the region ``TEXT 0.97 us 0.99``."""
    label = f"{recognition.text} {recognition.confidence:.2f}"
    if recognition.region_confidence is not None:
        label += f" {recognition.region} {recognition.region_confidence:.2f}"
    return label


def annotate(pixels: np.ndarray, reads) -> np.ndarray:
    """A copy of ``pixels`` (RGB) with every read's box, corners and ``TEXT 0.97`` label."""
    return draw_labelled(pixels, [(read.detection, read_label(read.recognition), BOX) for read in reads])


def draw_labelled(pixels: np.ndarray, items) -> np.ndarray:
    """A copy of ``pixels`` (RGB) with each (detection, label, box colour) drawn: box, corners, label."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    scale = max(image.size) / 1000
    width = max(2, round(2 * scale))
    size = max(12, round(22 * scale))
    for det, label, color in items:
        draw.rectangle(det.box, outline=color, width=width)
        if det.corners:
            draw.polygon([tuple(map(float, p)) for p in det.corners], outline=CORNERS, width=width)
        if not label:
            continue
        # A character the label font lacks (a third-party recognizer's alphabet) needs the whole font.
        font = _font(size, full=not set(label) <= _label_characters())
        x, y = det.box[0], det.box[1]
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        y = y - (bottom - top) - 3 * width if y - (bottom - top) - 3 * width > 0 else det.box[3] + width
        draw.rectangle((x, y, x + right + 2 * width, y + bottom + width), fill=LABEL_BG)
        draw.text((x + width, y), label, font=font, fill=LABEL_FG)
    return np.asarray(image)
