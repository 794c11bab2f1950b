"""Seed 002's rectification: an affine map from the four plate corners to the crop's corners,
estimated with RANSAC (equation 2), so one badly regressed corner does not skew the crop."""

from __future__ import annotations

from alprkit.errors import ConfigError
from alprkit.geometry import affine_fit, affine_quad, expand_quad, warp_quad
from alprkit.types import Crop, Detection, Frame


class AffineRansacRectifier:
    """``threshold`` is RANSAC's reprojection tolerance in crop heights (a corner further off is an outlier)."""

    def __init__(self, margin: float = 0.0, threshold: float = 0.08):
        if not 0 <= margin < 1:
            raise ConfigError(f"rectifier affine_ransac: margin must be in [0, 1), got {margin!r}")
        if not 0 < threshold <= 1:
            raise ConfigError(f"rectifier affine_ransac: threshold must be in (0, 1], got {threshold!r}")
        self.margin, self.threshold = float(margin), float(threshold)

    def affine(self, quad, size):
        """The 2x3 matrix taking frame pixels to crop pixels, fitted to the four corners."""
        return affine_fit(quad, size, self.threshold)

    def __call__(self, frame: Frame, detection: Detection, size) -> Crop:
        quad = expand_quad(detection.quad(), self.margin)
        # The parallelogram the fitted map sends onto the crop; warping it with an affine map
        # reproduces the fit (and keeps warp_quad's anti-aliasing and frame <- crop transform).
        return warp_quad(frame, detection, affine_quad(quad, size, self.threshold), size, perspective=False)
