"""MTCNN plate detector (seed 003): P-Net over an image pyramid and O-Net on 24x94 crops.

Shipped weights live in ``weights/`` as ``mtcnn.<tag>.safetensors`` beside a model
card ``mtcnn.<tag>.md`` and are selected as ``detector=mtcnn`` (the default tag) or
``detector.name=mtcnn.<tag>``.
"""

from pathlib import Path

from alprkit.hookspecs import hookimpl
from alprkit.registry import shipped_weights

WEIGHTS = Path(__file__).parent / "weights"
DEFAULT_TAG = "multi"


def default_weights():
    """The shipped weights an untagged ``mtcnn`` uses, or None before any are shipped."""
    return shipped_weights(WEIGHTS, "mtcnn").get(DEFAULT_TAG)


def _create(**params):
    from .detector import create

    return create(**params)


@hookimpl
def alprkit_register_detectors(register):
    register("mtcnn", _create, weights=shipped_weights(WEIGHTS, "mtcnn"),
             description="MTCNN for plates: P-Net pyramid + O-Net (24x94) with box, corners and score.")


@hookimpl
def alprkit_register_configs(register):
    register("pkg://alprkit_mtcnn.conf")
