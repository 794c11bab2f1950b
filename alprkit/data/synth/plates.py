"""Plate faces per region, with their real layouts, and the exact box of every character.

A layout is a physical design in millimetres (Chinese GA 36-2018 plates, US state
plates, Brazilian grey and Mercosul plates, EU band plates) and a :class:`TextSpec`
of the strings it carries. :func:`render_plate` draws one plate face, flat and
front-on, and returns it with an alpha mask of its outline (rounded corners) and
the tight pixel box of each character of the label; pose, light and weather come
later (:mod:`.geometry`, :mod:`.degrade`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Callable, Optional

import cv2
import numpy as np

from ...errors import ConfigError
from ...types import Box
from ..regions import REGIONS
from . import fonts, usart
from .canvas import RGB, Canvas, paint_max
from .text import CCPD_PREFIXES, CN_ALNUM, CN_LETTER, CN_PROVINCE, TextSpec, weighted_choice

DEFAULT_PPM = 1.0  # pixels per millimetre of the flat plate face


@dataclass(frozen=True, eq=False)
class RenderedPlate:
    """A flat plate face: its corners are the image corners (TL, TR, BR, BL)."""

    image: np.ndarray  # uint8 RGB (h, w, 3)
    alpha: np.ndarray  # uint8 (h, w): 255 on the plate, 0 beyond its rounded corners
    text: str
    region: str
    layout: str
    char_boxes: tuple[Box, ...]  # tight ink box of each label character, in image pixels
    ppm: float  # pixels per millimetre of the physical plate

    @property
    def size(self) -> tuple[int, int]:
        return self.image.shape[1], self.image.shape[0]

    @property
    def size_mm(self) -> tuple[float, float]:
        return self.image.shape[1] / self.ppm, self.image.shape[0] / self.ppm


@dataclass(frozen=True)
class Layout:
    name: str
    region: str
    weight: float  # share among the region's layouts
    text: TextSpec
    size_mm: tuple[float, float]  # the physical plate, width x height
    corner_mm: float  # radius of its rounded corners
    draw: Callable  # draw(canvas, groups, rng) -> char boxes: paints the whole face

    @property
    def patterns(self) -> tuple[re.Pattern, ...]:
        return _group_patterns(tuple(t for t, _ in self.text.templates))

    def split(self, text: str) -> Optional[tuple[str, ...]]:
        """``text`` cut into this layout's groups, or None when no template of the layout fits it."""
        for pattern in self.patterns:
            m = pattern.fullmatch(text)
            if m:
                return tuple(g for g in m.groups() if g)
        return None


@lru_cache(maxsize=None)
def _group_patterns(templates: tuple[str, ...]) -> tuple[re.Pattern, ...]:
    return tuple(re.compile("".join(f"({part})" for part in t.split(" "))) for t in templates)


# --- shared drawing of the character row ------------------------------------------------


@dataclass(frozen=True)
class Row:
    """Where a row of characters goes: a text area in mm and the nominal cell metrics."""

    x0: float
    x1: float
    y: float
    height: float
    cell: float
    gap: float
    group_gap: float
    fill: str = "0"  # the character whose ink spans a cell (see fonts.fitted_glyph)


def row_cells(groups: tuple[str, ...], row: Row) -> tuple[list[tuple[float, float]], list[float]]:
    """Character cells (x, width) in mm, centred in the row, and the centre of each group gap.

    A string too long for the area (vanity plates) narrows cells and gaps alike.
    """
    n = sum(len(g) for g in groups)
    k = len(groups) - 1
    total = n * row.cell + (n - 1 - k) * row.gap + k * row.group_gap
    scale = min(1.0, (row.x1 - row.x0) / total)
    cell, gap, group_gap = row.cell * scale, row.gap * scale, row.group_gap * scale
    x = row.x0 + ((row.x1 - row.x0) - total * scale) / 2
    cells, separators = [], []
    for gi, group in enumerate(groups):
        for ci in range(len(group)):
            cells.append((x, cell))
            x += cell + (gap if ci < len(group) - 1 else 0)
        if gi < k:
            separators.append(x + group_gap / 2)
            x += group_gap
    return cells, separators


