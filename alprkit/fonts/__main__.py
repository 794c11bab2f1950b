"""``python -m alprkit.fonts``: remake ``labels.otf`` from the full Noto Sans CJK font (train extra)."""

from importlib.resources import files

from . import build_label_font, label_characters

written = build_label_font(files("manimgx_fonts_cjk") / "NotoSansCJK-VF.otf.ttc")
print(f"{written} ({written.stat().st_size / 1e3:.1f} KB, {len(label_characters())} characters)")
