"""Drawn Chinese plate glyphs: the characters real GA 36 plates are printed with.

The stroke font (:mod:`.strokefont`) draws Latin letters and digits; for the
province Hanzi it had only Noto Sans CJK, whose shapes differ from the plate
typeface and were the main cause of province misreads on real plates. The
package ships drawn images of every character of Chinese plates
(``assets/cn_plate_glyphs``, from an MIT-licensed plate generator, see its
NOTICE.md): the single-row font (``ga36``: digits, 24 letters, 31 provinces and
警学挂港澳使领) and the new-energy font (``green``). Each is one atlas of
64 x 128 cells, white ink on black; a cell is the whole 45 x 90 mm character cell.

A style is ``glyph_<set>`` with an optional weight, ``glyph_<set>_bold`` or
``glyph_<set>_thin`` (strokes about 1.4 mm thicker or thinner: plates differ in
their stamping and exposure). Characters a set lacks come from the ``ga36`` set.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Optional

import cv2
import numpy as np

from ...errors import AlprkitError

ASSET_DIR = "assets/cn_plate_glyphs"
SETS = ("ga36", "green")
WEIGHTS = {"": 0, "bold": 1, "thin": -1}  # morphology steps at the atlas resolution (1 px = 0.7 mm)


def asset_path(name: str):
    """A file of the shipped glyph assets (a Traversable inside the installed package)."""
    return resources.files(__package__).joinpath(ASSET_DIR, name)


@lru_cache(maxsize=None)
def _index() -> dict:
    path = asset_path("index.json")
    if not path.is_file():
        raise AlprkitError(f"plate glyph assets missing from the alprkit package ({ASSET_DIR}/index.json)")
    return json.loads(path.read_text(encoding="utf-8"))


def charset(name: str) -> str:
    return _index()["sets"][name]


@lru_cache(maxsize=None)
def _atlas(name: str) -> np.ndarray:
    data = np.frombuffer(asset_path(f"{name}.png").read_bytes(), np.uint8)
    atlas = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    if atlas is None:
        raise AlprkitError(f"cannot decode plate glyph atlas {ASSET_DIR}/{name}.png")
    return atlas


def parse_style(style: str) -> Optional[tuple[str, int]]:
    """(set, weight step) of a ``glyph_*`` style, or None for other styles."""
    if not style.startswith("glyph_"):
        return None
    name, _, weight = style[6:].partition("_")
    if name not in SETS or weight not in WEIGHTS:
        raise AlprkitError(f"unknown glyph style {style!r} (sets {SETS}, weights {tuple(w for w in WEIGHTS if w)})")
    return name, WEIGHTS[weight]


def supports(char: str, style: str) -> bool:
    parsed = parse_style(style)
    return bool(parsed) and (char in charset(parsed[0]) or char in charset("ga36"))


@lru_cache(maxsize=512)
def cell(char: str, name: str, weight: int = 0) -> np.ndarray:
    """The 64 x 128 cell of ``char`` (uint8 ink mask), from set ``name`` or else ``ga36``."""
    if char not in charset(name):
        name = "ga36"
    w, h = _index()["cell"]
    i = charset(name).index(char)
    out = _atlas(name)[:, i * w : (i + 1) * w]
    if weight:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        out = (cv2.dilate if weight > 0 else cv2.erode)(out, kernel, iterations=abs(weight))
    out = np.ascontiguousarray(out)
    out.flags.writeable = False
    return out


def render(char: str, style: str, width: int, height: int) -> np.ndarray:
    """``char`` drawn into a ``width`` x ``height`` cell (uint8 mask of exactly that size)."""
    name, weight = parse_style(style)
    src = cell(char, name, weight)
    interpolation = cv2.INTER_AREA if height <= src.shape[0] else cv2.INTER_LINEAR
    out = cv2.resize(src, (width, height), interpolation=interpolation)
    out[out < 8] = 0  # resampling haze would widen the character boxes past the visible ink
    out.flags.writeable = False
    return out