def draw_row(canvas: Canvas, layer: np.ndarray, groups, row: Row, style: str, rng, draw_as=None) -> tuple[Box, ...]:
    """Draw the label characters into the ink ``layer``; return each character's tight pixel box.

    ``draw_as`` maps a label character to the character whose glyph shows it (US plates
    print O and 0 with one glyph, labelled 0).
    """
    cells, _ = row_cells(groups, row)
    boxes = []
    jitter = 0.012 * row.height  # stamping is not perfectly even
    height = max(2, canvas.px(_on_grid(row.height)))
    for char, (x, w) in zip("".join(groups), cells):
        x0 = canvas.px(x + rng.normal(0, jitter))
        y0 = canvas.px(row.y + rng.normal(0, jitter))
        shown = draw_as.get(char, char) if draw_as else char
        mask = fonts.fitted_glyph(shown, style, max(2, canvas.px(_on_grid(w))), height, row.fill)
        paint_max(layer, mask / np.float32(255), x0, y0)
        ys, xs = np.nonzero(mask)
        boxes.append((float(x0 + xs.min()), float(y0 + ys.min()), float(x0 + xs.max() + 1), float(y0 + ys.max() + 1)))
    return tuple(boxes)


def _on_grid(mm: float, step: float = 2.0) -> float:
    """Sizes snapped to a coarse grid, so that glyph and text caches see few distinct sizes."""
    return step * round(mm / step)


def _light(rng) -> tuple[int, int]:
    return (int(rng.choice([-1, 1])), int(rng.choice([-1, 1])))


