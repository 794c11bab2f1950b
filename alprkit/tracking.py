"""What every tracker shares: track ids, ending a track, and dropping tracks that are no vehicle.

A tracker links a plate's detections across video frames into streams, one per vehicle;
trackers are components (``tracker=iou``, ``tracker=kalman``, registered through
``alprkit_register_trackers``). :class:`Tracker` owns the bookkeeping so that a tracker
only decides which observation continues which track (:meth:`Tracker.match`).

A false detection (a sign, a sticker, a headlight) must not become a vehicle. What
drops it is what it lacks: it is seen for a few frames only (``min_frames``), or the
detector is unsure of it throughout (``min_score``: the track's best detector score).
The recognizer's confidence (``min_confidence``) is applied by the pipeline after
the selector has read the track; a sign read as ``0NEVNAY`` at confidence 1.0 is not
dropped by it, so it needs the other two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

from .errors import ConfigError
from .types import PlateObservation, PlateStream

TOO_SHORT = "too short"
UNSURE_DETECTOR = "unsure detector"
UNREAD = "never read confidently"


@dataclass
class Track:
    """A track being built: its observations so far, and any state the tracker keeps for it."""

    track_id: int
    observations: list = field(default_factory=list)
    state: object = None  # e.g. a Kalman filter's mean and covariance
    seen_at: int = 0  # the processed frame (count of updates) it was last seen in

    @property
    def last(self) -> PlateObservation:
        return self.observations[-1]


@dataclass(frozen=True)
class Dropped:
    """A track that ended without becoming a vehicle, and why."""

    stream: PlateStream
    reason: str


def tracker_param(value, key: str, minimum: float, maximum: Optional[float] = None, whole: bool = False):
    """A tracker parameter as a number (whole if asked) in range, or a one-line ConfigError naming ``tracker.key``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    if ok and whole:
        ok = float(value).is_integer()
    if not ok or value < minimum or (maximum is not None and value > maximum):
        bound = f"in [{minimum:g}, {maximum:g}]" if maximum is not None else f">= {minimum:g}"
        raise ConfigError(f"tracker.{key}={value!r}: must be {'a whole number' if whole else 'a number'} {bound}")
    return int(value) if whole else float(value)


class Tracker:
    """Base of the bundled trackers; subclasses implement :meth:`match` (and may keep per-track state).

    ``max_gap``: processed frames (calls of :meth:`update`) a track may go unseen before it
    ends, like ``min_frames`` counted in the frames the tracker is given: with ``video.step=10``
    a missed detection is 10 video frames, one chance to see the plate. ``min_frames``,
    ``min_score`` and ``min_confidence`` drop tracks that are no vehicle (see the module docstring).
    """

    def __init__(self, max_gap: int = 5, min_frames: int = 5, min_score: float = 0.0, min_confidence: float = 0.0):
        self.max_gap = tracker_param(max_gap, "max_gap", 0, whole=True)
        self.min_frames = tracker_param(min_frames, "min_frames", 1, whole=True)
        self.min_score = tracker_param(min_score, "min_score", 0.0, 1.0)
        self.min_confidence = tracker_param(min_confidence, "min_confidence", 0.0, 1.0)
        self.dropped: list[Dropped] = []
        self._tracks: list[Track] = []
        self._current: list[tuple[int, PlateObservation]] = []
        self._next_id = 0
        self._processed = 0  # frames given to update so far

    # -- what a subclass decides ----------------------------------------------------------------
    def match(self, frame: int, tracks: Sequence[Track], observations: Sequence[PlateObservation]
              ) -> list[tuple[int, int]]:  # fmt: skip
        """(track index, observation index) pairs: which observation continues which track."""
        raise NotImplementedError

    def started(self, track: Track) -> None:
        """A new track's first observation is in ``track.last``."""

    def extended(self, track: Track) -> None:
        """``track.last`` is the observation just added to an existing track."""

    # -- the bookkeeping ---------------------------------------------------------------------------
    def update(self, frame: int, observations: Sequence[PlateObservation]) -> list[PlateStream]:
        """Add one frame's observations; return the vehicles whose tracks ended before this frame."""
        observations = list(observations)
        self._processed += 1
        pairs = self.match(frame, self._tracks, observations) if self._tracks and observations else []
        current, matched = [], set()
        for ti, oi in pairs:
            track = self._tracks[ti]
            track.observations.append(observations[oi])
            track.seen_at = self._processed
            self.extended(track)
            matched.add(oi)
            current.append((track.track_id, observations[oi]))
        for oi, o in enumerate(observations):
            if oi not in matched:
                track = Track(self._next_id, [o], seen_at=self._processed)
                self._next_id += 1
                self.started(track)
                self._tracks.append(track)
                current.append((track.track_id, o))
        self._current = current
        ended = [t for t in self._tracks if self._processed - t.seen_at > self.max_gap]
        self._tracks = [t for t in self._tracks if self._processed - t.seen_at <= self.max_gap]
        return self._kept(ended)

    def finish(self) -> list[PlateStream]:
        """End every open track (the video is over); return the vehicles among them."""
        ended, self._tracks, self._current = self._tracks, [], []
        return self._kept(ended)

    def current(self) -> list[tuple[int, PlateObservation]]:
        """(track id, observation) of every plate seen in the frame of the last ``update``."""
        return list(self._current)

    def _kept(self, tracks) -> list[PlateStream]:
        kept = []
        for track in tracks:
            stream = PlateStream(track.track_id, tuple(track.observations))
            reason = self.drop_reason(stream)
            if reason is None:
                kept.append(stream)
            else:
                self.dropped.append(Dropped(stream, reason))
        return kept

    def drop_reason(self, stream: PlateStream) -> Optional[str]:
        """Why a finished track is no vehicle, or None to keep it."""
        if len(stream.observations) < self.min_frames:
            return f"{TOO_SHORT} ({len(stream.observations)} frames, tracker.min_frames={self.min_frames})"
        best = max(o.detection.score for o in stream.observations)
        if best < self.min_score:
            return f"{UNSURE_DETECTOR} (best score {best:.2f}, tracker.min_score={self.min_score:g})"
        return None


def read_confidently(reads, min_confidence: float) -> bool:
    """Whether any of a track's reads (Recognition or None) reaches ``min_confidence`` with some text."""
    return any(r is not None and r.text and r.confidence >= min_confidence for r in reads)

