"""Plate-crop datasets: ``labels.tsv`` folders and NVIDIA TAO LPRNet folders.

``labels.tsv`` is UTF-8 with the header ``file<TAB>text<TAB>region`` and one line
per image of the same folder. A TAO LPRNet dataset has ``image/`` and ``label/``
(or both side by side in one folder), one ``<stem>.txt`` holding the plate text per
image, and ``characters_list.txt`` (one character per line) at its root; that list,
not a region, is the dataset's charset.

This module also holds the small helpers every format module shares: image
suffixes and the strict / non-strict label guard.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Optional

from ..atomic import write_text_atomic
from ..errors import ConfigError, InputError, LabelError
from .dataset import CROPS, Dataset, PlateLabel, Sample
from .regions import Region, get_region

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")

LABELS_TSV = "labels.tsv"
TSV_COLUMNS = ("file", "text", "region")

TAO_IMAGE_DIR = "image"
TAO_LABEL_DIR = "label"
TAO_CHARACTERS = "characters_list.txt"


def is_image(path) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_SUFFIXES


def image_files(folder: Path) -> list[Path]:
    """The images directly inside ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and is_image(p))


def require_folder(path) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise InputError(path, "no such folder")
    return path


@contextmanager
def skipping_bad_labels(problems: list[str], strict: bool) -> Iterator[None]:
    """Run one item's parsing: a bad label raises when strict, else becomes a line of ``problems``.

    Batch jobs over thousands of files keep going past a few bad items, but still
    report each one.
    """
    try:
        yield
    except LabelError as exc:
        if strict:
            raise
        problems.append(str(exc))


def read_text_file(path, error=InputError) -> str:
    """A UTF-8 (optionally BOM-marked) text file; any other encoding or an unreadable file is ``error``
    naming the file (and the line of the first undecodable byte)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        from ..imageio import os_input_error

        raise error(path, os_input_error(path, exc).reason) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); label files must be "
                          "saved as UTF-8") from None


def region_in_file(code: str, where) -> Region:
    """The region a data file names; an unknown code is that file's LabelError."""
    if not isinstance(code, str):
        raise LabelError(where, f"region must be a region code, found {code!r}")
    try:
        return get_region(code)
    except ConfigError as exc:
        raise LabelError(where, str(exc)) from None


# --- labels.tsv ---------------------------------------------------------------------


def _tsv_file(path) -> Path:
    path = Path(path)
    tsv = path / LABELS_TSV if path.is_dir() else path
    if not tsv.is_file():
        raise InputError(tsv, "no such file")
    return tsv


def load_crops_tsv(path, region: Optional[str] = None, strict: bool = True) -> Dataset:
    """Load a crops folder (or its ``labels.tsv``); ``region`` serves rows without a region column."""
    tsv = _tsv_file(path)
    folder = tsv.parent
    default_region = get_region(region) if region else None
    lines = read_text_file(tsv).splitlines()
    header = lines[0].split("\t") if lines else []
    if "file" not in header or "text" not in header:
        raise InputError(tsv, f"first line must be the header {chr(9).join(TSV_COLUMNS)!r}, found {header!r}")

    samples, problems = [], []
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        with skipping_bad_labels(problems, strict):
            samples.append(_tsv_sample(folder, header, line, default_region, where=f"{tsv}:{lineno}"))
    return Dataset(name=folder.name, kind=CROPS, root=folder, samples=samples, problems=problems)


def _tsv_sample(folder, header, line, default_region, where) -> Sample:
    fields = line.split("\t")
    if len(fields) != len(header):
        raise LabelError(where, f"expected {len(header)} tab-separated fields, found {len(fields)}")
    row = dict(zip(header, fields))
    if row.get("region"):
        region = region_in_file(row["region"], where)
    elif default_region is not None:
        region = default_region
    else:
        raise LabelError(where, "no region: add a region column or pass region=")
    text = region.check_label(row["text"], where)
    extra = {k: v for k, v in row.items() if k not in TSV_COLUMNS}
    return Sample(
        path=folder / row["file"],
        plates=(PlateLabel(text=text, region=region.code),),
        region=region.code,
        extra=extra,
    )


