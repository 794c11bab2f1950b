"""EQ-LPR's stream selectors: Algorithm 1 of seed 004 over a quality network.

Every frame's crop gets a quality awareness score ``a``; the recognizer runs on the first
frame and then only on a frame whose score beats the best seen so far, and the read of the
best frame stands for the vehicle (where the post-filter dropped it, the latest read before
it). The decisions need nothing from later frames (online); the scores of a stream are
computed in batches of ``max_batch`` because a score depends on its own crop only.
"""

from __future__ import annotations

import math

from alprkit.errors import ConfigError
from alprkit.types import PlateStream, Recognition, StreamResult

from .quality import create_scorer, warn_untrained

_EMPTY = Recognition(text="", confidence=0.0)


def select_online(scores, margin: float = 0.0) -> list[int]:
    """The indices Algorithm 1 recognizes: the first frame, then each whose score beats the best so far.

    ``margin`` (0 in the seed) asks a frame to beat the best by more than that, to spare calls
    on a stream whose quality creeps up frame by frame (a car drawing nearer).
    """
    chosen, best = [], -math.inf
    for index, score in enumerate(scores):
        if not chosen or score > best + margin:
            chosen.append(index)
            best = float(score)
    return chosen


class QualityAwareSelector:
    """Algorithm 1: recognize a frame only when its quality beats the best seen so far."""

    def __init__(self, scorer, margin: float = 0.0):
        self.scorer = scorer
        self.margin = float(margin)
        self._warned = False

    @property
    def architecture(self) -> str:
        return self.scorer.architecture

    def __call__(self, stream: PlateStream, recognize) -> StreamResult:
        if not self.scorer.trained and not self._warned:
            warn_untrained(self.architecture)
            self._warned = True
        observations = stream.observations
        scores = self.scorer([o.crop for o in observations])
        chosen = select_online(scores, self.margin)
        reads = [recognize(observations[i]) for i in chosen]
        # The best frame's read stands; if the post-filter dropped it, the latest read before it does
        # (already made: still online, no extra call).
        kept = [k for k, read in enumerate(reads) if read is not None and read.text]
        k = kept[-1] if kept else len(chosen) - 1
        best = observations[chosen[k]]
        return StreamResult(stream.track_id, reads[k] if kept else _EMPTY, best.frame, best.detection,
                            tuple(observations[i].frame for i in chosen))

    def training_recipe(self, recognizer, teacher=None, distill_weight: float = 1.0):
        """How ``alprkit train quality=...`` trains this quality network for ``recognizer``."""
        from .recipes import recipe_for

        return recipe_for(self.architecture, recognizer, teacher=teacher, distill_weight=distill_weight)


def create(architecture, weights=None, backend="auto", threads=None, margin=0.0, max_batch=32):
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < 1:
        raise ConfigError(f"selector {architecture}: margin is a quality difference in [0, 1), got {margin!r}")
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise ConfigError(f"selector {architecture}: max_batch must be a whole number >= 1, got {max_batch!r}")
    return QualityAwareSelector(create_scorer(architecture, weights, backend, threads, max_batch), margin)
