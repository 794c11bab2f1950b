"""Plate geometry shared by rectifiers, training and the data engine."""

from __future__ import annotations

import cv2
import numpy as np

from .types import Crop, Detection, Frame


def target_quad(size) -> np.ndarray:
    """The corners (TL, TR, BR, BL) of a ``size`` = (w, h) image."""
    w, h = size
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)


def expand_quad(quad, margin: float) -> np.ndarray:
    """Grow a quadrilateral about its centre by ``margin`` of its size on each side."""
    quad = np.asarray(quad, dtype=np.float64)
    centre = quad.mean(axis=0)
    return centre + (quad - centre) * (1 + 2 * margin)


def box_quad(box) -> np.ndarray:
    x1, y1, x2, y2 = box
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float64)


def affine_fit(quad, size, threshold: float = 0.08) -> np.ndarray:
    """Seed 002's rectification (eq. 2): the 2x3 affine matrix taking frame pixels to a ``size`` crop,
    fitted to the four corners with RANSAC (``threshold`` in crop heights), so one bad corner is ignored."""
    dst = target_quad(size)
    matrix, _ = cv2.estimateAffine2D(np.asarray(quad, np.float64), dst, method=cv2.RANSAC,
                                     ransacReprojThreshold=threshold * size[1], maxIters=100, confidence=0.999,
                                     refineIters=10)
    if matrix is None:  # degenerate corners (all on a line): fall back to the three first
        matrix = cv2.getAffineTransform(np.float32(quad)[[0, 1, 3]], np.float32(dst)[[0, 1, 3]])
    return matrix


def affine_quad(quad, size, threshold: float = 0.08) -> np.ndarray:
    """The parallelogram (TL, TR, BR, BL in frame pixels) that :func:`affine_fit` maps onto the crop:
    warping it with ``perspective=False`` reproduces the fit."""
    to_crop = np.vstack([affine_fit(quad, size, threshold), [0, 0, 1]])
    return cv2.perspectiveTransform(target_quad(size)[None], np.linalg.inv(to_crop))[0]


def warp_quad(frame: Frame, detection: Detection, quad, size, perspective: bool = True) -> Crop:
    """Warp ``quad`` (TL, TR, BR, BL in frame pixels) to a ``size`` = (w, h) crop.

    A plate much larger than the crop is first warped to a whole multiple of the crop
    size and then area-averaged down, because a single bilinear warp aliases strokes
    away. Pixels outside the frame replicate the border, which keeps a plate touching
    the image edge readable.
    """
    w, h = int(size[0]), int(size[1])
    src = np.asarray(quad, dtype=np.float32)
    width = max(np.linalg.norm(src[1] - src[0]), np.linalg.norm(src[2] - src[3]))
    height = max(np.linalg.norm(src[3] - src[0]), np.linalg.norm(src[2] - src[1]))
    kx = int(np.clip(round(width / w), 1, 8))
    ky = int(np.clip(round(height / h), 1, 8))
    dst = target_quad((w * kx, h * ky)).astype(np.float32)
    if perspective:
        to_big = cv2.getPerspectiveTransform(src, dst)
    else:
        to_big = np.vstack([cv2.getAffineTransform(src[[0, 1, 3]], dst[[0, 1, 3]]), [0, 0, 1]])
    pixels = cv2.warpPerspective(
        frame.pixels, to_big, (w * kx, h * ky), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    if kx > 1 or ky > 1:
        pixels = cv2.resize(pixels, (w, h), interpolation=cv2.INTER_AREA)
    to_crop = np.diag([1 / kx, 1 / ky, 1.0]) @ to_big
    return Crop(pixels=pixels, detection=detection, transform=np.linalg.inv(to_crop))


def fit_crop(pixels: np.ndarray, size) -> np.ndarray:
    """Resize a whole plate crop to ``size`` exactly as the whole-image detector + rectifier would."""
    h, w = pixels.shape[:2]
    quad = target_quad((w, h))
    frame = Frame(pixels)
    return warp_quad(frame, Detection((0.0, 0.0, float(w), float(h))), quad, size, perspective=False).pixels


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Indices of the boxes (x1, y1, x2, y2) kept by non-maximum suppression, best score first.

    A box is dropped when its IoU with a better kept box exceeds ``threshold``; equal
    scores keep their order. The same result as torchvision's ``nms``, in float32 as it computes.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, dtype=np.float32), kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept = []
    while len(order):
        best, rest = order[0], order[1:]
        kept.append(best)
        top_left = np.maximum(boxes[best, :2], boxes[rest, :2])
        bottom_right = np.minimum(boxes[best, 2:], boxes[rest, 2:])
        inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=1)
        union = areas[best] + areas[rest] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[iou.astype(np.float64) <= float(threshold)]  # torchvision compares in double
    return np.array(kept, dtype=np.int64)
