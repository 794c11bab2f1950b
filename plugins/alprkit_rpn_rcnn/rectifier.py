"""Seed 002's rectification: an affine map from the four plate corners to the crop's corners,
estimated with RANSAC (equation 2), so one badly regressed corner does not skew the crop."""

from __future__ import annotations

import cv2
import numpy as np

from alprkit.errors import ConfigError
from alprkit.geometry import expand_quad, target_quad, warp_quad
from alprkit.types import Crop, Detection, Frame


class AffineRansacRectifier:
    """``threshold`` is RANSAC's reprojection tolerance in crop heights (a corner further off is an outlier)."""

    def __init__(self, margin: float = 0.0, threshold: float = 0.08):
        if not 0 <= margin < 1:
            raise ConfigError(f"rectifier affine_ransac: margin must be in [0, 1), got {margin!r}")
        if not 0 < threshold <= 1:
            raise ConfigError(f"rectifier affine_ransac: threshold must be in (0, 1], got {threshold!r}")
        self.margin, self.threshold = float(margin), float(threshold)

    def affine(self, quad, size) -> np.ndarray:
        """The 2x3 matrix taking frame pixels to crop pixels, fitted to the four corners."""
        dst = target_quad(size)
        matrix, _ = cv2.estimateAffine2D(np.asarray(quad, np.float64), dst, method=cv2.RANSAC,
                                         ransacReprojThreshold=self.threshold * size[1], maxIters=100,
                                         confidence=0.999, refineIters=10)
        if matrix is None:  # degenerate corners (all on a line): fall back to the three first
            matrix = cv2.getAffineTransform(np.float32(quad)[[0, 1, 3]], np.float32(dst)[[0, 1, 3]])
        return matrix

    def __call__(self, frame: Frame, detection: Detection, size) -> Crop:
        quad = expand_quad(detection.quad(), self.margin)
        to_crop = np.vstack([self.affine(quad, size), [0, 0, 1]])
        # The parallelogram the fitted map sends onto the crop; warping it with an affine map
        # reproduces the fit (and keeps warp_quad's anti-aliasing and frame <- crop transform).
        parallelogram = cv2.perspectiveTransform(target_quad(size)[None], np.linalg.inv(to_crop))[0]
        return warp_quad(frame, detection, parallelogram, size, perspective=False)
