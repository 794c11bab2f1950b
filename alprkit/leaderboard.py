"""Score every pipeline on every benchmark it fits, and render the leaderboard from the results.

A pipeline fits a benchmark when its ``pipeline.input`` (crops or scenes) can read the
benchmark's kind (crops; scenes or tracks) and their regions match. Benchmarks are
real folders (skipped, with a note, where absent) or synthetic sets generated once
by the synthetic engine and cached. The page and the plot are generated from
``results.json``, never edited by hand.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from omegaconf import OmegaConf

from .atomic import write_json_atomic, write_text_atomic
from .backends import cache_dir
from .data.formats import load_dataset
from .data.splits import select_folds
from .evaluate import evaluate
from .metrics import format_table
from .pipeline import Pipeline

READS = {"crops": ("crops",), "scenes": ("scenes", "tracks")}
COLUMNS = ["pipeline", "benchmark", "n", "acc", "acc_1e", "acc_2e", "cer", "ap50", "ap_mean", "ms_per_image_p50",
           "ms_per_plate_p50"]


@dataclass(frozen=True)
class Benchmark:
    name: str
    kind: str  # crops, scenes or tracks
    region: str
    data: Optional[str] = None  # a folder in any supported format
    synth: Optional[dict] = None  # or an alprkit synth job (format, regions, splits, count, seed ...)
    split: Optional[dict] = None  # {folds, keep}: only plates whose text falls in these folds
    by_split: bool = False  # one row per CCPD-style split (sample.extra["split"])

    @classmethod
    def from_config(cls, name, node):
        node = OmegaConf.to_container(node, resolve=True)
        return cls(name=name, **node)


def fits(pipeline_cfg, benchmark: Benchmark) -> bool:
    meta = pipeline_cfg.pipeline
    return benchmark.kind in READS.get(meta.get("input", "crops"), ()) and meta.get("region") == benchmark.region


def benchmark_folder(benchmark: Benchmark, show_progress=False) -> Optional[Path]:
    """The benchmark's data folder; synthetic sets are generated on first use and cached."""
    if benchmark.data:
        path = Path(benchmark.data).expanduser()
        return path if path.exists() else None
    from .data.synth.datasets import SynthJob, generate

    job = dict(benchmark.synth)
    key = hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()[:12]
    out = cache_dir() / "benchmarks" / f"{benchmark.name}-{key}"
    if not out.exists():
        regions = job.pop("regions", benchmark.region)
        generate(SynthJob(out=out, regions={regions: 1.0} if isinstance(regions, str) else regions,
                          splits=tuple(job.pop("splits", ["base"])), **job), progress=show_progress)
    return out


def groups(dataset, benchmark: Benchmark):
    """(row name, dataset) pairs: the whole set, or one per split."""
    if benchmark.split:
        dataset.samples = select_folds(dataset.samples, int(benchmark.split["folds"]), benchmark.split["keep"])
    if not benchmark.by_split:
        yield benchmark.name, dataset
        return
    names = sorted({s.extra.get("split", "") for s in dataset.samples})
    for name in names:
        part = type(dataset)(dataset.name, dataset.kind, dataset.root,
                             [s for s in dataset.samples if s.extra.get("split", "") == name])
        yield f"{benchmark.name}/{name}", part


def run(pipeline_cfgs: dict, benchmarks: list[Benchmark], warmup=3, show_progress=True, log=print) -> dict:
    """Score every fitting (pipeline, benchmark); returns the results document."""
    rows, notes = [], []
    for benchmark in benchmarks:
        todo = {name: cfg for name, cfg in pipeline_cfgs.items() if fits(cfg, benchmark)}
        if not todo:
            continue
        folder = benchmark_folder(benchmark, show_progress)
        if folder is None:
            notes.append(f"{benchmark.name}: data not found at {benchmark.data}; not scored")
            continue
        dataset = load_dataset(folder, strict=False)
        for name, cfg in todo.items():
            try:
                pipeline = Pipeline.from_config(cfg)
            except Exception as exc:  # one unbuildable pipeline (missing weights ...) must not stop the board
                notes.append(f"{name}: not scored ({exc})")
                continue
            for row_name, part in groups(load_dataset(folder, strict=False), benchmark):
                log(f"leaderboard: {name} on {row_name} ({len(part)} items)")
                result = evaluate(pipeline, part, warmup=warmup, show_progress=show_progress)
                rows.append({"pipeline": name, "benchmark": row_name, **result.metrics})
        del dataset
    return {"generated": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": rows, "notes": sorted(set(notes))}


def write(results: dict, folder: Path, command: str):
    """results.json, README.md (the table) and leaderboard.png (accuracy against latency)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "results.json", results)
    columns = [c for c in COLUMNS if any(c in r for r in results["rows"]) or c in ("pipeline", "benchmark")]
    lines = [
        "# alprkit leaderboard",
        "",
        f"Generated by `{command}` on {results['generated']} from `results.json` (do not edit by hand).",
        "Accuracy is the exact plate reading rate (end to end on full images: found at IoU >= 0.5 and read exactly);",
        "latency is the median per image / per plate after warm-up, on the machine that ran the command.",
        "",
        "```",
        format_table(results["rows"], columns),
        "```",
    ]
    if results["notes"]:
        lines += ["", "Not scored:", *[f"- {n}" for n in results["notes"]]]
    if results["rows"]:
        plot(results["rows"], folder / "leaderboard.png")
        lines += ["", "![accuracy against latency](leaderboard.png)"]
    write_text_atomic(folder / "README.md", "\n".join(lines) + "\n")


def plot(rows, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .atomic import atomic_write

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    benchmarks = sorted({r["benchmark"] for r in rows})
    for i, benchmark in enumerate(benchmarks):
        points = [r for r in rows if r["benchmark"] == benchmark and r.get("acc") == r.get("acc")]
        xs = [r.get("ms_per_image_p50") or 0 for r in points]
        ys = [100 * r["acc"] for r in points]
        ax.scatter(xs, ys, label=benchmark, color=plt.cm.tab20(i % 20), s=40)
        for x, y, r in zip(xs, ys, points):
            ax.annotate(r["pipeline"], (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("ms per image (median, log scale)")
    ax.set_ylabel("exact plate accuracy (%)")
    ax.set_title("alprkit leaderboard")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
