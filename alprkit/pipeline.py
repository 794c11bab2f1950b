"""detector -> rectifier -> recognizer -> decoder -> post-filters, and a selector for video."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Optional, Sequence

from . import plugins
from .config import component_params, postfilter_nodes
from .errors import ConfigError
from .registry import Weights
from .tracking import UNREAD, Dropped, read_confidently
from .types import Crop, Frame, PlateObservation, PlateRead, PlateStream, Recognition, StreamResult
from .weights import weights_mismatch

STAGES = ("detection", "rectification", "recognition")
DEFAULT_TRACKER = "kalman"  # for a pipeline built without a tracker config (conf/components.yaml names it too)


def build_component(kind, node, registry=None):
    """Create a component from its config node; bad parameters name the component and key."""
    registry = registry or plugins.registry()
    return _build(kind, *component_params(node), registry)


def _build(kind, name, params, registry):
    component = registry.get(kind, name)  # unknown names list the available ones
    check_params(kind, component, params)
    user_weights = params.get("weights")
    try:
        return registry.create(kind, name, **params)
    except (KeyError, RuntimeError) as exc:
        # Only a file the user named can be at fault here; shipped weights fit their component.
        if user_weights is None or isinstance(user_weights, Weights):
            raise
        raise weights_mismatch(user_weights, exc, f"{kind} {component.name!r}") from None
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int(inf)
        # A factory handed a wrong or wrongly typed parameter; name the component and what it was given.
        given = ", ".join(f"{k}={v!r}" for k, v in params.items())
        raise ConfigError(f"{kind} {component.name!r} ({given}): {_arg_message(exc)}") from None


def check_params(kind, component, params):
    """Parameters the factory does not take are a ConfigError naming them, before anything is built."""
    import inspect

    try:
        signature = inspect.signature(component.factory)
    except (TypeError, ValueError):  # a builtin or C factory: let the call itself complain
        return
    accepted = signature.parameters
    if any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        return
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        known = ", ".join(n for n, p in accepted.items() if p.kind is not p.VAR_POSITIONAL) or "none"
        raise ConfigError(f"{kind} {component.name!r} has no parameter {', '.join(map(repr, unknown))} "
                          f"(parameters: {known})")


def _arg_message(exc):
    text = str(exc)
    return text.split(")", 1)[-1].strip() if "keyword argument" in text or "required" in text else text


@dataclass
class StageTimes:
    """Seconds spent per stage, one entry per processed image.

    A long-lived reader (the Python API, the HTTP server) turns ``enabled`` off: the lists
    would grow with every image it ever reads.
    """

    seconds: dict = field(default_factory=lambda: defaultdict(list))
    enabled: bool = True

    def add(self, stage, seconds):
        if self.enabled:
            self.seconds[stage].append(seconds)


def with_text(reads):
    """The reads that found characters: what ``run``, the Python API and the server report.

    A read without a single character is no plate: a crops pipeline given a whole photo reads "".
    """
    return [r for r in reads if r.recognition.text]


def _node_key(kind, name, params) -> str:
    """Two component nodes with equal keys build interchangeable components."""
    import json

    return json.dumps([kind, name, params], sort_keys=True, default=str)


def _tracker_maker(node, registry) -> Callable:
    """A function making a fresh tracker of ``node`` per video (a tracker holds one video's tracks)."""
    name, params = component_params(node)
    _build("tracker", name, params, registry)  # a mistake in its parameters is reported now, not at the first video
    return lambda: _build("tracker", name, params, registry)


class Pipeline:
    def __init__(self, detector, rectifier, recognizer, decoder, postfilters=(), selector=None, name="",
                 timed=True, tracker=None):
        self.detector = detector
        self.rectifier = rectifier
        self.recognizer = recognizer
        self.decoder = decoder
        self.postfilters = list(postfilters)
        self.selector = selector
        self.tracker = tracker  # makes a fresh tracker per video; None: the registry's DEFAULT_TRACKER
        self.name = name
        self.times = StageTimes(enabled=timed)
        self.parts: dict = {}  # node key -> component, filled by from_config (see its ``reuse``)

    @classmethod
    def from_config(cls, cfg, registry=None, reuse=None, timed=True) -> "Pipeline":
        """Build every component of ``cfg``.

        ``reuse`` maps node keys to components already built (the ``parts`` of other
        pipelines): a server's pipelines that differ only in their decoder then share one
        loaded recognizer.
        """
        registry = registry or plugins.registry()
        reuse = reuse if reuse is not None else {}
        parts = {}

        def build(kind, node):
            name, params = component_params(node)
            key = _node_key(kind, name, params)
            if key not in parts:
                parts[key] = reuse[key] if key in reuse else _build(kind, name, params, registry)
            return parts[key]

        pipeline = cls(
            detector=build("detector", cfg.detector),
            rectifier=build("rectifier", cfg.rectifier),
            recognizer=build("recognizer", cfg.recognizer),
            decoder=build("decoder", cfg.decoder),
            postfilters=[build("postfilter", n) for n in postfilter_nodes(cfg)],
            selector=build("selector", cfg.selector) if cfg.get("selector") else None,
            name=cfg.get("pipeline", {}).get("name", ""),
            timed=timed,
            tracker=_tracker_maker(cfg.tracker, registry) if cfg.get("tracker") else None,
        )
        pipeline.parts = parts
        return pipeline

    # -- single images -------------------------------------------------------------
    def read(self, frame: Frame) -> list[PlateRead]:
        """All plates read in one image (an image with no plate gives an empty list)."""
        observations = self.observe(frame)
        recognitions = self.recognize(observations)
        return [
            PlateRead(frame.source, frame.index, o.detection, r)
            for o, r in zip(observations, recognitions)
            if r is not None
        ]

    def read_many(self, frames: Sequence[Frame]) -> list[list[PlateRead]]:
        """``read`` of each frame, with the plates of all of them recognized in one batch."""
        observed = [self.observe(frame) for frame in frames]
        recognitions = self.recognize([o for observations in observed for o in observations])
        reads, start = [], 0
        for frame, observations in zip(frames, observed):
            mine = recognitions[start : start + len(observations)]
            start += len(observations)
            reads.append([PlateRead(frame.source, frame.index, o.detection, r)
                          for o, r in zip(observations, mine) if r is not None])
        return reads

    def observe(self, frame: Frame) -> list[PlateObservation]:
        """Detect and rectify, without recognition (video streams recognize lazily)."""
        detections = self._timed("detection", self.detector, frame)
        size = tuple(self.recognizer.input_size)
        crops = self._timed("rectification", lambda: [self.rectifier(frame, d, size) for d in detections])
        return [PlateObservation(frame.index, d, c) for d, c in zip(detections, crops)]

    def recognize(self, observations: Sequence[PlateObservation]) -> list[Optional[Recognition]]:
        """Recognize, decode and post-filter a batch; None where a filter dropped the read."""
        return self._timed("recognition", self.recognize_crops, [o.crop for o in observations])

    def recognize_crops(self, crops: Sequence[Crop]) -> list[Optional[Recognition]]:
        if not crops:
            return []
        return [self.finish(scores) for scores in self.recognizer(list(crops))]

    def finish(self, scores) -> Optional[Recognition]:
        """Decode and post-filter one crop's scores; None when a filter drops it."""
        recognition = self.decoder(scores)
        for postfilter in self.postfilters:
            recognition = postfilter(recognition)
            if recognition is None:
                return None
        return recognition

    # -- video ---------------------------------------------------------------------
    def read_stream(self, stream: PlateStream) -> Optional[StreamResult]:
        """The selector's read of one vehicle, with ``reads``: what each frame it recognized read."""
        if self.selector is None:
            raise ConfigError("reading video needs a selector (for example selector=majority)")
        cache = {}

        def recognize(observation: PlateObservation):
            key = observation.frame
            if key not in cache:
                cache[key] = self.recognize([observation])[0]
            return cache[key]

        result = self.selector(stream, recognize)
        return None if result is None else replace(result, reads=tuple(sorted(cache.items(), key=lambda kv: kv[0])))

    def new_tracker(self):
        """A fresh tracker for one video."""
        return self.tracker() if self.tracker is not None else plugins.registry().create("tracker", DEFAULT_TRACKER)

    def read_video(self, frames: Iterable[Frame], tracker=None, on_frame=None, on_dropped=None
                   ) -> Iterable[StreamResult]:  # fmt: skip
        """Track plates over frames and yield one result per vehicle as each track ends.

        ``on_frame(frame, current)`` sees each frame with the tracker's (track id, observation)
        pairs; ``on_dropped(Dropped)`` each track that is no vehicle (too short, an unsure
        detector, never read at the tracker's ``min_confidence``).
        """
        if self.selector is None:  # before any frame: a short video's tracks may all be dropped unread
            raise ConfigError("reading video needs a selector (for example selector=majority)")
        tracker = tracker or self.new_tracker()
        min_confidence = float(getattr(tracker, "min_confidence", 0.0))

        def vehicles(streams):
            for dropped in _drain(tracker):
                if on_dropped is not None:
                    on_dropped(dropped)
            for stream in streams:
                result = self.read_stream(stream)
                if result is None:
                    continue
                if min_confidence > 0 and not read_confidently((r for _, r in result.reads), min_confidence):
                    if on_dropped is not None:
                        on_dropped(Dropped(stream, f"{UNREAD} (tracker.min_confidence={min_confidence:g})"))
                    continue
                yield result

        for frame in frames:
            ended = tracker.update(frame.index, self.observe(frame))
            if on_frame is not None:
                on_frame(frame, tracker.current())
            yield from vehicles(ended)
        yield from vehicles(tracker.finish())

    def _timed(self, stage, fn, *args):
        start = time.perf_counter()
        out = fn(*args)
        self.times.add(stage, time.perf_counter() - start)
        return out


def _drain(tracker) -> list[Dropped]:
    """The tracks a tracker dropped since the last call (trackers without a ``dropped`` list drop none)."""
    dropped = getattr(tracker, "dropped", None)
    if not dropped:
        return []
    out = list(dropped)
    dropped.clear()
    return out
