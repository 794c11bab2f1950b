"""LPRNet recognizers: basic, reduced, baseline (biLSTM) and ResNet-18, each with an optional STN.

Shipped weights live in ``weights/`` as ``<architecture>.<tag>.safetensors`` beside a
model card ``<architecture>.<tag>.md``, and are selected as ``lprnet_basic.cn``.
"""

from pathlib import Path

from alprkit.hookspecs import hookimpl
from alprkit.registry import shipped_weights

WEIGHTS = Path(__file__).parent / "weights"

DESCRIPTIONS = {
    "lprnet_basic": "LPRNet basic (Table 3): small basic blocks, global context, 94x24, CTC.",
    "lprnet_reduced": "LPRNet reduced: 2x2 pooling strides, 22 CTC steps.",
    "lprnet_baseline": "LPRNet baseline: Inception blocks and a biLSTM decoder, CTC.",
    "lprnet_resnet18": "ResNet-18 backbone (timm), 3x48x96, biLSTM CTC head (NVIDIA baseline18).",
}


def _factory(architecture):
    def factory(**params):
        from .recognizer import create

        return create(architecture, **params)

    return factory


@hookimpl
def alprkit_register_recognizers(register):
    for architecture, description in DESCRIPTIONS.items():
        register(architecture, _factory(architecture), weights=shipped_weights(WEIGHTS, architecture),
                 description=description)


@hookimpl
def alprkit_register_configs(register):
    register("pkg://alprkit_lprnet.conf")
