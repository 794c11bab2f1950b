"""``alprkit segments``: a contact sheet of what a parallel-STN recognizer learned (seed 002, Fig. 5).

One row per plate of the input images, as the pipeline finds them: (a) the detected patch with
its corners, (b) the plate rectified by the pipeline's rectifier and its read, (c) the segments
the STNs cut from it, and, unless ``unrectified.rectifier=null``, (d) the same detection cut
without rectification (``identity``: its box, resized) with the segments and read of
``unrectified.weights`` (a model trained with ``dataset.cut=box``; by default the same model).
Images that cannot be read are listed and skipped; the sheet is written atomically.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import OmegaConf

from ..batch import BatchReport, plural, progress
from ..config import config_int
from ..errors import ConfigError, InputError
from ..imageio import imwrite_atomic, list_images, read_image
from ..pipeline import Pipeline, build_component

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def main(cfg, words) -> int:
    from ..draw import contact_sheet
    from ..segments import plate_segments

    if words:
        raise ConfigError(f"segments takes one input: {' '.join(words)!r} "
                          "(usage: alprkit segments [INPUT] key=value ...)")
    source = Path(str(cfg.input)) if cfg.input else SAMPLES / cfg.pipeline.get("sample", "crops_cn")
    paths = list_images(source) if source.is_dir() else [source]
    limit = config_int(cfg, "limit", minimum=1)
    scale = config_int(cfg, "scale", minimum=1)
    pipeline = Pipeline.from_config(cfg)
    unrectified = _unrectified(cfg)
    report = BatchReport()
    rows = plate_segments(pipeline, _frames(paths, report, cfg.get("progress", True)), limit, unrectified,
                          on_bad=report.fail)
    if not rows:
        if report.failures and not report.processed:  # nothing could be read: say why, not "no plate"
            name, reason = report.failures[0]
            raise InputError(name, reason if len(paths) == 1 else f"{reason} (and every other image of {source})")
        raise InputError(source, "no plate found to draw (is it the right pipeline for these images?)")
    report.plates = len(rows)
    imwrite_atomic(cfg.output, contact_sheet(rows, scale=scale))
    print(f"alprkit: {plural(len(rows), 'plate')} drawn into {cfg.output}", file=sys.stderr)
    return report.finish(item="image")


def _frames(paths, report, show):
    for path in progress(paths, desc="images", enabled=show and len(paths) > 1):
        try:
            frame = read_image(path)
        except InputError as exc:
            yield str(path), exc.reason
            continue
        report.done()
        yield frame


def _unrectified(cfg):
    node = cfg.unrectified
    if not node.get("rectifier"):
        return None
    rectifier = build_component("rectifier", OmegaConf.create({"name": str(node.rectifier)}))
    recognizer_node = cfg.recognizer
    if node.get("weights"):
        # A plain copy: the composed node is a struct without a `weights` key, and a tagged name
        # (parallel_stn.cn) would bring the shipped weights instead of these.
        recognizer_node = OmegaConf.create(OmegaConf.to_container(recognizer_node, resolve=True))
        recognizer_node.name = str(recognizer_node.name).split(".")[0]
        recognizer_node.weights = str(node.weights)
    return rectifier, build_component("recognizer", recognizer_node)
