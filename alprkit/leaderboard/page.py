"""The static HTML page: every row in one table that sorts by any column and filters by words and stage.

One self-contained file (``page.html`` with the rows embedded as JSON): it opens from
disk, needs no server and fetches nothing.
"""

from __future__ import annotations

import json
from importlib.resources import files

from .columns import STAGES, latency_key, score_key, value

COLUMNS = [
    {"key": "benchmark", "title": "benchmark", "select": True},
    {"key": "kind", "title": "kind", "select": True},
    {"key": "region", "title": "region", "select": True},
    {"key": "pipeline", "title": "pipeline", "select": True},
    *({"key": stage, "title": stage, "select": True} for stage in STAGES),
    {"key": "n", "title": "n", "numeric": True, "digits": 0},
    {"key": "score", "title": "acc (AP50 for detection)", "numeric": True, "percent": True},
    {"key": "acc_1e", "title": "acc@1e", "numeric": True, "percent": True},
    {"key": "cer", "title": "cer", "numeric": True, "digits": 4},
    {"key": "ap50", "title": "ap50", "numeric": True, "percent": True},
    {"key": "corner_error_px", "title": "corner error px", "numeric": True, "digits": 1},
    {"key": "ms", "title": "ms p50", "numeric": True, "digits": 2},
    {"key": "status", "title": "status", "select": True},
    {"key": "error", "title": "error"},
]


def flat(record: dict) -> dict:
    """One table row: names as text, figures as numbers (None where absent)."""
    kind = record.get("kind")
    options = record.get("options") or {}
    row = {"benchmark": record.get("benchmark"), "kind": kind, "region": record.get("region"),
           "pipeline": record.get("pipeline"), "status": record.get("status"), "error": record.get("error")}
    for stage in STAGES:
        option = options.get(stage)
        row[stage] = "+".join(option) if isinstance(option, list) else option
    row["n"] = value(record, "boxes" if kind == "detection" else "n")
    row["score"] = value(record, score_key(kind))
    for key in ("acc_1e", "cer", "ap50", "corner_error_px"):
        row[key] = value(record, key)
    row["ms"] = value(record, latency_key(kind))
    return row


def render(records: list, meta: str) -> str:
    data = {"columns": COLUMNS, "rows": [flat(r) for r in records], "meta": meta,
            "sort": [["benchmark", 1], ["score", -1], ["ms", 1]]}
    # "</" would end the script element early; JSON allows it escaped.
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    template = files("alprkit.leaderboard").joinpath("page.html").read_text(encoding="utf-8")
    return template.replace("__DATA__", text)
