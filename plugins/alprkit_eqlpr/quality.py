"""Quality networks as components: crops -> quality awareness scores ``a`` in [0, 1].

A quality weights file (safetensors) records what rebuilds its network (architecture,
features, head, input size) and which recognizer's confidence it learned to predict. An
ONNX file exported beside it (``alprkit export shipped=true``) runs on onnxruntime under
``backend=auto``, as the recognizers' do; a weights path ending in ``.onnx`` is read the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from alprkit.backends import make_backend
from alprkit.errors import ConfigError, InputError
from alprkit.recognizers import LazyNetwork, crops_to_batch
from alprkit.shipped_onnx import BackendChoice, choose_backend, open_onnx
from alprkit.types import Crop


def fit_pixels(pixels: np.ndarray, size) -> np.ndarray:
    """A crop resized to a quality network's input ``size`` (w, h), in training as at run time."""
    w, h = size
    if pixels.shape[:2] == (h, w):
        return pixels
    shrink = pixels.shape[0] > h or pixels.shape[1] > w
    return cv2.resize(pixels, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


class QualityScorer(LazyNetwork):
    """Scores crops with a backend returning (batch,) quality scores; any crop size is resized to fit."""

    def __init__(self, backend, input_size, architecture, network=None, load_network=None, backend_choice=None,
                 max_batch=32, trained=True, about=None):
        self.backend = backend
        self.backend_choice = backend_choice
        self.input_size = tuple(input_size)
        self.architecture = architecture
        self.max_batch = int(max_batch)
        self.trained = trained
        self.about = dict(about or {})  # the weights' metadata: features, head, recognizer, teacher
        self._network = network
        self._load_network = load_network

    def __call__(self, crops: Sequence[Crop]) -> np.ndarray:
        scores = []
        for start in range(0, len(crops), self.max_batch):
            chunk = [fit_pixels(c.pixels, self.input_size) for c in crops[start : start + self.max_batch]]
            scores.append(np.asarray(self.backend(crops_to_batch(chunk)), np.float32).reshape(-1))
        return np.concatenate(scores) if scores else np.zeros(0, np.float32)


def create_scorer(architecture, weights=None, backend="auto", threads=None, max_batch=32) -> QualityScorer:
    """The quality network of ``weights`` (torch or its ONNX file), or an untrained one of ``architecture``."""
    component = f"selector {architecture}"
    if weights is None:
        network = untrained_network(architecture)
        choice = choose_backend(backend, None, component=component)
        return QualityScorer(make_backend(choice.backend, network, network.input_size, architecture, threads),
                             network.input_size, architecture, network=network, backend_choice=choice,
                             max_batch=max_batch, trained=False)
    path = Path(weights.path)
    if path.suffix == ".onnx":  # an exported file alone: onnxruntime, no torch
        if backend not in ("auto", "onnxruntime"):
            raise ConfigError(f"{component}: backend={backend}: {path.name} is an ONNX file, which runs on "
                              "onnxruntime (backend=auto or onnxruntime)")
        choice = BackendChoice("onnxruntime", f"the weights are the ONNX file {path.name}",
                               {None: open_onnx(path, threads)})
    else:
        choice = choose_backend(backend, path, threads=threads, component=component)
    if choice.sessions:
        session = choice.sessions[None]
        meta = session.metadata
        _check_architecture(session.path, meta.get("architecture"), architecture)
        if "input_size" not in meta:
            raise InputError(session.path, "has no alprkit metadata 'input_size' (was it written by alprkit export?)")
        loader = None if path.suffix == ".onnx" else (lambda: load_quality(path)[0])
        return QualityScorer(session, meta["input_size"], architecture, load_network=loader, backend_choice=choice,
                             max_batch=max_batch, about=meta)
    network, meta = load_quality(path)
    _check_architecture(path, meta.get("architecture"), architecture)
    return QualityScorer(make_backend(choice.backend, network, network.input_size, f"{architecture}.{path.stem}",
                                      threads),
                         network.input_size, architecture, network=network, backend_choice=choice,
                         max_batch=max_batch, about=meta)


def untrained_network(architecture):
    """A fresh quality network of the seed's design: P and S on the recognizer's CNN, E distilled to its map."""
    from .models import INPUT_SIZE, WIDTHS, build_quality

    if architecture == "eqlpr_e":
        from .models import FeatureCNN, Normalise, feature_shape

        import torch

        target = feature_shape(torch.nn.Sequential(Normalise(), FeatureCNN(3, WIDTHS)), INPUT_SIZE)
        return build_quality(architecture, {"kind": "light", "target": list(target)}).eval()
    return build_quality(architecture, {"kind": "cnn", "widths": list(WIDTHS)}).eval()


def load_quality(path):
    """The torch quality network of a weights file and the file's metadata."""
    from alprkit.weights import load_weights

    from .models import build_quality

    state, meta = load_weights(path)
    try:
        network = build_quality(meta["architecture"], meta["features"], tuple(meta["input_size"]), meta.get("head"))
    except KeyError as exc:
        raise InputError(path, f"has no quality network metadata {exc.args[0]!r} (was it written by alprkit train "
                         "quality=...?)") from None
    network.load_state_dict({k: v.float() for k, v in state.items()})
    return network.eval(), meta


def quality_metadata(network) -> dict:
    """What a quality weights file (and its ONNX file) records to rebuild and describe the network."""
    return {"architecture": network.architecture, "input_size": list(network.input_size), **network.spec}


def warn_untrained(architecture):
    print(f"alprkit: selector {architecture} has no trained quality network: its choice of frames is arbitrary "
          f"(name one: selector.name={architecture}.TAG or +selector.weights=FILE)", file=sys.stderr)


def _check_architecture(path, found, wanted):
    if found != wanted:
        raise InputError(path, f"holds {found!r} quality weights, not {wanted!r} ones")
