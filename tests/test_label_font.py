"""The bundled label font (alprkit/fonts/labels.otf) draws every character a plate label can hold."""

import numpy as np
import pytest

from alprkit.fonts import FAMILY, LABEL_FONT, label_characters


def test_the_label_font_has_a_glyph_for_every_label_character():
    ttlib = pytest.importorskip("fontTools.ttLib")
    font = ttlib.TTFont(str(LABEL_FONT))
    covered = {chr(code) for code in font.getBestCmap()}
    assert label_characters() <= covered
    assert font["name"].getDebugName(1) == FAMILY  # renamed, as the OFL asks of a modified font
    assert (LABEL_FONT.parent / "LICENSE-OFL.txt").is_file()


def test_annotated_images_draw_chinese_labels_with_the_bundled_font():
    from alprkit import draw
    from alprkit.types import Detection, PlateRead, Recognition

    read = PlateRead("x", 0, Detection((40.0, 60.0, 200.0, 100.0)), Recognition("皖A12345", confidence=0.9))
    pixels = np.zeros((160, 400, 3), np.uint8)
    drawn = draw.annotate(pixels, [read])
    label = drawn[5:55, 40:400]
    assert label.max() == 255  # white text on the black label
    # The Hanzi is a glyph, not the empty box of a missing one: its strokes differ from another Hanzi's.
    from PIL import Image, ImageDraw

    font = draw._font(22)
    ink = []
    for text in ("皖", "粤"):
        image = Image.new("L", (40, 40))
        ImageDraw.Draw(image).text((5, 5), text, font=font, fill=255)
        ink.append(np.asarray(image))
    assert (ink[0] != ink[1]).any()
