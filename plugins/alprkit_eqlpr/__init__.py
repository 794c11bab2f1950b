"""EQ-LPR (seed 004): quality-aware plate stream recognition with siamese and distilled quality networks.

- recognizer ``eqlpr_attn``: the seed's CNN, LSTM encoder and attention decoder;
- selectors ``eqlpr_p``, ``eqlpr_s``, ``eqlpr_e``: Algorithm 1 (recognize a frame only when its
  quality beats the best so far) over a separate grey quality CNN (P), a quality head on the
  recognizer's shared features (S) or a lightweight network distilled from S (E). Each quality
  network learned the confidence of one recognizer; its weights are tagged by it
  (``eqlpr_e.lprnet_global`` for the multi-region LPRNet, ``eqlpr_e.attn`` for ``eqlpr_attn``).

Shipped weights live in ``weights/`` as ``<name>.<tag>.safetensors`` beside a model card.
"""

from pathlib import Path

from alprkit.hookspecs import hookimpl
from alprkit.registry import shipped_weights

WEIGHTS = Path(__file__).parent / "weights"

SELECTORS = {
    "eqlpr_p": "EQ-LPR-P (seed 004): Algorithm 1 over a separate grey quality CNN beside the recognizer.",
    "eqlpr_s": "EQ-LPR-S (seed 004): Algorithm 1 over a quality head on the recognizer's shared features.",
    "eqlpr_e": "EQ-LPR-E (seed 004): Algorithm 1 over a lightweight quality network distilled from S.",
}


def _recognizer(weights=None, region="br", backend="auto", threads=None, max_batch=64, widths=None, hidden=None,
                max_length=None):
    from .recognizer import create

    # The network's shape: for an untrained one only (weights bring their own).
    shape = {k: v for k, v in (("widths", widths), ("hidden", hidden), ("max_length", max_length)) if v is not None}
    return create(weights, region, backend, threads, max_batch, **shape)


def _selector(architecture):
    def factory(weights=None, backend="auto", threads=None, margin=0.0, max_batch=32):
        from .selectors import create

        return create(architecture, weights, backend, threads, margin, max_batch)

    return factory


@hookimpl
def alprkit_register_recognizers(register):
    register("eqlpr_attn", _recognizer, weights=shipped_weights(WEIGHTS, "eqlpr_attn"),
             description="EQ-LPR's recognizer (seed 004): 3x3 CNN, LSTM encoder, attention decoder, 96x32.")


@hookimpl
def alprkit_register_selectors(register):
    # needs_weights: an untrained quality network picks frames at random; the leaderboard scores trained ones only.
    for architecture, description in SELECTORS.items():
        register(architecture, _selector(architecture), weights=shipped_weights(WEIGHTS, architecture),
                 description=description, needs_weights=True)


@hookimpl
def alprkit_register_configs(register):
    register("pkg://alprkit_eqlpr.conf")
