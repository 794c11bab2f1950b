"""Pipelines that share the stage outputs of the image being scored.

The leaderboard scores hundreds of combinations on the same images, and most share
their first stages: every decoder reads the same recognizer scores, every recognizer
the same detections. :class:`SharingPipeline` computes a stage once per image for all
pipelines built from the same components, and replays it for the others.

Latency stays honest: each stage output is stored with the time it took when it was
computed, and a pipeline that replays it has that time added to its clock. A row's
latency is then the sum of its own stages' measured times, as if it had run alone.
The stored outputs live exactly as long as their frame (a weak reference ends them).
"""

from __future__ import annotations

import json
import weakref
from time import perf_counter

from omegaconf import OmegaConf

from ..pipeline import Pipeline, build_component
from ..types import PlateObservation


class StageMemo:
    """Stage outputs per frame, and which frame each observation came from."""

    def __init__(self):
        self._frames: dict = {}  # id(frame) -> {stage key: (value, seconds)}
        self._owners: dict = {}  # id(observation) -> that frame's memo

    def of_frame(self, frame) -> dict:
        memo = self._frames.get(id(frame))
        if memo is None:
            memo = self._frames[id(frame)] = {"observations": []}
            weakref.finalize(frame, self._forget, id(frame))
        return memo

    def own(self, memo: dict, observations):
        for observation in observations:
            if id(observation) not in self._owners:
                self._owners[id(observation)] = memo
                memo["observations"].append(id(observation))

    def of_observations(self, observations):
        return self._owners.get(id(observations[0])) if observations else None

    def _forget(self, frame_id):
        memo = self._frames.pop(frame_id, None)
        for observation_id in (memo or {}).get("observations", ()):
            self._owners.pop(observation_id, None)


class SharingPipeline(Pipeline):
    """A pipeline whose stages look up, or store, their outputs in a shared :class:`StageMemo`."""

    def __init__(self, *args, memo: StageMemo, **kwargs):
        super().__init__(*args, **kwargs)
        self.memo = memo
        # A stage's output is named by the ids of the components that made it (shared objects).
        self.keys = {kind: id(getattr(self, kind)) for kind in ("detector", "rectifier", "recognizer", "decoder")}
        self._replayed = 0.0

    @classmethod
    def build(cls, cfg, memo: StageMemo, parts: dict, registry=None) -> "SharingPipeline":
        """The pipeline of a combination's config; components already in ``parts`` are reused.

        ``parts`` (node key -> component, as ``Pipeline.from_config`` fills it) keeps one object
        per distinct component node, so an object's id names its outputs in the memo.
        """
        if cfg.get("recognizer") is None:  # a detection row: the detector alone
            key = json.dumps(["detector", OmegaConf.to_container(cfg.detector, resolve=True)], sort_keys=True)
            if key not in parts:
                parts[key] = build_component("detector", cfg.detector, registry)
            return cls(parts[key], None, None, None, memo=memo)
        plain = Pipeline.from_config(cfg, registry=registry, reuse=parts)
        parts.update(plain.parts)
        return cls(plain.detector, plain.rectifier, plain.recognizer, plain.decoder, plain.postfilters,
                   plain.selector, memo=memo)

    def clock(self) -> float:
        """Seconds: wall time plus the recorded time of every stage output this pipeline replayed."""
        return perf_counter() + self._replayed

    def _stage(self, memo, key, compute):
        if memo is not None and key in memo:
            value, seconds = memo[key]
            self._replayed += seconds
            return value, seconds
        start = perf_counter()
        value = compute()
        seconds = perf_counter() - start
        if memo is not None:
            memo[key] = (value, seconds)
        return value, seconds

    def observe(self, frame):
        memo = self.memo.of_frame(frame)
        detections, seconds = self._stage(memo, ("detect", self.keys["detector"]), lambda: self.detector(frame))
        self.times.add("detection", seconds)
        if self.recognizer is None:
            return [PlateObservation(frame.index, d, None) for d in detections]
        size = tuple(self.recognizer.input_size)
        observations, seconds = self._stage(
            memo, ("rectify", self.keys["detector"], self.keys["rectifier"], size),
            lambda: [PlateObservation(frame.index, d, self.rectifier(frame, d, size)) for d in detections])
        self.times.add("rectification", seconds)
        self.memo.own(memo, observations)
        return list(observations)

    def recognize(self, observations):
        if self.recognizer is None:
            return [None] * len(observations)
        memo = self.memo.of_observations(observations)
        ids = tuple(id(o) for o in observations)
        scores, recognizing = self._stage(memo, ("recognize", self.keys["recognizer"], ids),
                                          lambda: self.recognizer([o.crop for o in observations]) if ids else [])
        decoded, decoding = self._stage(memo, ("decode", self.keys["decoder"], self.keys["recognizer"], ids),
                                        lambda: [self.decoder(s) for s in scores])
        start = perf_counter()
        results = [self._filtered(r) for r in decoded]
        self.times.add("recognition", recognizing + decoding + perf_counter() - start)
        return results

    def recognize_crops(self, crops):
        raise NotImplementedError("a SharingPipeline recognizes observations (recognize), not bare crops")

    def _filtered(self, recognition):
        for postfilter in self.postfilters:
            recognition = postfilter(recognition)
            if recognition is None:
                return None
        return recognition