def print_text(canvas: Canvas, text: str, cx_mm, cy_mm, h_mm, max_w_mm, color: RGB, weight=700, shear=0.0):
    """Small print centred at (cx, cy): state names, slogans, city bands."""
    width, height = canvas.px(_on_grid(max_w_mm, 20.0)), canvas.px(_on_grid(h_mm))
    mask = fonts.fitted_text(text, weight, max(2, width), max(2, height))
    if shear:
        mask = _sheared(mask, shear)
    canvas.paint(mask, canvas.px(cx_mm) - mask.shape[1] // 2, canvas.px(cy_mm) - mask.shape[0] // 2, color)


def _sheared(mask: np.ndarray, shear: float) -> np.ndarray:
    h, w = mask.shape
    extra = int(abs(shear) * h) + 1
    m = np.float32([[1, -shear, shear * h if shear > 0 else 0], [0, 1, 0]])
    return cv2.warpAffine(mask, m, (w + extra, h), flags=cv2.INTER_LINEAR)


def _jitter(color, rng, spread=12.0) -> RGB:
    return tuple(float(np.clip(c + rng.normal(0, spread), 0, 255)) for c in color)


def _style(rng, weights: dict) -> str:
    return weighted_choice(list(weights), list(weights.values()), rng)


def _separator(canvas: Canvas, layer: np.ndarray, kind: str, x_mm, cy_mm, size_mm):
    """Draw a group separator (``dot``, ``dash``; ``gap`` and ``none`` draw nothing) into ``layer``."""
    if kind == "dot":
        canvas.disc(x_mm, cy_mm, size_mm / 2, (0, 0, 0), layer)
    elif kind == "dash":
        x0, y0, x1, y1 = canvas.box(x_mm - size_mm * 0.6, cy_mm - size_mm * 0.18, size_mm * 1.2, size_mm * 0.36)
        layer[y0:y1, x0:x1] = 1.0


# --- China (GA 36-2018) --------------------------------------------------------------------

# About 65% of the plates are drawn with images of the real plate glyphs (province Hanzi
# included; green plates use the new-energy font); the rest keep the procedural GA 36
# stroke font (28%, Hanzi from Noto) and Noto alone (7%) for variety.
_CN_FONTS = {
    "glyph_ga36": 25, "glyph_ga36_bold": 6, "glyph_ga36_thin": 6,
    "stroke_ga36_10": 7, "stroke_ga36_11": 5, "stroke_ga36_9": 2, "stroke_ga36_12": 2,
    "noto700": 1, "noto800": 2, "noto900": 1,
}  # fmt: skip


def _cn_colors(kind: str, rng):
    """Top and bottom background colours (bottom None: flat) and the ink of a Chinese plate."""
    if kind == "blue":
        bg = (rng.uniform(0, 35), rng.uniform(40, 110), rng.uniform(165, 245))
        # Reflective white ink picks up some of the blue around it.
        ink = np.float32((240, 242, 245)) + rng.uniform(0, 0.2) * (np.float32(bg) - np.float32((240, 242, 245)))
        return bg, None, _jitter(ink, rng, 6)
    if kind == "yellow":
        bg = (rng.uniform(215, 250), rng.uniform(165, 205), rng.uniform(0, 40))
        return bg, None, _jitter((25, 25, 25), rng, 6)
    top = (rng.uniform(200, 240), rng.uniform(235, 250), rng.uniform(200, 235))  # new-energy gradient
    bottom = (rng.uniform(40, 110), rng.uniform(175, 215), rng.uniform(70, 130))
    return top, bottom, _jitter((20, 25, 20), rng, 6)


def _draw_cn(kind: str, canvas: Canvas, groups, rng):
    if len(groups) == 1 and len(groups[0]) > 2:
        # A string no template fits (a 警 or 学 plate): Chinese plates still put the dot after the city letter.
        groups = (groups[0][:2], groups[0][2:])
    eight = sum(len(g) for g in groups) == 8  # new-energy plates: narrower cells, wider gap
    width = canvas.width_mm
    top, bottom, ink = _cn_colors(kind, rng)
    canvas.fill(0, 0, width, 140, top, bottom)
    layer = canvas.layer()
    if kind == "green":
        border = canvas.layer()
        canvas.border(border, rng.uniform(1.5, 3.5), rng.uniform(1.2, 2.2), 6.0)
        canvas.apply_layer(border, _jitter((40, 90, 50), rng, 8))
    else:
        canvas.border(layer, rng.uniform(1.5, 3.5), rng.uniform(1.2, 2.2), 6.0)
    row = Row(0, width, 25.0, 90.0, 43.0 if eight else 45.0, 9.0 if eight else 12.0, 49.0 if eight else 34.0)
    style = _style(rng, _CN_FONTS)
    if kind == "green" and style.startswith("glyph_ga36"):
        style = style.replace("ga36", "green")  # new-energy plates have their own, narrower font
    boxes = draw_row(canvas, layer, groups, row, style, rng)
    _, (sep,) = row_cells(groups, row)
    _separator(canvas, layer, "dot", sep, 70.0, 10.0)
    canvas.apply_layer(layer, ink, rng.uniform(0.0, 2.0) * canvas.ppm, _light(rng))
    for x in (width * 0.25, width * 0.75):
        if rng.random() < 0.8:
            canvas.rivet(x + rng.normal(0, 4), 12.0 + rng.normal(0, 1.5), rng.uniform(3.0, 4.5), rng)
    return boxes


_CN_BLUE_TEXT = TextSpec(
    templates=((f"{CN_PROVINCE}{CN_LETTER} {CN_ALNUM}{{5}}", 1.0),), prefixes=CCPD_PREFIXES, digit_share=0.72
)
_CN_GREEN_TEXT = TextSpec(
    templates=(
        (f"{CN_PROVINCE}{CN_LETTER} [DF]{CN_ALNUM}[0-9]{{4}}", 0.85),
        (f"{CN_PROVINCE}{CN_LETTER} [0-9]{{5}}[DF]", 0.15),
    ),
    prefixes=CCPD_PREFIXES,
    digit_share=0.8,
)


# --- United States ---------------------------------------------------------------------------

US_STATES = (
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware", "Florida",
    "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine",
    "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska",
    "Nevada", "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio",
    "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota", "Tennessee", "Texas",
    "Utah", "Vermont", "Virginia", "Washington", "West Virginia", "Wisconsin", "Wyoming", "Washington, D.C.",
)  # fmt: skip
US_SLOGANS = (
    "America's Dairyland", "Land of Lincoln", "The Natural State", "Famous Potatoes", "Live Free or Die",
    "Sunshine State", "Great Lakes", "Land of Enchantment", "First in Flight", "Vacationland", "Aloha State",
    "10,000 lakes", "Peace Garden State", "The Volunteer State", "Green Mountain State", "Wild, Wonderful",
    "Heart of Dixie", "Grand Canyon State", "Garden State", "Keystone State", "Ocean State", "Empire State",
    "Show Me State", "Big Sky Country", "Celebrate & Discover", "The Spirit of America", "Centennial",
    "Explore", "visitPA.com", "Discover the Spirit", "Sportsmans Paradise", "Beautiful", "Bicentennial",
)  # fmt: skip
US_COUNTIES = ("DAVIDSON", "JACKSON", "MONONA", "LINN", "POLK", "SHELBY", "KNOX", "ORANGE", "MARION", "FRANKLIN")
US_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

_US_INKS = ((20, 30, 95), (15, 15, 20), (150, 25, 35), (20, 80, 45), (95, 20, 35), (30, 60, 160))
# Many states use narrow condensed fonts of straight strokes and round arcs: the stroke font
# (flagged or plain 1) is one more style among the sans faces.
_US_FONTS = {
    "noto500": 2, "noto600": 3, "noto700": 2, "noto800": 1, "hershey_simplex": 2, "hershey_duplex": 1,
    "stroke_us_10": 2, "stroke_us_12": 1, "stroke_br_10": 1,
}  # fmt: skip


def _us_background(canvas: Canvas, rng) -> tuple[bool, RGB]:
    """Paint a state-plate background; returns (dark background?, a band colour that suits it)."""
    kind = weighted_choice(["plain", "sky", "sunset", "stripe", "landscape", "solid"], [3, 2, 1.5, 1, 2, 0.8], rng)
    accent = _jitter(weighted_choice([(190, 40, 45), (30, 70, 160), (40, 120, 70), (200, 120, 30)], [1] * 4, rng), rng)
    white = _jitter((240, 240, 236), rng, 5)
    w, h = canvas.width_mm, canvas.height / canvas.ppm
    if kind == "solid":
        dark = rng.random() < 0.5
        color = _jitter((25, 40, 95) if dark else (240, 185, 50), rng)
        canvas.fill(0, 0, w, h, color)
        return dark, accent
    canvas.fill(0, 0, w, h, white)
    if kind == "sky":
        canvas.fill(0, 0, w, h * 0.6, _jitter((110, 170, 235), rng, 20), white)
    elif kind == "sunset":
        canvas.fill(0, h * 0.35, w, h * 0.65, white, _jitter((240, 130, 80), rng, 25))
    elif kind == "stripe":
        canvas.fill(0, h * 0.82, w, h * 0.18, accent)
    elif kind == "landscape":
        _hills(canvas, rng)
    return False, accent


def _hills(canvas: Canvas, rng):
    """Faint mountains, trees or a sun behind the characters, like scenic plates."""
    w, h = canvas.width, canvas.height
    for _ in range(int(rng.integers(1, 3))):
        xs = np.linspace(0, w, int(rng.integers(4, 9)))
        ys = h * rng.uniform(0.45, 0.85, len(xs))
        poly = np.array([[0, h]] + [[x, y] for x, y in zip(xs, ys)] + [[w, h]], np.int32)
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [poly], 255, cv2.LINE_AA)
        canvas.paint(mask, 0, 0, _jitter((120, 170, 200), rng, 50), opacity=rng.uniform(0.25, 0.6))
    if rng.random() < 0.4:
        canvas.disc(rng.uniform(30, 270), rng.uniform(30, 70), rng.uniform(12, 25), _jitter((240, 200, 120), rng, 20))


