"""Detectors that need no model."""

from alprkit.types import Detection, Frame


class WholeImageDetector:
    """The whole image is one plate: for inputs that are already plate crops."""

    def __call__(self, frame: Frame) -> list[Detection]:
        w, h = frame.width, frame.height
        return [Detection(box=(0.0, 0.0, float(w), float(h)), score=1.0, corners=((0, 0), (w, 0), (w, h), (0, h)))]
