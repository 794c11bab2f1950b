"""The annotated copy of a video: every plate boxed, with its track id and its read so far.

While a video is read, :class:`TrackLog` records which plate the tracker assigned to
which track in each frame. The selector reads a vehicle only when its track ends, so the
copy is written in a second pass over the video, once every track's fate is known: a
vehicle's box says ``#3 ABC1234 0.93``, the read of the latest frame its selector had
recognized by then (what an online reader would show at that moment; ``#3`` alone before
the first), and a track that was no vehicle is drawn grey, ``#5 dropped``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterable, Optional

import cv2

from .atomic import atomic_path
from .draw import BOX, DROPPED, draw_labelled, read_label
from .errors import InputError
from .types import StreamResult
from .video import BadFrame, iter_video, video_info

ANNOTATED_VIDEO = ".annotated.mp4"
DEFAULT_FPS = 25.0  # for a container that does not say


class TrackLog:
    """``on_frame`` of :meth:`alprkit.pipeline.Pipeline.read_video`: each frame's (track id, detection) pairs."""

    def __init__(self):
        self.frames: dict[int, list] = {}

    def __call__(self, frame, current):
        self.frames[frame.index] = [(track, observation.detection) for track, observation in current]


def annotated_video_name(source) -> str:
    return Path(source).stem + ANNOTATED_VIDEO


def write_annotated_video(path, source, step: int, log: TrackLog, results: Iterable[StreamResult],
                          dropped: Iterable[int] = (), progress=None) -> int:  # fmt: skip
    """Write ``source``'s frames (every ``step``-th) with the tracks of ``log`` drawn, atomically; frames written.

    ``results`` are the vehicles read, ``dropped`` the track ids that were no vehicle;
    ``progress(items)`` may wrap the frames (a progress bar). Frames unreadable in this
    pass are left out (the first pass reported them).
    """
    vehicles = {r.track_id: r for r in results}
    dropped = set(dropped)
    info = video_info(source)
    fps = (info.fps or DEFAULT_FPS) / step
    written = 0
    frames = iter_video(source, step=step)
    with atomic_path(path) as tmp:
        writer: Optional[cv2.VideoWriter] = None
        try:
            for item in progress(frames) if progress else frames:
                if isinstance(item, BadFrame):
                    continue
                if writer is None:
                    writer = _open_writer(tmp, fps, item.width, item.height)
                items = [_item(track, detection, item.index, vehicles, dropped)
                         for track, detection in log.frames.get(item.index, [])]
                writer.write(cv2.cvtColor(draw_labelled(item.pixels, items), cv2.COLOR_RGB2BGR))
                written += 1
        finally:
            if writer is not None:
                writer.release()
    return written


def _open_writer(path: Path, fps: float, width: int, height: int) -> cv2.VideoWriter:
    # mp4v is the MPEG-4 codec that opencv-python-headless's bundled FFmpeg always has.
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise InputError(path, "OpenCV cannot write an MPEG-4 video here")
    return writer


def _item(track, detection, frame: int, vehicles: dict, dropped: set):
    result = vehicles.get(track)
    if result is None:  # grey and plain: no corners
        return replace(detection, corners=None), f"#{track} dropped" if track in dropped else f"#{track}", DROPPED
    so_far = [r for f, r in result.reads if f <= frame and r is not None and r.text]
    return detection, f"#{track} {read_label(so_far[-1])}" if so_far else f"#{track}", BOX
