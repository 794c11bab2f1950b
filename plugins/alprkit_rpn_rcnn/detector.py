"""The cascade plate detector of seed 002: a light RPN on the downsampled image, then an R-CNN on
patches sampled from the full-resolution image that classifies each and regresses its four corners.

A frame larger than ``working_size`` is first scaled down to it (alprkit/working_image.py):
the R-CNN's "full resolution" is then the working image's, so a 12000x9000 photo costs no
more memory than a 1280-px one and reads as it would at 1280 px. The working image is
scaled to fit ``rpn_size`` (the paper runs its RPN on images halved to 480x360) and padded
with grey 128. The best ``proposals`` RPN boxes after NMS (the paper keeps 10) are widened
or heightened symmetrically to an aspect of 1:2.5, cut from the working image (grey 128
outside it) and scaled to 48x120 for the R-CNN. A plate's box is the bounding box of its
regressed corners; plates whose box is shorter than ``min_plate_height`` or taller than
``max_plate_height`` (original pixels) are dropped.
"""

from __future__ import annotations

import cv2
import numpy as np

from alprkit.backends import BACKENDS, TorchBackend, make_backend
from alprkit.errors import ConfigError
from alprkit.geometry import nms
from alprkit.recognizers import crops_to_batch, softmax
from alprkit.types import Detection, Frame
from alprkit.working_image import (DEFAULT_WORKING_SIZE, checked_plate_heights, checked_working_size, working_image,
                                   within_plate_heights)

from .shapes import ANCHOR_AREAS, ANCHOR_RATIOS, FEATURE_STRIDE, RCNN_SIZE

ARCHITECTURE = "rpn_rcnn"
PARTS = ("rpn", "rcnn")
# What each network typically runs on one photo at the default rpn_size (one image; its proposals):
# onnxruntime times its thread count on these (alprkit.backends.OnnxBackend).
TYPICAL_BATCHES = {"rpn": (1, 3, 384, 640), "rcnn": (10, 3, RCNN_SIZE[1], RCNN_SIZE[0])}
SAMPLER_ASPECT = 2.5  # width / height of a sampled patch
PAD = 128  # grey outside the image, for the RPN canvas and the sampler (section 2)


# -- anchors and box coding (Faster R-CNN) -----------------------------------------------


def anchor_shapes() -> np.ndarray:
    """(A, 2) widths and heights: every area at every height/width ratio."""
    return np.array([(np.sqrt(a / r), np.sqrt(a * r)) for a in ANCHOR_AREAS for r in ANCHOR_RATIOS])


def make_anchors(rows: int, cols: int) -> np.ndarray:
    """(rows * cols * A, 4) anchor boxes in RPN-input pixels, ordered row, column, anchor."""
    shapes = anchor_shapes()
    ys, xs = np.mgrid[0:rows, 0:cols]
    centres = (np.stack([xs, ys], axis=-1).reshape(-1, 1, 2) + 0.5) * FEATURE_STRIDE
    half = shapes[None] / 2
    return np.concatenate([centres - half, centres + half], axis=-1).reshape(-1, 4)


def split_rpn_output(out):
    """(5A, rows, cols) -> objectness logits (rows * cols * A,) and deltas (rows * cols * A, 4).

    ``out`` is a NumPy array (inference) or a torch tensor (training)."""
    a = out.shape[0] // 5
    rows, cols = out.shape[1:]
    logits = out[:a].transpose(1, 2, 0) if isinstance(out, np.ndarray) else out[:a].permute(1, 2, 0)
    deltas = out[a:].reshape(a, 4, rows, cols)
    deltas = deltas.transpose(2, 3, 0, 1) if isinstance(out, np.ndarray) else deltas.permute(2, 3, 0, 1)
    return logits.reshape(-1), deltas.reshape(-1, 4)


