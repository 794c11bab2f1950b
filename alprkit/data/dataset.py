"""Labelled samples as every dataset format yields them.

A dataset is a sized iterable of :class:`Sample`; images are read lazily by the
consumer (so an unreadable file is reported as a bad item and the run goes on).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

from ..types import Box, Corners

# What a sample's image shows.
CROPS = "crops"  # a plate cut out already: the whole image is the plate
SCENES = "scenes"  # full images with plate boxes
TRACKS = "tracks"  # frames of video tracks, one vehicle's plate per track


@dataclass(frozen=True)
class PlateLabel:
    text: Optional[str] = None  # None where the source gives no text (detection-only sets)
    box: Optional[Box] = None
    corners: Optional[Corners] = None
    region: Optional[str] = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    path: Path
    plates: tuple[PlateLabel, ...]
    region: Optional[str] = None
    track: Optional[str] = None  # video track id (TRACKS only)
    frame: int = 0  # frame index within its track
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> Optional[str]:
        """The first plate's text: the label of a crop."""
        return self.plates[0].text if self.plates else None


@dataclass
class Dataset:
    """Samples of one kind read from one folder; ``problems`` lists skipped bad labels."""

    name: str
    kind: str
    root: Path
    samples: list[Sample]
    problems: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __len__(self) -> int:
        return len(self.samples)

    def first(self, limit: int) -> "Dataset":
        """The first ``limit`` items; of a tracks set the first ``limit`` whole tracks (a limit counts vehicles)."""
        if self.kind != TRACKS:
            return replace(self, samples=self.samples[:limit])
        keep = set(list(self.tracks())[:limit])
        return replace(self, samples=[s for s in self.samples if (s.track or s.path.stem) in keep])

    def tracks(self) -> dict[str, list[Sample]]:
        """Samples grouped by track id, each group in frame order."""
        groups: dict[str, list[Sample]] = defaultdict(list)
        for s in self.samples:
            groups[s.track or s.path.stem].append(s)
        return {k: sorted(v, key=lambda s: s.frame) for k, v in sorted(groups.items())}
