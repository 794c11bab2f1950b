"""``alprkit eval pipeline=NAME data=PATH``: score a pipeline on a labelled folder.

Prints a readable table, then, as the last line, one JSON object of the metrics
(``acc``, ``acc_1e``, ``acc_2e``, ``cer``, ``ap50`` ... where boxes exist, latency)
for scripts to read.
"""

from __future__ import annotations

import json
import sys

from omegaconf import OmegaConf

from ..atomic import atomic_write
from ..batch import plural
from ..config import config_int
from ..data.cutouts import plates_as_crops
from ..data.formats import detect_format, load_dataset
from ..data.splits import select_folds
from ..errors import InputError
from ..evaluate import evaluate
from ..metrics import format_table
from ..pipeline import Pipeline

COLUMNS = {
    "crops": ["n", "acc", "acc_1e", "acc_2e", "acc_pos1", "acc_pos2n", "cer", "ms_per_plate_p50"],
    "scenes": ["n", "acc", "acc_1e", "cer", "ap50", "ap70", "ap90", "ap_mean", "recall50", "ms_per_image_p50"],
    "tracks": ["n", "acc", "acc_1e", "acc_2e", "cer", "frames_recognized_mean", "ms_per_plate_p50"],
}


def main(cfg, words) -> int:
    fmt = cfg.format or detect_format(cfg.data)
    dataset = load_dataset(cfg.data, format=fmt, strict=False)
    if cfg.split:
        keep = cfg.split.keep
        keep = OmegaConf.to_object(keep) if OmegaConf.is_list(keep) else config_int(cfg.split, "keep", 0, name="split.keep")
        dataset.samples = select_folds(dataset.samples, config_int(cfg.split, "folds", 2, name="split.folds"), keep)
    if cfg.get("crops_from"):
        dataset = plates_as_crops(dataset, str(cfg.crops_from))
    limit = config_int(cfg, "limit", minimum=1)
    if limit:
        dataset.samples = dataset.samples[:limit]
    if not dataset.samples:
        _print_problems(dataset.problems)
        selected = " selected by split=" if cfg.split else ""
        raise InputError(cfg.data, f"no labelled item{selected} to score ({plural(len(dataset.problems), 'label')} "
                                   "skipped)")
    pipeline = Pipeline.from_config(cfg)
    fold = OmegaConf.to_container(cfg.fold) if cfg.fold else None
    result = evaluate(pipeline, dataset, warmup=config_int(cfg, "warmup", 0), iou_threshold=float(cfg.iou), fold=fold,
                      show_progress=cfg.progress)
    metrics = {"pipeline": pipeline.name, "data": str(cfg.data), "format": fmt, **result.metrics,
               "label_problems": len(dataset.problems)}
    if cfg.output:
        with atomic_write(cfg.output) as f:
            for record in result.predictions:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    for path, reason in result.failures:
        print(f"alprkit: failed: {path}: {reason}", file=sys.stderr)
    _print_problems(dataset.problems)
    if len(result.failures) >= len(dataset.samples):
        # Null metrics with exit status 0 would look like a result.
        raise InputError(cfg.data, f"none of its {plural(len(dataset.samples), 'item')} could be read "
                                   "(each is listed above)")
    stage_columns = [c for c in metrics if c.startswith("ms_") and c.endswith("_p50") and "per" not in c]
    print(format_table([metrics], ["pipeline", *COLUMNS[dataset.kind], *stage_columns]))
    print(json.dumps({k: _plain(v) for k, v in metrics.items()}, ensure_ascii=False))
    return 1 if result.failures else 0


def _print_problems(problems):
    for problem in problems:
        print(f"alprkit: skipped label: {problem}", file=sys.stderr)


def _plain(value):
    if isinstance(value, float):
        return None if value != value else round(value, 6)  # NaN -> null keeps the line valid JSON
    return value
