"""``alprkit leaderboard``: score every pipeline on every benchmark it fits; write the board."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from .. import leaderboard
from ..config import compose, config_int
from ..errors import ConfigError
from ..metrics import format_table


def main(cfg, words) -> int:
    board = cfg.leaderboard
    names = _pipeline_names(board.pipelines)
    pipelines = {name: compose("eval", [f"pipeline={name}", "data=unused"]) for name in names}
    selected = list(board.select) if board.select else list(board.benchmarks)
    unknown = sorted(set(selected) - set(board.benchmarks))
    if unknown:
        raise ConfigError(f"leaderboard.select: unknown {', '.join(unknown)} (benchmarks: {', '.join(board.benchmarks)})")
    benchmarks = [leaderboard.Benchmark.from_config(n, board.benchmarks[n]) for n in selected]
    log = lambda message: print(message, file=sys.stderr)  # noqa: E731
    results = leaderboard.run(pipelines, benchmarks, warmup=config_int(cfg, "warmup", 0),
                              show_progress=cfg.progress, log=log)
    command = "alprkit leaderboard " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    leaderboard.write(results, Path(cfg.output), command.strip())
    print(format_table(results["rows"], leaderboard.COLUMNS))
    for note in results["notes"]:
        print(f"alprkit: {note}", file=sys.stderr)
    return 0


def _pipeline_names(selection):
    from ..config import _group_options, plugins

    available = _group_options("pipeline", ["pkg://alprkit.conf", *plugins.default_plugins().config_sources],
                               plugins.registry())
    if selection == "all":
        return [n for n in available if n not in ("default", "untrained")]
    unknown = sorted(set(selection) - set(available))
    if unknown:
        raise ConfigError(f"leaderboard.pipelines: unknown {', '.join(unknown)} (available: {', '.join(available)})")
    return list(selection)
