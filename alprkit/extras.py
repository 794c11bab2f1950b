"""Which packages come with the ``train`` extra, and the one-line error when one is missing.

The base install reads plates with onnxruntime, OpenCV and NumPy; training, export,
the torch backends, synthetic data (its CJK font) and the leaderboard's plot need
``pip install 'alprkit[train]'``.
"""

from __future__ import annotations

from .errors import MissingExtraError

TRAIN_INSTALL = "pip install 'alprkit[train]'"
TRAIN_MODULES = frozenset({"torch", "torchvision", "timm", "pytorch_lightning", "lightning", "lightning_fabric",
                           "torchmetrics", "tensorboard", "onnx", "onnxscript", "matplotlib", "manimgx_fonts_cjk"})


def missing_train_module(exc: BaseException) -> str | None:
    """The train-extra module whose absence raised ``exc``, or None for any other error."""
    if not isinstance(exc, ImportError):
        return None
    name = (exc.name or "").split(".")[0]
    return name if name in TRAIN_MODULES else None


def train_extra_error(what: str, module: str) -> MissingExtraError:
    return MissingExtraError(f"{what} needs {module}, which is not installed (the train extra): {TRAIN_INSTALL}")
