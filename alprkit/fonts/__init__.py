"""The font of annotated images: Noto Sans CJK SC Bold cut down to the characters plates and labels use.

The whole Noto Sans CJK variable font (the ``manimgx-fonts-cjk`` package, 32 MB) comes
with the train extra, for synthetic plates; the base install draws its labels with
``labels.otf`` (about 20 KB): printable ASCII and every character of the regions' charsets,
at the Bold weight, renamed as the SIL Open Font License asks of a modified font
(``LICENSE-OFL.txt`` beside it). Remade with ``python -m alprkit.fonts`` (needs fontTools,
which the train extra brings with matplotlib) when a region gains characters.
"""

from __future__ import annotations

from pathlib import Path

LABEL_FONT = Path(__file__).resolve().parent / "labels.otf"
FAMILY = "alprkit labels"


def label_characters() -> frozenset:
    """What ``labels.otf`` holds: printable ASCII and every region's plate characters."""
    from ..data.regions import REGIONS

    chars = {chr(c) for c in range(0x20, 0x7F)}
    for region in REGIONS.values():
        chars |= set(region.charset)
    return frozenset(chars)


def build_label_font(source, target=LABEL_FONT, face: int = 2, weight: int = 700) -> Path:
    """Cut face ``face`` (Simplified Chinese) of the variable Noto Sans CJK collection ``source`` down
    to :func:`label_characters` at ``weight``, renamed to :data:`FAMILY`; written atomically."""
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    from ..atomic import write_bytes_atomic

    font = TTFont(str(source), fontNumber=face)
    options = subset.Options()
    options.layout_features = ["kern"]
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(label_characters())))
    subsetter.subset(font)
    font = instancer.instantiateVariableFont(font, {"wght": weight})
    names = font["name"]
    postscript = FAMILY.replace(" ", "") + "-Bold"
    for record in list(names.names):
        if record.nameID in (1, 16):
            names.setName(FAMILY, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID in (2, 17):
            names.setName("Bold", record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID in (3, 4):
            names.setName(f"{FAMILY} Bold", record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 6:
            names.setName(postscript, record.nameID, record.platformID, record.platEncID, record.langID)
    if "CFF2" not in font and "CFF " in font:
        font["CFF "].cff.fontNames = [postscript]
    buffer = io.BytesIO()
    font.save(buffer)
    write_bytes_atomic(target, buffer.getvalue())
    return Path(target)

