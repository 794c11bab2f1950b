"""CCPD (Chinese City Parking Dataset): labels encoded in the image file names.

A CCPD name is ``area-tilt-bbox-fourpoints-plateindices-brightness-blurriness.jpg``,
e.g. ``025-95_113-154&383_386&473-386&473_177&454_154&383_363&402-0_0_22_27_27_33_16-37-15.jpg``:

- ``tilt`` is ``horizontal_vertical`` in degrees, ``bbox`` is ``x1&y1_x2&y2``;
- ``fourpoints`` are four ``x&y`` corners from the bottom-right vertex (BR, BL, TL, TR);
- ``plateindices``: the first indexes :data:`PROVINCES`, the second :data:`ALPHABETS`,
  the rest :data:`ADS`; 7 indices make a blue plate, 8 a green new-energy plate (CCPD2020).

A CCPD tree has sub-folders (``ccpd_base``, ``ccpd_db`` ...) and ``splits/<name>.txt``
lists of image paths relative to its root. ``ccpd_np`` holds images without plates.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Optional

from ..atomic import write_text_atomic
from ..errors import ConfigError, LabelError
from .crops import is_image, read_text_file, require_folder, skipping_bad_labels
from .dataset import SCENES, Dataset, PlateLabel, Sample
from .regions import CN_LETTERS, CN_PROVINCES, DIGITS, get_region

NO_CHAR = "O"  # the lists' last entry: "no character here"
PROVINCES = (*CN_PROVINCES, "警", "学", NO_CHAR)
ALPHABETS = (*CN_LETTERS, NO_CHAR)
ADS = (*CN_LETTERS, *DIGITS, NO_CHAR)

SPLITS_DIR = "splits"
NO_PLATE_DIR = "ccpd_np"
REGION = "cn"
PLATE_TYPES = {7: "blue", 8: "green"}

_NAME = re.compile(
    r"""
    (?P<area>\d+)
    -(?P<tilt>\d+_\d+)
    -(?P<box>\d+&\d+_\d+&\d+)
    -(?P<points>\d+&\d+(?:_\d+&\d+){3})
    -(?P<indices>\d+(?:_\d+){6,7})
    -(?P<brightness>\d+)
    -(?P<blurriness>\d+)
    """,
    re.VERBOSE,
)
_NAME_FORMAT = "area-tilt-bbox-fourpoints-plateindices-brightness-blurriness"


def _reorder(points):
    """CCPD's BR, BL, TL, TR <-> our TL, TR, BR, BL (the same swap both ways)."""
    return (points[2], points[3], points[0], points[1])


@dataclass(frozen=True)
class CCPDLabel:
    area: str  # digits of the plate-to-image area ratio after "0.", as in the name ("025" = 0.025)
    tilt: tuple[int, int]  # horizontal, vertical degrees
    box: tuple[int, int, int, int]  # x1, y1, x2, y2
    corners: tuple[tuple[int, int], ...]  # TL, TR, BR, BL
    indices: tuple[int, ...]
    text: str
    brightness: int
    blurriness: int
    plate_type: str  # "blue" (7 characters) or "green" (8, new-energy)

    @classmethod
    def from_text(
        cls,
        text: str,
        box,
        corners,
        *,
        image_size: tuple[int, int] = (720, 1160),
        tilt: tuple[int, int] = (90, 90),
        brightness: int = 100,
        blurriness: int = 10,
    ) -> "CCPDLabel":
        """The label of a plate ``text`` (7 or 8 characters) at ``box`` / ``corners`` (TL, TR, BR, BL).

        Coordinates are rounded to pixels, as CCPD names hold integers; ``area`` is
        computed from the box and ``image_size`` (width, height).
        """
        indices = encode_ccpd_text(text)
        box = tuple(round(v) for v in box)
        corners = tuple((round(x), round(y)) for x, y in corners)
        ratio = (box[2] - box[0]) * (box[3] - box[1]) / (image_size[0] * image_size[1])
        return cls(
            area=f"{ratio:.3f}"[2:],
            tilt=tuple(tilt),
            box=box,
            corners=corners,
            indices=indices,
            text=text,
            brightness=brightness,
            blurriness=blurriness,
            plate_type=PLATE_TYPES[len(indices)],
        )

    def metadata(self) -> dict:
        """The values a PlateLabel has no field for (the ``ccpd`` object of annotations.jsonl)."""
        return {
            "area": self.area,
            "tilt": self.tilt,
            "indices": self.indices,
            "brightness": self.brightness,
            "blurriness": self.blurriness,
            "plate_type": self.plate_type,
        }


def _lists_for(count: int):
    return (PROVINCES, ALPHABETS) + (ADS,) * (count - 2)


def decode_ccpd_indices(indices, where) -> str:
    """Plate text of ``plateindices``; the no-character entry adds nothing."""
    chars = []
    for position, (index, table) in enumerate(zip(indices, _lists_for(len(indices))), start=1):
        if index >= len(table):
            raise LabelError(where, f"plate index {index} at position {position} is past its list of {len(table)}")
        if table[index] != NO_CHAR:
            chars.append(table[index])
    return "".join(chars)


