"""Seed 002's recognizer: parallel spatial transformers cut one 48x24 segment per character from
the plate rectified to 48x120, shared-weight classifiers read them, the region's templates are
the per-position priors (``recognizer=parallel_stn``; docs/pstn.md).

Trained weights live in ``weights/`` as ``parallel_stn.<tag>.safetensors`` beside a model card
``parallel_stn.<tag>.md`` and are selected as ``parallel_stn.cn``.
"""

from pathlib import Path

from alprkit.hookspecs import hookimpl
from alprkit.registry import shipped_weights

WEIGHTS = Path(__file__).parent / "weights"


class _Factory:
    """Builds the recognizer, importing it (and numpy) only then; its signature is the real one, so
    a misspelled key is named before anything is built (``alprkit.pipeline.check_params``)."""

    def __call__(self, **params):
        from .recognizer import create

        return create(**params)

    @property
    def __signature__(self):
        import inspect

        from .recognizer import create

        return inspect.signature(create)


_create = _Factory()


@hookimpl
def alprkit_register_recognizers(register):
    register("parallel_stn", _create, aliases=["pstn"], weights=shipped_weights(WEIGHTS, "parallel_stn"),
             description="Parallel STNs + shared-weight character classifiers with template priors, 48x120 "
                         "(seed 002).")


@hookimpl
def alprkit_register_configs(register):
    register("pkg://alprkit_pstn.conf")
