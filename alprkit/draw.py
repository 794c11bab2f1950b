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


def annotate(pixels: np.ndarray, reads, in_place: bool = False) -> np.ndarray:
    """A copy of ``pixels`` (RGB) with every read's box, corners and ``TEXT 0.97`` label."""
    return draw_labelled(pixels, [(read.detection, read_label(read.recognition), BOX) for read in reads], in_place)


def draw_labelled(pixels: np.ndarray, items, in_place: bool = False) -> np.ndarray:
    """A copy of ``pixels`` (RGB) with each (detection, label, box colour) drawn: box, corners, label.

    ``in_place``: draw on ``pixels`` themselves where they are a writable uint8 array (a frame its
    caller no longer needs). Lines are drawn by OpenCV, and only each label's patch goes through Pillow
    (for its fonts). Drawing a 12000x9000 photo wholly in Pillow took three more copies of it (Pillow
    keeps RGB at 4 bytes a pixel): 1.78 GB of peak memory for ``alprkit run output=...``, 1.34 GB with one.
    """
    import cv2
    from PIL import Image, ImageDraw

    usable = isinstance(pixels, np.ndarray) and pixels.dtype == np.uint8 and pixels.flags.writeable \
        and pixels.flags.c_contiguous and pixels.ndim == 3 and pixels.shape[2] == 3
    out = pixels if in_place and usable else np.array(pixels, dtype=np.uint8, copy=True, order="C")
    height, width = out.shape[:2]
    scale = max(width, height) / 1000
    thickness = max(2, round(2 * scale))
    size = max(12, round(22 * scale))
    for det, label, color in items:
        x1, y1, x2, y2 = (int(round(v)) for v in det.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thickness, lineType=cv2.LINE_AA)
        if det.corners:
            quad = np.round(np.array(det.corners, np.float64)).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(out, [quad], True, CORNERS, thickness, lineType=cv2.LINE_AA)
        if not label:
            continue
        # A character the label font lacks (a third-party recognizer's alphabet) needs the whole font.
        font = _font(size, full=not set(label) <= _label_characters())
        left, top, right, bottom = font.getbbox(label)
        x, y = det.box[0], det.box[1]
        y = y - (bottom - top) - 3 * thickness if y - (bottom - top) - 3 * thickness > 0 else det.box[3] + thickness
        box = [int(np.floor(x)), int(np.floor(y)),
               int(np.ceil(x + right + 2 * thickness)), int(np.ceil(y + bottom + thickness))]
        px1, py1 = max(0, box[0]), max(0, box[1])
        px2, py2 = min(width, box[2] + 1), min(height, box[3] + 1)
        if px2 <= px1 or py2 <= py1:
            continue
        patch = Image.fromarray(out[py1:py2, px1:px2])
        draw = ImageDraw.Draw(patch)
        draw.rectangle((box[0] - px1, box[1] - py1, box[2] - px1, box[3] - py1), fill=LABEL_BG)
        draw.text((x + thickness - px1, y - py1), label, font=font, fill=LABEL_FG)
        out[py1:py2, px1:px2] = np.asarray(patch)
    return out


SHEET_BG = (255, 255, 255)
SHEET_FG = (20, 20, 20)


def contact_sheet(rows, scale: int = 2, gap: int = 6) -> np.ndarray:
    """Seed 002's Fig. 5 for :class:`alprkit.segments.SegmentRow`s, one plate per row: (a) the detected
    patch and its corners, (b) the rectified plate with its read, (c) the segments cut from it, and,
    where the rows have them, (d) the unrectified plate with its read and its segments."""
    from PIL import Image, ImageDraw

    height = 48 * scale
    font = _font(max(12, 7 * scale))
    caption = font.size + 6

    def fit(pixels, max_width=None):
        h, w = pixels.shape[:2]
        width = max(1, round(w * height / h))
        image = Image.fromarray(pixels).resize((width, height), Image.NEAREST if h < height else Image.BILINEAR)
        return image if max_width is None or width <= max_width else image.resize((max_width, height))

    def strip(segments):
        cells = [fit(s) for s in segments]
        out = Image.new("RGB", (sum(c.width for c in cells) + gap // 2 * (len(cells) - 1), height), SHEET_BG)
        x = 0
        for cell in cells:
            out.paste(cell, (x, 0))
            x += cell.width + gap // 2
        return out

    table = []
    for row in rows:
        cells = [(fit(row.patch, 3 * height), ""), (fit(row.rectified), row.text), (strip(row.segments), "")]
        if row.unrectified is not None:
            cells += [(fit(row.unrectified), row.unrectified_text), (strip(row.unrectified_segments), "")]
        table.append(cells)
    titles = ["(a) detected, corners", "(b) rectified", "(c) segments", "(d) not rectified", "segments"]
    columns = max((len(r) for r in table), default=3)
    widths = [max([c[0].width for r in table if len(r) > k for c in [r[k]]] + [0]) for k in range(columns)]
    widths = [max(w, int(font.getlength(titles[k])) + gap) for k, w in enumerate(widths)]
    sheet = Image.new("RGB", (sum(widths) + gap * (columns + 1), caption + len(table) * (height + caption + gap) + gap),
                      SHEET_BG)
    draw = ImageDraw.Draw(sheet)
    x = gap
    for k, width in enumerate(widths):
        draw.text((x, 2), titles[k], font=_font(font.size, full=not set(titles[k]) <= _label_characters()),
                  fill=SHEET_FG)
        x += width + gap
    y = caption
    for cells in table:
        x = gap
        for (image, text), width in zip(cells, widths):
            sheet.paste(image, (x, y))
            if text:
                draw.text((x, y + height + 1), text, font=_font(font.size, full=not set(text) <= _label_characters()),
                          fill=SHEET_FG)
            x += width + gap
        y += height + caption + gap
    return np.asarray(sheet)
