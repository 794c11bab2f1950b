"""Score a pipeline on a labelled dataset: crops, full images (scenes) or video tracks.

Crops give recognition metrics; scenes add detection AP (where boxes exist) and the
end-to-end reading rate as ``acc``; tracks score one read per vehicle, chosen by the
pipeline's stream selector. Latency is per image and per plate after warm-up, and
per stage. Bad items are skipped and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .batch import progress
from .data.cutouts import cut_out
from .data.dataset import CROPS, SCENES, TRACKS
from .errors import InputError
from .imageio import read_image
from .metrics import LatencyMeter, detection_ap, end_to_end, error_breakdown, iou, recognition_metrics
from .pipeline import STAGES
from .types import PlateStream


@dataclass
class EvalResult:
    metrics: dict
    predictions: list = field(default_factory=list)
    failures: list = field(default_factory=list)


def evaluate(pipeline, dataset, *, warmup=3, iou_threshold=0.5, fold=None, show_progress=True) -> EvalResult:
    run = {CROPS: _crops, SCENES: _scenes, TRACKS: _tracks}[dataset.kind]
    latency = LatencyMeter(warmup=warmup, item="plate")
    pipeline.times.seconds.clear()
    result = run(pipeline, dataset, latency, iou_threshold, fold, show_progress)
    result.metrics.update(_latency_figures(latency, pipeline, warmup))
    result.metrics["failed"] = len(result.failures)
    return result


def _read(path, failures):
    try:
        return read_image(path)
    except InputError as exc:
        failures.append((str(path), exc.reason))
        return None


def _crops(pipeline, dataset, latency, iou_threshold, fold, show_progress):
    pairs, predictions, failures, regions_right = [], [], [], []
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
        with latency.measure() as m:
            reads = pipeline.read(frame)
            m.items = 1
        best = max(reads, key=lambda r: r.recognition.confidence, default=None)
        text = best.recognition.text if best else None
        pairs.append((text, sample.text))
        record = {"file": sample.path.name, "truth": sample.text, "text": text,
                  "confidence": round(float(best.recognition.confidence), 4) if best else None}
        if best is not None and best.recognition.region_confidence is not None:  # a multi-region recognizer
            truth_region = sample.plates[0].region or sample.region
            record.update(region=best.recognition.region, truth_region=truth_region)
            if truth_region:
                regions_right.append(best.recognition.region == truth_region)
        predictions.append(record)
    metrics = recognition_metrics(pairs, fold)
    metrics["errors"] = error_breakdown(pairs)
    if regions_right:
        metrics["region_acc"] = float(np.mean(regions_right))
    return EvalResult(metrics, predictions, failures)


def _scenes(pipeline, dataset, latency, iou_threshold, fold, show_progress):
    detections, reads, boxes, truths = [], [], [], []
    predictions, failures = [], []
    for index, sample in enumerate(progress(dataset.samples, desc="images", enabled=show_progress)):
        frame = _read(sample.path, failures)
        if frame is None:
            continue
        with latency.measure() as m:
            observations = pipeline.observe(frame)
            recognitions = pipeline.recognize(observations)
            m.items = len(observations)
        for o in observations:
            detections.append((index, o.detection.box, o.detection.score))
        found = []
        for o, r in zip(observations, recognitions):
            if r is not None:
                reads.append((index, o.detection.box, r.text))
                found.append({"text": r.text, "confidence": round(float(r.confidence), 4),
                              "box": [round(float(v), 1) for v in o.detection.box]})
        for plate in sample.plates:
            if plate.box is not None:
                boxes.append((index, plate.box))
                if plate.text is not None:
                    truths.append((index, plate.box, plate.text))
        predictions.append({"file": sample.path.name, "truth": [p.text for p in sample.plates], "reads": found})
    metrics = {}
    if boxes:
        metrics.update(detection_ap(detections, boxes))
    if truths:
        metrics.update(end_to_end(reads, truths, iou_threshold, fold))
    return EvalResult(metrics, predictions, failures)


def _tracks(pipeline, dataset, latency, iou_threshold, fold, show_progress):
    pairs, predictions, failures, recognized = [], [], [], []
    for track, samples in progress(list(dataset.tracks().items()), desc="tracks", enabled=show_progress):
        observations = []
        with latency.measure() as m:
            for sample in samples:
                frame = _read(sample.path, failures)
                if frame is None:
                    continue
                frame = type(frame)(frame.pixels, frame.source, sample.frame)
                found = pipeline.observe(frame)
                if found:
                    observations.append(_closest(found, sample.plates))
            result = pipeline.read_stream(PlateStream(track, tuple(observations))) if observations else None
            m.items = 1
        truth = _track_text(samples)
        text = result.recognition.text if result else None
        pairs.append((text, truth))
        recognized.append(len(result.recognized_frames) if result else 0)
        predictions.append({"track": track, "truth": truth, "text": text,
                            "frame": result.frame if result else None,
                            "recognized_frames": recognized[-1], "frames": len(samples)})
    metrics = recognition_metrics(pairs, fold)
    metrics["frames_recognized_mean"] = float(np.mean(recognized)) if recognized else math.nan
    return EvalResult(metrics, predictions, failures)


def _closest(observations, plates):
    """The observation overlapping the labelled plate most (or the most confident one)."""
    boxes = [p.box for p in plates if p.box is not None]
    if not boxes:
        return max(observations, key=lambda o: o.detection.score)
    return max(observations, key=lambda o: max(iou(o.detection.box, b) for b in boxes))


def _track_text(samples):
    texts = [s.text for s in samples if s.text]
    return max(set(texts), key=texts.count) if texts else None


def _latency_figures(latency, pipeline, warmup) -> dict:
    summary = latency.summary()
    figures = {
        "ms_per_image_p50": summary.get("p50_ms"),
        "ms_per_image_p95": summary.get("p95_ms"),
        "ms_per_plate_p50": summary.get("p50_ms_per_plate"),
        "ms_per_plate_p95": summary.get("p95_ms_per_plate"),
    }
    for stage in STAGES:
        seconds = pipeline.times.seconds.get(stage, [])[warmup:]
        figures[f"ms_{stage}_p50"] = float(np.median(seconds) * 1000) if seconds else math.nan
    return figures