def _sticker(canvas: Canvas, x_mm, y_mm, rng):
    colors = [(230, 120, 30), (40, 160, 80), (230, 60, 60), (60, 90, 200), (240, 210, 40)]
    color = _jitter(colors[int(rng.integers(len(colors)))], rng, 10)
    w, h = rng.uniform(18, 28), rng.uniform(13, 18)
    canvas.fill(x_mm, y_mm, w, h, color)
    label = weighted_choice([f"{int(rng.integers(0, 100)):02d}", US_MONTHS[int(rng.integers(12))]], [1, 1], rng)
    ink = (20, 20, 20) if sum(color) > 400 else (250, 250, 250)
    print_text(canvas, label, x_mm + w / 2, y_mm + h / 2, h * 0.55, w * 0.85, ink, 800)


def _draw_us(canvas: Canvas, groups, rng):
    dark, accent = _us_background(canvas, rng)
    ink = _jitter((235, 200, 60) if dark else _US_INKS[int(rng.integers(len(_US_INKS)))], rng, 10)
    if not dark and rng.random() < 0.6:
        usart.graphic(canvas, rng, accent)  # artwork behind and through the characters
    title_ink = _jitter((240, 240, 240), rng, 5) if dark else (accent if rng.random() < 0.6 else ink)

    state = US_STATES[int(rng.integers(len(US_STATES)))]
    state = state.upper() if rng.random() < 0.5 else state
    shear = rng.uniform(0.15, 0.35) if rng.random() < 0.3 else 0.0
    print_text(canvas, state, 152.5 + rng.normal(0, 6), rng.uniform(18, 24), rng.uniform(15, 24), rng.uniform(150, 240),
               title_ink, int(rng.choice([600, 700, 800, 900])), shear)  # fmt: skip
    footers = US_SLOGANS if rng.random() < 0.75 else US_COUNTIES
    footer = footers[int(rng.integers(len(footers)))]
    if rng.random() < 0.85:
        footer_ink = title_ink if rng.random() < 0.5 else ink
        print_text(canvas, footer, 152.5, rng.uniform(134, 141), rng.uniform(8, 12), 220, footer_ink, 700)
    for corner_x in (12.0, 268.0):
        if rng.random() < 0.45:
            _sticker(canvas, corner_x + rng.normal(0, 2), rng.uniform(8, 14) if rng.random() < 0.7 else 118.0, rng)

    height = rng.uniform(62, 76)
    kinds = ["gap", "dash", "dot", "none", "emblem"]
    separator = weighted_choice(kinds, [3, 3, 1, 2, 1.5], rng) if len(groups) > 1 else "none"
    group_gap = {"none": 4.0, "gap": 22.0, "dash": 24.0, "dot": 20.0, "emblem": 30.0}[separator]
    # Small stacked characters beside the string (a county number, "DV"): printed, never in the label.
    stacked = None if sum(map(len, groups)) > 7 or rng.random() > 0.12 else int(rng.choice([-1, 1]))
    x0, x1 = 14 + (30 if stacked == -1 else 0), 291 - (30 if stacked == 1 else 0)
    row = Row(x0, x1, rng.uniform(42, 50), height, rng.uniform(30, 37), rng.uniform(2, 5), group_gap)
    layer = canvas.layer()
    style = _style(rng, _US_FONTS)
    # O and 0 share one glyph on US plates (labelled 0): some plates show it round like O.
    draw_as = {"0": "O"} if rng.random() < 0.35 else None
    boxes = draw_row(canvas, layer, groups, row, style, rng, draw_as)
    _, seps = row_cells(groups, row)
    for x in seps:
        if separator == "emblem":
            usart.emblem_separator(canvas, x, row.y + height / 2, rng.uniform(14, 22), _jitter(accent, rng), rng)
        else:
            _separator(canvas, layer, separator, x, row.y + height / 2, 9.0)
    if stacked is not None:
        cells, _ = row_cells(groups, row)
        edge = cells[0][0] if stacked == -1 else cells[-1][0] + cells[-1][1]
        usart.stacked_marks(canvas, layer, style, edge + stacked * (0.14 * height + 4), row.y, height, rng)
    canvas.apply_layer(layer, ink, rng.uniform(0, 2.5) * canvas.ppm, _light(rng))
    for x in (63.5, 241.5):
        for y in (14.0, 138.0) if rng.random() < 0.5 else (14.0,):
            canvas.rivet(x, y, rng.uniform(3, 4.5), rng)
    return boxes


