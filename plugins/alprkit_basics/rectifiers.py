"""Cut a detected plate out of its frame at the recognizer's input size."""

from alprkit.errors import ConfigError
from alprkit.geometry import box_quad, expand_quad, warp_quad
from alprkit.types import Crop, Detection, Frame


def _check_margin(margin):
    if not 0 <= margin < 1:
        raise ConfigError(f"rectifier margin must be in [0, 1), got {margin!r}")
    return float(margin)


class IdentityRectifier:
    """Crop the axis-aligned box and resize it: no geometric correction."""

    def __init__(self, margin: float = 0.0):
        self.margin = _check_margin(margin)

    def __call__(self, frame: Frame, detection: Detection, size) -> Crop:
        return warp_quad(frame, detection, expand_quad(box_quad(detection.box), self.margin), size, perspective=False)


class PerspectiveRectifier:
    """Map the four plate corners onto the crop's corners with a homography."""

    def __init__(self, margin: float = 0.0):
        self.margin = _check_margin(margin)

    def __call__(self, frame: Frame, detection: Detection, size) -> Crop:
        return warp_quad(frame, detection, expand_quad(detection.quad(), self.margin), size, perspective=True)
