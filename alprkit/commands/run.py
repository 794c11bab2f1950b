"""``alprkit run``: read plates in an image, a folder of images or a video.

Prints one JSON line per plate (per vehicle for video) on stdout; progress and the
report of bad items go to stderr. Exit status 1 when any item failed.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..batch import BatchReport, progress
from ..config import config_int
from ..errors import InputError
from ..imageio import imwrite_atomic, list_images, read_image
from ..pipeline import Pipeline
from ..video import BadFrame, is_video, iter_video, video_info

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def main(cfg, words) -> int:
    # Without input, each pipeline reads the built-in samples made for it (crops or full images).
    source = Path(cfg.input) if cfg.input else SAMPLES / cfg.pipeline.get("sample", "crops_cn")
    if not source.exists():
        raise InputError(source, "no such file or folder")
    output = Path(cfg.output) if cfg.output else None
    pipeline = Pipeline.from_config(cfg)
    report = BatchReport()
    if source.is_dir():
        _run_images(pipeline, list_images(source), output, report, cfg.progress)
    elif is_video(source):
        _run_video(pipeline, source, cfg, output, report)
    else:
        _run_images(pipeline, [source], output, report, progress_bar=False, single=True)
    return report.finish(item="image" if not is_video(source) else "frame")


def _emit(record: dict):
    print(json.dumps(record, ensure_ascii=False), flush=True)


def _run_images(pipeline, paths, output, report, progress_bar, single=False):
    for path in progress(paths, desc="images", enabled=progress_bar):
        try:
            frame = read_image(path)
        except InputError as exc:
            if single:
                raise
            report.fail(path, exc.reason)
            continue
        reads = pipeline.read(frame)
        report.done(plates=len(reads))
        for read in reads:
            _emit(read.to_json())
        if output is not None:
            from ..draw import annotate

            imwrite_atomic(output / f"{Path(path).stem}.annotated.jpg", annotate(frame.pixels, reads))


def _run_video(pipeline, source, cfg, output, report):
    step = config_int(cfg.video, "step", minimum=1)
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
            reads = pipeline.read(frame)
            report.plates += len(reads)
            for read in reads:
                _emit(read.to_json())
            if output is not None:
                from ..draw import annotate

                imwrite_atomic(output / f"{source.stem}.{frame.index:06d}.jpg", annotate(frame.pixels, reads))
        return
    for result in pipeline.read_video(frames()):
        report.plates += 1
        _emit(result.to_json(str(source)))