_US_TEXT = TextSpec(
    templates=(
        ("[A-Z]{3} [0-9]{4}", 0.25),
        ("[A-Z]{3} [0-9]{3}", 0.15),
        ("[0-9][A-Z]{3}[0-9]{3}", 0.15),
        ("[0-9]{3} [A-Z]{3}", 0.12),
        ("[A-Z]{2} [0-9]{4,5}", 0.06),
        ("[A-Z][0-9]{2} [A-Z]{3}", 0.05),
        ("[0-9]{2,3}[A-Z] [0-9]{3}", 0.05),
        ("[0-9]{3} [0-9]{4}", 0.04),
        ("[A-Z0-9]{2,8}", 0.13),
    ),
    exclude="O",  # US labels never use O: O and 0 share one glyph on most US plates
    digit_share=0.3,
    letter_zero=0.04,  # ... so a letter position that shows O is labelled 0 (about one letter in 26)
)


# --- Brazil --------------------------------------------------------------------------------

BR_CITIES = (
    "BA-SALVADOR", "PR-CURITIBA", "MG-MONTES CLAROS", "GO-GOIANIA", "DF-BRASILIA", "SP-SAO PAULO",
    "RJ-RIO DE JANEIRO", "RS-PORTO ALEGRE", "SC-FLORIANOPOLIS", "PE-RECIFE", "CE-FORTALEZA", "AM-MANAUS",
    "PA-BELEM", "ES-VITORIA", "MT-CUIABA", "MS-CAMPO GRANDE", "SP-CAMPINAS", "MG-BELO HORIZONTE",
    "PR-LONDRINA", "BA-FEIRA DE SANTANA", "SP-SANTOS", "RN-NATAL",
)  # fmt: skip
_BR_FONTS = {"noto800": 2, "noto900": 3, "noto700": 1, "hershey_simplex": 1, "hershey_duplex": 1}
# The old grey plates' typeface (plain-bar 1, round-topped 3, heavy strokes) is of the stroke font's build.
_BR_OLD_FONTS = {**_BR_FONTS, "stroke_br_12": 3, "stroke_br_14": 2}


