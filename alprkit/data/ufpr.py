"""UFPR-ALPR-style video tracks: one folder per vehicle, one ``.txt`` per frame image.

A track folder ``track0001/`` holds frames ``track0001[01].png`` ... and beside each
a ``track0001[01].txt``::

    camera: GoPro Hero4 Silver
    position_vehicle: 740 383 325 265
    	type: car
    	make: Renault
    plate: AYH-0744
    position_plate: 883 572 84 29
    	char 1: 886 580 9 15
    corners: 883,572 967,572 967,601 883,601
    region: br
    degradation: motion=0.31 defocus=0.00 distance=0.12 darkness=0.00 overexposure=0.00 noise=0.05 jpeg=0.40

``position_*`` lines are ``x y w h``. ``corners`` (TL TR BR BL), ``region`` and ``degradation``
(the quality changes of a synthetic frame, :mod:`alprkit.degrade`) are this project's optional additions. Tracks may sit in ``training/``, ``validation/`` and
``testing/`` parent folders.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Mapping, Optional, Sequence

from ..atomic import write_text_atomic
from ..errors import LabelError
from ..types import Box, Corners
from .crops import is_image, read_text_file, region_in_file, require_folder, skipping_bad_labels
from .dataset import TRACKS, Dataset, PlateLabel, Sample
from .regions import get_region

DEFAULT_REGION = "br"  # UFPR-ALPR is Brazilian
_FRAME_NUMBER = re.compile(r"(\d+)\]?$")  # track0001[07] -> 7, frame12 -> 12
_OLD_BRAZILIAN = re.compile(r"[A-Z]{3}[0-9]{4}")


def _read_fields(txt: Path) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Top-level ``key: value`` lines, and the indented lines under each key."""
    fields: dict[str, str] = {}
    details: dict[str, dict[str, str]] = defaultdict(dict)
    parent = None
    for lineno, line in enumerate(read_text_file(txt, LabelError).splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.strip().partition(":")
        if not sep:
            raise LabelError(f"{txt}:{lineno}", f"expected 'key: value', found {line.strip()!r}")
        if not line[0].isspace():
            parent = key.strip()
            fields[parent] = value.strip()
        elif parent is not None:
            details[parent][key.strip()] = value.strip()
        else:
            raise LabelError(f"{txt}:{lineno}", "indented line before any key")
    return fields, details


def _numbers(value: str, count: int, what: str, where) -> list[float]:
    try:
        numbers = [float(v) for v in value.replace(",", " ").split()]
    except ValueError:
        numbers = []
    if len(numbers) != count:
        raise LabelError(where, f"{what} needs {count} numbers, found {value!r}")
    return numbers


def _box(value: str, what: str, where) -> Box:
    x, y, w, h = _numbers(value, 4, f"{what} (x y w h)", where)
    return (x, y, x + w, y + h)


def _corners(value: str, where) -> Corners:
    xs_ys = _numbers(value, 8, "corners (x1,y1 x2,y2 x3,y3 x4,y4)", where)
    return tuple(zip(xs_ys[0::2], xs_ys[1::2]))


def _strengths(value: str, where) -> dict[str, float]:
    """``motion=0.31 defocus=0.00 ...`` as a dict of floats."""
    out = {}
    for item in value.split():
        name, sep, number = item.partition("=")
        try:
            if not (name and sep):
                raise ValueError
            out[name] = float(number)
        except ValueError:
            raise LabelError(where, f"degradation needs name=number pairs, found {item!r}") from None
    return out


def _frame_number(path: Path) -> int:
    match = _FRAME_NUMBER.search(path.stem)
    if match is None:
        raise LabelError(path, "no frame number at the end of the file name")
    return int(match[1])


def _frame_sample(image: Path, txt: Path, default_region: str, split: Optional[str]) -> Sample:
    fields, details = _read_fields(txt)
    for key in ("plate", "position_plate"):
        if key not in fields:
            raise LabelError(txt, f"no '{key}:' line")
    region = region_in_file(fields.get("region") or default_region, txt)
    text = region.check_label(fields["plate"].replace("-", ""), txt)
    char_boxes = [_box(value, key, txt) for key, value in details["position_plate"].items() if key.startswith("char")]
    plate = PlateLabel(
        text=text,
        box=_box(fields["position_plate"], "position_plate", txt),
        corners=_corners(fields["corners"], txt) if "corners" in fields else None,
        region=region.code,
        extra={"chars": tuple(char_boxes)} if char_boxes else {},
    )
    extra = {"split": split} if split else {}
    if "camera" in fields:
        extra["camera"] = fields["camera"]
    if "position_vehicle" in fields:
        box = _box(fields["position_vehicle"], "position_vehicle", txt)
        extra["vehicle"] = {"box": box, **details["position_vehicle"]}
    if "degradation" in fields:
        extra["degradation"] = _strengths(fields["degradation"], txt)
    return Sample(
        path=image,
        plates=(plate,),
        region=region.code,
        track=image.parent.name,
        frame=_frame_number(image),
        extra=extra,
    )


def _frames(root: Path):
    """(image, label file, split) of every frame image under ``root``, label file maybe missing."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()  # a stable order of problems
        folder = Path(dirpath)
        parts = folder.relative_to(root).parts
        split = parts[0] if len(parts) > 1 else None  # training/track0001 -> training
        for name in sorted(filenames):
            if is_image(name):
                image = folder / name
                yield image, image.with_suffix(".txt"), split


def load_ufpr(root, region: str = DEFAULT_REGION, strict: bool = True) -> Dataset:
    """Load every frame under ``root``, ordered by track folder then frame number.

    ``region`` is used for frames whose file has no ``region:`` line. ``sample.extra``
    holds ``split`` (the parent folder of tracks, if any), ``camera`` and ``vehicle``
    (its ``box`` and the type/make/model/year lines).
    """
    root = require_folder(root)
    get_region(region)  # an unknown region argument is a config mistake, reported before any file
    samples, problems = [], []
    for image, txt, split in _frames(root):
        with skipping_bad_labels(problems, strict):
            if not txt.is_file():
                raise LabelError(txt, f"missing: no label for frame {image.name}")
            samples.append(_frame_sample(image, txt, region, split))
    samples.sort(key=lambda s: (s.path.parent, s.frame))
    return Dataset(name=root.name, kind=TRACKS, root=root, samples=samples, problems=problems)


def _xywh(box: Box) -> str:
    x1, y1, x2, y2 = (round(v) for v in box)
    return f"{x1} {y1} {x2 - x1} {y2 - y1}"


def ufpr_plate_text(text: str) -> str:
    """UFPR writes old Brazilian plates with a dash (``ABC-1234``); other plates stay as they are."""
    return f"{text[:3]}-{text[3:]}" if _OLD_BRAZILIAN.fullmatch(text) else text


def write_ufpr_frame(
    txt_path,
    plate_text: str,
    plate_box: Box,
    corners: Optional[Corners],
    vehicle_box: Optional[Box],
    region: Optional[str] = None,
    *,
    camera: Optional[str] = None,
    vehicle: Optional[Mapping[str, str]] = None,
    char_boxes: Sequence[Box] = (),
    degradation: Optional[Mapping[str, float]] = None,
) -> Path:
    """Write one frame's label file, atomically; coordinates are rounded to pixels.

    ``vehicle`` holds the lines under ``position_vehicle`` (type, make, model, year);
    ``degradation`` the strengths of a synthetic frame's quality changes.
    """
    lines = []
    if camera:
        lines.append(f"camera: {camera}")
    if vehicle_box is not None:
        lines.append(f"position_vehicle: {_xywh(vehicle_box)}")
        lines.extend(f"\t{key}: {value}" for key, value in (vehicle or {}).items())
    lines.append(f"plate: {ufpr_plate_text(plate_text)}")
    lines.append(f"position_plate: {_xywh(plate_box)}")
    lines.extend(f"\tchar {i}: {_xywh(box)}" for i, box in enumerate(char_boxes, start=1))
    if corners is not None:
        lines.append("corners: " + " ".join(f"{round(x)},{round(y)}" for x, y in corners))
    if region:
        lines.append(f"region: {region}")
    if degradation:
        lines.append("degradation: " + " ".join(f"{name}={value:.2f}" for name, value in degradation.items()))
    write_text_atomic(txt_path, "\n".join(lines) + "\n")
    return Path(txt_path)
