"""Deterministic splits by plate text, so no plate string is on both sides."""

from __future__ import annotations

import hashlib

from ..errors import ConfigError


def text_fold(text: str, folds: int) -> int:
    """The fold (0 .. folds-1) of a plate string; stable across runs and machines."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") % folds


def select_folds(samples, folds: int, keep) -> list:
    """Samples whose text falls in the folds ``keep`` (an int or a list of ints)."""
    keep = {keep} if isinstance(keep, int) else set(keep)
    if folds < 2 or not keep or not all(0 <= k < folds for k in keep):
        raise ConfigError(f"split by text needs folds >= 2 and folds to keep in 0..{folds - 1}, got {sorted(keep)}")
    return [s for s in samples if s.text is not None and text_fold(s.text, folds) in keep]
