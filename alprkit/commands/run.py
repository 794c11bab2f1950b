"""``alprkit run``: read plates in an image, a folder of images or a video.

Prints one JSON line per plate (per vehicle for video) on stdout; progress and the
report of bad items go to stderr. Exit status 1 when any item failed.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from ..atomic import remove_stale_temporaries
from ..batch import BatchReport, plural, progress
from ..config import config_int
from ..errors import ConfigError, InputError
from ..imageio import imwrite_atomic, list_images, read_image
from ..outputs import annotated_names
from ..pipeline import Pipeline, with_text
from ..video import BadFrame, is_video, iter_video, video_info
from ..video_out import TrackLog, annotated_video_name, write_annotated_video

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def main(cfg, words) -> int:
    if words:
        raise ConfigError(f"run takes one input: {' '.join(words)!r} (usage: alprkit run [INPUT] [key=value ...])")
    # Without input, each pipeline reads the built-in samples made for it (crops or full images).
    source = Path(str(cfg.input)) if cfg.input else SAMPLES / cfg.pipeline.get("sample", "crops_cn")
    if not source.exists():
        raise InputError(source, "no such file or folder")
    output = Path(str(cfg.output)) if cfg.output else None
    step = config_int(cfg.video, "step", minimum=1, name="video.step")
    if output is not None and output.is_dir():
        remove_stale_temporaries(output)  # what a killed earlier run was writing
    pipeline = Pipeline.from_config(cfg)
    report = BatchReport()
    reads_crops = cfg.pipeline.get("input") == "crops"
    if source.is_dir():
        _run_images(pipeline, list_images(source), source, output, report, cfg.progress, reads_crops)
    elif is_video(source):
        _run_video(pipeline, source, step, cfg, output, report)
    else:
        _run_images(pipeline, [source], source.parent, output, report, False, reads_crops, single=True)
    return report.finish(item="image" if not is_video(source) else "frame")


def _emit(record: dict):
    print(json.dumps(record, ensure_ascii=False), flush=True)


def _write_annotated(path, pixels, reads, report, item) -> None:
    from ..draw import annotate

    try:
        # The frame is done with: drawn on and turned to BGR in place, no copy of a large photo is made.
        imwrite_atomic(path, annotate(pixels, reads, in_place=True), scratch=True)
    except (OSError, InputError) as exc:  # a full disk or a folder made read-only mid-run: keep going
        reason = exc.reason if isinstance(exc, InputError) else (exc.strerror or str(exc))
        report.fail(item, f"annotated copy {path} not written ({reason})")


def _run_images(pipeline, paths, root, output, report, progress_bar, reads_crops, single=False):
    names = annotated_names(paths, root) if output is not None else {}
    photo_inputs = []
    for path in progress(paths, desc="images", enabled=progress_bar):
        try:
            frame = read_image(path)
        except InputError as exc:
            if single:
                raise
            report.fail(path, exc.reason)
            continue
        reads = with_text(pipeline.read(frame))
        report.done(plates=len(reads))
        for read in reads:
            _emit(read.to_json())
        # Read or not, a whole photo given to a crops pipeline is a mistake worth naming: the
        # recognizer squeezes it to a plate's size and may still emit a few low-confidence characters.
        if reads_crops and _looks_like_photo(frame, pipeline):
            photo_inputs.append(path)
        if output is not None:
            _write_annotated(output / names[path], frame.pixels, reads, report, path)
    if photo_inputs:
        print(f"alprkit: note: {len(photo_inputs)} image(s) look like whole photos, not plate crops "
              f"(first: {photo_inputs[0]}); pipeline {pipeline.name!r} reads plates already cut out: for photos "
              "choose one with a detector (pipeline=lprnet_cn_mtcnn, lprnet_us_mtcnn ...)", file=sys.stderr)


def _looks_like_photo(frame, pipeline) -> bool:
    width, height = pipeline.recognizer.input_size
    h, w = frame.pixels.shape[:2]
    return w * h > 16 * width * height or h > 0.8 * w  # much larger than a crop, or not plate-shaped


def _run_video(pipeline, source, step, cfg, output, report):
    info = video_info(source)
    total = info.frame_count // step if info.frame_count else None

    def frames():
        for item in progress(iter_video(source, step=step), desc="frames", total=total,
                             enabled=cfg.progress):
            if isinstance(item, BadFrame):
                report.fail(f"{source}#frame={item.index}", item.reason)
                continue
            report.done()
            yield item

    if cfg.video.per_frame:
        for frame in frames():
            reads = with_text(pipeline.read(frame))
            report.plates += len(reads)
            for read in reads:
                _emit(read.to_json())
            if output is not None:
                _write_annotated(output / f"{source.stem}.{frame.index:06d}.jpg", frame.pixels, reads, report,
                                 f"{source}#frame={frame.index}")
        return
    log, dropped, vehicles = TrackLog(), [], []
    for result in pipeline.read_video(frames(), on_frame=log if output is not None else None,
                                      on_dropped=dropped.append):
        if not result.recognition.text:
            continue
        report.plates += 1
        vehicles.append(result)
        _emit(result.to_json(str(source)))
    _note_dropped(dropped)
    if output is not None:
        path = output / annotated_video_name(source)
        try:
            write_annotated_video(path, source, step, log, vehicles, [d.stream.track_id for d in dropped],
                                  progress=lambda items: progress(items, desc="annotated video", total=total,
                                                                  enabled=cfg.progress))
        except (OSError, InputError) as exc:  # a full disk, an unwritable folder: the JSON lines stand
            reason = exc.reason if isinstance(exc, InputError) else (exc.strerror or str(exc))
            report.fail(source, f"annotated video {path} not written ({reason})")


def _note_dropped(dropped):
    """Tracks that were no vehicle, by reason: a user whose sign or car is missing learns why."""
    if not dropped:
        return
    reasons = Counter(d.reason.split(" (")[0] for d in dropped)
    detail = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common())
    print(f"alprkit: note: {plural(len(dropped), 'track')} dropped as no vehicle ({detail}; tracker.min_frames, "
          "tracker.min_score and tracker.min_confidence decide)", file=sys.stderr)
