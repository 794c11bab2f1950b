"""Scoring video selectors on labelled tracks as UFPR-ALPR does: one read per vehicle.

A track (``Dataset.tracks()``: one vehicle, its frames in order) is seen once per
detector: every frame detected and rectified, the observation overlapping the labelled
plate most kept if its IoU reaches ``iou_threshold`` (``eval.iou``, as a photo's read needs
to count as found: a false detection elsewhere is no observation of the vehicle); or, with
``plates_from``, the labelled plate cut out by its corners or box (recognition alone, as
UFPR's recognition protocol scores it). Every frame is recognized at most once per
recognizer, however many selectors are scored: a selector's ``recognize`` calls go
through a shared cache and are counted for that selector.

A selector's time is what it would take alone: the detection of every frame, the
recognition of the frames it called, and its own work (a quality network, say).

Per vehicle: ``acc``, ``acc_1e``, ``acc_2e``, ``cer`` of the selector's read against
the track's plate. Per frame: ``frame_acc`` (every frame read on its own; the same for
all selectors of one recognizer) and ``acc_any`` (tracks that some frame reads right:
no single-frame choice can do better). Cost: ``calls_per_frame`` (recognizer calls over
labelled frames) and ``ms_per_frame`` (mean over the tracks after ``warmup``; all tracks
when there are no more than ``warmup``), split into ``ms_detect_per_frame``,
``ms_recognize_per_call`` and ``ms_select_per_frame``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from time import perf_counter
from typing import Optional

import numpy as np

from .data.cutouts import CUT_BY
from .errors import ConfigError
from .metrics import iou, recognition_metrics
from .types import Detection, PlateObservation, PlateStream


@dataclass
class _Record:
    """One pipeline's counts over the tracks, beside its evaluate._Tally."""

    frame_pairs: list = field(default_factory=list)
    any_right: list = field(default_factory=list)
    recognized: list = field(default_factory=list)
    calls: int = 0
    frames: int = 0
    observed: int = 0
    warmup: int = 0  # tracks whose time is not counted
    seen: int = 0
    timed: dict = field(default_factory=lambda: {"detect": 0.0, "recognize": 0.0, "select": 0.0, "frames": 0,
                                                 "calls": 0})  # seconds and counts of the tracks past warm-up


def score_tracks(tallies, dataset, read_frame, *, fold=None, warmup=0, plates_from=None, progress=None,
                 catch=False, iou_threshold=0.5):
    """Fill each tally's ``pairs``, ``predictions`` and ``metrics`` (evaluate._Tally objects).

    ``read_frame(sample)`` gives the frame of a sample (its ``index`` the sample's frame
    number) or None for an unreadable image; ``progress(items, desc)`` wraps the track
    loop (a progress bar).
    """
    if plates_from is not None and plates_from not in CUT_BY:
        raise ConfigError(f"crops_from={plates_from!r} is not one of {', '.join(CUT_BY)}")
    tracks = list(dataset.tracks().items())
    records = {id(t): _Record(warmup=warmup if len(tracks) > warmup else 0) for t in tallies}
    for track, samples in (progress or (lambda items, desc: items))(tracks, "tracks"):
        frames = [(s, f) for s in samples if (f := read_frame(s)) is not None]
        truth = _track_text(samples)
        observed = _observe_all(tallies, frames, plates_from, catch, iou_threshold)
        caches: dict = {}  # recognize key -> {frame: (recognition, seconds)}, shared by selectors of one recognizer

        def views(tally):
            return (observed[_observe_key(tally.pipeline, plates_from)],
                    caches.setdefault(_recognize_key(tally.pipeline, plates_from), {}))

        for tally in _running(tallies):
            _guarded(tally, catch, lambda: _select(tally, records[id(tally)], track, truth, samples, *views(tally)))
        # Only once every selector has run: a frame read here would cost the later selectors nothing.
        for tally in _running(tallies):
            _guarded(tally, catch, lambda: _frame_reads(tally, records[id(tally)], samples, truth, *views(tally), fold))
        del frames
    for tally in tallies:
        if tally.error is None:
            tally.metrics = _metrics(tally, records[id(tally)], fold)


def _running(tallies):
    return [t for t in tallies if t.error is None]


def _guarded(tally, catch, step):
    try:
        step()
    except Exception as exc:  # one failing combination must not stop the others
        if not catch:
            raise
        text = f"{type(exc).__name__}: {exc}".strip()
        tally.error = text.splitlines()[0] if text else type(exc).__name__


def _clock(pipeline):
    return getattr(pipeline, "clock", None) or perf_counter


# -- seeing each frame once per detector -------------------------------------------------------


def _observe_key(pipeline, plates_from):
    finder = ("labels", plates_from) if plates_from else id(pipeline.detector)
    return finder, id(pipeline.rectifier), tuple(pipeline.recognizer.input_size)


def _recognize_key(pipeline, plates_from):
    return (_observe_key(pipeline, plates_from), id(pipeline.recognizer), id(pipeline.decoder),
            tuple(id(f) for f in pipeline.postfilters))


def _observe_all(tallies, frames, plates_from, catch, iou_threshold) -> dict:
    """observe key -> [(sample, observation or None, seconds)] of every readable frame."""
    observed = {}
    for tally in _running(tallies):
        key = _observe_key(tally.pipeline, plates_from)
        if key in observed:
            continue
        result = []
        _guarded(tally, catch,
                 lambda t=tally: result.extend(_observe(t.pipeline, frames, plates_from, iou_threshold)))
        if tally.error is not None:  # its detector failed: so does every pipeline sharing it
            for other in _running(tallies):
                if _observe_key(other.pipeline, plates_from) == key:
                    other.error = tally.error
            continue
        observed[key] = result
    return observed


