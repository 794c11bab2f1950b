"""Deterministic splits by plate text, so no plate string is on both sides.

A sample without text (a detection-only set) is split by what ties it to others: a
video frame (``<video>_t<seconds>.jpg``, or the ``video`` and ``time_s`` keys of its
label) by its event, the run of frames of one video each less than
:data:`EVENT_GAP_S` after the one before (the rule the real dashcam set was split
by, so one event never lies on both sides); any other by its file name.
"""

from __future__ import annotations

import hashlib
import re
from typing import Optional

from ..errors import ConfigError

EVENT_GAP_S = 20.0
_FRAME_NAME = re.compile(r"^(?P<video>.+)_t(?P<seconds>\d+(?:\.\d+)?)$")


def text_fold(text: str, folds: int) -> int:
    """The fold (0 .. folds-1) of a plate string; stable across runs and machines."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") % folds


def video_time(sample) -> Optional[tuple[str, float]]:
    """(video, seconds) of a video frame: from its label's keys, else from its file name; None otherwise."""
    video, seconds = sample.extra.get("video"), sample.extra.get("time_s")
    if isinstance(video, str) and isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        return video, float(seconds)
    match = _FRAME_NAME.match(sample.path.stem)
    return (match["video"], float(match["seconds"])) if match else None


def split_keys(samples) -> list[str]:
    """The string each sample's fold is drawn from: its text, its event or its file name.

    Events are chained over ``samples`` (the whole folder, before any selection), so
    training and evaluation, which both load the whole folder, draw the same folds.
    """
    keys: list[Optional[str]] = [s.text for s in samples]
    frames = sorted((t, i) for i, (s, k) in enumerate(zip(samples, keys)) if k is None
                    for t in [video_time(s)] if t is not None)
    event, previous = None, None
    for (video, seconds), i in frames:
        if previous is None or video != previous[0] or seconds - previous[1] >= EVENT_GAP_S:
            event = f"event:{video}@{seconds:g}"  # named after its first frame
        keys[i], previous = event, (video, seconds)
    return [k if k is not None else f"file:{s.path.name}" for s, k in zip(samples, keys)]


def select_folds(samples, folds: int, keep) -> list:
    """Samples whose split key (:func:`split_keys`) falls in the folds ``keep`` (an int or a list of ints)."""
    keep = {keep} if isinstance(keep, int) else set(keep)
    if folds < 2 or not keep or not all(0 <= k < folds for k in keep):
        raise ConfigError(f"split by text needs folds >= 2 and folds to keep in 0..{folds - 1}, got {sorted(keep)}")
    samples = list(samples)
    return [s for s, key in zip(samples, split_keys(samples)) if text_fold(key, folds) in keep]


def select_split(samples, split) -> list:
    """:func:`select_folds` for a split node ``{folds: N, keep: K or [K, ...]}`` (a dict or config node; none: all)."""
    if not split:
        return list(samples)
    if not hasattr(split, "get"):
        raise ConfigError(f"split must be {{folds: N, keep: K or [K, ...]}}, got {split!r}")
    keep = split.get("keep")
    try:
        keep = int(keep) if isinstance(keep, (int, str)) else [int(k) for k in keep]
        folds = int(split.get("folds"))
    except (TypeError, ValueError):
        raise ConfigError(f"split must be {{folds: N, keep: K or [K, ...]}} with whole numbers, got "
                          f"{{folds: {split.get('folds')!r}, keep: {keep!r}}}") from None
    return select_folds(samples, folds, keep)

