"""``alprkit eval pipeline=NAME data=PATH``: score a pipeline on a labelled folder.

Prints a readable table, then, as the last line, one JSON object of the metrics
(``acc``, ``acc_1e``, ``acc_2e``, ``acc_pos1`` and ``acc_pos2n`` (seed 002's Acc@1 and
Acc@2-7), ``cer``, ``ap50`` ..., ``recall50`` and ``corner_error_px`` where boxes exist,
latency) for scripts to read. On video tracks ``selectors=[a,b]`` (or ``selectors=all``)
scores several selectors in one pass over the frames: one table row and one JSON line each.
"""

from __future__ import annotations

import json
import sys

from omegaconf import OmegaConf

from ..atomic import atomic_write
from ..batch import plural
from ..config import chosen_components, config_int
from ..data.cutouts import plates_as_crops
from ..data.dataset import TRACKS
from ..data.formats import detect_format, load_dataset
from ..data.splits import select_split
from ..errors import ConfigError, InputError
from ..evaluate import evaluate_many
from ..metrics import format_table
from ..pipeline import Pipeline, build_component

COLUMNS = {
    "crops": ["n", "acc", "acc_1e", "acc_2e", "acc_pos1", "acc_pos2n", "cer", "ms_per_plate_p50"],
    "scenes": ["n", "acc", "acc_1e", "acc_pos1", "acc_pos2n", "cer", "ap50", "ap70", "ap90", "ap_mean", "recall50",
               "corner_error_px", "ms_per_image_p50"],
    "tracks": ["selector", "n", "acc", "acc_1e", "acc_2e", "cer", "frame_acc", "acc_any", "calls_per_frame",
               "ms_per_frame"],
}


def main(cfg, words) -> int:
    fmt = cfg.format or detect_format(cfg.data)
    dataset = load_dataset(cfg.data, format=fmt, strict=False)
    dataset.samples = select_split(dataset.samples, cfg.split)
    tracks = dataset.kind == TRACKS
    if cfg.get("crops_from") and not tracks:  # on tracks the pipeline cuts the labelled plate out of each frame
        dataset = plates_as_crops(dataset, str(cfg.crops_from))
    if cfg.get("selectors") and not tracks:
        raise ConfigError(f"selectors= scores video selectors, but {cfg.data} holds {dataset.kind}, not tracks")
    limit = config_int(cfg, "limit", minimum=1)
    if limit:
        dataset = dataset.first(limit)
    if not dataset.samples:
        _print_problems(dataset.problems)
        selected = " selected by split=" if cfg.split else ""
        raise InputError(cfg.data, f"no labelled item{selected} to score ({plural(len(dataset.problems), 'label')} "
                                   "skipped)")
    pipeline = Pipeline.from_config(cfg)
    scored = _with_selectors(pipeline, cfg) if tracks else [(None, pipeline)]
    fold = OmegaConf.to_container(cfg.fold) if cfg.fold else None
    results = evaluate_many([p for _, p in scored], dataset, warmup=config_int(cfg, "warmup", 0),
                            iou_threshold=float(cfg.iou), fold=fold, show_progress=cfg.progress,
                            plates_from=str(cfg.crops_from) if tracks and cfg.get("crops_from") else None)
    rows = []
    for (selector, _), result in zip(scored, results):
        head = {"pipeline": pipeline.name, **({"selector": selector} if tracks else {}), "data": str(cfg.data),
                "format": fmt, **({"crops_from": str(cfg.crops_from)} if tracks and cfg.get("crops_from") else {})}
        rows.append({**head, **result.metrics, "label_problems": len(dataset.problems)})
    if cfg.output:
        with atomic_write(cfg.output) as f:
            for (selector, _), result in zip(scored, results):
                for record in result.predictions:
                    record = {"selector": selector, **record} if selector else record
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")
    failures = results[0].failures  # unreadable items: the same for every selector
    for path, reason in failures:
        print(f"alprkit: failed: {path}: {reason}", file=sys.stderr)
    _print_problems(dataset.problems)
    if len(failures) >= len(dataset.samples):
        # Null metrics with exit status 0 would look like a result.
        raise InputError(cfg.data, f"none of its {plural(len(dataset.samples), 'item')} could be read "
                                   "(each is listed above)")
    stage_columns = [c for c in rows[0] if c.startswith("ms_") and c.endswith("_p50") and "per" not in c]
    print(format_table(rows, ["pipeline", *COLUMNS[dataset.kind], *stage_columns]))
    for metrics in rows:  # the last line (one per selector on tracks) is JSON
        print(json.dumps({k: _plain(v) for k, v in metrics.items()}, ensure_ascii=False))
    return 1 if failures else 0


def _with_selectors(pipeline, cfg) -> list[tuple[str, Pipeline]]:
    """(selector option, pipeline) per selector scored: the pipeline's own, or each of ``selectors=``,
    all sharing the pipeline's components (so frames are detected and recognized once)."""
    if not cfg.get("selectors"):
        return [(str(cfg.selector.name), pipeline)]
    chosen, left_out = chosen_components("selector", cfg.selectors, "selectors")
    for note in left_out:
        print(f"alprkit: note: {note}", file=sys.stderr)
    return [(option, Pipeline(pipeline.detector, pipeline.rectifier, pipeline.recognizer, pipeline.decoder,
                              pipeline.postfilters, selector=build_component("selector", OmegaConf.create(node)),
                              name=pipeline.name,
                              tracker=pipeline.tracker))
            for option, node in chosen]


def _print_problems(problems):
    for problem in problems:
        print(f"alprkit: skipped label: {problem}", file=sys.stderr)


def _plain(value):
    if isinstance(value, float):
        return None if value != value else round(value, 6)  # NaN -> null keeps the line valid JSON
    return value