def encode(anchors: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    wa, ha = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    wb, hb = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return np.stack([((boxes[:, 0] + boxes[:, 2]) - (anchors[:, 0] + anchors[:, 2])) / 2 / wa,
                     ((boxes[:, 1] + boxes[:, 3]) - (anchors[:, 1] + anchors[:, 3])) / 2 / ha,
                     np.log(wb / wa), np.log(hb / ha)], axis=1)


def decode(anchors: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    wa, ha = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    cx = (anchors[:, 0] + anchors[:, 2]) / 2 + deltas[:, 0] * wa
    cy = (anchors[:, 1] + anchors[:, 3]) / 2 + deltas[:, 1] * ha
    w, h = wa * np.exp(np.clip(deltas[:, 2], -4, 4)), ha * np.exp(np.clip(deltas[:, 3], -4, 4))
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


# -- the RPN canvas and the sampler --------------------------------------------------------


def letterbox(pixels: np.ndarray, size, scale: float | None = None) -> tuple[np.ndarray, float]:
    """The image scaled to fit ``size`` = (w, h) (or by ``scale``), top-left, padded with grey."""
    h, w = pixels.shape[:2]
    scale = scale or min(size[0] / w, size[1] / h)
    scaled = cv2.resize(pixels, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    canvas = np.full((size[1], size[0], 3), PAD, dtype=np.uint8)
    sh, sw = min(size[1], scaled.shape[0]), min(size[0], scaled.shape[1])
    canvas[:sh, :sw] = scaled[:sh, :sw]
    return canvas, scale


def sampler_regions(boxes: np.ndarray) -> np.ndarray:
    """Each box extended symmetrically (wider or taller) to width : height = 2.5, in whole pixels."""
    centre = (boxes[:, 0:2] + boxes[:, 2:4]) / 2
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    w, h = np.maximum(w, h * SAMPLER_ASPECT), np.maximum(h, w / SAMPLER_ASPECT)
    regions = np.concatenate([centre - np.stack([w, h], 1) / 2, centre + np.stack([w, h], 1) / 2], axis=1)
    return np.round(regions)


def sample_patches(pixels: np.ndarray, regions: np.ndarray) -> list[np.ndarray]:
    """48x120 patches of ``regions`` (from :func:`sampler_regions`), grey 128 outside the image."""
    h, w = pixels.shape[:2]
    patches = []
    for x1, y1, x2, y2 in regions.astype(int):
        inner = pixels[max(0, y1) : max(0, min(h, y2)), max(0, x1) : max(0, min(w, x2))]
        patch = cv2.copyMakeBorder(inner, max(0, -y1), max(0, y2 - max(h, y1)), max(0, -x1), max(0, x2 - max(w, x1)),
                                   cv2.BORDER_CONSTANT, value=(PAD, PAD, PAD))
        shrink = patch.shape[1] > RCNN_SIZE[0]
        patches.append(cv2.resize(patch, RCNN_SIZE, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR))
    return patches


def corner_shifts(regions: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Corners (n, 4, 2) as shifts from the region's own corners in units of its width and height (eq. 1)."""
    return ((corners - _region_corners(regions)) / _region_size(regions)).reshape(len(regions), 8)


def corners_from_shifts(regions: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    return _region_corners(regions) + shifts.reshape(len(regions), 4, 2) * _region_size(regions)


def _region_corners(regions):
    x1, y1, x2, y2 = regions.T
    return np.stack([np.stack([x1, y1], 1), np.stack([x2, y1], 1), np.stack([x2, y2], 1), np.stack([x1, y2], 1)], 1)


def _region_size(regions):
    return (regions[:, 2:4] - regions[:, 0:2])[:, None, :]


def _fraction(key, value):
    if not 0.0 <= float(value) <= 1.0:
        raise ConfigError(f"detector rpn_rcnn: {key} must be in [0, 1], got {value!r}")
    return float(value)


class RpnRcnnDetector:
    """``Frame -> list[Detection]``: boxes from the regressed corners, R-CNN plate probability as score.

    Built from the torch ``networks`` (:class:`~alprkit_rpn_rcnn.models.RpnRcnnNetworks`), or
    from ``runners`` (onnxruntime sessions of the shipped ONNX files, by part) with
    ``load_networks`` to build the torch networks when training or export asks for them.
    """

    def __init__(self, networks=None, *, rpn_size=(640, 384), proposals=10, pre_nms=300,
                 rpn_nms=0.7, threshold=0.5, nms=0.3, min_plate_height=None, max_plate_height=None,
                 working_size=DEFAULT_WORKING_SIZE, backend="auto", threads=None, name=ARCHITECTURE,
                 runners=None, load_networks=None, backend_choice=None):
        self.min_plate_height, self.max_plate_height = checked_plate_heights(
            "detector rpn_rcnn", min_plate_height, max_plate_height)
        self.working_size = checked_working_size("detector rpn_rcnn", working_size)
        rpn_size = tuple(int(v) for v in rpn_size)
        if len(rpn_size) != 2 or min(rpn_size) < 64 or any(v % FEATURE_STRIDE for v in rpn_size):
            raise ConfigError(f"detector rpn_rcnn: rpn_size must be [w, h], each >= 64 and a multiple of "
                              f"{FEATURE_STRIDE}, got {list(rpn_size)}")
        if int(proposals) < 1 or int(pre_nms) < int(proposals):
            raise ConfigError(f"detector rpn_rcnn: need 1 <= proposals <= pre_nms, got {proposals} and {pre_nms}")
        if backend not in BACKENDS:
            raise ConfigError(f"detector rpn_rcnn: unknown backend {backend!r} (backends: {', '.join(BACKENDS)})")
        self._networks = networks.eval() if networks is not None else None
        self._load_networks = load_networks
        self.rpn_size = rpn_size
        self.proposals, self.pre_nms = int(proposals), int(pre_nms)
        self.rpn_nms, self.threshold, self.nms = (_fraction("rpn_nms", rpn_nms), _fraction("threshold", threshold),
                                                  _fraction("nms", nms))
        self.backend, self.threads, self.name = backend, threads, name
        self.backend_choice = backend_choice  # which backend runs and why (shipped_onnx.BackendChoice)
        self.anchors = make_anchors(rpn_size[1] // FEATURE_STRIDE, rpn_size[0] // FEATURE_STRIDE)
        self._runners = dict(runners) if runners else None

    @property
    def networks(self):
        """The torch RPN and R-CNN (loaded from the weights on first use when running ONNX files)."""
        if self._networks is None:
            self._networks = self._load_networks().eval()
        return self._networks

    def _run(self, part, batch):
        if self._runners is None:  # built on first use: onnxruntime exports then
            kind = self.backend_choice.backend if self.backend_choice else self.backend
            self._runners = {
                "rpn": make_backend(kind, self.networks.rpn, self.rpn_size, f"{self.name}-rpn", self.threads,
                                    dynamic_size=True, time_on=TYPICAL_BATCHES["rpn"]),
                "rcnn": make_backend(kind, self.networks.rcnn, RCNN_SIZE, f"{self.name}-rcnn", self.threads,
                                     time_on=TYPICAL_BATCHES["rcnn"]),
            }
        return self._runners[part](batch)

    def use_torch(self):
        """Run the live torch modules (training validates through this)."""
        self._runners = {"rpn": TorchBackend(self.networks.rpn), "rcnn": TorchBackend(self.networks.rcnn)}
        return self

    def __call__(self, frame: Frame) -> list[Detection]:
        work = working_image(frame.pixels, self.working_size)
        found = work.to_original(self.classify(work.pixels, self.propose(work.pixels)))
        return within_plate_heights(found, self.min_plate_height, self.max_plate_height)

    def propose(self, pixels: np.ndarray, count: int | None = None) -> np.ndarray:
        """The best ``count`` (default ``proposals``) RPN boxes after NMS as rows (x1, y1, x2, y2,
        objectness) in the pixels of ``pixels``."""
        h, w = pixels.shape[:2]
        canvas, scale = letterbox(pixels, self.rpn_size)
        logits, deltas = split_rpn_output(self._run("rpn", crops_to_batch([canvas]))[0])
        order = np.argsort(-logits)[: self.pre_nms]
        boxes = decode(self.anchors[order], deltas[order]) / scale
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
        scores = 1 / (1 + np.exp(-logits[order]))
        sizable = (boxes[:, 2] - boxes[:, 0] >= 4) & (boxes[:, 3] - boxes[:, 1] >= 2)
        boxes, scores = boxes[sizable], scores[sizable]
        keep = nms(boxes, scores, self.rpn_nms)[: count or self.proposals] if len(boxes) else np.zeros(0, dtype=int)
        return np.concatenate([boxes[keep], scores[keep, None]], axis=1)

    def classify(self, pixels: np.ndarray, proposals: np.ndarray) -> list[Detection]:
        if not len(proposals):
            return []
        h, w = pixels.shape[:2]
        regions = sampler_regions(proposals[:, :4])
        out = self._run("rcnn", crops_to_batch(sample_patches(pixels, regions))).astype(np.float64)
        scores = softmax(out[:, :2], axis=1)[:, 1]
        corners = corners_from_shifts(regions, out[:, 2:10])
        boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
        keep = (scores >= self.threshold) & (boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1)
        boxes, corners, scores = boxes[keep], corners[keep], scores[keep]
        if not len(boxes):
            return []
        return [
            Detection(box=tuple(float(v) for v in boxes[i]), score=float(scores[i]),
                      corners=tuple((float(x), float(y)) for x, y in corners[i]))
            for i in nms(boxes, scores, self.nms)
        ]

    # -- training and export -----------------------------------------------------
    def training_recipe(self):
        from .training import RpnRcnnRecipe

        return RpnRcnnRecipe(self)

    def metadata(self) -> dict:
        return {"architecture": ARCHITECTURE, "options": self.networks.options}

    def onnx_parts(self) -> dict:
        """Each network to export: (module, example input size (w, h), whether height and width stay free).

        The RPN is fully convolutional, so one file serves any ``rpn_size``."""
        return {"rpn": (self.networks.rpn, self.rpn_size, True), "rcnn": (self.networks.rcnn, RCNN_SIZE, False)}


def create(weights=None, pretrained=True, backend="auto", threads=None, **params) -> RpnRcnnDetector:
    """An RPN + R-CNN detector; without ``weights`` the shipped default weights when present (and
    ``pretrained``), else untrained."""
    from alprkit.shipped_onnx import create_detector

    from . import default_weights

    return create_detector(RpnRcnnDetector, ARCHITECTURE, PARTS, _networks_class, weights, pretrained, default_weights,
                           backend, threads, time_on=TYPICAL_BATCHES, **params)


def _networks_class():
    from .models import RpnRcnnNetworks  # torch: only when the torch networks are built

    return RpnRcnnNetworks
