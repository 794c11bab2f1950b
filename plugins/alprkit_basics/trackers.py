"""Trackers: which detection of a frame continues which vehicle's track.

``iou`` links a detection to the track whose last box it overlaps most (greedy). Plates
move little between consecutive frames, so overlap is enough while they are seen in
every frame and do not cross. ``kalman`` predicts where each track's plate is now with
a constant-velocity Kalman filter on the box centre and size, and assigns detections
to predictions by the Hungarian algorithm on IoU: it keeps two crossing plates apart
and finds a plate again after a few frames of occlusion, where the last box is
already far behind.
"""

from __future__ import annotations

import numpy as np

from alprkit.assignment import linear_sum_assignment
from alprkit.metrics import iou, iou_matrix
from alprkit.tracking import Tracker, tracker_param


class IouTracker(Tracker):
    """Greedy IoU association with each track's last box; ``min_iou`` is low to survive fast motion and zoom."""

    def __init__(self, min_iou: float = 0.1, max_gap: int = 5, min_frames: int = 5, min_score: float = 0.0,
                 min_confidence: float = 0.0):  # fmt: skip
        super().__init__(max_gap, min_frames, min_score, min_confidence)
        self.min_iou = tracker_param(min_iou, "min_iou", 0.0, 1.0)

    def match(self, frame, tracks, observations):
        pairs = sorted(((iou(t.last.detection.box, o.detection.box), ti, oi)
                        for ti, t in enumerate(tracks) for oi, o in enumerate(observations)), reverse=True)  # fmt: skip
        used_tracks, used_obs, matched = set(), set(), []
        for overlap, ti, oi in pairs:
            if overlap < self.min_iou or overlap == 0:
                break
            if ti in used_tracks or oi in used_obs:
                continue
            matched.append((ti, oi))
            used_tracks.add(ti)
            used_obs.add(oi)
        return matched


# Noise of the constant-velocity model, as fractions of the box height per frame (the
# scale SORT-style trackers use: a bigger, nearer plate moves more pixels per frame).
_MEASUREMENT_STD = 1 / 20
_POSITION_STD = 1 / 20
_VELOCITY_STD = 1 / 160


class KalmanTracker(Tracker):
    """Constant-velocity Kalman filter on (centre x, centre y, width, height) per track, Hungarian assignment on IoU.

    Each frame every track's box is predicted forward by the frames since it was last
    seen; a detection joins the track whose predicted box it overlaps best (jointly over
    all pairs), if that IoU is at least ``min_iou``.
    """

    def __init__(self, min_iou: float = 0.1, max_gap: int = 5, min_frames: int = 5, min_score: float = 0.0,
                 min_confidence: float = 0.0):  # fmt: skip
        super().__init__(max_gap, min_frames, min_score, min_confidence)
        self.min_iou = tracker_param(min_iou, "min_iou", 0.0, 1.0)

    def started(self, track):
        z = _measurement(track.last.detection.box)
        h = max(z[3], 1.0)
        mean = np.concatenate([z, np.zeros(4)])
        std = np.array([2 * _POSITION_STD * h] * 4 + [10 * _VELOCITY_STD * h] * 4)
        track.state = _State(mean, np.diag(std**2), track.last.frame)

    def extended(self, track):
        state = track.state
        state.predict_to(track.last.frame)
        state.correct(_measurement(track.last.detection.box))

    def match(self, frame, tracks, observations):
        predicted = np.array([t.state.predicted_box(frame) for t in tracks])
        boxes = np.array([o.detection.box for o in observations], dtype=np.float64)
        overlap = iou_matrix(predicted, boxes)
        rows, cols = linear_sum_assignment(overlap, maximize=True)
        return [(int(r), int(c)) for r, c in zip(rows, cols) if overlap[r, c] >= self.min_iou and overlap[r, c] > 0]


def _measurement(box) -> np.ndarray:
    x1, y1, x2, y2 = (float(v) for v in box)
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1])


class _State:
    """Mean and covariance of (cx, cy, w, h, vcx, vcy, vw, vh) as of ``frame``."""

    _H = np.hstack([np.eye(4), np.zeros((4, 4))])

    def __init__(self, mean, covariance, frame):
        self.mean, self.covariance, self.frame = mean, covariance, frame

    @staticmethod
    def _motion(dt: float) -> np.ndarray:
        motion = np.eye(8)
        motion[:4, 4:] = dt * np.eye(4)
        return motion

    def _predicted(self, frame):
        dt = float(frame - self.frame)
        if dt <= 0:
            return self.mean, self.covariance
        motion = self._motion(dt)
        h = max(self.mean[3], 1.0)
        q = np.array([_POSITION_STD * h] * 4 + [_VELOCITY_STD * h] * 4) ** 2 * dt
        return motion @ self.mean, motion @ self.covariance @ motion.T + np.diag(q)

    def predict_to(self, frame):
        self.mean, self.covariance = self._predicted(frame)
        self.frame = max(self.frame, frame)

    def predicted_box(self, frame) -> tuple[float, float, float, float]:
        mean, _ = self._predicted(frame)
        cx, cy, w, h = mean[:4]
        w, h = max(w, 1.0), max(h, 1.0)  # a shrinking plate's predicted size must stay a box
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)

    def correct(self, z):
        h = max(z[3], 1.0)
        noise = np.diag(np.full(4, (_MEASUREMENT_STD * h) ** 2))
        projected = self._H @ self.covariance @ self._H.T + noise
        gain = np.linalg.solve(projected, self._H @ self.covariance).T
        self.mean = self.mean + gain @ (z - self._H @ self.mean)
        self.covariance = self.covariance - gain @ projected @ gain.T
