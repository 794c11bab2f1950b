"""Score pipelines on a labelled dataset: crops, full images (scenes) or video tracks.

Crops give recognition metrics; scenes add detection AP and recall (where boxes exist),
the mean corner error of the plates found at IoU 0.5 that have labelled corners, and the
end-to-end reading rate as ``acc``; tracks score one read per vehicle, chosen by the
pipeline's stream selector, with per-frame accuracy, recognizer calls and time per frame
(:mod:`alprkit.stream_eval`). Latency is per image and per plate after warm-up, and
per stage; reading the image files is not part of it. Bad items are skipped and counted.

:func:`evaluate_many` scores several pipelines in one pass: each image is read once and
handed to every pipeline in turn, so pipelines that share components can share what
those computed (the leaderboard scores hundreds of combinations this way).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .batch import progress
from .data.cutouts import cut_out
from .data.dataset import CROPS, SCENES, TRACKS
from .errors import InputError
from .imageio import read_image
from .metrics import LatencyMeter, corner_error, detection_ap, end_to_end, error_breakdown, recognition_metrics
from .pipeline import STAGES


CORNER_IOU = 0.5  # a plate counts towards the corner error when found at this IoU, as for recall50


@dataclass
class EvalResult:
    metrics: dict
    predictions: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    error: Optional[str] = None  # evaluate_many(catch=True): why this pipeline stopped; metrics are then empty


@dataclass
class _Tally:
    """One pipeline's running record over the pass."""

    pipeline: object
    latency: LatencyMeter
    pairs: list = field(default_factory=list)
    predictions: list = field(default_factory=list)
    regions_right: list = field(default_factory=list)
    detections: list = field(default_factory=list)
    quads: list = field(default_factory=list)  # (image, box, corners): for the corner error
    reads: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    error: Optional[str] = None


def evaluate(pipeline, dataset, *, warmup=3, iou_threshold=0.5, fold=None, show_progress=True,
             plates_from=None) -> EvalResult:
    """Score one pipeline; an exception in the pipeline propagates."""
    return evaluate_many([pipeline], dataset, warmup=warmup, iou_threshold=iou_threshold, fold=fold,
                         show_progress=show_progress, plates_from=plates_from)[0]


def evaluate_many(pipelines, dataset, *, warmup=3, iou_threshold=0.5, fold=None, show_progress=True,
                  catch=False, plates_from=None) -> list[EvalResult]:
    """Score each pipeline on ``dataset`` in one pass; results in the order of ``pipelines``.

    With ``catch`` a pipeline that raises gets an :class:`EvalResult` whose ``error`` is
    the exception's first line, and the others go on; without it the exception propagates.
    A pipeline's latency uses its ``clock`` where it has one. On tracks, ``plates_from``
    (``corners`` or ``box``) cuts each frame's labelled plate out instead of running the
    detector, and pipelines sharing components share their detections and recognitions.
    """
    tallies = []
    for pipeline in pipelines:
        pipeline.times.seconds.clear()
        clock = getattr(pipeline, "clock", None)
        tallies.append(_Tally(pipeline, LatencyMeter(warmup=warmup, item="plate", clock=clock)))
    failures = []  # unreadable items: the same for every pipeline
    if dataset.kind == TRACKS:
        _tracks(tallies, dataset, failures, fold, show_progress, catch, warmup, plates_from, iou_threshold)
    else:
        run = {CROPS: _crops, SCENES: _scenes}[dataset.kind]
        run(tallies, dataset, failures, iou_threshold, fold, show_progress, catch)
    results = []
    for tally in tallies:
        if tally.error is not None:
            results.append(EvalResult({}, tally.predictions, failures, tally.error))
            continue
        # Tracks time their own stages: pipelines share detections there, so per-pipeline stage times would lie.
        tally.metrics.update(_latency_figures(tally.latency, tally.pipeline, warmup, stages=dataset.kind != TRACKS))
        tally.metrics["failed"] = len(failures)
        results.append(EvalResult(tally.metrics, tally.predictions, failures))
    return results


def _each(tallies, catch, step):
    """``step(tally)`` for every pipeline still running; with ``catch`` one that raises is stopped."""
    for tally in tallies:
        if tally.error is not None:
            continue
        try:
            step(tally)
        except Exception as exc:  # one failing combination must not stop the others
            if not catch:
                raise
            text = f"{type(exc).__name__}: {exc}".strip()
            tally.error = text.splitlines()[0] if text else type(exc).__name__


def _read(path, failures):
    try:
        return read_image(path)
    except InputError as exc:
        failures.append((str(path), exc.reason))
        return None


