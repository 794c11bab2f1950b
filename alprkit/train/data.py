"""Training data for recognizers: on-the-fly synthetic crops, crop folders and mixes of them.

Every source yields ``(pixels, text)`` with pixels already at the network's input
size, resized exactly as inference resizes a crop (:func:`alprkit.geometry.fit_crop`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from ..data.formats import load_dataset
from ..data.splits import select_folds
from ..errors import ConfigError, InputError
from ..geometry import fit_crop
from ..imageio import read_image
from .augment import Augment


@dataclass(frozen=True)
class Split:
    """Keep plates whose text falls in ``keep`` of ``folds`` (see :mod:`alprkit.data.splits`)."""

    folds: int
    keep: tuple

    @classmethod
    def from_config(cls, node) -> Optional["Split"]:
        if not node:
            return None
        keep = node["keep"]
        return cls(int(node["folds"]), tuple(keep) if isinstance(keep, (list, tuple)) else (int(keep),))


def load_crops(path, size, fmt=None, split: Optional[Split] = None, region=None) -> tuple[list, list]:
    """All crops of a labelled folder in memory at ``size``; returns (items, problems)."""
    dataset = load_dataset(path, format=fmt, strict=False, **({"region": region} if region else {}))
    samples = list(dataset)
    if split is not None:
        samples = select_folds(samples, split.folds, split.keep)
    items, problems = [], list(dataset.problems)
    for sample in samples:
        try:
            frame = read_image(sample.path)
        except InputError as exc:
            problems.append(str(exc))
            continue
        items.append((fit_crop(frame.pixels, size), sample.text))
    if not items:
        raise InputError(path, "no usable labelled crops")
    return items, problems


class FolderSource:
    def __init__(self, path, size, fmt=None, split=None, region=None):
        self.items, self.problems = load_crops(path, size, fmt, split, region)

    def sample(self, rng: np.random.Generator):
        return self.items[int(rng.integers(len(self.items)))]


class SynthSource:
    """Crops rendered on the fly by the synthetic engine (regions drawn by share)."""

    def __init__(self, size, regions, split="mix"):
        from ..data.synth.streams import SyntheticCrops

        self.crops = SyntheticCrops(regions=dict(regions), size=tuple(size), split=split)

    def sample(self, rng: np.random.Generator):
        item = self.crops.render(int(rng.integers(2**62)))
        return item["image"], item["text"]


def build_source(node, size):
    kind = node.get("kind")
    if kind == "synth":
        return SynthSource(size, node["regions"], split=node.get("split", "mix"))
    if kind == "folder":
        return FolderSource(node["path"], size, node.get("format"), Split.from_config(node.get("split")),
                            node.get("region"))
    raise ConfigError(f"dataset source kind {kind!r} is unknown (kinds: synth, folder)")


class MixedCrops(IterableDataset):
    """An endless stream drawing each sample from a source chosen by weight, then augmenting it.

    Every DataLoader worker and every DDP rank gets its own seed, so no two of them
    repeat each other's samples.
    """

    def __init__(self, sources: Sequence, weights: Sequence[float], encode, augment: Optional[Augment], seed=0):
        total = float(sum(weights))
        if total <= 0 or any(w < 0 for w in weights):
            raise ConfigError(f"dataset source weights must be >= 0 with a positive sum, got {list(weights)}")
        self.sources = list(sources)
        self.p = np.asarray(weights, dtype=np.float64) / total
        self.encode = encode
        self.augment = augment
        self.seed = seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker = info.id if info else 0
        rank = torch.distributed.get_rank() if torch.distributed.is_available() and torch.distributed.is_initialized() else 0
        rng = np.random.default_rng([self.seed, rank, worker])
        while True:
            source = self.sources[int(rng.choice(len(self.sources), p=self.p))]
            pixels, text = source.sample(rng)
            if self.augment is not None:
                pixels = self.augment(pixels, rng)
            yield pixels, self.encode(text), text


def collate(batch):
    pixels, labels, texts = zip(*batch)
    images = torch.from_numpy(np.stack(pixels).transpose(0, 3, 1, 2).astype(np.float32))
    lengths = torch.tensor([len(l) for l in labels], dtype=torch.long)
    targets = torch.tensor([c for l in labels for c in l], dtype=torch.long)
    return images, targets, lengths, list(texts)


class LabelEncoder:
    """Plate text -> class indices of an alphabet whose entry 0 is the CTC blank."""

    def __init__(self, alphabet):
        self.index = {c: i for i, c in enumerate(alphabet) if c}

    def __call__(self, text: str) -> list[int]:
        try:
            return [self.index[c] for c in text]
        except KeyError as exc:
            raise ConfigError(f"plate {text!r} has character {exc.args[0]!r} outside the recognizer's alphabet") from None


def validation_items(nodes, size, limit=None) -> list:
    """A fixed validation list drawn from sources (synthetic ones with their own seed)."""
    items = []
    for node in nodes:
        if node.get("kind") == "synth":
            count = int(node.get("count", 512))
            source = build_source(node, size)
            rng = np.random.default_rng(int(node.get("seed", 12345)))
            items.extend(source.sample(rng) for _ in range(count))
        else:
            items.extend(build_source(node, size).items)
    return items[:limit] if limit else items


def make_loader(dataset, batch_size, workers):
    return DataLoader(dataset, batch_size=batch_size, collate_fn=collate, num_workers=workers,
                      persistent_workers=workers > 0)


class EncodedItems(torch.utils.data.Dataset):
    """A fixed list of (pixels, text) as a map-style dataset, for validation."""

    def __init__(self, items, encode):
        self.items = items
        self.encode = encode

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        pixels, text = self.items[i]
        return pixels, self.encode(text), text
