"""Reading video frames with OpenCV, surviving damaged files.

A frame that cannot be read becomes a :class:`BadFrame` and reading goes on, so one bad
packet does not cost the rest of a recording. What OpenCV's FFmpeg backend does with a
damaged file (seen with MJPG AVIs, OpenCV 5.0):

- damaged JPEG data inside a frame: ``grab()`` fails for that frame and the next call
  returns the next frame, so counting calls keeps frame numbers right;
- a damaged chunk header: the AVI demuxer skips to the next intact chunk without any
  error, and neither ``CAP_PROP_POS_FRAMES`` nor ``CAP_PROP_POS_MSEC`` shows the gap, so
  the frames after it are numbered one early per lost frame. Nothing in OpenCV's API
  reveals where; the shortfall against the header's frame count comes out as BadFrames
  at the end;
- a cut-off file: ``grab()`` fails from the cut on, like at the end of the stream.

``CAP_PROP_FRAME_COUNT`` is a hint, not a bound: it is an estimate for some containers
(an MPEG program stream of 20 frames reports 1), so reading stops only after failures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Iterator, Optional, Union

import cv2

from .errors import ConfigError, InputError
from .imageio import os_input_error
from .types import Frame

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"})
# About a second of video: longer runs of unreadable frames are taken as the end of the stream.
MAX_CONSECUTIVE_FAILURES = 30


@dataclass(frozen=True)
class BadFrame:
    """A frame of a video that could not be read; ``index`` is its frame number."""

    index: int
    reason: str


@dataclass(frozen=True)
class VideoInfo:
    fps: Optional[float]  # None where the container does not say
    frame_count: Optional[int]  # the container's count or estimate; None where unknown
    width: int
    height: int


def is_video(path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def video_info(path) -> VideoInfo:
    cap = _open(path)
    try:
        return _info(cap)
    finally:
        cap.release()


def iter_video(path, step: int = 1, max_frames: Optional[int] = None) -> Iterator[Union[Frame, BadFrame]]:
    """Frames number 0, step, 2*step, ... of a video as RGB :class:`Frame` (or :class:`BadFrame`).

    ``max_frames`` caps how many items are yielded. The file is opened at once, so a missing
    or unreadable video raises :class:`InputError` here, not at the first ``next()``; a video
    none of whose frames can be read raises it during iteration.
    """
    if step < 1:
        raise ConfigError(f"video step must be at least 1, got {step}")
    if max_frames is not None and max_frames < 0:
        raise ConfigError(f"max_frames must be at least 0, got {max_frames}")
    cap = _open(path)
    return islice(_read_frames(cap, str(path), step, _info(cap).frame_count), max_frames)


def _open(path) -> cv2.VideoCapture:
    try:
        with open(path, "rb") as f:
            is_empty = not f.read(1)
    except OSError as e:
        raise os_input_error(path, e) from None
    if is_empty:
        raise InputError(path, "empty file")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise InputError(path, "not a readable video")
    return cap


def _info(cap: cv2.VideoCapture) -> VideoInfo:
    fps = cap.get(cv2.CAP_PROP_FPS)
    count = cap.get(cv2.CAP_PROP_FRAME_COUNT)  # unknown shows as 0, -1 or a huge negative number
    return VideoInfo(
        fps=fps if math.isfinite(fps) and fps > 0 else None,
        frame_count=int(count) if count >= 1 else None,
        width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    )


def _read_frames(cap: cv2.VideoCapture, source: str, step: int, frame_count: Optional[int]):
    try:
        failed: list[int] = []  # the current run of frame numbers whose read failed
        index = 0
        while len(failed) < MAX_CONSECUTIVE_FAILURES and not (failed and frame_count and index >= frame_count):
            if cap.grab():
                # Failures followed by a good frame were damage in the middle, not the end.
                yield from (BadFrame(i, "unreadable (damaged data)") for i in failed if i % step == 0)
                failed = []
                if index % step == 0:
                    yield _retrieve(cap, source, index)
            else:
                failed.append(index)
            index += 1
        if len(failed) == index:
            raise InputError(source, "no readable frames")
        # The last run of failures is the end of the stream, except for frames the header says
        # exist: those were lost to a cut-off or damaged file.
        lost = [i for i in failed if frame_count and i < frame_count and i % step == 0]
        yield from (BadFrame(i, f"missing (fewer readable frames than the {frame_count} listed)") for i in lost)
    finally:
        cap.release()


def _retrieve(cap: cv2.VideoCapture, source: str, index: int) -> Union[Frame, BadFrame]:
    ok, pixels = cap.retrieve()
    if not ok or pixels is None:
        return BadFrame(index, "could not be decoded")
    cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB, dst=pixels)
    return Frame(pixels=pixels, source=source, index=index)