def _draw_br_old(canvas: Canvas, groups, rng):
    commercial = rng.random() < 0.06  # red taxi / commercial plates, white characters
    grey = tuple(np.clip(rng.uniform(150, 215) + rng.normal(0, 4, 3), 0, 255))
    bg = _jitter((170, 35, 35), rng) if commercial else grey
    ink = _jitter((240, 240, 240), rng, 5) if commercial else _jitter((25, 25, 28), rng, 6)
    canvas.fill(0, 0, 400, 130, bg)
    print_text(canvas, BR_CITIES[int(rng.integers(len(BR_CITIES)))], 200, 14.0, rng.uniform(9, 13), 230, ink, 700)
    layer = canvas.layer()
    canvas.border(layer, rng.uniform(1.5, 3.0), rng.uniform(1.0, 2.0), 6.0)
    row = Row(8, 392, rng.uniform(32, 38), rng.uniform(62, 70), 40.0, 5.0, 32.0, "O")
    boxes = draw_row(canvas, layer, groups, row, _style(rng, _BR_OLD_FONTS), rng)
    _, (sep,) = row_cells(groups, row)
    _separator(canvas, layer, weighted_choice(["dash", "dot"], [1, 1], rng), sep, row.y + row.height * 0.5, 10.0)
    canvas.apply_layer(layer, ink, rng.uniform(0.5, 2.5) * canvas.ppm, _light(rng))
    for x in (80.0, 320.0):
        if rng.random() < 0.6:
            canvas.rivet(x, 12.0, rng.uniform(3, 4), rng)
    return boxes


def _draw_br_mercosul(canvas: Canvas, groups, rng):
    canvas.fill(0, 0, 400, 130, _jitter((243, 243, 240), rng, 5))
    band = _jitter((10, 55, 150), rng, 10)
    canvas.fill(0, 0, 400, 28, band)
    print_text(canvas, "BRASIL", 200, 14, 12.5, 120, (245, 245, 245), 800)
    canvas.fill(356, 6, 30, 17, (20, 150, 70))  # the Brazilian flag, simplified: green field, blue disc
    canvas.disc(371, 14.5, 5.5, (240, 210, 30))
    canvas.disc(371, 14.5, 3.5, (20, 50, 140))
    for i in range(4):  # MERCOSUL mark: a few stars on the band's left
        canvas.disc(20 + 6 * i, 10 + 5 * (i % 2), 1.5, (240, 240, 240))
    layer = canvas.layer()
    canvas.border(layer, 1.0, 2.0, 6.0)
    row = Row(12, 388, rng.uniform(40, 46), rng.uniform(60, 68), 44.0, 4.0, 4.0, "O")
    boxes = draw_row(canvas, layer, groups, row, _style(rng, _BR_FONTS), rng)
    canvas.apply_layer(layer, _jitter((20, 20, 22), rng, 5), rng.uniform(0.0, 1.5) * canvas.ppm, _light(rng))
    return boxes


# --- Europe ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EuCountry:
    code: str
    separators: tuple[str, ...]  # mark drawn in each group gap: "gap", "dash", "crest", "seals"
    yellow: bool = False


def _eu_band(canvas: Canvas, code: str, rng):
    canvas.fill(0, 0, 42, 110, _jitter((20, 55, 160), rng, 10))
    for k in range(12):  # the circle of stars
        a = 2 * np.pi * k / 12
        canvas.disc(21 + 11 * np.cos(a), 30 + 11 * np.sin(a), 1.4, (245, 215, 40))
    print_text(canvas, code, 21, 82, 22, 34, (245, 245, 245), 700)


