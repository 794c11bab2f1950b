"""The synthetic data engine: plates, degradations, scenes, splits, tracks and training streams.

Plates are drawn per region with their real layouts (:mod:`.plates`), posed and
degraded (:mod:`.geometry`, :mod:`.degrade`, :mod:`.conditions`), cut out as
recognition crops (:mod:`.crop`) or composed into street scenes (:mod:`.scenes`)
and video tracks (:mod:`.tracks`), and written in the real formats
(:mod:`.datasets`) or streamed for training (:mod:`.streams`, which imports torch).
"""

from .conditions import SPLITS, Conditions, sample_conditions
from .crop import CropSample, render_crop
from .datasets import SynthJob, generate
from .plates import LAYOUTS, RenderedPlate, render_plate
from .scenes import SceneSample, render_scene
from .tracks import TrackFrame, render_track

__all__ = [
    "LAYOUTS",
    "SPLITS",
    "Conditions",
    "CropSample",
    "RenderedPlate",
    "SceneSample",
    "SynthJob",
    "TrackFrame",
    "generate",
    "render_crop",
    "render_plate",
    "render_scene",
    "render_track",
    "sample_conditions",
]