def _observe(pipeline, frames, plates_from, iou_threshold):
    clock = _clock(pipeline)
    size = tuple(pipeline.recognizer.input_size)
    out = []
    for sample, frame in frames:
        start = clock()
        if plates_from:
            observation = _labelled(pipeline, frame, sample, plates_from, size)
        else:
            found = pipeline.observe(frame)
            observation = _closest(found, sample.plates, iou_threshold) if found else None
        out.append((sample, observation, clock() - start))
    return out


def _labelled(pipeline, frame, sample, by, size) -> Optional[PlateObservation]:
    plate = next((p for p in sample.plates if p.box is not None), None)
    if plate is None:
        return None
    detection = Detection(plate.box, 1.0, plate.corners if by == "corners" else None)
    return PlateObservation(frame.index, detection, pipeline.rectifier(frame, detection, size))


def _closest(observations, plates, iou_threshold):
    """The observation overlapping the labelled plate most, if by at least ``iou_threshold``, else None
    (a frame without a labelled box: the most confident one)."""
    boxes = [p.box for p in plates if p.box is not None]
    if not boxes:
        return max(observations, key=lambda o: o.detection.score)
    overlap, best = max(((max(iou(o.detection.box, b) for b in boxes), k) for k, o in enumerate(observations)),
                        key=lambda pair: pair[0])
    return observations[best] if overlap >= iou_threshold else None


def _track_text(samples):
    texts = [s.text for s in samples if s.text]
    return max(set(texts), key=texts.count) if texts else None


# -- one selector on one track -------------------------------------------------------------------


def _select(tally, record, track, truth, samples, observed, cache):
    pipeline = tally.pipeline
    if pipeline.selector is None:
        raise ConfigError("scoring tracks needs a selector (selector=majority, or selectors=[...])")
    clock = _clock(pipeline)
    stream = PlateStream(track, tuple(o for _, o, _ in observed if o is not None))
    called, computing = set(), [0.0]

    def recognize(observation):
        if observation.frame not in cache:
            start = clock()
            recognition = pipeline.recognize([observation])[0]
            cache[observation.frame] = (recognition, clock() - start)
            computing[0] += cache[observation.frame][1]
        called.add(observation.frame)
        return cache[observation.frame][0]

    result, select = None, 0.0
    if stream.observations:
        start = clock()
        result = pipeline.selector(stream, recognize)
        select = max(0.0, clock() - start - computing[0])
    detect = sum(seconds for _, _, seconds in observed)
    recognizing = sum(cache[f][1] for f in called)
    seconds = detect + recognizing + select
    tally.latency.add(seconds, 1)
    record.seen += 1
    if record.seen > record.warmup:
        timed = record.timed
        timed["detect"] += detect
        timed["recognize"] += recognizing
        timed["select"] += select
        timed["frames"] += len(samples)
        timed["calls"] += len(called)
    text = result.recognition.text if result else None
    tally.pairs.append((text, truth))
    record.calls += len(called)
    record.frames += len(samples)
    record.observed += len(stream.observations)
    record.recognized.append(len(called))
    tally.predictions.append({
        "track": track, "truth": truth, "text": text,
        "confidence": round(float(result.recognition.confidence), 4) if result else None,
        "frame": result.frame if result else None, "recognized_frames": sorted(called),
        "calls": len(called), "frames": len(samples), "observed": len(stream.observations),
        "ms": round(1000 * seconds, 3),
    })


def _frame_reads(tally, record, samples, truth, observed, cache, fold):
    """Every labelled frame read on its own (untimed: for frame_acc and acc_any, not for any selector)."""
    reads = {}
    for sample, observation, _ in observed:
        if observation is None:
            continue
        if observation.frame not in cache:
            cache[observation.frame] = (tally.pipeline.recognize([observation])[0], 0.0)
        recognition = cache[observation.frame][0]
        reads[sample.frame] = recognition.text if recognition is not None else None
    pairs = [(reads.get(s.frame), s.text or truth) for s in samples if s.text or truth]
    record.frame_pairs.extend(pairs)
    record.any_right.append(any(recognition_metrics([pair], fold)["acc"] == 1.0 for pair in pairs))


def _metrics(tally, record, fold) -> dict:
    metrics = recognition_metrics(tally.pairs, fold)
    frame_metrics = recognition_metrics(record.frame_pairs, fold) if record.frame_pairs else {"acc": math.nan}
    timed = record.timed
    metrics.update(
        frames=record.frames,
        observed_frames=record.observed,
        frame_acc=frame_metrics["acc"],
        acc_any=float(np.mean(record.any_right)) if record.any_right else math.nan,
        calls=record.calls,
        calls_per_frame=record.calls / record.frames if record.frames else math.nan,
        frames_recognized_mean=float(np.mean(record.recognized)) if record.recognized else math.nan,
        ms_per_frame=_ms(timed["detect"] + timed["recognize"] + timed["select"], timed["frames"]),
        ms_detect_per_frame=_ms(timed["detect"], timed["frames"]),
        ms_recognize_per_call=_ms(timed["recognize"], timed["calls"]),
        ms_select_per_frame=_ms(timed["select"], timed["frames"]),
    )
    return metrics


def _ms(seconds, count):
    return 1000 * seconds / count if count else math.nan