def _draw_eu(country: EuCountry, canvas: Canvas, groups, rng):
    bg = _jitter((245, 200, 30), rng, 8) if country.yellow else _jitter((242, 242, 240), rng, 5)
    canvas.fill(0, 0, 520, 110, bg)
    ink = _jitter((18, 18, 20), rng, 5)
    _eu_band(canvas, country.code, rng)
    layer = canvas.layer()
    canvas.border(layer, 1.0, 1.5, 5.0)
    row = Row(50, 512, rng.uniform(14, 19), rng.uniform(72, 78), 44.0, 3.5, 30.0, "O")
    style = _style(rng, {"noto600": 2, "noto700": 3, "noto800": 1, "hershey_simplex": 2})
    boxes = draw_row(canvas, layer, groups, row, style, rng)
    _, seps = row_cells(groups, row)
    cy = row.y + row.height / 2
    for x, kind in zip(seps, country.separators):
        _separator(canvas, layer, kind, x, cy, 12.0)
    canvas.apply_layer(layer, ink, rng.uniform(0, 1.5) * canvas.ppm, _light(rng))
    for x, kind in zip(seps, country.separators):
        if kind == "crest":  # a small shield: red field, white cross
            canvas.fill(x - 6, cy - 8, 12, 16, (200, 30, 40))
            canvas.fill(x - 1, cy - 6, 2, 10, (245, 245, 245))
            canvas.fill(x - 4, cy - 3, 8, 2, (245, 245, 245))
        elif kind == "seals":  # German registration and inspection seals, stacked
            canvas.disc(x, cy - 10, 8, _jitter((200, 150, 60), rng, 40))
            canvas.disc(x, cy + 10, 8, _jitter((150, 150, 150), rng, 20))
    return boxes


_EU_COUNTRIES = {
    "eu_sk": (EuCountry("SK", ("crest",)), TextSpec((("[A-Z]{2} [0-9]{3}[A-Z]{2}", 1.0),)), 0.45),
    "eu_cz": (EuCountry("CZ", ("gap",)), TextSpec((("[0-9][A-Z][0-9A-Z] [0-9]{4}", 1.0),), digit_share=0.5), 0.15),
    "eu_pl": (EuCountry("PL", ("gap",)), TextSpec((("[A-Z]{2,3} [0-9A-Z]{4,5}", 1.0),), digit_share=0.7), 0.15),
    "eu_de": (EuCountry("D", ("seals", "gap")), TextSpec((("[A-Z]{1,3} [A-Z]{1,2} [0-9]{2,4}", 1.0),)), 0.15),
    "eu_nl": (EuCountry("NL", ("dash", "dash"), yellow=True), TextSpec((("[A-Z]{2} [0-9]{3} [A-Z]", 1.0),)), 0.05),
    "eu_vanity": (EuCountry("D", ("dash",)), TextSpec((("[A-Z]{1,2} [A-Z0-9]{3,5}", 1.0),), digit_share=0.3), 0.05),
}


# --- the table of layouts ----------------------------------------------------------------------


def _layouts() -> dict[str, Layout]:
    cn, br = (440.0, 140.0), (400.0, 130.0)
    table = [
        Layout("cn_blue", "cn", 0.85, _CN_BLUE_TEXT, cn, 4.0, partial(_draw_cn, "blue")),
        Layout("cn_green", "cn", 0.1, _CN_GREEN_TEXT, (480.0, 140.0), 4.0, partial(_draw_cn, "green")),
        Layout("cn_yellow", "cn", 0.05, _CN_BLUE_TEXT, cn, 4.0, partial(_draw_cn, "yellow")),
        Layout("us", "us", 1.0, _US_TEXT, (305.0, 152.0), 7.0, _draw_us),
        Layout("br_old", "br", 0.7, TextSpec((("[A-Z]{3} [0-9]{4}", 1.0),)), br, 5.0, _draw_br_old),
        Layout("br_mercosul", "br", 0.3, TextSpec((("[A-Z]{3}[0-9][A-Z][0-9]{2}", 1.0),)), br, 6.0, _draw_br_mercosul),
    ]
    for name, (country, spec, weight) in _EU_COUNTRIES.items():
        table.append(Layout(name, "eu", weight, spec, (520.0, 110.0), 5.0, partial(_draw_eu, country)))
    return {layout.name: layout for layout in table}


LAYOUTS: dict[str, Layout] = _layouts()


