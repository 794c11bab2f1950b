"""On-the-fly synthetic data for training: endless streams that need no disk.

Item ``i`` of a stream is a pure function of ``(seed, i)``; DataLoader workers take
interleaved indices (worker ``k`` of ``n`` takes ``k, k+n, k+2n ...``), so they never
repeat each other and the union is the same whatever the number of workers.
"""

from __future__ import annotations

from typing import Iterator, Mapping, Optional

import numpy as np
import torch
from torch.utils.data import IterableDataset

from ...errors import ConfigError
from ..regions import get_region
from .conditions import check_split
from .crop import MARGIN, render_crop
from .scenes import pick_region, render_scene


def _check_regions(regions: Optional[Mapping[str, float]]) -> dict:
    if regions is None:
        return {"cn": 1.0}
    if not regions:
        raise ConfigError("regions is empty: give at least one region with a share, e.g. {'cn': 1.0}")
    for name, share in regions.items():
        get_region(name)
        if not float(share) > 0:
            raise ConfigError(f"regions: the share of {name!r} must be > 0, got {share!r}")
    return {k: float(v) for k, v in regions.items()}


class _Stream(IterableDataset):
    def __init__(self, seed: int = 0, length: Optional[int] = None):
        self.seed = int(seed)
        self.length = length

    def render(self, index: int) -> dict:
        raise NotImplementedError

    def __iter__(self) -> Iterator[dict]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        index = worker
        while self.length is None or index < self.length:
            yield self.render(index)
            index += workers

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError(f"{type(self).__name__} without length= is endless")
        return self.length

    def rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, index])


class SyntheticCrops(_Stream):
    """Recognition crops: dicts ``{"image": uint8 (h, w, 3), "text": str, "region": str}``.

    ``regions`` maps region codes to shares (default ``{"cn": 1.0}``); ``size`` is (w, h); ``split`` picks the
    capture conditions (``mix`` covers all CCPD-like splits); ``margin`` is the
    detector-box margin range per side in plate sizes (negative clips the plate).
    """

    def __init__(self, regions: Optional[Mapping[str, float]] = None, size=(94, 24), seed: int = 0,
                 split: str = "mix", margin=MARGIN, length: Optional[int] = None):  # fmt: skip
        super().__init__(seed, length)
        self.regions = _check_regions(regions)
        self.size = (int(size[0]), int(size[1]))
        self.split = check_split(split)
        self.margin = tuple(margin)

    def render(self, index: int, text: Optional[str] = None, region: Optional[str] = None) -> dict:
        """Item ``index``; with ``text`` (and ``region``), a crop of that plate string instead."""
        rng = self.rng(index)
        region = region or pick_region(self.regions, rng)
        crop = render_crop(rng, region, text, size=self.size, split=self.split, margin=self.margin)
        return {"image": crop.image, "text": crop.text, "region": crop.region}


class SyntheticScenes(_Stream):
    """Detection scenes: dicts ``{"image": uint8 (h, w, 3), "plates": tuple[PlateLabel, ...], "region": str}``."""

    def __init__(self, regions: Optional[Mapping[str, float]] = None, size=None, seed: int = 0, split: str = "mix",
                 max_plates: int = 3, compress: bool = True, length: Optional[int] = None):  # fmt: skip
        super().__init__(seed, length)
        self.regions = _check_regions(regions)
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.split = check_split(split)
        self.max_plates = int(max_plates)
        self.compress = compress

    def render(self, index: int) -> dict:
        rng = self.rng(index)
        scene = render_scene(rng, self.regions, self.size, self.split, self.max_plates, compress=self.compress)
        return {"image": scene.image, "plates": scene.plates, "region": scene.region}