def write_crops_tsv(folder, rows: Iterable[tuple[str, str, str]]) -> Path:
    """Write ``folder/labels.tsv`` from ``(file, text, region)`` rows, atomically."""
    lines = ["\t".join(TSV_COLUMNS)]
    for row in rows:
        if any("\t" in field or "\n" in field for field in row):
            raise ValueError(f"labels.tsv fields may not hold tabs or newlines: {row!r}")
        lines.append("\t".join(row))
    path = Path(folder) / LABELS_TSV
    write_text_atomic(path, "\n".join(lines) + "\n")
    return path


# --- NVIDIA TAO LPRNet --------------------------------------------------------------


def _tao_folders(root: Path) -> tuple[Path, Path]:
    """(image folder, label folder): ``image/`` + ``label/``, or one folder holding both."""
    image_dir = root / TAO_IMAGE_DIR
    if not image_dir.is_dir():
        return root, root
    label_dir = root / TAO_LABEL_DIR
    if not label_dir.is_dir():
        raise InputError(label_dir, f"missing (a TAO dataset with {TAO_IMAGE_DIR}/ needs {TAO_LABEL_DIR}/ beside it)")
    return image_dir, label_dir


def _tao_charset(root: Path, region: Optional[str]) -> Region:
    """The region whose charset labels are checked against: characters_list.txt wins over ``region``."""
    chars_file = root / TAO_CHARACTERS
    if not chars_file.is_file():
        if region is None:
            raise InputError(chars_file, "missing: a TAO dataset lists its characters there (or pass region=)")
        return get_region(region)
    chars = []
    for lineno, line in enumerate(read_text_file(chars_file).splitlines(), start=1):
        char = line.strip()
        if len(char) > 1:
            raise InputError(f"{chars_file}:{lineno}", f"expected one character per line, found {char!r}")
        if char:
            chars.append(char)
    if not chars:
        raise InputError(chars_file, "lists no characters")
    # check_label names the charset by the region code: name it after the file instead.
    return Region(
        code=TAO_CHARACTERS,
        name=str(chars_file),
        charset="".join(chars),
        templates=(),
        min_length=1,
        max_length=len(chars),
    )


def load_tao(root, region: Optional[str] = None, strict: bool = True) -> Dataset:
    """Load a TAO LPRNet dataset; ``region`` is recorded on the samples (and is the charset
    when the dataset has no characters_list.txt)."""
    root = require_folder(root)
    image_dir, label_dir = _tao_folders(root)
    charset = _tao_charset(root, region)
    samples, problems = [], []
    for image in image_files(image_dir):
        with skipping_bad_labels(problems, strict):
            label_file = label_dir / f"{image.stem}.txt"
            if not label_file.is_file():
                raise LabelError(label_file, f"missing: no label for image {image.name}")
            text = charset.check_label(read_text_file(label_file, LabelError).strip(), label_file)
            samples.append(Sample(path=image, plates=(PlateLabel(text=text, region=region),), region=region))
    return Dataset(name=root.name, kind=CROPS, root=root, samples=samples, problems=problems)


def write_tao_label(root, image_name: str, text: str) -> Path:
    """Write the label of ``root/image/<image_name>`` as ``root/label/<stem>.txt``, atomically."""
    path = Path(root) / TAO_LABEL_DIR / f"{Path(image_name).stem}.txt"
    write_text_atomic(path, text + "\n")
    return path


def write_tao_characters(root, characters: Iterable[str]) -> Path:
    """Write ``root/characters_list.txt``, one character per line, atomically."""
    path = Path(root) / TAO_CHARACTERS
    write_text_atomic(path, "".join(f"{c}\n" for c in characters))
    return path