def region_layouts(region: str) -> list[Layout]:
    found = [layout for layout in LAYOUTS.values() if layout.region == region]
    if not found:
        known = ", ".join(sorted({layout.region for layout in LAYOUTS.values()}))
        raise ConfigError(f"unknown region {region!r} for synthetic plates (regions: {known})")
    return found


def get_layout(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ConfigError(f"unknown plate layout {name!r} (layouts: {', '.join(LAYOUTS)})") from None


def check_share(value, key: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ConfigError(f"{key}={value!r}: a share is a number from 0 to 1")
    return float(value)


def check_layout_shares(shares) -> dict[str, float]:
    """``{layout: share}`` checked: known layouts, shares 0..1, at most 1 in all per region."""
    shares = dict(shares or {})
    totals: dict[str, float] = {}
    for name, share in shares.items():
        region = get_layout(str(name)).region
        totals[region] = totals.get(region, 0.0) + check_share(share, f"layout_shares.{name}")
    for region, total in totals.items():
        if total > 1 + 1e-9:
            raise ConfigError(f"layout_shares of region {region} add up to {total:g}: at most 1")
    return {str(k): float(v) for k, v in shares.items()}


def layout_weights(layouts, shares=None) -> list[float]:
    """Each layout's weight, where ``shares`` fixes some layouts' share of their region's plates
    (``{"cn_green": 0.3}``) and the others split the rest in their own proportions."""
    weights = [layout.weight for layout in layouts]
    if not shares or not any(layout.name in shares for layout in layouts):
        return weights
    total = sum(weights)
    fixed = sum(shares[layout.name] for layout in layouts if layout.name in shares)
    free = sum(w for layout, w in zip(layouts, weights) if layout.name not in shares)
    out = [shares[layout.name] if layout.name in shares else (1 - fixed) * w / free if free else 0.0
           for layout, w in zip(layouts, weights)]
    return out if sum(out) > 0 else [w / total for w in weights]  # every fitting layout at share 0: keep them


_PPM_STEPS = (0.2, 0.3, 0.45, 0.65, 1.0)


def face_ppm(width_px: float, width_mm: float) -> float:
    """A face resolution of at least ``width_px`` across, from a few steps (glyph caches stay small)."""
    wanted = width_px / width_mm
    return next((p for p in _PPM_STEPS if p >= wanted), _PPM_STEPS[-1])


def render_plate(
    rng: np.random.Generator,
    region: str = "cn",
    text: Optional[str] = None,
    layout: Optional[str] = None,
    ppm: Optional[float] = None,
    width_px: Optional[float] = None,
    shares: Optional[dict] = None,
) -> RenderedPlate:
    """Draw one plate of ``region`` (or of the named ``layout``), with ``text`` or a random string.

    A given ``text`` picks among the region's layouts whose templates fit it (an
    8-character Chinese string gets a green new-energy plate); text that no
    template fits is drawn as one group on the region's main layout, after a
    charset check. The face is drawn at ``ppm`` pixels per mm, or sharp enough to
    be shown ``width_px`` wide, or at 1 px per mm. ``shares`` sets some layouts' share of their
    region's plates (:func:`layout_weights`; ``{"cn_green": 0.3}``).
    """
    if layout is not None:
        chosen = get_layout(layout)
        candidates = [chosen]
        region = chosen.region
    else:
        candidates = region_layouts(region)
    if text is None:
        chosen = weighted_choice(candidates, layout_weights(candidates, shares), rng)
        groups = chosen.text.sample(rng)
    else:
        fitting = [(c, c.split(text)) for c in candidates]
        fitting = [(c, g) for c, g in fitting if g is not None]
        if fitting:
            chosen, groups = weighted_choice(fitting, layout_weights([c for c, _ in fitting], shares), rng)
        else:
            REGIONS[region].check_label(text, "synthetic plate text")
            chosen, groups = max(candidates, key=lambda c: c.weight), (text,)
    if ppm is None:
        ppm = face_ppm(width_px, chosen.size_mm[0]) if width_px else DEFAULT_PPM
    canvas = Canvas(*chosen.size_mm, ppm, corner_mm=chosen.corner_mm)
    boxes = chosen.draw(canvas, groups, rng)
    canvas.finish(rng)
    return RenderedPlate(
        image=canvas.to_uint8(),
        alpha=canvas.alpha,
        text="".join(groups),
        region=chosen.region,
        layout=chosen.name,
        char_boxes=boxes,
        ppm=ppm,
    )

