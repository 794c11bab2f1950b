"""A recognizer component around any CTC network that maps a crop batch to logits."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .types import CharScores, Crop


def crops_to_batch(pixels: Sequence[np.ndarray]) -> np.ndarray:
    """uint8 RGB (H, W, 3) crops -> float32 NCHW in [0, 255]."""
    return np.ascontiguousarray(np.stack(pixels).transpose(0, 3, 1, 2), dtype=np.float32)


def softmax(logits: np.ndarray, axis: int) -> np.ndarray:
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


class NetworkRecognizer:
    """Scores crops with a backend returning (batch, classes, steps) logits; class 0 is the blank."""

    def __init__(self, backend, alphabet, input_size, region=None, max_batch: int = 64, network=None):
        self.backend = backend
        self.alphabet = tuple(alphabet)
        self.input_size = tuple(input_size)
        self.region = region
        self.max_batch = max_batch
        self.network = network  # the torch module, for training and export

    def __call__(self, crops: Sequence[Crop]) -> list[CharScores]:
        w, h = self.input_size
        results = []
        for start in range(0, len(crops), self.max_batch):
            chunk = [c.pixels for c in crops[start : start + self.max_batch]]
            for pixels in chunk:
                if pixels.shape[:2] != (h, w):
                    raise ValueError(f"crop of shape {pixels.shape} given to a recognizer of input size {w}x{h}")
            probs = softmax(self.backend(crops_to_batch(chunk)), axis=1)
            results.extend(CharScores(p.T.copy(), self.alphabet, blank=0, region=self.region) for p in probs)
        return results
