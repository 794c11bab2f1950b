"""Mined false positives: ``negatives.jsonl``, one detection that overlaps no labelled plate per line.

::

    {"file": "../photos/car1.jpg", "box": [x1, y1, x2, y2], "score": 0.97, "width": 1280, "height": 720,
     "plates": [{"box": [x1, y1, x2, y2], "corners": [[x, y] x4] or null}], "crop": "crops/000003_01.jpg"}

``file`` is the photo, relative to the JSONL's folder (as ``annotations.jsonl`` names
its images); ``plates`` are the photo's labelled plates, so that a trainer showing the
photo again keeps them positive; ``crop`` (optional) is the detection cut out, for a
person to look through (delete a line to drop a negative that is a real plate the
labels missed). ``alprkit mine`` writes the file; ``kind: negatives`` of detector
training reads it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import InputError, LabelError
from ..types import Box, Corners
from .crops import read_text_file
from .jsonl import _box, _corners

NEGATIVES = "negatives.jsonl"


@dataclass(frozen=True)
class MinedNegative:
    image: Path  # the photo
    box: Box  # the false detection, in the photo's pixels
    score: float
    plates: tuple[tuple[Box, Optional[Corners]], ...]  # the photo's labelled plates: (box, corners)


def negatives_file(path) -> Path:
    """``path`` itself when it is a file, else ``path/negatives.jsonl``."""
    path = Path(path)
    return path / NEGATIVES if path.is_dir() else path


def negative_record(jsonl: Path, image, box, score: float, size, plates, crop: Optional[str] = None) -> dict:
    """The line of one negative in ``jsonl`` (paths relative to its folder)."""
    rounded = lambda v: round(float(v), 2)  # noqa: E731 - 0.01 px is finer than any detector
    record = {
        "file": Path(os.path.relpath(Path(image).resolve(), jsonl.parent.resolve())).as_posix(),
        "box": [rounded(v) for v in box],
        "score": round(float(score), 4),
        "width": int(size[0]),
        "height": int(size[1]),
        "plates": [{"box": [rounded(v) for v in p.box],
                    "corners": [[rounded(x), rounded(y)] for x, y in p.corners] if p.corners is not None else None}
                   for p in plates],
    }
    if crop is not None:
        record["crop"] = crop
    return record


def _negative(folder: Path, line: str, where: str) -> MinedNegative:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LabelError(where, f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(record, dict) or not isinstance(record.get("file"), str) or not record["file"]:
        raise LabelError(where, "each line must be a JSON object with a \"file\" naming the photo")
    box = _box(record.get("box"), where)
    if box is None or box[2] - box[0] < 1 or box[3] - box[1] < 1:
        raise LabelError(where, f"\"box\" must be a non-empty [x1, y1, x2, y2], found {record.get('box')!r}")
    score = record.get("score", 1.0)
    if not isinstance(score, (int, float)) or isinstance(score, bool):
        raise LabelError(where, f"\"score\" must be a number, found {score!r}")
    plates = record.get("plates", [])
    if not isinstance(plates, list) or not all(isinstance(p, dict) and p.get("box") for p in plates):
        raise LabelError(where, "\"plates\" must be a list of objects with a \"box\"")
    return MinedNegative(image=folder / record["file"], box=box, score=float(score),
                         plates=tuple((_box(p["box"], where), _corners(p.get("corners"), where)) for p in plates))


def load_negatives(path) -> list[MinedNegative]:
    """Every negative of a ``negatives.jsonl`` (or of the folder holding one); a bad line is a LabelError."""
    jsonl = negatives_file(path)
    if not jsonl.is_file():
        raise InputError(jsonl, "no such file (alprkit mine writes it)")
    lines = read_text_file(jsonl).split("\n")
    negatives = [_negative(jsonl.parent, line, f"{jsonl}:{n}") for n, line in enumerate(lines, 1) if line.strip()]
    if not negatives:
        raise InputError(jsonl, "holds no negatives")
    return negatives


def context_window(negative: MinedNegative, size, context: float) -> tuple[int, int, int, int]:
    """The pixel window (x0, y0, x1, y1) around ``negative``'s box, ``context`` times its size on each
    side, grown to take in whole every labelled plate it touches, clipped to the image ``size`` (w, h)."""
    x0, y0, x1, y1 = negative.box
    w, h = x1 - x0, y1 - y0
    window = [x0 - context * w, y0 - context * h, x1 + context * w, y1 + context * h]
    grown = True
    while grown:  # a plate cut by the window's edge would teach that part of a plate is background
        grown = False
        for (px0, py0, px1, py1), _ in negative.plates:
            touches = px0 < window[2] and window[0] < px1 and py0 < window[3] and window[1] < py1
            inside = window[0] <= px0 and window[1] <= py0 and px1 <= window[2] and py1 <= window[3]
            if touches and not inside:
                window = [min(window[0], px0), min(window[1], py0), max(window[2], px1), max(window[3], py1)]
                grown = True
    width, height = size
    return (max(0, int(window[0])), max(0, int(window[1])), min(width, int(np.ceil(window[2]))),
            min(height, int(np.ceil(window[3]))))
