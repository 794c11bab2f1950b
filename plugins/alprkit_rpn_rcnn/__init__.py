"""The cascade detector of seed 002 (RPN + R-CNN with four-corner regression) and its affine rectifier.

Shipped weights live in ``weights/`` as ``rpn_rcnn.<tag>.safetensors`` beside a
model card ``rpn_rcnn.<tag>.md`` and are selected as ``detector=rpn_rcnn`` (the
default tag) or ``detector.name=rpn_rcnn.<tag>``.
"""

from pathlib import Path

from alprkit.hookspecs import hookimpl
from alprkit.registry import shipped_weights

WEIGHTS = Path(__file__).parent / "weights"
DEFAULT_TAG = "multi"


def default_weights():
    """The shipped weights an untagged ``rpn_rcnn`` uses, or None before any are shipped."""
    return shipped_weights(WEIGHTS, "rpn_rcnn").get(DEFAULT_TAG)


def _create_detector(**params):
    from .detector import create

    return create(**params)


def _create_rectifier(**params):
    from .rectifier import AffineRansacRectifier

    return AffineRansacRectifier(**params)


@hookimpl
def alprkit_register_detectors(register):
    register("rpn_rcnn", _create_detector, weights=shipped_weights(WEIGHTS, "rpn_rcnn"),
             description="RPN on the downsampled image + R-CNN (48x120) with four-corner regression (seed 002).")


@hookimpl
def alprkit_register_rectifiers(register):
    register("affine_ransac", _create_rectifier,
             description="Affine map from the four corners to the crop, estimated with RANSAC (seed 002, eq. 2).")


@hookimpl
def alprkit_register_configs(register):
    register("pkg://alprkit_rpn_rcnn.conf")
