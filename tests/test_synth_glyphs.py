"""The drawn Chinese plate glyphs: shipped with the package, complete, and drawn with exact boxes."""

import fnmatch
import tomllib

import cv2
import numpy as np
import pytest

from alprkit.data.regions import CN_LETTERS, CN_PROVINCES, CN_SPECIAL, DIGITS
from alprkit.data.synth import fonts, glyphfont, plates
from alprkit.data.synth.canvas import Canvas
from alprkit.data.synth.conditions import Conditions
from alprkit.data.synth.crop import render_crop
from alprkit.data.synth.plates import Row, draw_row, render_plate
from alprkit.errors import AlprkitError
from conftest import REPO

CN_CHARS = DIGITS + CN_LETTERS + CN_PROVINCES + CN_SPECIAL
ASSETS = ("ga36.png", "green.png", "index.json", "LICENSE.txt", "NOTICE.md")
CLEAN = Conditions(noise=0.0, cast=0.0, jpeg=95)


def test_assets_are_found_in_the_installed_package_and_are_package_data():
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    for name in ASSETS:
        path = glyphfont.asset_path(name)
        assert path.is_file(), name
        assert any(fnmatch.fnmatch(name, p) for p in patterns), f"{name} is not package data"
    assert "MIT" in glyphfont.asset_path("LICENSE.txt").read_text()
    assert "leijd" in glyphfont.asset_path("NOTICE.md").read_text()
    assert sum(len(glyphfont.asset_path(n).read_bytes()) for n in ASSETS) < 300_000  # kept small


@pytest.mark.parametrize("style", ["glyph_ga36", "glyph_green", "glyph_ga36_bold", "glyph_green_thin"])
def test_every_chinese_plate_character_renders_and_spans_its_cell(style):
    seen = set()
    for char in CN_CHARS:
        assert glyphfont.supports(char, style), char
        cell = fonts.fitted_glyph(char, style, 22, 45)
        assert cell.shape == (45, 22) and cell.dtype == np.uint8
        ink = cell > 128
        assert 0.08 < ink.mean() < 0.8, char  # a glyph, not an empty or a filled cell
        assert (cell > 8).any(axis=1)[[0, -1]].any(), char  # the ink reaches the cell's top or bottom
        seen.add(cell.tobytes())
    assert len(seen) == len(CN_CHARS)  # no two characters share an image
    assert fonts.glyph("皖", style).shape[0] >= 100  # the canonical (uncached-size) glyph works too


def test_weights_and_sets_differ_and_unknown_styles_fail():
    styles = ("glyph_ga36", "glyph_ga36_bold", "glyph_ga36_thin")
    plain, bold, thin = (fonts.fitted_glyph("8", s, 45, 90) for s in styles)
    assert thin.sum() < plain.sum() < bold.sum()
    green, single = fonts.fitted_glyph("8", "glyph_green", 43, 90), fonts.fitted_glyph("8", "glyph_ga36", 43, 90)
    assert not np.array_equal(green, single)
    # The new-energy font has no 警: it comes from the single-row font.
    assert np.array_equal(glyphfont.cell("警", "green"), glyphfont.cell("警", "ga36"))
    assert glyphfont.parse_style("stroke_ga36_10") is None and not glyphfont.supports("A", "noto700")
    with pytest.raises(AlprkitError, match="glyph_xx"):
        glyphfont.parse_style("glyph_xx")


ROWS = [("皖A12345", "glyph_ga36"), ("京AD12345", "glyph_green"), ("沪C8888警", "glyph_ga36_bold")]


@pytest.mark.parametrize("text,style", ROWS)
def test_glyph_row_has_the_tight_ink_boxes(text, style):
    canvas = Canvas(480, 140, 0.5, (0, 0, 0))
    layer = canvas.layer()
    row = Row(0, 480, 25, 90, 43, 9, 49)
    boxes = draw_row(canvas, layer, (text[:2], text[2:]), row, style, np.random.default_rng(5))
    assert len(boxes) == len(text)
    ink = layer > 0.02
    inside = np.zeros_like(ink)
    for x0, y0, x1, y1 in boxes:
        box = ink[int(y0) : int(y1), int(x0) : int(x1)]
        assert box.any(axis=0)[[0, -1]].all() and box.any(axis=1)[[0, -1]].all()  # ink touches all four sides
        inside[int(y0) : int(y1), int(x0) : int(x1)] = True
    assert not (ink & ~inside).any()


def test_most_chinese_plates_use_the_glyphs():
    share = sum(w for s, w in plates._CN_FONTS.items() if s.startswith("glyph_")) / sum(plates._CN_FONTS.values())
    assert 0.6 <= share <= 0.7


def test_glyph_crop_keeps_corners_and_character_quads(monkeypatch):
    monkeypatch.setattr(plates, "_CN_FONTS", {"glyph_ga36": 1})
    crop = render_crop(np.random.default_rng(8), "cn", "皖A88888", layout="cn_blue", size=(188, 48),
                       conditions=CLEAN, margin=(0.0, 0.0))  # fmt: skip
    small = render_crop(np.random.default_rng(7), "cn", "皖A12345", size=(94, 24), conditions=CLEAN, margin=(0.0, 0.0))
    np.testing.assert_allclose(small.corners, [(0, 0), (94, 0), (94, 24), (0, 24)], atol=0.6)
    white = crop.image.min(axis=2) > 170
    in_chars = np.zeros(white.shape, np.uint8)
    for quad in crop.char_quads:
        cv2.fillPoly(in_chars, [np.round(np.array(quad)).astype(np.int32)], 1)
    assert white[in_chars > 0].mean() > 0.25 and white[in_chars == 0].mean() < 0.2
    # A green plate gets the new-energy font; a string no template fits still gets its dot after the city letter.
    green = render_plate(np.random.default_rng(1), "cn", "皖AD12345", ppm=0.5)
    police = render_plate(np.random.default_rng(1), "cn", "沪C8888警", ppm=0.5)
    assert green.layout == "cn_green" and len(police.char_boxes) == 7


def test_real_chinese_labels_are_all_in_the_glyph_set(real_data):
    labels = (real_data / "cn_crops_lprnet" / "labels.tsv").read_text(encoding="utf-8").splitlines()[1:]
    chars = set("".join(line.split("\t")[1] for line in labels if line.strip()))
    assert chars and chars <= set(glyphfont.charset("ga36"))
