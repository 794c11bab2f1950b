"""The seed's attention recognizer as an alprkit recognizer: ``CharScores`` with one row per character.

The network decodes up to ``max_length`` characters and an end step; class 0 ends the
plate. The component cuts each crop's rows at the first step whose most likely class is
the end and renormalises them over the characters, so the decoders see what they already
understand for per-position output (``blank=None``, one row per character, nothing to
collapse) and the end of the plate needs no class of its own in ``alphabet``.

Weights with an ONNX file exported beside them run it on onnxruntime under
``backend=auto``, as the LPRNet recognizers do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from alprkit.backends import make_backend
from alprkit.data.regions import get_region, region_codes
from alprkit.errors import ConfigError, InputError
from alprkit.recognizers import LazyNetwork, crops_to_batch, softmax
from alprkit.shipped_onnx import choose_backend
from alprkit.types import CharScores, Crop

ARCHITECTURE = "eqlpr_attn"
END = 0  # the network's end-of-plate class; characters are classes 1..n


def characters_for(region: str) -> tuple[str, ...]:
    """The characters of a region or of several ('br+us'), in charset order, without repeats."""
    chars = []
    for code in region_codes(region):
        chars.extend(c for c in get_region(code).charset if c not in chars)
    return tuple(chars)


def rows_until_end(probs: np.ndarray) -> np.ndarray:
    """(steps, 1 + characters) probabilities -> (characters read, characters): cut at the end class.

    Each kept row is renormalised over the characters: the decoders read one character per row.
    """
    path = probs.argmax(axis=1)
    ends = np.flatnonzero(path == END)
    length = int(ends[0]) if len(ends) else len(path)
    chars = probs[:length, 1:]
    total = chars.sum(axis=1, keepdims=True)
    return np.ascontiguousarray(chars / np.maximum(total, 1e-12), dtype=np.float32)


class AttentionRecognizer(LazyNetwork):
    """Scores crops with a backend returning (batch, 1 + characters, steps) logits."""

    regions = ()  # no region head: the region is the config's
    blank = None  # one row per character read

    def __init__(self, backend, alphabet, input_size, region=None, max_batch=64, network=None, load_network=None,
                 backend_choice=None):
        self.backend = backend
        self.backend_choice = backend_choice
        self.alphabet = tuple(alphabet)
        self.input_size = tuple(input_size)
        self.region = region
        self.max_batch = int(max_batch)
        self._network = network
        self._load_network = load_network

    @property
    def training_module(self):
        """The LightningModule ``alprkit train`` uses for this recognizer (teacher-forced cross-entropy)."""
        from .training import AttentionTraining

        return AttentionTraining

    def __call__(self, crops: Sequence[Crop]) -> list[CharScores]:
        w, h = self.input_size
        results = []
        for start in range(0, len(crops), self.max_batch):
            chunk = [c.pixels for c in crops[start : start + self.max_batch]]
            for pixels in chunk:
                if pixels.shape[:2] != (h, w):
                    raise ValueError(f"crop of shape {pixels.shape} given to a recognizer of input size {w}x{h}")
            for p in softmax(self.backend(crops_to_batch(chunk)), axis=1):
                results.append(CharScores(rows_until_end(p.T), self.alphabet, blank=None, region=self.region))
        return results


def create(weights=None, region="br", backend="auto", threads=None, max_batch=64, **options):
    """The recognizer; with ``weights`` the network, characters and region come from the file.

    ``region`` names the plates' region (the template filter reads it); a region the weights'
    characters cannot write is a ConfigError. Without weights the network is untrained, with
    the characters of ``region`` (``br+us`` for several).
    """
    if weights is None:
        from .models import build_recognizer

        chars = characters_for(str(region))
        network = build_recognizer(len(chars) + 1, **options).eval()
        choice = choose_backend(backend, None, component=f"recognizer {ARCHITECTURE}")
        return AttentionRecognizer(make_backend(choice.backend, network, network.input_size, ARCHITECTURE, threads),
                                   chars, network.input_size, _first_region(region), max_batch, network=network,
                                   backend_choice=choice)
    if options:
        raise ConfigError(f"recognizer {ARCHITECTURE}: {', '.join(sorted(options))} describe an untrained network; "
                          "trained weights bring their own")
    path = Path(weights.path)
    choice = choose_backend(backend, path, threads=threads, component=f"recognizer {ARCHITECTURE}")
    if choice.sessions:
        session = choice.sessions[None]
        meta = session.metadata
        try:
            chars, input_size = tuple(meta["alphabet"]), tuple(meta["input_size"])
        except KeyError as exc:
            raise InputError(session.path, f"has no alprkit metadata {exc.args[0]!r} (was it written by alprkit "
                             "export?)") from None
        return AttentionRecognizer(session, chars, input_size, _checked_region(region, chars, path), max_batch,
                                   load_network=lambda: load_network(path)[0], backend_choice=choice)
    network, meta = load_network(path)
    chars = tuple(meta["alphabet"])
    return AttentionRecognizer(make_backend(choice.backend, network, network.input_size, f"{ARCHITECTURE}.{path.stem}",
                                            threads),
                               chars, network.input_size, _checked_region(region, chars, path), max_batch,
                               network=network, backend_choice=choice)


def load_network(path):
    """The torch network of a weights file and the file's metadata."""
    from alprkit.weights import load_weights

    from .models import build_recognizer

    state, meta = load_weights(path)
    if meta.get("architecture") != ARCHITECTURE:
        raise InputError(path, f"holds {meta.get('architecture')!r} weights, not {ARCHITECTURE!r} ones")
    network = build_recognizer(len(meta["alphabet"]) + 1, **meta.get("options", {}))
    network.load_state_dict({k: v.float() for k, v in state.items()})
    return network.eval(), meta


def _first_region(region):
    return region_codes(str(region))[0] if region else None


def _checked_region(region, chars, path):
    if not region:
        return None
    code = _first_region(region)
    missing = sorted(set(get_region(code).charset) - set(chars))
    if missing:
        raise ConfigError(f"recognizer.region={region!r}: {Path(path).name} cannot write {''.join(missing[:10])} "
                          f"of the {code} charset")
    return code
