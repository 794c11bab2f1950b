"""The hooks a plugin may implement.

Every hook receives a ``register`` callback instead of returning a list, so the core
decides what a duplicate name means, resolves aliases and records which plugin and
distribution provided each component. Factories must import heavy dependencies
(torch, cv2 ...) inside their body: listing plugins imports every plugin module.

Call signature of ``register`` for the seven component kinds and datasets::

    register(name, factory, *, aliases=(), weights=None, description=None)

``factory(**params)`` builds the component; ``weights`` maps a tag (``"cn"``) to a
:class:`alprkit.registry.Weights`, selected as ``name.tag``. Other keywords are kept in
``Component.extra``; the leaderboard reads two of a detector's: ``reads="crops"`` for one
whose input is a plate already cut out (scored on crop sets, not photos), and
``needs_weights=False`` for a detector or recognizer with nothing to train (scored
without weights; those that have weights are scored only with them).
"""

import pluggy

hookspec = pluggy.HookspecMarker("alprkit")
hookimpl = pluggy.HookimplMarker("alprkit")


@hookspec
def alprkit_register_detectors(register):
    """Register plate detectors: ``Frame -> list[Detection]``."""


@hookspec
def alprkit_register_rectifiers(register):
    """Register rectifiers: ``(Frame, Detection, size) -> Crop`` of the recognizer's input size."""


@hookspec
def alprkit_register_recognizers(register):
    """Register recognizers: ``list[Crop] -> list[CharScores]``, with ``input_size`` and ``alphabet``."""


@hookspec
def alprkit_register_decoders(register):
    """Register decoders: ``CharScores -> Recognition`` with top-N candidates."""


@hookspec
def alprkit_register_postfilters(register):
    """Register post-filters: ``Recognition -> Recognition | None`` (None drops the read)."""


@hookspec
def alprkit_register_selectors(register):
    """Register stream selectors: ``(PlateStream, recognize) -> StreamResult`` for video."""


@hookspec
def alprkit_register_trackers(register):
    """Register video trackers: ``factory(**params)`` gives a fresh tracker for one video, with
    ``update(frame, observations) -> ended streams``, ``finish()`` and ``current()`` (see
    :class:`alprkit.protocols.Tracker`; :class:`alprkit.tracking.Tracker` does the bookkeeping)."""


@hookspec
def alprkit_register_datasets(register):
    """Register dataset formats: ``factory(path, **params) -> Dataset``.

    Besides ``factory`` a dataset registration may pass ``sniff=callable(path) -> bool``
    so that ``alprkit eval data=PATH`` can recognise the format from the folder's files.
    """


@hookspec
def alprkit_register_configs(register):
    """Register Hydra config sources: ``register("pkg://my_plugin.conf")``.

    The folder holds config groups (``recognizer/``, ``pipeline/`` ...) that are
    searched after alprkit's own, so a plugin can add ``pipeline=my_pipeline``.
    """
