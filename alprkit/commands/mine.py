"""``alprkit mine detector=NAME data=PATH output=DIR``: a detector's false positives on labelled photos.

Runs the detector over every image of a labelled folder and writes the detections
that overlap no labelled plate (IoU below ``iou``) to ``DIR/negatives.jsonl``, one per
line with the photo, the box, the score and the photo's labelled plates, and each cut
out to ``DIR/crops/``. Detector training reads them back as a ``kind: negatives``
source (``dataset=scenes_multi_negatives dataset.negatives=DIR``). Unreadable images
are listed at the end (exit status 1); the others are mined.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import OmegaConf

from ..atomic import write_json_atomic
from ..batch import BatchReport
from ..config import component_params, config_int
from ..data.dataset import SCENES
from ..data.formats import load_dataset
from ..data.splits import select_split
from ..errors import ConfigError, InputError
from ..mining import mine
from ..pipeline import build_component


def main(cfg, words) -> int:
    if words:
        raise ConfigError(f"mine takes no words: {' '.join(words)!r} (usage: alprkit mine detector=NAME data=PATH "
                          "output=DIR)")
    dataset = load_dataset(cfg.data, format=cfg.format, strict=False)
    if dataset.kind != SCENES:
        raise InputError(cfg.data, f"holds {dataset.kind}; mining needs full images with labelled plate boxes")
    samples = select_split(dataset.samples, cfg.split)
    limit = config_int(cfg, "limit", minimum=1)
    samples = samples[:limit] if limit else samples
    if not samples:
        raise InputError(cfg.data, "no labelled image to mine")
    detector = build_component("detector", cfg.detector)
    report = BatchReport()
    output = Path(str(cfg.output))
    jsonl = mine(detector, samples, output, float(cfg.iou), bool(cfg.crops), report, bool(cfg.progress))
    name, _ = component_params(cfg.detector)
    write_json_atomic(output / "mine.json", {
        "detector": OmegaConf.to_container(cfg.detector, resolve=True), "data": str(cfg.data),
        "split": OmegaConf.to_container(cfg.split) if cfg.split else None, "iou": float(cfg.iou),
        "images": report.processed, "negatives": report.plates, "failed": len(report.failures),
        "skipped_labels": len(dataset.problems),
    })
    print(f"alprkit: {report.plates} false positives of {name} written to {jsonl}", file=sys.stderr)
    return report.finish(item="image", found="false positive")
