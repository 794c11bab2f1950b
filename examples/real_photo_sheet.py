"""A contact sheet of real photos of fold 1 (never trained on), read by the shipped photo pipelines.

Each tile is one photo: the true plate boxes in green, the pipeline's boxes, corners and reads as
``alprkit run`` draws them, and a caption with the set, the true texts and what was read. From the
root of a clone, with ``../shared/data/real`` beside it::

    python examples/real_photo_sheet.py docs/detectors_real.jpg [--openalpr] [detector=mtcnn ...]

Extra arguments are Hydra overrides given to every pipeline (``detector=mtcnn``). By default the sheet
shows the MIT-licensed sets (CCPD, the Romanian dashcam frames), which docs/ may carry with their notice;
``--openalpr`` adds the OpenALPR photos (AGPL-3.0), for a look on your own machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from alprkit.api import Reader
from alprkit.data.formats import load_dataset
from alprkit.data.splits import select_split
from alprkit.draw import _font, annotate
from alprkit.imageio import imwrite_atomic, read_image

REAL = Path("../shared/data/real")
# (set, pipeline, photos): the first photos of fold 1 of each set, in file-name order
SETS = [("e2e_ccpd_cn", "lprnet_cn_rpn_rcnn", 5), ("det_romania_dashcam", "lprnet_eu_rpn_rcnn", 7)]
OPENALPR = [("e2e_openalpr_us", "lprnet_us_rpn_rcnn", 4), ("e2e_openalpr_eu", "lprnet_eu_rpn_rcnn", 4),
            ("e2e_openalpr_br", "lprnet_br_rpn_rcnn", 4)]
TILE = (480, 320)  # (w, h) of each photo on the sheet
CAPTION = 46  # two lines under it
TRUTH = (40, 220, 60)


def tile(pixels: np.ndarray, truths, reads, caption: str) -> Image.Image:
    image = Image.fromarray(annotate(pixels, reads))
    draw = ImageDraw.Draw(image)
    for box in truths:
        draw.rectangle(box, outline=TRUTH, width=max(2, round(max(image.size) / 500)))
    image.thumbnail(TILE)
    font = _font(13, full=True)
    out = Image.new("RGB", (TILE[0], TILE[1] + CAPTION), (255, 255, 255))
    out.paste(image, ((TILE[0] - image.width) // 2, 0))
    ImageDraw.Draw(out).multiline_text((4, TILE[1] + 2), caption, font=font, fill=(20, 20, 20))
    return out


def main(output: str, *args: str) -> None:
    overrides = [a for a in args if a != "--openalpr"]
    tiles = []
    for name, pipeline, count in SETS + (OPENALPR if "--openalpr" in args else []):
        folder = REAL / name
        if not folder.is_dir():
            raise SystemExit(f"{folder}: not found (the real photos lie in ../shared/data/real beside the clone)")
        samples = sorted(select_split(load_dataset(folder).samples, {"folds": 2, "keep": 1}), key=lambda s: s.path.name)
        reader = Reader(pipeline, *overrides)
        for sample in samples[:count]:
            frame = read_image(sample.path)
            pixels, reads = frame.pixels, reader(frame)
            truth = ", ".join(p.text or "(box only)" for p in sample.plates)
            read = ", ".join(r.recognition.text or "?" for r in reads) or "nothing"
            caption = f"{name} ({reader.name})\ntrue: {truth}   read: {read}"
            tiles.append(tile(pixels, [p.box for p in sample.plates if p.box], reads, caption))
            print(f"{sample.path.name}: {caption.splitlines()[1]}", file=sys.stderr)
    columns = 4
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (columns * (TILE[0] + 6) + 6, rows * (TILE[1] + CAPTION + 6) + 6), (255, 255, 255))
    for k, t in enumerate(tiles):
        sheet.paste(t, (6 + (k % columns) * (TILE[0] + 6), 6 + (k // columns) * (TILE[1] + CAPTION + 6)))
    imwrite_atomic(output, np.asarray(sheet), quality=85)
    print(f"wrote {output}: {len(tiles)} photos", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
