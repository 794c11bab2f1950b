"""The procedural plate stroke font: every glyph renders, fills its cell, keeps its plate shape, and
the plate engine draws with it."""

import numpy as np
import pytest

from alprkit.data.regions import DIGITS, LETTERS
from alprkit.data.synth import fonts, strokefont
from alprkit.data.synth.canvas import Canvas
from alprkit.data.synth.plates import Row, draw_row

PLATE_CHARS = DIGITS + LETTERS
# Cells of the layouts that use the font: GA 36 (45 x 90 mm), green plates, old Brazilian, US, and
# the small cells of 94x24 recognition crops.
CELLS = [(45, 90), (43, 90), (33, 55), (30, 72), (10, 20)]


def _ink(mask: np.ndarray) -> np.ndarray:
    return mask > 127


@pytest.mark.parametrize("design", sorted(strokefont.DESIGNS))
@pytest.mark.parametrize("width,height", CELLS)
def test_every_plate_character_renders_and_spans_its_cell(design, width, height):
    for char in PLATE_CHARS:
        mask = strokefont.render(char, width, height, design)
        assert mask.shape == (height, width) and mask.dtype == np.uint8, char
        ink = _ink(mask)
        rows, cols = np.nonzero(ink)
        assert rows.min() == 0 and rows.max() == height - 1, char  # plate characters are full height
        narrow = char in "1I" or (design == "us" and char == "1")
        if not narrow:
            assert cols.max() - cols.min() + 1 >= 0.8 * width, char  # on the grid: as wide as the cell
        assert 0.15 < ink.mean() < 0.75, char  # strokes, neither a speck nor a filled block


@pytest.mark.parametrize("width,height", CELLS)
def test_one_is_a_plain_bar(width, height):
    ink = _ink(strokefont.render("1", width, height, "ga36"))
    cols = np.flatnonzero(ink.any(axis=0))
    assert (np.diff(cols) == 1).all()  # contiguous ink columns: no flag, no base
    assert len(cols) <= 0.35 * width
    assert ink[:, cols].all(axis=1).mean() > 0.95  # every row is the same bar
    # The US variant has a flag: its ink reaches further left than the bar.
    flagged = _ink(strokefont.render("1", width, height, "us")).any(axis=0)
    assert np.flatnonzero(flagged).min() < cols.min()


def _corners(ink: np.ndarray) -> tuple[bool, ...]:
    """Whether each corner (top-left, top-right, bottom-left, bottom-right) of the cell has ink."""
    ends = (slice(0, 4), slice(-4, None))
    return tuple(bool(ink[rows, cols].any()) for rows in ends for cols in ends)


def _span(rows: np.ndarray) -> float:
    """Share of the cell's columns with ink in these rows."""
    return float(rows.any(axis=0).mean())


def test_glyphs_have_the_plate_shapes_that_tell_confusables_apart():
    # A recognizer trained on Noto glyphs read real plates' 2 as Z, 8 as B and dropped 1s.
    g = {c: _ink(strokefont.render(c, 45, 90)) for c in "0O238BDZ"}
    assert _span(g["2"][:3]) < 0.6 and _span(g["2"][-3:]) == 1.0  # round top, flat base
    assert _span(g["Z"][:3]) == 1.0 and _span(g["Z"][-3:]) == 1.0  # flat top and base
    assert _span(g["3"][:3]) == 1.0 and _span(g["3"][-3:]) < 0.6  # GA 36's 3: flat top over a bowl
    assert _corners(g["0"]) == (False,) * 4 and g["0"][45, [0, -1]].all()  # a stadium: round ends, straight sides
    assert np.array_equal(g["0"], g["O"])  # one zero shape (Chinese plates never use O)
    assert _corners(g["D"]) == (True, False, True, False)  # square left corners, round right side
    assert g["B"][:, 2].all() and g["8"][:, 2].mean() < 0.5  # B has a straight stem, 8 two loops
    round_top = _ink(strokefont.render("3", 45, 90, "br"))
    assert _span(round_top[:3]) < 0.6  # the Brazilian 3 is round-topped


def test_heavier_strokes_give_more_ink_and_rendering_is_deterministic():
    inks = [_ink(strokefont.render("8", 45, 90, "ga36", w)).mean() for w in (8.0, 10.0, 12.0, 14.0)]
    assert inks == sorted(inks) and inks[0] < inks[-1] * 0.75
    first = strokefont.render("R", 37, 71, "ga36", 11.0).copy()
    strokefont.render.cache_clear()
    again = strokefont.render("R", 37, 71, "ga36", 11.0)
    assert np.array_equal(first, again) and not again.flags.writeable


def test_styles_route_plate_characters_to_the_stroke_font_and_hanzi_to_noto():
    assert strokefont.parse_style("stroke_ga36_10") == ("ga36", 10.0)
    assert strokefont.parse_style("stroke_br_12.5") == ("br", 12.5)
    for other in ("noto700", "hershey_simplex", "stroke_xx_10", "stroke_ga36_x", "stroke"):
        assert strokefont.parse_style(other) is None, other
    assert np.array_equal(fonts.fitted_glyph("7", "stroke_ga36_10", 20, 40), strokefont.render("7", 20, 40))
    assert fonts.glyph("7", "stroke_ga36_10").shape[0] == 128
    hanzi = fonts.fitted_glyph("皖", "stroke_ga36_10", 20, 40)
    assert hanzi.shape == (40, 20) and _ink(hanzi).mean() > 0.2  # a bold Noto glyph, not an empty cell


def test_plate_row_in_the_stroke_font_has_tight_boxes_and_a_narrow_one():
    canvas = Canvas(440, 140, 0.5)
    layer = canvas.layer()
    row = Row(0, 440, 25, 90, 45, 12, 34)
    boxes = draw_row(canvas, layer, ("皖A", "21885"), row, "stroke_ga36_10", np.random.default_rng(0))
    widths = [x1 - x0 for x0, _, x1, _ in boxes]
    assert widths[3] < 0.4 * widths[2]  # the 1 is a bar, the 2 fills its cell
    ink = layer > 0.02
    for x0, y0, x1, y1 in boxes:
        box = ink[int(y0) : int(y1), int(x0) : int(x1)]
        assert box.any(axis=0)[[0, -1]].all() and box.any(axis=1)[[0, -1]].all()
