"""``alprkit leaderboard``: score every combination of components on every benchmark it fits.

    alprkit leaderboard                              every bundled combination on every benchmark
    alprkit leaderboard leaderboard=quick output=DIR a small board (CI)
    alprkit leaderboard 'leaderboard.vary=[recognizer,decoder]' 'leaderboard.select=[cn_crops_real]'
                                                     every recognizer with every decoder on cn crops
    alprkit leaderboard plan=true                    what would be scored, without scoring
    alprkit leaderboard publish=true                 also copy the board into leaderboard/ (tracked)
    alprkit leaderboard -m shards=2 hydra/launcher=joblib
                                                     two local jobs sharing one row cache
    alprkit leaderboard -m shards=16 hydra/launcher=submitit_slurm hydra.launcher.partition=cpu

The board is written to output= (default: $ALPRKIT_CACHE/leaderboard/boards/<name>, outside the
repository): results.jsonl.gz, README.md, a page per benchmark kind, index.html and plots/. Rows are
cached by everything that decides them, so a rerun scores only what is missing. docs/leaderboard.md.
"""

from __future__ import annotations

import shlex
import sys

from ..errors import ConfigError
from ..leaderboard import board
from ..metrics import format_table


def main(cfg, words) -> int:
    if words:
        raise ConfigError(f"leaderboard takes key=value settings only, got {' '.join(words)!r}")
    summary = board.run(cfg, _command())
    if cfg.plan:
        return 0
    print(format_table(_best(summary.records), ["benchmark", "rows", "best", "score", "ms_p50"]))
    print(f"leaderboard: {summary.rows} rows, {summary.scored} scored now, {summary.failed} failed, "
          f"{summary.missing} not scored yet; the board: {summary.output / 'README.md'}", file=sys.stderr)
    for note in sorted(set(summary.notes)):
        print(f"alprkit: {note}", file=sys.stderr)
    return 0


def multirun(words, overrides) -> int:
    """``alprkit leaderboard -m ...``: Hydra's multirun, then the board from the merged cache."""
    if words:
        raise ConfigError(f"leaderboard takes key=value settings only, got {' '.join(words)!r}")
    from ..leaderboard.multirun import launch

    return launch(overrides, _command())


def _command() -> str:
    return ("alprkit leaderboard " + " ".join(shlex.quote(a) for a in sys.argv[2:])).strip()


def _best(records):
    from ..leaderboard.columns import latency_key, score_key, shown, value

    best = {}
    for record in records:
        if record.get("status") != "ok":
            continue
        kind, name = record["kind"], record["benchmark"]
        score = value(record, score_key(kind))
        entry = best.setdefault(name, {"benchmark": name, "rows": 0, "best": "-", "score": "-", "_score": None,
                                        "ms_p50": "-"})
        entry["rows"] += 1
        if score is not None and (entry["_score"] is None or score > entry["_score"]):
            latency = latency_key(kind)
            entry.update(best=record["label"], _score=score, score=shown(score_key(kind), score),
                         ms_p50=shown(latency, value(record, latency)))
    return list(best.values())
