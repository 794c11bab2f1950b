"""Glyph masks for plate characters and small printed text, rendered once and cached.

The only font is the Noto Sans CJK variable font of the ``manimgx-fonts-cjk``
package of the train extra (face 2 is Simplified Chinese; its Latin glyphs are Source Sans), so
nothing is downloaded at run time. Plate typefaces are narrow and tall; stretching
the glyph to the plate's character cell gets their proportions, and the weight axis
gives the stroke widths of different plate fonts. OpenCV's built-in font (the
``FONT_HERSHEY_*`` faces: stroke fonts in OpenCV 4, an embedded sans in OpenCV 5)
adds a second Latin design. The third, closest to real plates, is the procedural
stroke font of :mod:`.strokefont` (the GA 36 plate typeface and its relatives);
its styles draw only Latin letters and digits, other characters fall back to Noto.
The ``glyph_*`` styles of :mod:`.glyphfont` draw every character of Chinese plates,
Hanzi included, from images of the real plate typeface shipped with the package.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ...errors import AlprkitError
from . import glyphfont, strokefont

_FONT_PACKAGE = "manimgx_fonts_cjk"
_FONT_FILE = "NotoSansCJK-VF.otf.ttc"
_SIMPLIFIED_CHINESE_FACE = 2
_CANONICAL_HEIGHT = 128  # glyphs are cached at this ink height, then resized to cells

# A plate-font style is "noto<weight>" (noto500 ... noto900), "stroke_<design>_<stroke mm>"
# (strokefont.parse_style), "glyph_<set>[_bold|_thin]" (glyphfont.parse_style) or one of these
# OpenCV faces (font id, stroke thickness at the canonical size).
HERSHEY_STYLES = {"hershey_simplex": (cv2.FONT_HERSHEY_SIMPLEX, 14), "hershey_duplex": (cv2.FONT_HERSHEY_DUPLEX, 13)}


def font_path() -> str:
    try:
        path = resources.files(_FONT_PACKAGE) / _FONT_FILE
    except ModuleNotFoundError:
        from ...extras import train_extra_error

        raise train_extra_error("the synthetic data engine", _FONT_PACKAGE) from None
    if not path.is_file():
        raise AlprkitError(f"font file {_FONT_FILE} missing from package {_FONT_PACKAGE!r}")
    return str(path)


@lru_cache(maxsize=64)
def noto(size: int, weight: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.truetype(font_path(), size, index=_SIMPLIFIED_CHINESE_FACE)
    font.set_variation_by_axes([weight])  # the variable font defaults to Thin
    return font


def _ink_crop(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask > 8)
    if len(ys) == 0:
        return mask[:1, :1]
    return mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _stroke_font(char: str, style: str):
    """(design, stroke mm) when ``style`` is a stroke-font style that draws ``char``, else None."""
    stroke = strokefont.parse_style(style)
    return stroke if stroke and strokefont.supports(char, stroke[0]) else None


@lru_cache(maxsize=4096)
def glyph(char: str, style: str) -> np.ndarray:
    """The ink of one character (uint8 mask, tightly cropped, about 128 px tall)."""
    if glyphfont.supports(char, style):
        out = np.ascontiguousarray(_ink_crop(glyphfont.cell(char, *glyphfont.parse_style(style))))
        out.flags.writeable = False
        return out
    stroke = _stroke_font(char, style)
    if stroke:
        cell = strokefont.render(char, _CANONICAL_HEIGHT // 2, _CANONICAL_HEIGHT, *stroke)
        out = np.ascontiguousarray(_ink_crop(cell))
        out.flags.writeable = False
        return out
    if style in HERSHEY_STYLES and char.isascii() and char != "0":  # its zero is slashed: Noto's is not
        font_id, thickness = HERSHEY_STYLES[style]
        canvas = np.zeros((300, 300), np.uint8)
        cv2.putText(canvas, char, (40, 230), font_id, 6.0, 255, thickness, cv2.LINE_AA)
        ink = _ink_crop(canvas)
    else:
        # Hanzi and zeros of other styles; the Hanzi of GA 36 plates are as heavy as their stroke font.
        weight = int(style[4:]) if style.startswith("noto") else 900 if strokefont.parse_style(style) else 700
        font = noto(_CANONICAL_HEIGHT * 3 // 2, weight)
        left, top, right, bottom = font.getbbox(char)
        canvas = Image.new("L", (right - left + 8, bottom - top + 8))
        ImageDraw.Draw(canvas).text((4 - left, 4 - top), char, font=font, fill=255)
        ink = _ink_crop(np.asarray(canvas))
    scale = _CANONICAL_HEIGHT / ink.shape[0]
    width = max(1, round(ink.shape[1] * scale))
    out = cv2.resize(ink, (width, _CANONICAL_HEIGHT), interpolation=cv2.INTER_AREA)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=16384)
def fitted_glyph(char: str, style: str, width: int, height: int, fill: str = "0") -> np.ndarray:
    """``char`` fitted into a ``width`` x ``height`` cell (uint8 mask of exactly that size).

    Every glyph is stretched by the factor that makes ``fill`` span the cell, as
    plate fonts are drawn on a fixed grid: with ``fill="0"`` digits fill their cell
    (Chinese and US plates), with ``"O"`` the round letters do and the zero stays
    narrower than O (EU and Brazilian fonts). Wider glyphs are squeezed into the
    cell, narrow ones (1, I, J) keep their narrowness, centred. Stroke-font glyphs are
    drawn straight into the cell: their 0 and O span it by design; so are the drawn
    ``glyph_*`` images, each of which is a whole character cell.
    """
    if glyphfont.supports(char, style):
        return glyphfont.render(char, style, width, height)
    stroke = _stroke_font(char, style)
    if stroke:
        return strokefont.render(char, width, height, *stroke)
    ink = glyph(char, style)
    if not char.isascii():
        # Hanzi fill their cell in both directions.
        cell = cv2.resize(ink, (width, height), interpolation=cv2.INTER_AREA)
        cell.flags.writeable = False
        return cell
    reference = glyph(fill, style)
    stretch = width / (height * reference.shape[1] / reference.shape[0])
    ink_width = int(np.clip(round(height * ink.shape[1] / ink.shape[0] * stretch), 1, width))
    resized = cv2.resize(ink, (ink_width, height), interpolation=cv2.INTER_AREA)
    cell = np.zeros((height, width), np.uint8)
    left = (width - ink_width) // 2
    cell[:, left : left + ink_width] = resized
    cell.flags.writeable = False
    return cell


@lru_cache(maxsize=2048)
def text_ink(text: str, weight: int = 700) -> np.ndarray:
    """A line of small print (state names, slogans, city bands) as a tight uint8 ink mask."""
    font = noto(64, weight)
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("L", (right - left + 8, bottom - top + 8))
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), text, font=font, fill=255)
    out = _ink_crop(np.asarray(canvas))
    out.flags.writeable = False
    return out


@lru_cache(maxsize=4096)
def fitted_text(text: str, weight: int, width: int, height: int) -> np.ndarray:
    """Small print scaled to ``height`` px of ink and at most ``width`` px wide (narrowed if needed)."""
    ink = text_ink(text, weight)
    natural = round(ink.shape[1] * height / ink.shape[0])
    out = cv2.resize(ink, (max(1, min(width, natural)), max(1, height)), interpolation=cv2.INTER_AREA)
    out.flags.writeable = False
    return out
