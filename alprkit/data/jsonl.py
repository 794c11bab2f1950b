"""End-to-end annotations: ``annotations.jsonl``, one JSON object per image.

::

    {"file": "x.jpg", "width": 1280, "height": 720, "region": "br",
     "plates": [{"text": "AYO9034", "box": [x1, y1, x2, y2], "corners": [[x, y] x4] or null}]}

``text`` may be null (detection-only sets). Other keys of an image go to
``sample.extra`` (``width`` and ``height`` included), other keys of a plate to
``plate.extra``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from ..errors import InputError, LabelError
from .crops import read_text_file, region_in_file, skipping_bad_labels
from .dataset import SCENES, Dataset, PlateLabel, Sample
from .regions import get_region

ANNOTATIONS = "annotations.jsonl"
_SAMPLE_KEYS = ("file", "region", "plates")
_PLATE_KEYS = ("text", "box", "corners")


def _jsonl_file(path) -> Path:
    path = Path(path)
    jsonl = path / ANNOTATIONS if path.is_dir() else path
    if not jsonl.is_file():
        raise InputError(jsonl, "no such file")
    return jsonl


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_point(v) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(map(_is_number, v))


def _box(value, where):
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 4 and all(map(_is_number, value))):
        raise LabelError(where, f"plate box must be [x1, y1, x2, y2], found {value!r}")
    x1, y1, x2, y2 = (float(v) for v in value)
    if x2 < x1 or y2 < y1:
        raise LabelError(where, f"plate box {value!r} has x2 < x1 or y2 < y1")
    return (x1, y1, x2, y2)


def _corners(value, where):
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 4 and all(map(_is_point, value))):
        raise LabelError(where, f"plate corners must be four [x, y] points or null, found {value!r}")
    return tuple((float(x), float(y)) for x, y in value)


def _plate(raw, region, where) -> PlateLabel:
    if not isinstance(raw, dict):
        raise LabelError(where, f"a plate must be an object, found {raw!r}")
    text = raw.get("text")
    if text is not None:
        if not isinstance(text, str):
            raise LabelError(where, f"plate text must be a string or null, found {text!r}")
        if region is None:
            raise LabelError(where, "no region: add a \"region\" key or pass region=")
        text = region.check_label(text, where)
    return PlateLabel(
        text=text,
        box=_box(raw.get("box"), where),
        corners=_corners(raw.get("corners"), where),
        region=region.code if region else None,
        extra={k: v for k, v in raw.items() if k not in _PLATE_KEYS},
    )


def _sample(folder: Path, line: str, default_region, where) -> Sample:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LabelError(where, f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(record, dict):
        raise LabelError(where, "each line must be a JSON object")
    file, plates = record.get("file"), record.get("plates", [])
    if not isinstance(file, str) or not file:
        raise LabelError(where, "no \"file\" key naming the image")
    if not isinstance(plates, list):
        raise LabelError(where, f"\"plates\" must be a list, found {plates!r}")
    region = region_in_file(record["region"], where) if record.get("region") else default_region
    return Sample(
        path=folder / file,
        plates=tuple(_plate(p, region, where) for p in plates),
        region=region.code if region else None,
        extra={k: v for k, v in record.items() if k not in _SAMPLE_KEYS},
    )


def load_jsonl(path, region: Optional[str] = None, strict: bool = True) -> Dataset:
    """Load a folder's ``annotations.jsonl`` (or a ``.jsonl`` file); ``region`` serves lines without one."""
    jsonl = _jsonl_file(path)
    folder = jsonl.parent
    default_region = get_region(region) if region else None
    samples, problems = [], []
    # split("\n"), not splitlines(): JSON strings may hold U+2028 and other line separators.
    for lineno, line in enumerate(read_text_file(jsonl).split("\n"), start=1):
        if not line.strip():
            continue
        with skipping_bad_labels(problems, strict):
            samples.append(_sample(folder, line, default_region, where=f"{jsonl}:{lineno}"))
    return Dataset(name=folder.name, kind=SCENES, root=folder, samples=samples, problems=problems)


def _plain(v):
    """A number as JSON shows it best: whole values as ints, others rounded to 0.01 px."""
    v = float(v)
    return int(v) if v.is_integer() else round(v, 2)


def scene_record(
    file: str, width: int, height: int, plates: Sequence[PlateLabel], region: Optional[str] = None, **extra: Any
) -> dict:
    """The annotations.jsonl object of one image (what :func:`load_jsonl` reads back)."""
    return {
        "file": file,
        "width": int(width),
        "height": int(height),
        "region": region,
        "plates": [
            {
                "text": p.text,
                "box": [_plain(v) for v in p.box] if p.box is not None else None,
                "corners": [[_plain(x), _plain(y)] for x, y in p.corners] if p.corners is not None else None,
                **p.extra,
            }
            for p in plates
        ],
        **extra,
    }


class JsonlWriter:
    """Appends one annotation line per image, flushed at once.

    Appending (not rewriting the whole file at the end) keeps every image annotated
    so far when a long generation run is interrupted; ``append=True`` resumes such a
    file, first cutting off a last line the interruption left unfinished.
    """

    def __init__(self, path, append: bool = False):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if append and self.path.is_file():
            _drop_unfinished_line(self.path)
        self._fh = self.path.open("a" if append else "w", encoding="utf-8", newline="\n")

    def write(self, record: Mapping[str, Any]) -> None:
        # One write call per line, so an interruption can only cut the line being written.
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _drop_unfinished_line(path: Path) -> None:
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as fh:
            fh.truncate(data.rfind(b"\n") + 1)
