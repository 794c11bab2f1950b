"""The row cache: one JSON file per scored row, named by the row's key.

A key is the SHA-256 of everything that decides a row's numbers: the benchmark's
content hash and selection, each component's node, provider, version and weights
hash, and the scoring settings. A file per row lets parallel jobs (joblib, SLURM)
add rows to one cache without locks; each file is written atomically, so a killed
run leaves whole rows only, and a rerun scores only the keys it does not find.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional

from ..atomic import write_json_atomic

SCHEMA = 1  # bump when a row's meaning changes: old rows are then scored again
VOLATILE = ("threads",)  # node settings that change the speed, not the reads: not part of the key


def row_key(content_hash: str, nodes: dict, identities: dict, settings: dict) -> str:
    stable = {kind: _without_volatile(value) for kind, value in nodes.items()}
    document = {"schema": SCHEMA, "data": content_hash, "nodes": stable, "components": identities,
                "settings": settings}
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def _without_volatile(value):
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return {k: v for k, v in value.items() if k not in VOLATILE}


class RowStore:
    def __init__(self, root):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Optional[dict]:
        try:
            return json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # absent, or unreadable: scored again
            return None

    def put(self, row: dict) -> None:
        write_json_atomic(self.path(row["key"]), row, indent=None)
