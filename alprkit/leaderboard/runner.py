"""Plan the leaderboard's rows, score the missing ones, and keep every result in the row cache.

A run plans every (benchmark part, combination) row the config asks for, looks each
key up in the cache, and scores what is missing in units: the rows of one benchmark
part that share a detector, scored in one pass over its images (each image read and
each shared stage computed once; see :mod:`.shared`). A unit's rows are stored as soon
as it ends, a failing combination as a row with its one-line error, and the run goes on.
``shards``/``shard`` split the units between jobs that share the cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from omegaconf import OmegaConf

from ..data.dataset import CROPS, TRACKS
from ..errors import AlprkitError, ConfigError
from ..evaluate import evaluate_many
from . import benchmarks as bm
from .combinations import (AXES, Combination, Options, axis_choices, crop_readers, enumerate_for, from_pipeline_config,
                           validate_vary)
from .provenance import component_identity, load_average, machine, runtime, thread_provenance
from .shared import SharingPipeline, StageMemo
from .store import RowStore, row_key


@dataclass
class Row:
    """A planned row: a combination on a benchmark part, and its cache key."""

    part: bm.Part
    combination: Combination
    pipelines: tuple  # named pipeline configs that are this combination
    key: str
    identities: dict

    def labels(self) -> dict:
        """What names the row (not what was measured): merged over the cached record."""
        c = self.combination
        return {"benchmark": self.part.name, "benchmark_set": self.part.benchmark.name, "kind": self.part.kind,
                "region": self.part.region, "benchmark_hash": self.part.content_hash,
                "pipeline": self.pipelines[0] if self.pipelines else None, "pipelines": list(self.pipelines),
                "label": c.label(), "components": c.components(), "options": c.options(), "config": c.nodes(),
                "key": self.key}


@dataclass
class Unit:
    """Rows scored in one pass: one benchmark part, one detector (on crops, one recognizer)."""

    part: bm.Part
    detector: str  # what the pass shares, as the log and plan=true show it
    rows: list = field(default_factory=list)


@dataclass
class Settings:
    cache: Path
    warmup: int = 3
    iou: float = 0.5
    threads: Optional[int] = None
    untrained: bool = False
    show_progress: bool = False
    retry_failed: bool = False


def plan(board, settings: Settings, registry, notes: list) -> list[Row]:
    """Every row the board asks for, in benchmark order; absent data and unfit benchmarks become notes."""
    options = Options(registry)
    validate_vary(board)
    axes = {kind: axis_choices(options, board, kind) for kind in AXES}
    crop_rectifier = options.choice("rectifier", board.crop_rectifier, "leaderboard.crop_rectifier")
    readers = crop_readers(options, board, axes)
    shortcuts = _shortcuts(board.pipelines, options)
    regions = _RegionProbe(registry)
    rows = []
    for part in bm.iter_parts(selected_benchmarks(board), settings.cache / "benchmarks", notes,
                              settings.show_progress):
        found = _combinations(part.kind, axes, options, readers, crop_rectifier, shortcuts)
        fitting = [(c, names) for c, names in found if regions.fits(c.recognizer, part.region)]
        if not fitting:
            notes.append(f"{part.name}: no combination fits its kind ({part.kind}) and region ({part.region})")
        for combination, names in fitting:
            identities = {kind: [component_identity(registry, kind, c.node) for c in value] if kind == "postfilter"
                          else component_identity(registry, kind, value.node)
                          for kind, value in combination.stages().items()}
            key = row_key(part.content_hash, combination.nodes(), identities, {"iou": settings.iou})
            rows.append(Row(part, combination, tuple(names), key, identities))
    return rows


def selected_benchmarks(board) -> list:
    names = list(board.benchmarks)
    selected = list(board.select) if board.get("select") else names
    unknown = sorted(set(selected) - set(names))
    if unknown:
        raise ConfigError(f"leaderboard.select: unknown {', '.join(unknown)} (benchmarks: {', '.join(names)})")
    return [bm.Benchmark.from_config(name, board.benchmarks[name]) for name in selected]


def _shortcuts(selection, options) -> list:
    """(name, Combination) of the named pipeline configs to score beside the enumerated combinations."""
    from ..config import compose, group_options

    available = [n for n in group_options("pipeline") if n not in ("default", "untrained")]
    if selection == "all":
        names = available
    elif OmegaConf.is_list(selection) and all(isinstance(n, str) for n in selection):
        names = list(selection)
        unknown = sorted(set(names) - set(group_options("pipeline")))
        if unknown:
            raise ConfigError(f"leaderboard.pipelines: unknown {', '.join(unknown)} "
                              f"(available: {', '.join(available)})")
    else:
        raise ConfigError(f"leaderboard.pipelines must be all or a list of pipeline names, got {selection!r}")
    shortcuts = [(name, from_pipeline_config(compose("eval", [f"pipeline={name}", "data=unused"]), options))
                 for name in names]
    if selection != "all":  # named ones are scored, or fail on their row saying why
        return shortcuts
    # All of them: those whose detector, recognizer or selector has no weights yet are left out, as auto does.
    return [(name, c) for name, c in shortcuts
            if all(options.trained(choice) for choice in (c.detector, c.recognizer, c.selector) if choice is not None)]


def _combinations(kind, axes, options, readers, crop_rectifier, shortcuts) -> list:
    """(combination, names of the pipelines that are it) for a benchmark kind, without repeats."""
    found = {}
    for combination in enumerate_for(kind, axes, options, readers, crop_rectifier):
        found.setdefault(_spec(combination), (combination, []))
    if kind != bm.DETECTION:
        for name, combination in shortcuts:
            if options.reads_crops(combination.detector) != (kind == CROPS):
                continue
            if kind != TRACKS:
                combination = combination.without_selector()
            found.setdefault(_spec(combination), (combination, []))[1].append(name)
    return list(found.values())


def _spec(combination: Combination) -> str:
    import json

    return json.dumps(combination.nodes(), sort_keys=True)


class _RegionProbe:
    """Which regions a recognizer reads: built once to ask it (a region it is fixed to, or predicts)."""

    def __init__(self, registry):
        self.registry = registry
        self._regions = {}

    def fits(self, choice, region) -> bool:
        if choice is None or region is None:
            return True
        if choice.spec not in self._regions:
            self._regions[choice.spec] = self._read(choice)
        reads = self._regions[choice.spec]
        return reads is None or region in reads

    def _read(self, choice):
        from ..pipeline import build_component

        try:
            recognizer = build_component("recognizer", OmegaConf.create(choice.node), self.registry)
        except Exception:  # scored all the same: the row records why it cannot be built
            return None
        if getattr(recognizer, "region", None):
            return {recognizer.region}
        regions = getattr(recognizer, "regions", None)
        return set(regions) if regions else None


def units(rows: list, store: RowStore, retry_failed: bool, shard: int = 0, shards: int = 1) -> list[Unit]:
    """This shard's passes with rows still to score, in plan order.

    Rows are grouped into passes that share their costly stage: on photos and video the
    detector, a pass is one detector on one part; a crop reader costs nothing, so crop parts
    are split by recognizer (more passes for parallel jobs). Shards are dealt over every
    planned pass, scored or not, so a job's share does not change as other jobs finish.
    """
    grouped = {}
    for row in rows:
        c = row.combination
        shared = c.recognizer if row.part.kind == CROPS and c.recognizer is not None else c.detector
        key = (row.part.name, c.detector.spec, shared.spec)
        label = f"{c.detector.option} + {shared.option}" if shared is not c.detector else c.detector.option
        grouped.setdefault(key, Unit(row.part, label)).rows.append(row)
    todo = []
    for unit in list(grouped.values())[shard::shards]:
        unit.rows = [row for row in unit.rows if _missing(store.get(row.key), retry_failed)]
        if unit.rows:
            todo.append(unit)
    return todo


def _missing(cached, retry_failed) -> bool:
    return cached is None or (retry_failed and cached.get("status") != "ok")


def score(unit: Unit, settings: Settings, store: RowStore, parts: dict, registry,
          log: Callable[[str], None] = print) -> int:
    """Score a unit's rows and store each; returns how many were scored (failures included)."""
    part = unit.part
    dataset = bm.load(part.benchmark, part.folder, part.split)
    started, load_before, wall = time.strftime("%Y-%m-%dT%H:%M:%S%z"), load_average(), time.perf_counter()
    memo, built, done = StageMemo(), [], 0
    for row in unit.rows:
        try:
            built.append((row, SharingPipeline.build(row.combination.config(), memo, parts, registry)))
        except Exception as exc:  # one unbuildable combination (missing weights ...) must not stop the board
            store.put(_record(row, "error", _one_line(exc), {}, {}, {}))
            done += 1
    if not dataset.samples:
        for row, _ in built:
            store.put(_record(row, "error", f"no item of {part.name} to score", {}, {}, {}))
        return done + len(built)
    log(f"leaderboard: {part.name}: {len(built)} rows with {unit.detector} ({len(dataset)} items)")
    # Components are warm after the first pass; a small set (a few tracks) keeps most of its items.
    warmup = min(settings.warmup, len(dataset.tracks() if part.kind == TRACKS else dataset) // 3)
    results = evaluate_many([p for _, p in built], dataset, warmup=warmup, iou_threshold=settings.iou,
                            show_progress=settings.show_progress, catch=True)
    context = {"started": started, "seconds": round(time.perf_counter() - wall, 3), "rows_in_pass": len(built),
               "warmup": warmup,
               "load_average": {"start": load_before, "end": load_average()}, "machine": machine(),
               **thread_provenance()}
    for (row, pipeline), result in zip(built, results):
        status, error = ("error", result.error) if result.error else ("ok", None)
        store.put(_record(row, status, error, result.metrics, context, _runtimes(row, pipeline)))
        done += 1
    return done


def _runtimes(row, pipeline) -> dict:
    out = {}
    for kind in ("detector", "recognizer"):
        choice = getattr(row.combination, kind)
        if choice is not None:
            out[kind] = runtime(getattr(pipeline, kind), choice.node)
    return out


def _record(row: Row, status, error, metrics, context, runtimes) -> dict:
    provenance = {"components": {kind: _with_runtime(identity, runtimes.get(kind))
                                 for kind, identity in row.identities.items()}, **context}
    return {**row.labels(), "status": status, "error": error, "metrics": _plain(metrics), "provenance": provenance}


def _with_runtime(identity, runtime_info):
    if isinstance(identity, list) or not runtime_info:
        return identity
    return {**identity, **runtime_info}


def _plain(value):
    """JSON-ready: NaN becomes None, numpy numbers become Python numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _one_line(exc) -> str:
    text = str(exc) if isinstance(exc, AlprkitError) else f"{type(exc).__name__}: {exc}"
    return (text.strip().splitlines() or [type(exc).__name__])[0]


def results(rows: list, store: RowStore) -> tuple[list, int]:
    """(the cached record of each planned row, with the plan's labels; how many are not scored yet)."""
    found, missing = [], 0
    for row in rows:
        cached = store.get(row.key)
        if cached is None:
            missing += 1
            continue
        found.append({**cached, **row.labels()})
    return found, missing
