"""A recognizer component around any network that maps a crop batch to (batch, classes, steps) logits.

CTC networks have the blank at class 0 and more steps than characters; a per-position
network (``blank=None``: one step per character slot) has the same layout.

A multi-region network also returns region logits: each crop's scores then carry
the most likely region and its probability (the region head's, weighed by how well
the characters read fit each region's charset), and with ``region_mask`` the
classes that region's plates never use are masked out before decoding (a Chinese
plate has no I or O, a US plate no Hanzi).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .data.regions import get_region
from .types import CharScores, Crop


def crops_to_batch(pixels: Sequence[np.ndarray]) -> np.ndarray:
    """uint8 RGB (H, W, 3) crops -> float32 NCHW in [0, 255]."""
    return np.ascontiguousarray(np.stack(pixels).transpose(0, 3, 1, 2), dtype=np.float32)


def softmax(logits: np.ndarray, axis: int) -> np.ndarray:
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


class LazyNetwork:
    """``network``: the torch module, for training, export and bench. A component running a shipped
    ONNX file sets ``_load_network`` instead and loads the module from the weights on first use
    (which needs torch)."""

    _network = None
    _load_network = None

    @property
    def network(self):
        if self._network is None and self._load_network is not None:
            self._network = self._load_network()
        return self._network


class NetworkRecognizer(LazyNetwork):
    """Scores crops with a backend returning (batch, classes, steps) logits; class ``blank`` (0) is the
    CTC blank, or None for per-position output."""

    def __init__(self, backend, alphabet, input_size, region=None, max_batch: int = 64, network=None, regions=(),
                 region_mask: bool = True, load_network=None, backend_choice=None, blank=0):
        self.backend = backend
        self.blank = blank
        self.backend_choice = backend_choice  # which backend runs and why (shipped_onnx.BackendChoice)
        self.alphabet = tuple(alphabet)
        self.input_size = tuple(input_size)
        self.region = region
        self.max_batch = max_batch
        self._network = network
        self._load_network = load_network
        self.regions = tuple(regions)  # the region head's classes, in order
        self.region_mask = bool(region_mask)
        # Per region: 1 for the classes its plates may use (the blank always), else 0.
        self._masks = {code: np.array([c == "" or c in get_region(code).charset for c in self.alphabet], np.float32)
                       for code in self.regions}

    def __call__(self, crops: Sequence[Crop]) -> list[CharScores]:
        w, h = self.input_size
        results = []
        for start in range(0, len(crops), self.max_batch):
            chunk = [c.pixels for c in crops[start : start + self.max_batch]]
            for pixels in chunk:
                if pixels.shape[:2] != (h, w):
                    raise ValueError(f"crop of shape {pixels.shape} given to a recognizer of input size {w}x{h}")
            outputs = self.backend(crops_to_batch(chunk))
            if not self.regions:
                probs = softmax(outputs, axis=1)
                results.extend(CharScores(p.T.copy(), self.alphabet, blank=self.blank, region=self.region)
                               for p in probs)
                continue
            logits, region_logits = outputs
            for p, r in zip(softmax(logits, axis=1), softmax(region_logits, axis=1)):
                results.append(self._with_region(p.T, r))
        return results

    def _with_region(self, probs: np.ndarray, region_probs: np.ndarray) -> CharScores:
        if self.region in self._masks:  # the region is fixed by the config, not predicted
            return CharScores(np.ascontiguousarray(self._masked(probs, self.region)), self.alphabet, blank=self.blank,
                              region=self.region)
        # P(region | crop) from the head times P(every CTC step emits the blank or one of the region's
        # characters): a plate whose reading holds a Hanzi is not a US plate, whatever the head says.
        # Regions sharing one charset (us, eu, br) are told apart by the head alone.
        inside = np.stack([np.log(np.maximum(probs @ self._masks[code], 1e-30)).sum() for code in self.regions])
        score = np.log(np.maximum(region_probs, 1e-30)) + inside
        posterior = np.exp(score - score.max())
        posterior /= posterior.sum()
        best = int(posterior.argmax())
        code = self.regions[best]
        return CharScores(np.ascontiguousarray(self._masked(probs, code)), self.alphabet, blank=self.blank, region=code,
                          region_confidence=float(posterior[best]))

    def _masked(self, probs, code):
        if not self.region_mask:
            return probs
        probs = probs * self._masks[code]
        return probs / probs.sum(axis=1, keepdims=True)
