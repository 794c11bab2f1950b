"""Link a plate's detections across video frames into streams (one per vehicle)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .metrics import iou
from .types import PlateObservation, PlateStream


@dataclass
class _Track:
    track_id: int
    observations: list = field(default_factory=list)

    @property
    def last(self) -> PlateObservation:
        return self.observations[-1]


class IouTracker:
    """Greedy IoU association; a track ends after ``max_gap`` frames without a match.

    Plates move little between consecutive frames, so overlap with the track's last
    box is enough; ``min_iou`` is low to survive fast motion and scale change.
    """

    def __init__(self, min_iou: float = 0.1, max_gap: int = 5):
        self.min_iou = min_iou
        self.max_gap = max_gap
        self._tracks: list[_Track] = []
        self._next_id = 0

    def update(self, frame: int, observations: list[PlateObservation]) -> list[PlateStream]:
        """Add one frame's observations; return the streams that ended before it."""
        pairs = sorted(
            (
                (iou(t.last.detection.box, o.detection.box), ti, oi)
                for ti, t in enumerate(self._tracks)
                for oi, o in enumerate(observations)
            ),
            reverse=True,
        )
        used_tracks, used_obs = set(), set()
        for overlap, ti, oi in pairs:
            if overlap < self.min_iou:
                break
            if ti in used_tracks or oi in used_obs:
                continue
            self._tracks[ti].observations.append(observations[oi])
            used_tracks.add(ti)
            used_obs.add(oi)
        for oi, o in enumerate(observations):
            if oi not in used_obs:
                self._tracks.append(_Track(self._next_id, [o]))
                self._next_id += 1
        ended = [t for t in self._tracks if frame - t.last.frame > self.max_gap]
        self._tracks = [t for t in self._tracks if t not in ended]
        return [self._stream(t) for t in ended]

    def finish(self) -> list[PlateStream]:
        ended, self._tracks = self._tracks, []
        return [self._stream(t) for t in ended]

    @staticmethod
    def _stream(track: _Track) -> PlateStream:
        return PlateStream(track.track_id, tuple(track.observations))
