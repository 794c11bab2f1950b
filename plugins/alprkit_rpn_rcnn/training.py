"""How the RPN + R-CNN cascade learns from a scene (seed 002, section 4.1).

RPN: on a crop of the downsampled image, 64 anchors per image with at most 25%
positives; an anchor is positive at IoU >= 0.5 with a plate (and each plate's best
anchor is positive), negative below 0.3 (Faster R-CNN; the ones between are not
sampled); cross-entropy on objectness plus smooth-L1 on Faster R-CNN's box deltas.

R-CNN, with the RPN fixed: the RPN's proposals (its hard negatives) and jittered true
boxes go through the sampler; 32 patches per image, at most 25% positive at the same
IoU thresholds; cross-entropy plus smooth-L1 on the corner shifts of the positives
(equation 1, lambda = 1). Corner shifts may be negative or above 1, so a truncated
proposal still learns where the plate's corners are. A positive matched to a plate
labelled without corners (``scene.corners_known``) trains the box instead: the bounding
box of its four regressed corners, which is the box the detector reports, against the
plate's box; where the corners lie inside that box is left free.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from alprkit.metrics import iou_matrix
from alprkit.types import Frame

from .detector import (
    FEATURE_STRIDE,
    PAD,
    corner_shifts,
    encode,
    make_anchors,
    sample_patches,
    sampler_regions,
    split_rpn_output,
)
from .shapes import RCNN_SIZE

POSITIVE, NEGATIVE = 0.5, 0.3
IGNORE, NEG, POS = -1, 0, 1


def sample_labels(overlap: np.ndarray, count: int, rng, positive_share=0.25, best_per_truth=True) -> np.ndarray:
    """Labels for the rows of ``overlap`` (candidates x truths): ``count`` sampled, at most a quarter
    positive; the rest IGNORE."""
    best = overlap.max(axis=1) if overlap.shape[1] else np.zeros(len(overlap))
    positive = best >= POSITIVE
    if best_per_truth and overlap.shape[1]:
        top = overlap.argmax(axis=0)
        positive[top[overlap[top, np.arange(overlap.shape[1])] > 0.1]] = True
    pos = np.nonzero(positive)[0]
    neg = np.nonzero(~positive & (best < NEGATIVE))[0]
    pos = rng.permutation(pos)[: int(count * positive_share)]
    neg = rng.permutation(neg)[: count - len(pos)]
    labels = np.full(len(overlap), IGNORE, dtype=np.int8)
    labels[neg], labels[pos] = NEG, POS
    return labels


class RpnRcnnRecipe:
    stages = ("rpn", "rcnn")

    def __init__(self, detector, rpn_crop=(384, 256), anchors_per_image=64, patches_per_image=32, jitters=8,
                 mined=20):
        self.detector = detector.use_torch()
        self.rpn_crop = rpn_crop  # (w, h) RPN-input pixels trained on per image
        self.anchors_per_image, self.patches_per_image = anchors_per_image, patches_per_image
        self.jitters = jitters  # jittered true boxes per plate for the R-CNN
        self.mined = mined  # RPN proposals per image for the R-CNN
        self.crop_anchors = make_anchors(rpn_crop[1] // FEATURE_STRIDE, rpn_crop[0] // FEATURE_STRIDE)

    def network(self, stage):
        return getattr(self.detector.networks, stage)

    # -- examples --------------------------------------------------------------------
    def examples(self, stage, scene, rng):
        return self._rpn_example(scene, rng) if stage == "rpn" else self._rcnn_examples(scene, rng)

    def _rpn_example(self, scene, rng):
        h, w = scene.image.shape[:2]
        (cw, ch), (tw, th) = self.detector.rpn_size, self.rpn_crop
        scale = min(cw / w, ch / h) * np.exp(rng.uniform(np.log(0.75), np.log(1.33)))
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        scaled = cv2.resize(scene.image, size, interpolation=cv2.INTER_AREA)
        boxes = scene.boxes * np.tile([size[0] / w, size[1] / h], 2)
        if len(boxes) and rng.random() < 0.5:  # around a plate, else anywhere
            box = boxes[int(rng.integers(len(boxes)))]
            x0 = int(rng.uniform(box[2] - tw, box[0])) if box[2] - box[0] < tw else int(box[0])
            y0 = int(rng.uniform(box[3] - th, box[1])) if box[3] - box[1] < th else int(box[1])
        else:
            x0 = int(rng.integers(0, max(1, size[0] - tw + 1)))
            y0 = int(rng.integers(0, max(1, size[1] - th + 1)))
        crop = np.full((th, tw, 3), PAD, dtype=np.uint8)
        sx0, sy0 = max(0, x0), max(0, y0)
        part = scaled[sy0 : max(sy0, min(size[1], y0 + th)), sx0 : max(sx0, min(size[0], x0 + tw))]
        crop[sy0 - y0 : sy0 - y0 + part.shape[0], sx0 - x0 : sx0 - x0 + part.shape[1]] = part
        boxes = boxes - [x0, y0, x0, y0]
        overlap = iou_matrix(self.crop_anchors, boxes)
        labels = sample_labels(overlap, self.anchors_per_image, rng)
        deltas = np.zeros((len(labels), 4), dtype=np.float32)
        if len(boxes):
            deltas = encode(self.crop_anchors, boxes[overlap.argmax(axis=1)]).astype(np.float32)
        return [{"image": crop, "labels": labels, "deltas": deltas}]

    def _rcnn_examples(self, scene, rng):
        h, w = scene.image.shape[:2]
        candidates = [self.detector.propose(scene.image, self.mined)[:, :4]]
        for box in scene.boxes:
            # Half the jitters small (mostly positives), half large (near misses and truncated plates).
            spread = np.repeat([[0.1], [0.35]], [self.jitters // 2, self.jitters - self.jitters // 2], 0)
            size = box[2:4] - box[0:2]
            centre = (box[0:2] + box[2:4]) / 2 + rng.uniform(-1, 1, (self.jitters, 2)) * spread * size
            half = size * np.exp(rng.uniform(-1, 1, (self.jitters, 2)) * spread * 1.5) / 2
            candidates.append(np.concatenate([centre - half, centre + half], axis=1))
        height = np.exp(rng.uniform(np.log(10), np.log(max(11, h / 4)), 4))
        width = height * rng.uniform(1.5, 5.0, 4)
        x1, y1 = rng.uniform(0, 1, 4) * (w - width), rng.uniform(0, 1, 4) * (h - height)
        candidates.append(np.stack([x1, y1, x1 + width, y1 + height], axis=1))
        boxes = np.concatenate(candidates)
        boxes[:, 0::2], boxes[:, 1::2] = boxes[:, 0::2].clip(0, w), boxes[:, 1::2].clip(0, h)
        boxes = boxes[(boxes[:, 2] - boxes[:, 0] >= 4) & (boxes[:, 3] - boxes[:, 1] >= 2)]
        overlap = iou_matrix(boxes, scene.boxes)
        labels = sample_labels(overlap, self.patches_per_image, rng, best_per_truth=False)
        keep = np.nonzero(labels != IGNORE)[0]
        if not len(keep):
            return []
        boxes, labels = boxes[keep], labels[keep]
        regions = sampler_regions(boxes)
        shifts, known = np.zeros((len(boxes), 8)), np.zeros(len(boxes), bool)
        if len(scene.boxes):
            match = overlap[keep].argmax(axis=1)
            shifts, known = corner_shifts(regions, scene.corners[match]), scene.corners_known[match]
        patches = sample_patches(scene.image, regions)
        return [{"image": patches[i], "label": labels[i], "shifts": shifts[i].astype(np.float32),
                 "corners_known": known[i]} for i in range(len(boxes))]

    # -- batches and losses ------------------------------------------------------------
    def collate(self, stage, examples):
        if not examples:  # scenes without any usable box: an empty batch trains nothing
            examples = [{"image": np.full((*RCNN_SIZE[::-1], 3), PAD, np.uint8), "label": np.int8(IGNORE),
                         "shifts": np.zeros(8, np.float32), "corners_known": np.False_}]
        batch = {key: torch.from_numpy(np.stack([e[key] for e in examples])) for key in examples[0]}
        batch["image"] = batch["image"].permute(0, 3, 1, 2).float()
        return batch

    def losses(self, stage, batch):
        if stage == "rpn":
            out = self.network("rpn")(batch["image"])
            parts = [split_rpn_output(o) for o in out]
            logits, deltas = torch.stack([p[0] for p in parts]), torch.stack([p[1] for p in parts])
            labels = batch["labels"].long()
            cls = F.binary_cross_entropy_with_logits(logits[labels >= 0], (labels[labels >= 0] == POS).float())
            box = _smooth_l1(deltas[labels == POS], batch["deltas"][labels == POS])
            return {"loss": cls + box, "cls": cls, "box": box}
        out = self.network("rcnn")(batch["image"])
        labels = batch["label"].long()
        sampled = labels >= 0
        cls = F.cross_entropy(out[sampled, :2], labels[sampled]) if sampled.any() else out.sum() * 0
        known, positive = batch["corners_known"], labels == POS
        corners = _smooth_l1(out[positive & known, 2:10], batch["shifts"][positive & known])
        box = _smooth_l1(_extent(out[positive & ~known, 2:10]), _extent(batch["shifts"][positive & ~known]))
        return {"loss": cls + corners + box, "cls": cls, "corners": corners, "box": box}

    # -- validation --------------------------------------------------------------------
    def predict(self, stage, image):
        if stage == "rpn":
            rows = self.detector.propose(image)
            return rows[:, :4], rows[:, 4]
        found = self.detector(Frame(image))
        return np.array([d.box for d in found]).reshape(-1, 4), np.array([d.score for d in found])


# Each corner's place in its region when its shift is 0 (TL, TR, BR, BL), in region widths and heights.
_REGION_CORNERS = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])


def _extent(shifts):
    """The bounding box (x1, y1, x2, y2), in region widths and heights, of corners given as shifts (n, 8)."""
    points = shifts.reshape(-1, 4, 2) + _REGION_CORNERS.to(shifts)
    return torch.cat([points.min(dim=1).values, points.max(dim=1).values], dim=1)


def _smooth_l1(predicted, target):
    """Summed over coordinates, averaged over rows (Faster R-CNN's beta of 1/9)."""
    if not len(predicted):
        return predicted.sum() * 0
    return F.smooth_l1_loss(predicted, target, beta=1 / 9, reduction="sum") / len(predicted)
