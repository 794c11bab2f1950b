"""One leaderboard run from a composed ``leaderboard`` config: plan, score what is missing, write the board."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from .. import plugins
from ..backends import cache_dir
from ..config import config_float, config_int
from ..errors import ConfigError
from . import report, runner
from .provenance import threads_pinned
from .store import RowStore


@dataclass
class Summary:
    rows: int = 0
    scored: int = 0  # rows scored by this run (failures included)
    failed: int = 0  # rows of the board that failed, now or before
    missing: int = 0  # rows not scored yet (another shard's, or plan=true)
    output: Path | None = None
    notes: list = field(default_factory=list)
    records: list = field(default_factory=list)


def settings_of(cfg) -> runner.Settings:
    """The run's settings; a wrong value is a one-line error naming its key."""
    threads = config_int(cfg, "threads", minimum=1)
    return runner.Settings(cache=cache_folder(cfg), warmup=config_int(cfg, "warmup", minimum=0) or 0,
                           iou=_iou(cfg), threads=threads, untrained=_flag(cfg.leaderboard, "untrained",
                                                                           "leaderboard.untrained"),
                           show_progress=_flag(cfg, "progress"), retry_failed=_flag(cfg, "retry_failed"))


def _iou(cfg):
    iou = config_float(cfg, "iou", minimum=0.0, above=True)
    if iou is None or iou > 1:
        raise ConfigError(f"iou must be above 0 and at most 1, got {cfg.get('iou')!r}")
    return iou


def _flag(node, key, name=None):
    value = node.get(key)
    if not isinstance(value, bool):
        raise ConfigError(f"{name or key} must be true or false, got {value!r}")
    return value


def cache_folder(cfg) -> Path:
    return Path(cfg.cache).expanduser() if cfg.get("cache") else cache_dir() / "leaderboard"


def output_folder(cfg) -> Path:
    if cfg.get("output"):
        return Path(str(cfg.output)).expanduser()
    return cache_folder(cfg) / "boards" / str(cfg.leaderboard.get("name") or "default")


def shard_of(cfg) -> tuple[int, int]:
    shards = config_int(cfg, "shards", minimum=1)
    shard = config_int(cfg, "shard", minimum=0)
    if shards is None or shard is None or shard >= shards:
        raise ConfigError(f"shard must be 0..shards-1, got shard={cfg.get('shard')!r} shards={cfg.get('shards')!r}")
    return shard, shards


def check(cfg):
    """Every setting of the run, before anything is generated or loaded."""
    board = cfg.leaderboard
    if not OmegaConf.is_dict(board) or "benchmarks" not in board:
        raise ConfigError("leaderboard must be a board config (leaderboard=default or leaderboard=quick)")
    settings_of(cfg)
    shard_of(cfg)
    for key in ("publish", "plan"):
        _flag(cfg, key)
    runner.selected_benchmarks(board)
    out = output_folder(cfg)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output={out}: is a file; output names the board's folder")


def run(cfg, command: str, log=lambda message: print(message, file=sys.stderr), compute=True,
        write_board=True) -> Summary:
    """Score the board's missing rows (this job's share of them), then write the board.

    ``compute=False`` writes the board from the cache alone; ``write_board=False`` (a
    multirun job) leaves the board to the process that launched the jobs.
    """
    check(cfg)
    settings = settings_of(cfg)
    shard, shards = shard_of(cfg)
    registry = plugins.registry()
    summary = Summary(output=output_folder(cfg))
    rows = runner.plan(cfg.leaderboard, settings, registry, summary.notes)
    store = RowStore(settings.cache / "rows")
    todo = runner.units(rows, store, settings.retry_failed, shard, shards) if compute else []
    if cfg.plan:
        _print_plan(rows, todo, log)
        summary.rows, summary.missing = len(rows), sum(len(u.rows) for u in todo)
        return summary
    parts: dict = {}  # components built so far, shared by every pass
    started = time.perf_counter()
    with threads_pinned(settings.threads):
        for number, unit in enumerate(todo, start=1):
            log(f"leaderboard: pass {number} of {len(todo)}")
            summary.scored += runner.score(unit, settings, store, parts, registry, log)
            if write_board:  # what is scored so far, readable while the run goes on
                report.write_results(summary.output, runner.results(rows, store)[0])
    if todo:
        log(f"leaderboard: scored {summary.scored} rows in {time.perf_counter() - started:.1f} s")
    summary.records, summary.missing = runner.results(rows, store)
    summary.rows = len(rows)
    summary.failed = sum(r.get("status") != "ok" for r in summary.records)
    if write_board:
        write(cfg, summary, command)
    return summary


def write(cfg, summary: Summary, command: str):
    generated = time.strftime("%Y-%m-%d %H:%M:%S")
    summary.notes += report.write(summary.output, summary.records, summary.notes, summary.missing, command, generated)
    if cfg.publish:
        report.publish(summary.output, Path(str(cfg.publish_dir)))


def _print_plan(rows, todo, log):
    log(f"leaderboard: {len(rows)} rows planned, {sum(len(u.rows) for u in todo)} to score in {len(todo)} passes")
    for unit in todo:
        log(f"  {unit.part.name:<28} {unit.detector:<30} {len(unit.rows)} rows")
