"""Dataset formats by name, and recognising a folder's format from its files.

:data:`FORMATS` maps a format name to ``(loader, sniffer)``: ``loader(path, **options)
-> Dataset`` and ``sniffer(path) -> bool``. Recognition asks the sniffers in table
order, so formats whose mark is a single file (``annotations.jsonl``, ``labels.tsv``)
come before those recognised from file names (a CCPD folder may also carry an
``annotations.jsonl``). The bundled ``basics`` plugin registers these; other plugins
add formats through the ``alprkit_register_datasets`` hook, and :func:`load_dataset`
and :func:`detect_format` look them up in the registry, in registration order.
"""

from __future__ import annotations

import inspect
import os
from itertools import islice
from pathlib import Path
from typing import Callable, Iterator, Optional

from ..errors import ConfigError, InputError, LabelError
from .ccpd import load_ccpd, parse_ccpd_name
from .crops import LABELS_TSV, TAO_CHARACTERS, TAO_IMAGE_DIR, TAO_LABEL_DIR, is_image, load_crops_tsv, load_tao
from .dataset import Dataset
from .jsonl import ANNOTATIONS, load_jsonl
from .ufpr import load_ufpr

Loader = Callable[..., Dataset]
Sniffer = Callable[[Path], bool]

_SNIFF_FILES = 5  # files a name- or content-based sniffer looks at before giving up


def _files(root: Path, max_depth: int) -> Iterator[Path]:
    """Files under ``root`` at most ``max_depth`` folders down, in name order."""
    for dirpath, dirnames, filenames in os.walk(root):
        if len(Path(dirpath).relative_to(root).parts) >= max_depth:
            dirnames.clear()
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _is_jsonl(path: Path) -> bool:
    return (path / ANNOTATIONS).is_file() if path.is_dir() else path.suffix == ".jsonl"


def _is_crops_tsv(path: Path) -> bool:
    return (path / LABELS_TSV).is_file() if path.is_dir() else path.name == LABELS_TSV


def _is_tao(path: Path) -> bool:
    return (path / TAO_CHARACTERS).is_file() or ((path / TAO_IMAGE_DIR).is_dir() and (path / TAO_LABEL_DIR).is_dir())


def _is_ufpr(path: Path) -> bool:
    # root/[training/]track0001/track0001[01].txt
    if not path.is_dir():
        return False
    texts = islice((p for p in _files(path, max_depth=2) if p.suffix == ".txt"), _SNIFF_FILES)
    return any("position_plate:" in _text_or_empty(p) for p in texts)


def _text_or_empty(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:  # an unreadable label file is reported by the loader, not while guessing the format
        return ""


def _parses_as_ccpd(path: Path) -> bool:
    try:
        parse_ccpd_name(path)
    except LabelError:
        return False
    return True


def _is_ccpd(path: Path) -> bool:
    # root/[CCPD2019/]ccpd_base/<name>.jpg
    if not path.is_dir():
        return False
    images = islice((p for p in _files(path, max_depth=2) if is_image(p)), _SNIFF_FILES)
    return any(map(_parses_as_ccpd, images))


FORMATS: dict[str, tuple[Loader, Sniffer]] = {
    "jsonl": (load_jsonl, _is_jsonl),
    "crops_tsv": (load_crops_tsv, _is_crops_tsv),
    "tao": (load_tao, _is_tao),
    "ufpr": (load_ufpr, _is_ufpr),
    "ccpd": (load_ccpd, _is_ccpd),
}


def _registered():
    from ..plugins import registry

    return registry().in_registration_order("dataset")


def _known() -> str:
    return f"known formats: {', '.join(c.name for c in _registered())}"


def detect_format(path) -> str:
    """The name of the first format whose sniffer recognises ``path``."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, f"no such file or folder ({_known()})")
    for component in _registered():
        sniff = component.extra.get("sniff")
        if sniff is not None and sniff(path):
            return component.name
    raise InputError(path, f"unrecognised dataset format ({_known()})")


def load_dataset(path, format: Optional[str] = None, **options) -> Dataset:
    """Load ``path`` with the named format's loader, or the recognised one's."""
    name = format or detect_format(path)
    known = {c.name: c for c in _registered()}
    if name not in known:
        raise ConfigError(f"unknown dataset format {name!r} ({_known()})")
    loader = known[name].factory
    accepted = list(inspect.signature(loader).parameters)[1:]  # all but the path
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(
            f"dataset format {name!r} has no option {', '.join(unknown)} (options: {', '.join(accepted)})"
        )
    return loader(path, **options)
