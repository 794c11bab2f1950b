"""A procedural plate typeface: Latin letters and digits drawn from stroke skeletons.

Chinese plates use the national plate typeface of GA 36: every character sits on a
45 x 90 mm cell and is built from straight strokes and round arcs of one stroke
width (10 mm), without serifs: '1' is a plain bar, '0' a narrow stadium, '2' a
half circle over a straight diagonal and a flat base, '3' a flat top over a bowl,
'6' and '9' a loop with a straight slanted stem. Brazil's old grey plates and many
US states use condensed fonts of the same build. No installed font has these
shapes, so they are drawn here: each glyph is a few :class:`Line` and :class:`Arc`
centre lines on the 45 x 90 grid, laid out for a 10 mm stroke, and rendered at any
cell size with any stroke width (the centre lines move inwards or outwards so the
ink still spans the cell). Strokes are unions of thick segments, clipped to the
cell, so diagonals that run past the cell edge end in flat cuts as stamped plate
characters do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Union

import cv2
import numpy as np

CELL_MM = (45.0, 90.0)  # the GA 36 character cell, width x height
DESIGN_STROKE_MM = 10.0  # skeletons below put outer centre lines 5 mm inside the cell
_SUPERSAMPLE = 4  # strokes are filled at 4x and area-averaged down: anti-aliased edges
_SHIFT = 4  # fractional bits of the OpenCV fill coordinates

Point = tuple[float, float]


@dataclass(frozen=True)
class Line:
    """A straight stroke; ``cap``: "round", "butt" (flat at the end point) or "square" (flat, w/2 beyond it)."""

    start: Point
    end: Point
    cap: str = "round"

    def points(self) -> np.ndarray:
        return np.array([self.start, self.end], np.float64)

    def rotated(self) -> Line:
        return Line(_turn(self.start), _turn(self.end), self.cap)


@dataclass(frozen=True)
class Arc:
    """A stroke along an ellipse from ``start_deg`` to ``end_deg`` (screen angles: 0 right, 90 down)."""

    centre: Point
    radii: tuple[float, float]
    start_deg: float
    end_deg: float
    cap: str = "round"

    def points(self) -> np.ndarray:
        steps = max(2, int(abs(self.end_deg - self.start_deg) / 5) + 1)
        a = np.radians(np.linspace(self.start_deg, self.end_deg, steps))
        return np.stack([self.centre[0] + self.radii[0] * np.cos(a), self.centre[1] + self.radii[1] * np.sin(a)], 1)

    def rotated(self) -> Arc:
        return Arc(_turn(self.centre), self.radii, self.start_deg + 180, self.end_deg + 180, self.cap)


Stroke = Union[Line, Arc]


def _turn(p: Point) -> Point:
    """``p`` turned half a revolution about the cell centre (9 is a turned 6)."""
    return (CELL_MM[0] - p[0], CELL_MM[1] - p[1])


def tangent_deg(centre: Point, radii: tuple[float, float], point: Point, side: int) -> float:
    """Angle of the ellipse point where a line from ``point`` touches it (``side`` +1 or -1 picks which).

    Tangency survives the affine map of the ellipse to a unit circle, so it is solved there.
    """
    px, py = (point[0] - centre[0]) / radii[0], (point[1] - centre[1]) / radii[1]
    base = math.degrees(math.atan2(py, px))
    return (base + side * math.degrees(math.acos(1.0 / math.hypot(px, py)))) % 360


def _on(arc_centre: Point, radii: tuple[float, float], deg: float) -> Point:
    a = math.radians(deg)
    return (arc_centre[0] + radii[0] * math.cos(a), arc_centre[1] + radii[1] * math.sin(a))


# --- the GA 36 skeletons: centre lines for a 10 mm stroke on the 45 x 90 cell ----------------

L, R, T, B, CX = 5.0, 40.0, 5.0, 85.0, 22.5  # outer centre lines and the vertical axis
ABOVE, BELOW = -10.0, 100.0  # y beyond the cell: strokes ending there are cut flat by it


def _stadium() -> tuple[Stroke, ...]:
    """A rectangle with half-circle ends (the zero and the O): top arc, left and right sides, bottom arc."""
    r = (R - L) / 2
    return (
        Arc((CX, T + r), (r, r), 180, 360),
        Line((L, T + r), (L, B - r)),
        Line((R, T + r), (R, B - r)),
        Arc((CX, B - r), (r, r), 0, 180),
    )


def _bar(x: float = CX) -> tuple[Stroke, ...]:
    return (Line((x, ABOVE), (x, BELOW), "butt"),)


def _digits() -> dict[str, tuple[Stroke, ...]]:
    g: dict[str, tuple[Stroke, ...]] = {"0": _stadium(), "1": _bar()}
    head2 = ((CX, 22.5), (17.5, 17.5))
    touch2 = tangent_deg(*head2, (L, B), -1) + 360  # the diagonal leaves the head tangentially
    g["2"] = (Arc(*head2, 165, touch2, "butt"), Line(_on(*head2, touch2), (L, B)), Line((L, B), (R, B), "square"))
    bowl3 = ((CX, 62.0), (17.5, 23.0))  # below a flat top and a diagonal into the waist
    g["3"] = (
        Line((L, T), (R, T), "square"),
        Line((R, T), _on(*bowl3, 255)),
        Arc(*bowl3, 255, 512, "butt"),
    )
    stem4 = 31.0
    g["4"] = (
        Line((stem4, ABOVE), (stem4, BELOW), "butt"),
        Line((stem4 + 0.5, 1.0), (L, 65.0)),
        Line((L, 65.0), (R, 65.0), "square"),
    )
    bowl5 = ((CX, 62.0), (17.5, 23.0))
    g["5"] = (
        Line((L, T), (R, T), "square"),
        Line((L, T), (L, 44.0), "square"),
        Line((L, 44.0), _on(*bowl5, 240)),
        Arc(*bowl5, 240, 510, "butt"),
    )
    loop6 = ((CX, 62.5), (17.5, 22.5))
    top6 = (36.0, ABOVE)
    touch = tangent_deg(*loop6, top6, -1)
    g["6"] = (Arc(*loop6, 0, 360), Line(_on(*loop6, touch), top6, "butt"))
    g["9"] = tuple(s.rotated() for s in g["6"])
    g["7"] = (Line((L, T), (R, T), "square"), Line((R, T), (15.0, BELOW), "butt"))
    g["8"] = (Arc((CX, 24.0), (15.5, 19.0), 0, 360), Arc((CX, 64.0), (17.5, 21.0), 0, 360))
    return g


def _letters() -> dict[str, tuple[Stroke, ...]]:
    stem = (Line((L, T), (L, B), "square"),)
    full_stem = (Line((L, ABOVE), (L, BELOW), "butt"),)
    right_stem = (Line((R, ABOVE), (R, BELOW), "butt"),)
    zero = _stadium()
    top_arc, left_side, _, bottom_arc = zero
    g: dict[str, tuple[Stroke, ...]] = {"O": zero, "I": _bar()}
    # A and V: the diagonals meet just past the cell edge, which cuts a narrow flat apex.
    legs = (Line((CX, -1.0), (2.5, 93.0), "butt"), Line((CX, -1.0), (42.5, 93.0), "butt"))
    g["A"] = (*legs, Line((10.5, 62.0), (34.5, 62.0)))
    g["V"] = (Line((2.5, -3.0), (CX, 91.0), "butt"), Line((42.5, -3.0), (CX, 91.0), "butt"))
    top_bowl, low_bowl = ((23.0, 23.5), (15.0, 18.5)), ((22.0, 63.5), (18.0, 21.5))
    g["B"] = (
        *stem,
        Line((L, T), (23.0, T), "square"),
        Arc(*top_bowl, 270, 450),
        Line((L, 42.0), (23.0, 42.0)),
        Arc(*low_bowl, 270, 450),
        Line((L, B), (22.0, B), "square"),
    )
    open_top = Arc(top_arc.centre, top_arc.radii, 180, 340, "butt")  # C and G end short of the right side
    g["C"] = (open_top, left_side, Arc(bottom_arc.centre, bottom_arc.radii, 20, 180, "butt"))
    g["D"] = (
        *stem,
        Line((L, T), (20.0, T), "square"),
        Line((L, B), (20.0, B), "square"),
        Arc((20.0, 25.0), (20.0, 20.0), 270, 360),
        Line((R, 25.0), (R, 65.0)),
        Arc((20.0, 65.0), (20.0, 20.0), 0, 90),
    )
    arms = (Line((L, T), (R, T), "square"), Line((L, 44.0), (36.0, 44.0), "square"))
    g["E"] = (*stem, *arms, Line((L, B), (R, B), "square"))
    g["F"] = (Line((L, T), (L, BELOW), "square"), *arms)
    g["G"] = (
        open_top,
        left_side,
        bottom_arc,
        Line((R, 67.5), (R, 47.0), "square"),
        Line((24.0, 47.0), (R, 47.0), "square"),
    )
    g["H"] = (*full_stem, *right_stem, Line((L, 44.0), (R, 44.0)))
    g["J"] = (Line((R, ABOVE), (R, 65.0)), Arc((CX, 65.0), (17.5, 20.0), 0, 160, "butt"))
    g["K"] = (*full_stem, Line((42.0, -2.0), (8.0, 60.0), "butt"), Line((21.0, 40.0), (43.0, 93.0), "butt"))
    g["L"] = (Line((L, ABOVE), (L, B), "square"), Line((L, B), (R, B), "square"))
    g["M"] = (*full_stem, *right_stem, Line((6.0, 2.0), (CX, 52.0)), Line((39.0, 2.0), (CX, 52.0)))
    g["N"] = (*full_stem, *right_stem, Line((L + 1.0, -1.0), (R - 1.0, 91.0), "butt"))
    bowl = (Line((L, T), (CX, T), "square"), Arc((CX, 25.0), (17.5, 20.0), 270, 450), Line((L, 45.0), (CX, 45.0)))
    g["P"] = (*full_stem, *bowl)
    g["Q"] = (*zero, Line((27.0, 66.0), (44.0, 93.0), "butt"))
    g["R"] = (*full_stem, *bowl, Line((20.0, 45.0), (41.0, 93.0), "butt"))
    upper, lower = ((CX, 24.5), (17.0, 19.5)), ((CX, 64.5), (17.5, 20.5))
    g["S"] = (
        Arc(*upper, 110, 340, "butt"),
        Line(_on(*upper, 110), _on(*lower, 290)),
        Arc(*lower, 290, 520, "butt"),
    )
    g["T"] = (Line((L, T), (R, T), "square"), Line((CX, T), (CX, BELOW), "butt"))
    g["U"] = (Line((L, ABOVE), (L, 67.5)), Line((R, ABOVE), (R, 67.5)), Arc((CX, 67.5), (17.5, 17.5), 0, 180))
    w_peak = (CX, 40.0)
    g["W"] = (
        Line((3.5, -2.0), (11.5, 92.0), "butt"),
        Line((11.0, 85.0), w_peak),
        Line(w_peak, (34.0, 85.0)),
        Line((41.5, -2.0), (33.5, 92.0), "butt"),
    )
    g["X"] = (Line((3.0, -3.0), (42.0, 93.0), "butt"), Line((42.0, -3.0), (3.0, 93.0), "butt"))
    g["Y"] = (Line((3.0, -3.0), (CX, 48.0)), Line((42.0, -3.0), (CX, 48.0)), Line((CX, 48.0), (CX, BELOW), "butt"))
    g["Z"] = (
        Line((L, T), (R, T), "square"),
        Line((R - 1.0, T + 1.0), (L + 1.0, B - 1.0)),
        Line((L, B), (R, B), "square"),
    )
    return g


GA36: dict[str, tuple[Stroke, ...]] = {**_digits(), **_letters()}

# Alternates of other plate fonts of the same build.
_ROUND_TOP_3 = (
    Arc((CX, 24.0), (16.0, 19.0), 195, 450, "butt"),
    Arc((CX, 63.5), (17.5, 21.5), 270, 515, "butt"),
)
_FLAGGED_1 = (*_bar(25.0), Line((25.0, T), (9.0, 19.0), "butt"))

DESIGNS: dict[str, dict[str, tuple[Stroke, ...]]] = {
    "ga36": GA36,  # China, GA 36
    "br": {**GA36, "3": _ROUND_TOP_3},  # Brazil's old grey plates (the "Mandatory" typeface)
    "us": {**GA36, "3": _ROUND_TOP_3, "1": _FLAGGED_1},  # US condensed state fonts
}


def supports(char: str, design: str = "ga36") -> bool:
    return char in DESIGNS.get(design, {})


@lru_cache(maxsize=16384)
def render(
    char: str, width: int, height: int, design: str = "ga36", stroke_mm: float = DESIGN_STROKE_MM
) -> np.ndarray:
    """``char`` of ``design`` drawn into a ``width`` x ``height`` cell (uint8 mask of exactly that size).

    The 45 x 90 design is stretched to the cell; ``stroke_mm`` is the stroke width on
    the design grid (the pixel width follows the cell's mean scale, so strokes stay
    even on a cell of other proportions).
    """
    strokes = DESIGNS[design][char]
    ss = _SUPERSAMPLE
    w_px, h_px = width * ss, height * ss
    pen = stroke_mm * math.sqrt(w_px / CELL_MM[0] * h_px / CELL_MM[1])
    # Outer centre lines sit half a pen inside the cell, whatever the pen.
    inset = DESIGN_STROKE_MM / 2
    sx = (w_px - pen) / (CELL_MM[0] - 2 * inset)
    sy = (h_px - pen) / (CELL_MM[1] - 2 * inset)
    canvas = np.zeros((h_px, w_px), np.uint8)
    for stroke in strokes:
        pts = stroke.points()
        pts = np.stack([pen / 2 + (pts[:, 0] - inset) * sx, pen / 2 + (pts[:, 1] - inset) * sy], 1)
        _draw_stroke(canvas, pts, pen, stroke.cap)
    out = cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA)
    out.flags.writeable = False
    return out


def _draw_stroke(canvas: np.ndarray, pts: np.ndarray, pen: float, cap: str):
    """A polyline ``pen`` pixels wide: butt segments, round joins, and the given caps at both ends."""
    scale = 1 << _SHIFT
    half = pen / 2
    if cap == "square":
        for end, inner in ((0, 1), (-1, -2)):
            direction = pts[end] - pts[inner]
            pts[end] = pts[end] + direction / max(np.linalg.norm(direction), 1e-9) * half
    for p, q in zip(pts[:-1], pts[1:]):
        d = q - p
        n = np.array([-d[1], d[0]]) / max(np.linalg.norm(d), 1e-9) * half
        quad = np.array([p + n, q + n, q - n, p - n]) * scale
        cv2.fillConvexPoly(canvas, np.round(quad).astype(np.int32), 255, cv2.LINE_8, _SHIFT)
    joins = pts[1:-1] if cap != "round" else pts
    radius = int(round(half * scale))
    for c in joins:
        cv2.circle(canvas, tuple(int(v) for v in np.round(c * scale)), radius, 255, -1, cv2.LINE_8, _SHIFT)


def parse_style(style: str) -> tuple[str, float] | None:
    """(design, stroke width in mm) of a plate-font style named "stroke_<design>_<mm>", else None."""
    kind, _, rest = style.partition("_")
    design, _, width = rest.rpartition("_")
    if kind != "stroke" or design not in DESIGNS:
        return None
    try:
        return design, float(width)
    except ValueError:
        return None
