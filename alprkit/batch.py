"""Batch bookkeeping: progress bars and the end-of-run report of bad items."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field


def progress(iterable, desc: str, total=None, enabled: bool = True):
    """A tqdm bar on stderr (stdout stays clean for JSON lines)."""
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, disable=not enabled, file=sys.stderr, dynamic_ncols=True,
                leave=False)


@dataclass
class BatchReport:
    """Counts processed and failed items; a batch keeps going past bad items."""

    processed: int = 0
    plates: int = 0
    failures: list = field(default_factory=list)

    def done(self, plates: int = 0):
        self.processed += 1
        self.plates += plates

    def fail(self, item, reason: str):
        self.failures.append((str(item), reason))

    def finish(self, item: str = "item", stream=None, found: str = "plate") -> int:
        """Print the summary and the bad items (``plates`` counts what was ``found``); the exit status says
        whether any failed."""
        stream = stream or sys.stderr
        print(f"alprkit: {plural(self.processed, item)} read, {plural(self.plates, found)}, "
              f"{len(self.failures)} failed", file=stream)
        for name, reason in self.failures:
            print(f"  failed: {name}: {reason}", file=stream)
        return 1 if self.failures else 0


def plural(count: int, word: str) -> str:
    """``1 image``, ``2 images``."""
    return f"{count} {word}{'' if count == 1 else 's'}"
