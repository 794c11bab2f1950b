"""The MTCNN plate detector: P-Net over an image pyramid, then O-Net on 24x94 crops (seed 003).

An image larger than ``working_size`` is first scaled down to it (alprkit/working_image.py).
P-Net proposes windows at every level of the working image's pyramid, from the level where a
plate ``min_plate_height`` original pixels tall fills the 12-pixel window height to the one
where a ``max_plate_height`` plate does. O-Net then rescores each proposal from a crop of the
working image, refines its box and regresses the four plate corners, returned in original pixels.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from alprkit.backends import BACKENDS, TorchBackend, make_backend
from alprkit.errors import ConfigError
from alprkit.geometry import box_quad, nms, warp_quad
from alprkit.recognizers import crops_to_batch
from alprkit.types import Detection, Frame
from alprkit.working_image import (DEFAULT_WORKING_SIZE, checked_plate_heights, checked_working_size, working_image,
                                   within_plate_heights)

from .shapes import ONET_SIZE, PNET_STRIDE, PNET_WINDOW

ARCHITECTURE = "mtcnn"
PARTS = ("pnet", "onet")
PNET_EXAMPLE = (120, 48)  # (w, h) P-Net is exported with; its height and width stay free
# What each network typically runs on one 1280x720 photo (a middle pyramid level; a batch of proposals):
# onnxruntime times its thread count on these (alprkit.backends.OnnxBackend).
TYPICAL_BATCHES = {"pnet": (1, 3, 360, 640), "onet": (16, 3, ONET_SIZE[1], ONET_SIZE[0])}


def pyramid_scales(width: int, height: int, min_plate_height: float, factor: float = 0.709,
                   max_plate_height: float | None = None, working_scale: float = 1.0) -> list[float]:
    """Scales of the pyramid levels of a ``width`` x ``height`` working image, largest first.

    The plate heights are in original pixels, ``working_scale`` working pixels each. Levels sit
    on one grid, ``12 / min_plate_height * factor ** k``, whatever the working scale: the same
    photo at any resolution, scaled to the same working image, is searched at the same levels,
    and unscaled images keep the pyramid they always had. The largest level is the first on
    the grid where a ``min_plate_height`` plate fills the window, but never finer than the
    working image itself (unless ``min_plate_height`` is under the window's 12 px); the levels
    go down to where a ``max_plate_height`` plate fits the window, or one window fills the image.
    """
    win_w, win_h = PNET_WINDOW
    anchor = win_h / float(min_plate_height)
    needed = anchor / working_scale
    finest = max(1.0, anchor)  # bounds the work and memory of the largest level
    up = math.log(1 / factor)
    steps = min(math.ceil(math.log(needed / anchor) / up - 1e-9), math.floor(math.log(finest / anchor) / up + 1e-9))
    scales, scale = [], anchor / factor ** max(0, steps)
    largest = None if max_plate_height is None else max_plate_height * working_scale
    while round(width * scale) >= win_w and round(height * scale) >= win_h:
        scales.append(scale)
        if largest is not None and largest * scale <= win_h:
            break
        scale *= factor
    return scales


def calibrate(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Apply (dx1, dy1, dx2, dy2) offsets given in units of each box's width and height."""
    size = np.concatenate([boxes[:, 2:4] - boxes[:, 0:2]] * 2, axis=1)
    return boxes + offsets * size


def box_offsets(boxes: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The offsets :func:`calibrate` needs to turn ``boxes`` into ``targets``."""
    size = np.concatenate([boxes[:, 2:4] - boxes[:, 0:2]] * 2, axis=1)
    return (targets - boxes) / size


def corner_offsets(boxes: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Corners (n, 4, 2) as fractions of each box: (x - x1) / w, (y - y1) / h, flattened to (n, 8)."""
    size = (boxes[:, 2:4] - boxes[:, 0:2])[:, None, :]
    return ((corners - boxes[:, None, 0:2]) / size).reshape(len(boxes), 8)


def corners_from_offsets(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    size = (boxes[:, 2:4] - boxes[:, 0:2])[:, None, :]
    return boxes[:, None, 0:2] + offsets.reshape(len(boxes), 4, 2) * size


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _check_fraction(key, value):
    if not 0.0 <= float(value) <= 1.0:
        raise ConfigError(f"detector mtcnn: {key} must be in [0, 1], got {value!r}")
    return float(value)


class MtcnnDetector:
    """``Frame -> list[Detection]`` with boxes, four corners and O-Net scores in frame pixels.

    Built from the torch ``networks`` (:class:`~alprkit_mtcnn.models.MtcnnNetworks`), or
    from ``runners`` (onnxruntime sessions of the shipped ONNX files, by part) with
    ``load_networks`` to build the torch networks when training or export asks for them.
    """

    def __init__(self, networks=None, *, min_plate_height=40.0, max_plate_height=None,
                 working_size=DEFAULT_WORKING_SIZE, scale_factor=0.709, pnet_threshold=0.6, onet_threshold=0.9,
                 onet_passes=4, onet_pass_threshold=0.02, pnet_nms=0.5, proposal_nms=0.7, max_proposals=32, nms=0.3,
                 backend="auto", threads=None,
                 name=ARCHITECTURE, runners=None, load_networks=None, backend_choice=None):
        self.min_plate_height, self.max_plate_height = checked_plate_heights(
            "detector mtcnn", min_plate_height, max_plate_height, smallest_required=True)
        self.working_size = checked_working_size("detector mtcnn", working_size)
        if not 0.1 <= float(scale_factor) < 1.0:
            raise ConfigError(f"detector mtcnn: scale_factor must be in [0.1, 1), got {scale_factor!r}")
        if isinstance(onet_passes, bool) or not isinstance(onet_passes, int) or onet_passes < 1:
            raise ConfigError(f"detector mtcnn: onet_passes must be a whole number >= 1, got {onet_passes!r}")
        if int(max_proposals) < 1:
            raise ConfigError(f"detector mtcnn: max_proposals must be >= 1, got {max_proposals!r}")
        if backend not in BACKENDS:
            raise ConfigError(f"detector mtcnn: unknown backend {backend!r} (backends: {', '.join(BACKENDS)})")
        self._networks = networks.eval() if networks is not None else None
        self._load_networks = load_networks
        self.scale_factor = float(scale_factor)
        self.pnet_threshold = _check_fraction("pnet_threshold", pnet_threshold)
        self.onet_threshold = _check_fraction("onet_threshold", onet_threshold)
        self.onet_passes = onet_passes
        self.onet_pass_threshold = _check_fraction("onet_pass_threshold", onet_pass_threshold)
        self.pnet_nms = _check_fraction("pnet_nms", pnet_nms)
        self.proposal_nms = _check_fraction("proposal_nms", proposal_nms)
        self.nms = _check_fraction("nms", nms)
        self.max_proposals = int(max_proposals)
        self.backend, self.threads, self.name = backend, threads, name
        self.backend_choice = backend_choice  # which backend runs and why (shipped_onnx.BackendChoice)
        self._runners = dict(runners) if runners else None

    @property
    def networks(self):
        """The torch P-Net and O-Net (loaded from the weights on first use when running ONNX files)."""
        if self._networks is None:
            self._networks = self._load_networks().eval()
        return self._networks

    @property
    def pnet(self):
        return self.networks.pnet

    @property
    def onet(self):
        return self.networks.onet

    def _run(self, part, batch: np.ndarray) -> np.ndarray:
        if self._runners is None:  # built on first use: onnxruntime exports then
            kind = self.backend_choice.backend if self.backend_choice else self.backend
            self._runners = {
                "pnet": make_backend(kind, self.pnet, PNET_EXAMPLE, f"{self.name}-pnet", self.threads, dynamic_size=True,
                                     time_on=TYPICAL_BATCHES["pnet"]),
                "onet": make_backend(kind, self.onet, ONET_SIZE, f"{self.name}-onet", self.threads,
                                     time_on=TYPICAL_BATCHES["onet"]),
            }
        return self._runners[part](batch)

    def use_torch(self):
        """Run the live torch modules (training validates through this)."""
        self._runners = {"pnet": TorchBackend(self.pnet), "onet": TorchBackend(self.onet)}
        return self

    def __call__(self, frame: Frame) -> list[Detection]:
        work = working_image(frame.pixels, self.working_size)
        found = self.refine(Frame(work.pixels), self.propose(work.pixels, working_scale=work.scale_y))
        return within_plate_heights(work.to_original(found), None, self.max_plate_height)

    # -- P-Net ---------------------------------------------------------------------
    def propose(self, pixels: np.ndarray, min_plate_height=None, working_scale: float = 1.0) -> np.ndarray:
        """P-Net proposals as rows (x1, y1, x2, y2, score) in the pixels of ``pixels``, best first.

        ``pixels`` is a working image at ``working_scale`` of the original, whose pixels the plate
        heights are given in."""
        height, width = pixels.shape[:2]
        found = []
        level = pixels
        scales = pyramid_scales(width, height, min_plate_height or self.min_plate_height, self.scale_factor,
                                self.max_plate_height, working_scale)
        for scale in scales:
            size = (int(round(width * scale)), int(round(height * scale)))
            # Each level is shrunk from the previous one: the cost stays close to one resize of the frame.
            level = cv2.resize(level, size, interpolation=cv2.INTER_AREA)
            batch = np.ascontiguousarray(level.transpose(2, 0, 1)[None], dtype=np.float32)
            out = self._run("pnet", batch)[0]
            rows = self._level_proposals(out, size[0] / width, size[1] / height)
            if len(rows):
                found.append(rows[nms(rows[:, :4], rows[:, 4], self.pnet_nms)])
        if not found:
            return np.zeros((0, 5), dtype=np.float32)
        rows = np.concatenate(found)
        keep = nms(rows[:, :4], rows[:, 4], self.proposal_nms)[: self.max_proposals]
        return rows[keep]

    def _level_proposals(self, out: np.ndarray, sx: float, sy: float) -> np.ndarray:
        scores = sigmoid(out[0])
        r, c = np.nonzero(scores >= self.pnet_threshold)
        if not len(r):
            return np.zeros((0, 5), dtype=np.float32)
        (win_w, win_h), (step_x, step_y) = PNET_WINDOW, PNET_STRIDE
        x1, y1 = c * step_x, r * step_y
        windows = np.stack([x1 / sx, y1 / sy, (x1 + win_w) / sx, (y1 + win_h) / sy], axis=1)
        boxes = calibrate(windows, out[1:5, r, c].T)
        return np.concatenate([boxes, scores[r, c][:, None]], axis=1).astype(np.float32)

    # -- O-Net ---------------------------------------------------------------------
    @staticmethod
    def onet_crops(frame: Frame, boxes: np.ndarray) -> list[np.ndarray]:
        """24x94 uint8 crops of ``boxes``, cut exactly as a rectifier cuts a plate."""
        return [warp_quad(frame, Detection(tuple(b)), box_quad(b), ONET_SIZE, perspective=False).pixels for b in boxes]

    def refine(self, frame: Frame, proposals: np.ndarray) -> list[Detection]:
        """O-Net's plates from P-Net's proposals, in ``onet_passes`` passes.

        Each pass scores its boxes and refines them; boxes scored ``onet_pass_threshold`` or more
        go on, and the next pass scores their refined boxes. A P-Net box is often loose, and O-Net's
        score learnt plates from boxes at IoU >= 0.65 (part boxes train only its regression), so it
        scores a loose box of a real plate low: on the gray CCPD photos of fold 1 the true boxes
        score 0.62-0.97, the P-Net boxes of the plates missed 0.03-0.21. Scored again from its own
        refined box, such a plate scores high. Refining further does not converge, though: a box
        can drift off the plate and its score fall (0.95, then 0.76 on a synthetic plate), so each
        proposal's chain of passes ends with the pass that scored it highest, and is a plate when
        that score is ``onet_threshold`` or more (mtcnn.multi.md, examples/mtcnn_onet_passes.py).
        """
        boxes = proposals[:, :4].astype(np.float64)
        ended = []  # (score, refined box, corners) of each chain's best pass, as chains end
        best = None
        for remaining in range(self.onet_passes, 0, -1):
            sizes = boxes[:, 2:4] - boxes[:, 0:2]
            usable = (sizes[:, 0] >= 4) & (sizes[:, 1] >= 2)
            if best is not None:  # a box refined too small ends its chain
                ended.append(tuple(part[~usable] for part in best))
                best = tuple(part[usable] for part in best)
            boxes = boxes[usable]
            if not len(boxes):
                break
            out = self._run("onet", crops_to_batch(self.onet_crops(frame, boxes))).astype(np.float64)
            refined = calibrate(boxes, out[:, 1:5])
            refined[:, 0::2] = refined[:, 0::2].clip(0, frame.width)
            refined[:, 1::2] = refined[:, 1::2].clip(0, frame.height)
            valid = (refined[:, 2] - refined[:, 0] >= 1) & (refined[:, 3] - refined[:, 1] >= 1)
            scores = np.where(valid, sigmoid(out[:, 0]), -np.inf)  # an empty refined box is no plate
            now = (scores, refined, corners_from_offsets(boxes, out[:, 5:13]))
            if best is None:
                best = now
            else:
                better = scores > best[0]
                best = tuple(np.where(better.reshape((-1,) + (1,) * (new.ndim - 1)), new, was)
                             for new, was in zip(now, best))
            go_on = np.zeros(len(boxes), dtype=bool)
            if remaining > 1:  # near-duplicates need scoring once: the others end here
                candidates = np.flatnonzero(scores >= self.onet_pass_threshold)
                go_on[candidates[nms(refined[candidates], scores[candidates], self.proposal_nms)]] = True
            ended.append(tuple(part[~go_on] for part in best))
            best = tuple(part[go_on] for part in best)
            boxes = refined[go_on]
        if not ended:
            return []
        scores, refined, corners = (np.concatenate(parts) for parts in zip(*ended))
        keep = scores >= self.onet_threshold
        scores, refined, corners = scores[keep], refined[keep], corners[keep]
        return [
            Detection(box=tuple(float(v) for v in refined[i]), score=float(scores[i]),
                      corners=tuple((float(x), float(y)) for x, y in corners[i]))
            for i in nms(refined, scores, self.nms)
        ]

    # -- training and export -----------------------------------------------------
    def training_recipe(self):
        from .training import MtcnnRecipe

        return MtcnnRecipe(self)

    def metadata(self) -> dict:
        return {"architecture": ARCHITECTURE, "options": self.networks.options}

    def onnx_parts(self) -> dict:
        """Each network to export: (module, example input size (w, h), whether height and width stay free)."""
        return {"pnet": (self.pnet, PNET_EXAMPLE, True), "onet": (self.onet, ONET_SIZE, False)}


def create(weights=None, pretrained=True, backend="auto", threads=None, **params) -> MtcnnDetector:
    """An MTCNN detector; without ``weights`` the shipped default weights when present (and ``pretrained``),
    else untrained."""
    from alprkit.shipped_onnx import create_detector

    from . import default_weights

    return create_detector(MtcnnDetector, ARCHITECTURE, PARTS, _networks_class, weights, pretrained, default_weights,
                           backend, threads, time_on=TYPICAL_BATCHES, **params)


def _networks_class():
    from .models import MtcnnNetworks  # torch: only when the torch networks are built

    return MtcnnNetworks
