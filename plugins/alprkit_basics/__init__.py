"""alprkit's bundled model-free components, registered like any third-party plugin.

Modules are imported inside the factories so that listing plugins stays instant.
"""

from alprkit.hookspecs import hookimpl


def _lazy(module, attr):
    """A factory that imports ``module`` only when the component is built."""

    def factory(**params):
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)(**params)

    factory.__doc__ = f"{module}.{attr}"
    return factory


@hookimpl
def alprkit_register_detectors(register):
    # reads="crops": its input is a plate already cut out (the leaderboard scores it on crop sets);
    # needs_weights=False: it has nothing to train, so it is scored without weights.
    register("whole_image", _lazy("detectors", "WholeImageDetector"), aliases=["crop"], reads="crops",
             needs_weights=False, description="The whole image is one plate (inputs already cropped).")


@hookimpl
def alprkit_register_rectifiers(register):
    register("identity", _lazy("rectifiers", "IdentityRectifier"),
             description="Crop the axis-aligned box and resize; no geometric correction.")
    register("perspective", _lazy("rectifiers", "PerspectiveRectifier"), aliases=["homography"],
             description="Homography from the four detected corners to the crop.")


@hookimpl
def alprkit_register_decoders(register):
    register("greedy", _lazy("ctc", "GreedyDecoder"), aliases=["greedy_ctc"],
             description="Best-path CTC decoding with top-N one-character alternatives.")
    register("beam", _lazy("ctc", "BeamSearchDecoder"), aliases=["beam_ctc"],
             description="CTC prefix beam search returning the top-N strings.")


@hookimpl
def alprkit_register_postfilters(register):
    register("passthrough", _lazy("postfilters", "PassThrough"), aliases=["none"],
             description="Keep every read as decoded.")
    register("template", _lazy("postfilters", "TemplateFilter"),
             description="First top-N candidate matching the region's plate templates (LPRNet paper).")
    register("charset", _lazy("postfilters", "CharsetFilter"),
             description="First top-N candidate of valid length using only the region's characters.")


@hookimpl
def alprkit_register_selectors(register):
    register("first_frame", _lazy("selectors", "FirstFrame"), aliases=["first"],
             description="Read only the track's first frame.")
    register("last_frame", _lazy("selectors", "LastFrame"), aliases=["last"],
             description="Read only the track's last frame.")
    register("majority", _lazy("selectors", "MajorityVote"), aliases=["vote"],
             description="Per-character majority vote over all frames.")
    register("best_confidence", _lazy("selectors", "BestConfidence"), aliases=["best"],
             description="The most confident single-frame read of all frames.")


@hookimpl
def alprkit_register_trackers(register):
    register("iou", _lazy("trackers", "IouTracker"),
             description="Greedy IoU with each track's last box.")
    register("kalman", _lazy("trackers", "KalmanTracker"),
             description="Constant-velocity Kalman filter on box centre and size, Hungarian assignment on IoU.")


@hookimpl
def alprkit_register_datasets(register):
    # The loaders only parse file names and label files, so importing them here stays cheap.
    from alprkit.data.formats import FORMATS

    for name, (loader, sniff) in FORMATS.items():
        register(name, loader, sniff=sniff, description=(loader.__doc__ or "").strip().splitlines()[0])


@hookimpl
def alprkit_register_configs(register):
    register("pkg://alprkit_basics.conf")
