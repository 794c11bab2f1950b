"""US plate artwork: graphics behind the characters, stacked marks outside the label, the shared O/0 glyph."""

import numpy as np
import pytest

from alprkit.data.regions import REGIONS
from alprkit.data.synth import fonts, usart
from alprkit.data.synth.canvas import Canvas
from alprkit.data.synth.plates import LAYOUTS, Row, draw_row, render_plate
from alprkit.data.synth.text import TextSpec


def test_us_letter_groups_hold_zeros_but_never_o_and_other_regions_are_unchanged():
    spec = LAYOUTS["us"].text
    texts = ["".join(spec.sample(np.random.default_rng([3, i]))) for i in range(600)]
    assert not any("O" in t for t in texts) and all(REGIONS["us"].matches(t) for t in texts)
    # ABC 1234 style strings with a 0 among their letters: the plate showed an O there.
    assert sum(t[:3].count("0") for t in texts if len(t) == 7 and t[3:].isdigit()) > 0
    plain = TextSpec((("[A-Z]{3} [0-9]{4}", 1.0),), exclude="O")
    same = TextSpec((("[A-Z]{3} [0-9]{4}", 1.0),), exclude="O", letter_zero=0.0)
    assert plain.sample(np.random.default_rng(1)) == same.sample(np.random.default_rng(1))


def test_zero_drawn_with_the_o_glyph_keeps_its_label_and_tight_box():
    canvas = Canvas(305, 152, 0.65)
    row = Row(14, 291, 45, 70, 34, 3, 22)
    a, b = canvas.layer(), canvas.layer()
    boxes = draw_row(canvas, a, ("A0C",), row, "noto600", np.random.default_rng(0), {"0": "O"})
    draw_row(canvas, b, ("AOC",), row, "noto600", np.random.default_rng(0))
    assert np.array_equal(a, b) and len(boxes) == 3  # the 0 is drawn exactly as the plate's O
    x0, y0, x1, y1 = (int(v) for v in boxes[1])
    ink = a[y0:y1, x0:x1] > 0
    assert ink.any(axis=0)[[0, -1]].all() and ink.any(axis=1)[[0, -1]].all()


def test_stacked_marks_are_ink_beside_the_row_in_two_small_characters():
    canvas = Canvas(305, 152, 0.65)
    layer = canvas.layer()
    usart.stacked_marks(canvas, layer, "noto700", 20, 45, 70, np.random.default_rng(2))
    ys, xs = np.nonzero(layer > 0.1)
    assert len(xs) and xs.max() < canvas.px(40) and ys.min() >= canvas.px(44) and ys.max() <= canvas.px(116)
    rows = (layer > 0.1).any(axis=1)
    mid = canvas.px(45 + 70 * 0.5)
    assert rows[: mid - 2].any() and rows[mid + 2 :].any() and not rows[mid - 1 : mid + 1].all()  # two, stacked


@pytest.mark.parametrize("seed", range(7))
def test_artwork_paints_the_plate_and_stays_on_it(seed):
    canvas = Canvas(305, 152, 0.65, (240, 240, 236))
    before = canvas.image.copy()
    usart.graphic(canvas, np.random.default_rng(seed), (30, 70, 160))
    usart.emblem_separator(canvas, 150, 80, 18, (190, 40, 45), np.random.default_rng(seed))
    assert canvas.image.shape == before.shape and np.isfinite(canvas.image).all()
    assert np.abs(canvas.image - before).max() > 20
    assert canvas.image.min() >= -1 and canvas.image.max() <= 256


def test_us_plates_label_only_their_characters():
    for i in range(30):
        plate = render_plate(np.random.default_rng([9, i]), "us", ppm=0.45)
        h, w = plate.image.shape[:2]
        assert len(plate.char_boxes) == len(plate.text) and REGIONS["us"].matches(plate.text)
        lefts = [b[0] for b in plate.char_boxes]
        assert lefts == sorted(lefts)
        for x0, y0, x1, y1 in plate.char_boxes:
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert fonts.fitted_glyph("O", "stroke_us_10", 20, 40).shape == (40, 20)
