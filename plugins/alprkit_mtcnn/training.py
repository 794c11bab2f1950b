"""How MTCNN learns from a scene: P-Net on pyramid-level crops, then O-Net on proposals (MTCNN's recipe).

P-Net trains fully convolutionally on 48x120 crops of a pyramid level, so every cell
gets a label exactly as inference reads it. A cell's window is positive when its
IoU with a plate's *canonical* box (the plate's centre and height, at the window's
aspect 2.5) is at least 0.65, part of a plate from 0.4, negative below 0.3: plates
from 2:1 (US) to 4.7:1 (EU) then all have positive windows, and the box offsets
regress the true box. Negatives are mined online (the hardest, three per positive).

O-Net trains on crops of the frozen P-Net's proposals (its hard negatives) and of
jittered true boxes, labelled by IoU with the true boxes (0.65 / 0.4 / 0.3), with a
box loss and a corner loss weighted 0.5 and 1 as in MTCNN's O-Net. A box matched to a
plate labelled without corners (``scene.corners_known``) adds to the box loss only.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from alprkit.metrics import iou_matrix
from alprkit.types import Frame

from .detector import box_offsets, corner_offsets
from .shapes import PNET_STRIDE, PNET_WINDOW

PNET_CROP = (120, 48)  # (w, h) level pixels of one P-Net training crop: 19 x 23 cells
POSITIVE, PART, NEGATIVE = 0.65, 0.4, 0.3  # IoU thresholds (MTCNN)
IGNORE, NEG, POS, PART_LABEL = -1, 0, 1, 2


def _cell_grid():
    (crop_w, crop_h), (win_w, win_h), (sx, sy) = PNET_CROP, PNET_WINDOW, PNET_STRIDE
    rows, cols = (crop_h - win_h) // sy + 1, (crop_w - win_w) // sx + 1
    r, c = np.mgrid[0:rows, 0:cols]
    x1, y1 = (c * sx).ravel(), (r * sy).ravel()
    return (rows, cols), np.stack([x1, y1, x1 + win_w, y1 + win_h], axis=1).astype(np.float64)


CELLS, WINDOWS = _cell_grid()


def canonical_boxes(boxes: np.ndarray) -> np.ndarray:
    """Each box's centre and height at the P-Net window's aspect."""
    aspect = PNET_WINDOW[0] / PNET_WINDOW[1]
    centre = (boxes[:, 0:2] + boxes[:, 2:4]) / 2
    half = np.stack([(boxes[:, 3] - boxes[:, 1]) * aspect / 2, (boxes[:, 3] - boxes[:, 1]) / 2], axis=1)
    return np.concatenate([centre - half, centre + half], axis=1)


def label_by_iou(overlap: np.ndarray) -> np.ndarray:
    labels = np.full(len(overlap), IGNORE, dtype=np.int8)
    labels[overlap < NEGATIVE] = NEG
    labels[(overlap >= PART) & (overlap < POSITIVE)] = PART_LABEL
    labels[overlap >= POSITIVE] = POS
    return labels


def _level_crop(image, scale, x0, y0):
    """The P-Net crop at level ``scale`` with its top-left near level pixel (x0, y0), the level's scale
    (sx, sy) and origin (ox, oy) the crop really has, and which cells lie wholly inside the level (the
    others are never seen at inference).

    Only the frame region under the crop is resized (a whole 1280x720 frame costs ~8 ms a crop);
    the region's integer bounds shift the scale and the origin a little, so the labels use the ones
    the crop has, not the ones asked for.
    """
    h, w = image.shape[:2]
    crop_w, crop_h = PNET_CROP
    left, top = max(0, int(np.floor(x0 / scale)) - 1), max(0, int(np.floor(y0 / scale)) - 1)
    right = min(w, max(left + 1, int(np.ceil((x0 + crop_w) / scale)) + 2))
    bottom = min(h, max(top + 1, int(np.ceil((y0 + crop_h) / scale)) + 2))
    region = image[top:bottom, left:right]
    size = (max(1, int(round((right - left) * scale))), max(1, int(round((bottom - top) * scale))))
    sx, sy = size[0] / (right - left), size[1] / (bottom - top)
    level = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
    # The crop's top-left in this region's level pixels: as asked, or as near as the region allows.
    cx, cy = int(round(x0 - left * sx)), int(round(y0 - top * sy))
    pad = ((max(0, -cy), max(0, cy + crop_h - size[1])), (max(0, -cx), max(0, cx + crop_w - size[0])), (0, 0))
    padded = np.pad(level, pad, mode="edge") if any(a or b for a, b in pad[:2]) else level
    crop = padded[cy + pad[0][0] : cy + pad[0][0] + crop_h, cx + pad[1][0] : cx + pad[1][0] + crop_w]
    ox, oy = left * sx + cx, top * sy + cy
    windows = WINDOWS + [ox, oy, ox, oy]
    inside = (windows[:, 0] >= -1e-6) & (windows[:, 1] >= -1e-6) & (windows[:, 2] <= w * sx + 1e-6) \
        & (windows[:, 3] <= h * sy + 1e-6)
    return crop, (sx, sy), (ox, oy), inside


class MtcnnRecipe:
    stages = ("pnet", "onet")

    def __init__(self, detector, pnet_crops=(4, 2), onet_jitters=12, onet_randoms=6, mining_height=None):
        self.detector = detector.use_torch()
        self.pnet_crops = pnet_crops  # crops per scene: around a plate, anywhere
        self.onet_jitters = onet_jitters  # jittered boxes per plate
        self.onet_randoms = onet_randoms  # random boxes per scene
        # The P-Net pyramid that proposes O-Net's training boxes; None: the detector's own smallest plate,
        # so O-Net learns from the proposals inference makes (mining down to 24 pixels costs 3x as much).
        self.mining_height = mining_height

    def network(self, stage):
        return getattr(self.detector.networks, stage)

    # -- examples --------------------------------------------------------------------
    def examples(self, stage, scene, rng):
        return self._pnet_examples(scene, rng) if stage == "pnet" else self._onet_examples(scene, rng)

    def _pnet_examples(self, scene, rng):
        h, w = scene.image.shape[:2]
        crop_w, crop_h = PNET_CROP
        around, anywhere = self.pnet_crops
        examples = []
        for i in range(around + anywhere):
            if i < around and len(scene.boxes):
                box = scene.boxes[int(rng.integers(len(scene.boxes)))]
                # Plate heights near the window's (positives) or from half to twice it (parts, negatives).
                spread = np.log(1.25) if rng.random() < 0.6 else np.log(2.0)
                scale = PNET_WINDOW[1] * np.exp(rng.uniform(-spread, spread)) / max(box[3] - box[1], 1.0)
                scale = min(scale, 1.5)
                cx, cy = (box[0] + box[2]) / 2 * scale, (box[1] + box[3]) / 2 * scale
                x0, y0 = int(cx - rng.uniform(0.2, 0.8) * crop_w), int(cy - rng.uniform(0.2, 0.8) * crop_h)
            else:
                scale = np.exp(rng.uniform(np.log(PNET_WINDOW[1] / 300), np.log(PNET_WINDOW[1] / 14)))
                x0 = int(rng.integers(0, max(1, int(w * scale) - crop_w + 1)))
                y0 = int(rng.integers(0, max(1, int(h * scale) - crop_h + 1)))
            crop, (sx, sy), (ox, oy), inside = _level_crop(scene.image, scale, x0, y0)
            windows = WINDOWS + [ox, oy, ox, oy]
            labels = np.full(len(windows), NEG, dtype=np.int8)
            offsets = np.zeros((len(windows), 4), dtype=np.float32)
            if len(scene.boxes):
                boxes = scene.boxes * [sx, sy, sx, sy]
                overlap = iou_matrix(windows, canonical_boxes(boxes))
                labels = label_by_iou(overlap.max(axis=1))
                offsets = box_offsets(windows, boxes[overlap.argmax(axis=1)]).astype(np.float32)
            labels[~inside] = IGNORE
            examples.append({"image": crop, "labels": labels.reshape(CELLS), "offsets": offsets.reshape(*CELLS, 4)})
        return examples

    def _onet_examples(self, scene, rng):
        h, w = scene.image.shape[:2]
        proposals = self.detector.propose(scene.image, min_plate_height=self.mining_height)[:, :4].astype(np.float64)
        candidates = [proposals, self._random_boxes(w, h, rng, self.onet_randoms)]
        for box in scene.boxes:
            # Half the jitters small (mostly positives), half large (parts and near misses).
            spread = np.repeat([[0.1], [0.3]], [self.onet_jitters // 2, self.onet_jitters - self.onet_jitters // 2], 0)
            size = box[2:4] - box[0:2]
            centre = (box[0:2] + box[2:4]) / 2 + rng.uniform(-1, 1, (self.onet_jitters, 2)) * spread * size
            half = size * np.exp(rng.uniform(-1, 1, (self.onet_jitters, 2)) * spread * 1.2) / 2
            candidates.append(np.concatenate([centre - half, centre + half], axis=1))
        boxes = np.concatenate(candidates)
        boxes = boxes[(boxes[:, 2] - boxes[:, 0] >= 4) & (boxes[:, 3] - boxes[:, 1] >= 2)]
        if len(scene.boxes):
            overlap = iou_matrix(boxes, scene.boxes)
            labels, match = label_by_iou(overlap.max(axis=1)), overlap.argmax(axis=1)
        else:
            labels, match = np.full(len(boxes), NEG, dtype=np.int8), np.zeros(len(boxes), dtype=np.int64)
        # Every positive and part box; negatives (proposals first: the hard ones) at most twice as many.
        keep_neg = np.nonzero(labels == NEG)[0][: max(4, 2 * int((labels > 0).sum()))]
        keep = np.concatenate([np.nonzero(labels > 0)[0], keep_neg])
        if not len(keep):
            return []
        boxes, labels, match = boxes[keep], labels[keep], match[keep]
        crops = self.detector.onet_crops(Frame(scene.image), boxes)
        if len(scene.boxes):
            offsets = box_offsets(boxes, scene.boxes[match])
            corners, known = corner_offsets(boxes, scene.corners[match]), scene.corners_known[match]
        else:
            offsets, corners, known = np.zeros((len(boxes), 4)), np.zeros((len(boxes), 8)), np.zeros(len(boxes), bool)
        return [{"image": crops[i], "label": labels[i], "offsets": offsets[i].astype(np.float32),
                 "corners": corners[i].astype(np.float32), "corners_known": known[i]} for i in range(len(boxes))]

    @staticmethod
    def _random_boxes(w, h, rng, count):
        height = np.exp(rng.uniform(np.log(10), np.log(max(11, h / 4)), count))
        width = height * rng.uniform(1.5, 5.0, count)
        x1, y1 = rng.uniform(0, 1, count) * (w - width), rng.uniform(0, 1, count) * (h - height)
        return np.stack([x1, y1, x1 + width, y1 + height], axis=1)

    # -- batches and losses ------------------------------------------------------------
    def collate(self, stage, examples):
        if not examples:  # a batch of scenes without any usable box: an empty batch trains nothing
            examples = self._empty(stage)
        batch = {key: torch.from_numpy(np.stack([e[key] for e in examples])) for key in examples[0]}
        batch["image"] = batch["image"].permute(0, 3, 1, 2).float()
        return batch

    def _empty(self, stage):
        if stage == "pnet":
            return [{"image": np.zeros((*PNET_CROP[::-1], 3), np.uint8), "labels": np.full(CELLS, IGNORE, np.int8),
                     "offsets": np.zeros((*CELLS, 4), np.float32)}]
        return [{"image": np.zeros((24, 94, 3), np.uint8), "label": np.int8(IGNORE),
                 "offsets": np.zeros(4, np.float32), "corners": np.zeros(8, np.float32),
                 "corners_known": np.False_}]

    def losses(self, stage, batch):
        if stage == "pnet":
            out = self.network("pnet")(batch["image"])
            labels = batch["labels"].long()
            logits, offsets = out[:, 0], out[:, 1:5].permute(0, 2, 3, 1)
            cls = _hard_mined_bce(logits[labels == POS], logits[labels == NEG])
            box = _masked_smooth_l1(offsets, batch["offsets"], (labels == POS) | (labels == PART_LABEL))
            return {"loss": cls + 0.5 * box, "cls": cls, "box": box}
        out = self.network("onet")(batch["image"])
        labels = batch["label"].long()
        cls = F.binary_cross_entropy_with_logits(out[:, 0][labels >= 0], (labels[labels >= 0] == POS).float()) \
            if (labels >= 0).any() else out.sum() * 0
        located = (labels == POS) | (labels == PART_LABEL)
        box = _masked_smooth_l1(out[:, 1:5], batch["offsets"], located)
        corners = _masked_smooth_l1(out[:, 5:13], batch["corners"], located & batch["corners_known"])
        return {"loss": cls + 0.5 * box + corners, "cls": cls, "box": box, "corners": corners}

    # -- validation --------------------------------------------------------------------
    def predict(self, stage, image):
        if stage == "pnet":
            rows = self.detector.propose(image)
            return rows[:, :4], rows[:, 4]
        found = self.detector(Frame(image))
        return np.array([d.box for d in found]).reshape(-1, 4), np.array([d.score for d in found])


def _hard_mined_bce(positive_logits, negative_logits, ratio=3, minimum=64):
    """All positives and the hardest negatives, ``ratio`` per positive (at least ``minimum``)."""
    pos = F.binary_cross_entropy_with_logits(positive_logits, torch.ones_like(positive_logits), reduction="none")
    neg = F.binary_cross_entropy_with_logits(negative_logits, torch.zeros_like(negative_logits), reduction="none")
    neg = neg.topk(min(len(neg), max(minimum, ratio * len(pos)))).values
    total = torch.cat([pos, neg])
    return total.mean() if len(total) else positive_logits.sum() * 0


def _masked_smooth_l1(predicted, target, mask):
    if not mask.any():
        return predicted.sum() * 0
    return F.smooth_l1_loss(predicted[mask], target[mask], beta=0.1)