def _crops(tallies, dataset, failures, iou_threshold, fold, show_progress, catch):
    for sample in progress(dataset.samples, desc="crops", enabled=show_progress):
        frame = _read(sample.path, failures)
        if frame is None:
            continue
        if "cut_quad" in sample.extra:  # a plate of a photo set (crops_from=box)
            try:
                frame = type(frame)(cut_out(frame.pixels, sample.extra["cut_quad"], sample.extra["cut_by"]),
                                    frame.source)
            except ValueError as exc:
                failures.append((str(sample.path), str(exc)))
                continue

        def step(tally, frame=frame, sample=sample):
            with tally.latency.measure() as m:
                reads = tally.pipeline.read(frame)
                m.items = 1
            best = max(reads, key=lambda r: r.recognition.confidence, default=None)
            text = best.recognition.text if best else None
            tally.pairs.append((text, sample.text))
            record = {"file": sample.path.name, "truth": sample.text, "text": text,
                      "confidence": round(float(best.recognition.confidence), 4) if best else None}
            if best is not None and best.recognition.region_confidence is not None:  # a multi-region recognizer
                truth_region = sample.plates[0].region or sample.region
                record.update(region=best.recognition.region, truth_region=truth_region)
                if truth_region:
                    tally.regions_right.append(best.recognition.region == truth_region)
            tally.predictions.append(record)

        _each(tallies, catch, step)
    for tally in tallies:
        tally.metrics = recognition_metrics(tally.pairs, fold)
        tally.metrics["errors"] = error_breakdown(tally.pairs)
        if tally.regions_right:
            tally.metrics["region_acc"] = float(np.mean(tally.regions_right))


def _scenes(tallies, dataset, failures, iou_threshold, fold, show_progress, catch):
    boxes, truths, corners = [], [], []
    for index, sample in enumerate(progress(dataset.samples, desc="images", enabled=show_progress)):
        frame = _read(sample.path, failures)
        if frame is None:
            continue

        def step(tally, frame=frame, index=index, sample=sample):
            with tally.latency.measure() as m:
                observations = tally.pipeline.observe(frame)
                recognitions = tally.pipeline.recognize(observations)
                m.items = len(observations)
            for o in observations:
                tally.detections.append((index, o.detection.box, o.detection.score))
                # A detector without corners is scored by its box's: what a rectifier would cut.
                tally.quads.append((index, o.detection.box, o.detection.quad()))
            found = []
            for o, r in zip(observations, recognitions):
                if r is not None:
                    tally.reads.append((index, o.detection.box, r.text))
                    found.append({"text": r.text, "confidence": round(float(r.confidence), 4),
                                  "box": [round(float(v), 1) for v in o.detection.box]})
            tally.predictions.append({"file": sample.path.name, "truth": [p.text for p in sample.plates],
                                      "reads": found})

        _each(tallies, catch, step)
        for plate in sample.plates:
            if plate.box is not None:
                boxes.append((index, plate.box))
                corners.append((index, plate.box, plate.corners))
                if plate.text is not None:
                    truths.append((index, plate.box, plate.text))
    for tally in tallies:
        tally.metrics = {"boxes": len(boxes)}
        if boxes:
            tally.metrics.update(detection_ap(tally.detections, boxes))
            tally.metrics.update(corner_error(tally.quads, corners, CORNER_IOU))
        if truths:
            tally.metrics.update(end_to_end(tally.reads, truths, iou_threshold, fold))


def _tracks(tallies, dataset, failures, fold, show_progress, catch, warmup, plates_from, iou_threshold):
    from .stream_eval import score_tracks

    def read_frame(sample):
        frame = _read(sample.path, failures)
        return None if frame is None else type(frame)(frame.pixels, frame.source, sample.frame)

    def bar(items, desc):
        return progress(items, desc=desc, enabled=show_progress)

    score_tracks(tallies, dataset, read_frame, fold=fold, warmup=warmup, plates_from=plates_from, progress=bar,
                 catch=catch, iou_threshold=iou_threshold)


def _latency_figures(latency, pipeline, warmup, stages=True) -> dict:
    summary = latency.summary()
    figures = {
        "ms_per_image_p50": summary.get("p50_ms"),
        "ms_per_image_p95": summary.get("p95_ms"),
        "ms_per_plate_p50": summary.get("p50_ms_per_plate"),
        "ms_per_plate_p95": summary.get("p95_ms_per_plate"),
    }
    for stage in STAGES if stages else ():
        seconds = pipeline.times.seconds.get(stage, [])[warmup:]
        figures[f"ms_{stage}_p50"] = float(np.median(seconds) * 1000) if seconds else math.nan
    return figures