def encode_ccpd_text(text: str) -> tuple[int, ...]:
    """``plateindices`` of a 7- or 8-character plate text."""
    where = f"plate {text!r}"
    if len(text) not in PLATE_TYPES:
        raise LabelError(where, f"a CCPD name holds 7 or 8 characters, not {len(text)}")
    indices = []
    for position, (char, table) in enumerate(zip(text, _lists_for(len(text))), start=1):
        if char == NO_CHAR or char not in table:
            raise LabelError(where, f"character {char!r} at position {position} has no CCPD index")
        indices.append(table.index(char))
    return tuple(indices)


def _pair(text: str) -> tuple[int, int]:
    x, y = text.split("&")
    return int(x), int(y)


def parse_ccpd_name(name) -> CCPDLabel:
    """Decode a CCPD file name (a path is fine); a malformed one is a LabelError naming it."""
    match = _NAME.fullmatch(Path(name).stem)
    if match is None:
        raise LabelError(name, f"not a CCPD file name ({_NAME_FORMAT})")
    indices = tuple(int(i) for i in match["indices"].split("_"))
    top_left, bottom_right = (_pair(p) for p in match["box"].split("_"))
    text = get_region(REGION).check_label(decode_ccpd_indices(indices, name), name)
    return CCPDLabel(
        area=match["area"],
        tilt=tuple(int(t) for t in match["tilt"].split("_")),
        box=(*top_left, *bottom_right),
        corners=_reorder(tuple(_pair(p) for p in match["points"].split("_"))),
        indices=indices,
        text=text,
        brightness=int(match["brightness"]),
        blurriness=int(match["blurriness"]),
        plate_type=PLATE_TYPES[len(indices)],
    )


def ccpd_name(label: CCPDLabel, suffix: str = ".jpg") -> str:
    """The CCPD file name of ``label`` (the inverse of :func:`parse_ccpd_name`)."""
    x1, y1, x2, y2 = label.box
    points = "_".join(f"{x}&{y}" for x, y in _reorder(label.corners))
    return (
        f"{label.area}-{label.tilt[0]}_{label.tilt[1]}-{x1}&{y1}_{x2}&{y2}-{points}"
        f"-{'_'.join(map(str, label.indices))}-{label.brightness}-{label.blurriness}{suffix}"
    )


# --- folders and split lists ---------------------------------------------------------


def _images_under(folder: Path) -> list[Path]:
    found = []  # strings: pathlib costs more than the parsing on a 300k-image tree
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != SPLITS_DIR]
        found.extend(os.path.join(dirpath, f) for f in filenames if is_image(f))
    return [Path(p) for p in sorted(found)]


def _split_lists(root: Path) -> dict[str, Path]:
    folder = root / SPLITS_DIR
    return {p.stem: p for p in sorted(folder.glob("*.txt"))} if folder.is_dir() else {}


def _listed_images(root: Path, list_file: Path) -> list[Path]:
    lines = read_text_file(list_file).splitlines()
    return [root / line.strip() for line in lines if line.strip()]


def _split_images(root: Path, split: str) -> list[Path]:
    """Images of a split list (``splits/<split>.txt``) or sub-folder; ``db`` also finds ``ccpd_db``."""
    lists = _split_lists(root)
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != SPLITS_DIR)
    for name in (split, f"ccpd_{split}", split.removeprefix("ccpd_")):
        if name in lists:
            return _listed_images(root, lists[name])
        if name in folders:
            return _images_under(root / name)
    available = ", ".join(sorted({*lists, *folders})) or "none"
    raise ConfigError(f"unknown CCPD split {split!r} in {root} (available: {available})")


def _sample(root: Path, image: Path) -> Sample:
    folders = image.parts[len(root.parts) : -1] if image.parts[: len(root.parts)] == root.parts else ()
    extra = {"split": folders[0]} if folders else {}
    if NO_PLATE_DIR in folders:
        return Sample(path=image, plates=(), region=REGION, extra=extra)
    label = parse_ccpd_name(image)
    plate = PlateLabel(
        text=label.text,
        box=tuple(float(v) for v in label.box),
        corners=tuple((float(x), float(y)) for x, y in label.corners),
        region=REGION,
    )
    return Sample(path=image, plates=(plate,), region=REGION, extra={**extra, "ccpd": label.metadata()})


def load_ccpd(root, split: Optional[str] = None, strict: bool = True) -> Dataset:
    """Load CCPD-named images under ``root`` (recursively), or one split list / sub-folder.

    ``sample.extra["split"]`` is the sub-folder of ``root`` an image lies in
    (``ccpd_base``, ``ccpd_db`` ...) and ``sample.extra["ccpd"]`` the rest of its name.
    Images under ``ccpd_np`` are samples without plates.
    """
    root = require_folder(root)
    images = _images_under(root) if split is None else _split_images(root, split)
    samples, problems = [], []
    for image in images:
        with skipping_bad_labels(problems, strict):
            samples.append(_sample(root, image))
    name = root.name if split is None else f"{root.name}/{split}"
    return Dataset(name=name, kind=SCENES, root=root, samples=samples, problems=problems)


def write_ccpd_split_lists(root, splits: Mapping[str, Iterable]) -> list[Path]:
    """Write ``root/splits/<name>.txt`` listing each split's image paths (relative to ``root``)."""
    written = []
    for name, paths in splits.items():
        list_file = Path(root) / SPLITS_DIR / f"{name}.txt"
        write_text_atomic(list_file, "".join(f"{Path(p).as_posix()}\n" for p in paths))
        written.append(list_file)
    return written
