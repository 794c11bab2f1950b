"""Where the annotated copy of each input goes: one name per input, never two inputs on one name."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable

ANNOTATED = ".annotated.jpg"


def annotated_names(paths: Iterable, root) -> dict[Path, Path]:
    """Output path (relative to the output folder) of each input image under ``root``.

    Sub-folders of ``root`` are mirrored, so ``a/x.jpg`` and ``b/x.jpg`` stay apart; in
    one folder ``x.jpg`` and ``x.png`` would both become ``x.annotated.jpg``, so
    those keep their suffix (``x.jpg.annotated.jpg``). Inputs outside ``root`` are
    named from their file name alone, and numbered when that still collides.
    """
    root = Path(root)
    relative = []
    for path in map(Path, paths):
        try:
            relative.append((path, path.relative_to(root)))
        except ValueError:
            relative.append((path, Path(path.name)))
    stems = Counter(rel.with_suffix("") for _, rel in relative)
    names, taken = {}, set()
    for path, rel in relative:
        base = rel.with_suffix("") if stems[rel.with_suffix("")] == 1 else rel
        name = base.with_name(base.name + ANNOTATED)
        counter = 1
        while name in taken:  # only for inputs outside root that share a file name
            counter += 1
            name = base.with_name(f"{base.name}.{counter}{ANNOTATED}")
        taken.add(name)
        names[path] = name
    return names
