"""Plate strings, layouts and glyphs: labels follow the region templates and boxes fit the ink."""

import numpy as np
import pytest

from alprkit.data.regions import REGIONS
from alprkit.data.synth import fonts
from alprkit.data.synth.canvas import Canvas
from alprkit.data.synth.plates import LAYOUTS, Row, draw_row, region_layouts, render_plate
from alprkit.data.synth.text import TextSpec, force_prefix, parse_template, sample_template
from alprkit.errors import ConfigError, LabelError


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_layout_draws_strings_its_region_accepts(name):
    layout = LAYOUTS[name]
    region = REGIONS[layout.region]
    for i in range(40):
        groups = layout.text.sample(np.random.default_rng([1, i]))
        text = "".join(groups)
        assert region.matches(text), (name, text)
        assert layout.split(text) is not None


def test_template_sampler_follows_classes_repeats_and_groups():
    assert parse_template("[A-C]{2} [0-9]{1,3}") == (("ABC", 2, 2), (" ", 0, 0), ("0123456789", 1, 3))
    rng = np.random.default_rng(0)
    for _ in range(50):
        a, b = sample_template("[A-C]{2} [0-9]{1,3}", rng)
        assert len(a) == 2 and set(a) <= set("ABC") and 1 <= len(b) <= 3 and b.isdigit()
    assert force_prefix(("XY", "123"), "皖A") == ("皖A", "123")
    us = TextSpec((("[A-Z]{8}", 1.0),), exclude="O")
    assert all("O" not in "".join(us.sample(rng)) for _ in range(50))


def test_cn_strings_lean_to_ccpd_prefix_and_digits():
    texts = ["".join(LAYOUTS["cn_blue"].text.sample(np.random.default_rng([2, i]))) for i in range(300)]
    assert 0.4 < sum(t.startswith("皖") for t in texts) / 300 < 0.9
    tails = "".join(t[2:] for t in texts)
    assert 0.55 < sum(c.isdigit() for c in tails) / len(tails) < 0.9
    assert not set("IO") & set("".join(texts))


def test_given_text_picks_a_layout_that_fits_it():
    rng = np.random.default_rng(3)
    assert render_plate(rng, "cn", "皖AD12345").layout == "cn_green"
    assert render_plate(rng, "cn", "皖A12345").layout in ("cn_blue", "cn_yellow")
    assert render_plate(rng, "br", "ABC1D23").layout == "br_mercosul"
    assert render_plate(rng, "br", "ABC1234").layout == "br_old"
    odd = render_plate(rng, "us", "ANYTEXT")  # vanity: no template group but the charset fits
    assert odd.text == "ANYTEXT" and len(odd.char_boxes) == 7
    with pytest.raises(LabelError):
        render_plate(rng, "us", "AB-12")
    with pytest.raises(ConfigError, match="unknown region 'xx'"):
        region_layouts("xx")


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_plate_image_alpha_and_character_boxes(name):
    plate = render_plate(np.random.default_rng(4), layout=name, ppm=0.5)
    h, w = plate.image.shape[:2]
    assert plate.image.dtype == np.uint8 and plate.alpha.shape == (h, w)
    assert plate.alpha[h // 2, w // 2] == 255 and plate.alpha[0, 0] < 255  # rounded corners
    assert len(plate.char_boxes) == len(plate.text)
    lefts = [b[0] for b in plate.char_boxes]
    assert lefts == sorted(lefts)
    for x0, y0, x1, y1 in plate.char_boxes:
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h


@pytest.mark.parametrize("text,style", [("皖A12345", "noto800"), ("WM1IJ08", "hershey_simplex")])
def test_character_boxes_are_the_tight_ink_boxes(text, style):
    canvas = Canvas(440, 140, 0.5, (0, 0, 0))
    layer = canvas.layer()
    row = Row(0, 440, 25, 90, 45, 12, 34)
    boxes = draw_row(canvas, layer, (text[:2], text[2:]), row, style, np.random.default_rng(5))
    ink = layer > 0.02
    inside = np.zeros_like(ink)
    for x0, y0, x1, y1 in boxes:
        box = ink[int(y0) : int(y1), int(x0) : int(x1)]
        assert box.any(axis=0)[[0, -1]].all() and box.any(axis=1)[[0, -1]].all()  # ink touches all four sides
        inside[int(y0) : int(y1), int(x0) : int(x1)] = True
    assert not (ink & ~inside).any()


def test_chinese_glyphs_render_from_the_packaged_font():
    for char in "皖京粤使警":
        ink = fonts.glyph(char, "noto800")
        assert ink.shape[0] == 128 and (ink > 128).mean() > 0.15  # a bold, filled glyph, not tofu
    assert not np.array_equal(fonts.glyph("皖", "noto800"), fonts.glyph("京", "noto800"))
