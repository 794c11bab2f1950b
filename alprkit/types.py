"""Data that crosses component boundaries.

An image becomes detections (box, corners, score), then rectified crops, then
per-step character scores, then decoded candidates, then filtered recognitions, and
for video one result per vehicle. Each arrow is one component kind.

Pixel arrays are ``uint8`` RGB of shape (H, W, 3). Coordinates are pixels of the
frame they belong to; corners run top-left, top-right, bottom-right, bottom-left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # x1, y1, x2, y2
Corners = tuple[Point, Point, Point, Point]  # TL, TR, BR, BL


@dataclass(frozen=True, eq=False)
class Frame:
    """One image, or one frame of a video (``index`` counts frames from 0)."""

    pixels: np.ndarray
    source: str = ""
    index: int = 0

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float = 1.0
    corners: Optional[Corners] = None

    def quad(self) -> Corners:
        """The four corners, falling back to the box's corners."""
        if self.corners is not None:
            return self.corners
        x1, y1, x2, y2 = self.box
        return ((x1, y1), (x2, y1), (x2, y2), (x1, y2))


@dataclass(frozen=True, eq=False)
class Crop:
    """A plate cut out of a frame and warped to a recognizer's input size.

    ``transform`` is the 3x3 matrix taking crop pixel coordinates to frame coordinates.
    """

    pixels: np.ndarray
    detection: Detection
    transform: np.ndarray = field(default_factory=lambda: np.eye(3))


@dataclass(frozen=True, eq=False)
class CharScores:
    """A recognizer's output for one crop: a probability row per step.

    CTC recognizers have a blank class (``blank`` is its index) and more steps than
    characters; per-position recognizers (parallel STN) have ``blank=None`` and one
    step per character slot.
    """

    probs: np.ndarray  # (steps, classes), rows sum to 1
    alphabet: tuple[str, ...]  # class index -> character; the blank's entry is ""
    blank: Optional[int] = 0
    region: Optional[str] = None
    region_confidence: Optional[float] = None  # a multi-region recognizer's probability of ``region``


@dataclass(frozen=True)
class Candidate:
    text: str
    score: float  # probability of the whole string under the recognizer


@dataclass(frozen=True)
class Recognition:
    text: str
    char_probs: tuple[float, ...] = ()
    confidence: float = 0.0
    candidates: tuple[Candidate, ...] = ()
    region: Optional[str] = None
    region_confidence: Optional[float] = None  # set where the recognizer predicted the region


@dataclass(frozen=True)
class PlateRead:
    """One plate found in one frame: what ``alprkit run`` prints as a JSON line."""

    source: str
    frame: int
    detection: Detection
    recognition: Recognition

    def to_json(self) -> dict:
        d = self.detection
        return {
            "source": self.source,
            "frame": self.frame,
            "text": self.recognition.text,
            "confidence": round(float(self.recognition.confidence), 4),
            "region": self.recognition.region,
            "region_confidence": (None if self.recognition.region_confidence is None
                                  else round(float(self.recognition.region_confidence), 4)),
            "box": [round(float(v), 1) for v in d.box],
            "corners": [[round(float(x), 1), round(float(y), 1)] for x, y in d.corners] if d.corners else None,
            "score": round(float(d.score), 4),
        }


@dataclass(frozen=True)
class PlateObservation:
    """A plate of one track as seen in one frame, before recognition."""

    frame: int
    detection: Detection
    crop: Crop


@dataclass(frozen=True)
class PlateStream:
    """All observations of one vehicle's plate, in frame order, with any results so far."""

    track_id: Union[int, str]
    observations: tuple[PlateObservation, ...]
    results: tuple[Optional[Recognition], ...] = ()

    @property
    def frames(self) -> tuple[int, ...]:
        return tuple(o.frame for o in self.observations)


@dataclass(frozen=True)
class StreamResult:
    """A selector's answer for one stream: the final read and the frames it recognized."""

    track_id: Union[int, str]
    recognition: Recognition
    frame: int  # the frame whose read was chosen (or the most confident agreeing frame)
    detection: Optional[Detection] = None  # the plate in that frame
    recognized_frames: tuple[int, ...] = ()  # exactly the frames the selector had recognized
    reads: tuple[tuple[int, Optional[Recognition]], ...] = ()  # (frame, its read) of those, filled by the pipeline

    def to_json(self, source: str) -> dict:
        record = PlateRead(source, self.frame, self.detection or Detection((0, 0, 0, 0)), self.recognition).to_json()
        record.update(track=self.track_id, frames=list(self.recognized_frames))
        if self.detection is None:
            record.update(box=None, corners=None, score=None)
        return record
