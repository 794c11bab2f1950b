"""The Python API: read plates from Python with the pipelines the CLI runs.

    import alprkit

    reader = alprkit.Reader("lprnet_stn", detector="mtcnn")   # alprkit run pipeline=lprnet_stn detector=mtcnn
    for read in reader("car.jpg"):                            # a path, a numpy RGB image, encoded bytes
        print(read.recognition.text, read.to_json())          # the JSON line `alprkit run` prints
    alprkit.components("recognizer")                          # what recognizer=NAME accepts

A reader composes ``conf/api.yaml`` with the same registry, Hydra overrides and checks as
``alprkit run`` (a mistake is a one-line :class:`~alprkit.errors.AlprkitError` before any
model loads), builds its pipeline once and keeps it. One reader serves one thread at a time.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Union

import numpy as np

from .errors import ConfigError, InputError
from .types import Frame, PlateRead, StreamResult

Image = Union[str, Path, np.ndarray, bytes, bytearray, memoryview, Frame]
KINDS = ("pipeline", "detector", "rectifier", "recognizer", "decoder", "postfilter", "selector", "tracker", "dataset")


def build_pipeline(cfg, reuse=None):
    """The pipeline of a checked config, built for a long-lived reader (no per-image timings kept)."""
    from omegaconf.errors import OmegaConfBaseException

    from .config import omegaconf_error
    from .pipeline import Pipeline

    try:
        return Pipeline.from_config(cfg, reuse=reuse, timed=False)
    except OmegaConfBaseException as exc:
        raise omegaconf_error(exc) from None


def settings_overrides(settings: dict, prefix: str = "") -> list[str]:
    """Python keyword settings as Hydra overrides: ``detector="mtcnn"`` -> ``detector='mtcnn'``.

    Strings are quoted, so they stay strings whatever they hold (a path like ``2024``, Chinese
    letters). A dict sets keys under its key (``video={"step": 2}`` -> ``video.step=2``) and
    leaves the others as they are.
    """
    from .cli import hydra_safe

    overrides = []
    for key, value in settings.items():
        if isinstance(value, dict):
            overrides += settings_overrides(value, f"{prefix}{key}.")
        else:
            overrides.append(hydra_safe(f"{prefix}{key}={_hydra_value(value)}", always=isinstance(value, (str, Path))))
    return overrides


def _hydra_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float, str, Path)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_quoted(v) for v in value) + "]"
    raise ConfigError(f"setting value {value!r} is a {type(value).__name__}; give a string, number, bool, "
                      "None, a list of them or a dict")


def _quoted(value) -> str:
    if isinstance(value, (str, Path)):
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
    return _hydra_value(value)


class Reader:
    """Reads plates with one pipeline, built once.

    ``Reader(pipeline, *overrides, **settings)``: ``pipeline`` names a shipped pipeline
    (``alprkit.components("pipeline")``; None is run's default), ``overrides`` are Hydra
    strings as on the command line (``"decoder.beam_width=5"``), ``settings`` the same as
    keywords where the key has no dot (``detector="mtcnn"``, ``decoder="greedy"``).
    """

    def __init__(self, pipeline: Optional[str] = None, *overrides: str, **settings):
        from .checks import checked_config
        from .cli import hydra_safe

        given = [hydra_safe(f"pipeline={pipeline}", always=True)] if pipeline is not None else []
        for override in overrides:
            if not isinstance(override, str) or "=" not in override:
                raise ConfigError(f"override {override!r} must be a 'key=value' string")
            given.append(hydra_safe(override))
        given += settings_overrides(settings)
        self.overrides = tuple(given)
        self.config = checked_config("api", given)
        self.pipeline = build_pipeline(self.config)

    @property
    def name(self) -> str:
        return self.pipeline.name

    def __repr__(self):
        return f"Reader({self.name!r}{''.join(', ' + repr(o) for o in self.overrides if not o.startswith('pipeline='))})"

    def __call__(self, item: Image) -> Union[list[PlateRead], list[StreamResult]]:
        """The plates of one image (``list[PlateRead]``), or of a video file, one per vehicle
        (``list[StreamResult]``, as ``read_video``)."""
        from .video import is_video

        if isinstance(item, (str, Path)) and is_video(item):
            return list(self.read_video(item))
        return self.read_batch([item])[0]

    def read_batch(self, items: Iterable[Image]) -> list[list[PlateRead]]:
        """The plates of each image, in order; ``batch_size`` images' plates are recognized together.

        A bad image raises :class:`InputError` naming it (a folder run skips them; a list is the caller's).
        """
        from .pipeline import with_text

        items = list(items)
        size = int(self.config.batch_size)
        reads = []
        for start in range(0, len(items), size):
            frames = [self.frame(item) for item in items[start : start + size]]
            reads.extend(with_text(r) for r in self.pipeline.read_many(frames))
        return reads

    def read_video(self, path, on_bad_frame: Optional[Callable[[str, str], None]] = None) -> Iterator[StreamResult]:
        """One :class:`StreamResult` per vehicle of a video, yielded as each track ends.

        Frames that cannot be read are skipped and reported to ``on_bad_frame(item, reason)``
        (``item`` is ``path#frame=N``), or as a warning without it. ``video.step`` applies.
        """
        from .video import BadFrame, iter_video

        report = on_bad_frame or _warn_bad_frame

        def frames():
            for item in iter_video(path, step=int(self.config.video.step)):
                if isinstance(item, BadFrame):
                    report(f"{path}#frame={item.index}", item.reason)
                else:
                    yield item

        for result in self.pipeline.read_video(frames()):
            if result.recognition.text:
                yield result

    @staticmethod
    def frame(item: Image) -> Frame:
        """A frame from a path, a uint8 pixel array (RGB, gray or RGBA), an encoded image's bytes or a Frame."""
        from .imageio import decode_image, frame_from_pixels, read_image

        if isinstance(item, Frame):
            return item
        if isinstance(item, np.ndarray):
            return frame_from_pixels(item)
        if isinstance(item, (bytes, bytearray, memoryview)):
            return decode_image(item, "<bytes>")
        if isinstance(item, (str, Path)):
            from .video import is_video

            if is_video(item):
                raise InputError(item, "is a video: read it with reader(path) or reader.read_video(path)")
            if Path(item).is_dir():
                raise InputError(item, "is a folder: pass its images (alprkit.imageio.list_images) to read_batch")
            return read_image(item)
        raise TypeError(f"cannot read a {type(item).__name__}: give a path, a numpy array, bytes or a Frame")


def _warn_bad_frame(item: str, reason: str) -> None:
    warnings.warn(f"{item}: {reason} (skipped)", stacklevel=3)


def components(kind: Optional[str] = None) -> Union[list[str], dict[str, list[str]]]:
    """What ``kind=NAME`` accepts (``"pipeline"``, ``"recognizer"``, ``"detector"`` ...), sorted;
    without ``kind``, a dict of every kind's names."""
    from .config import group_options

    if kind is None:
        return {k: group_options(k) for k in KINDS}
    if kind not in KINDS:
        raise ConfigError(f"unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
    return group_options(kind)
