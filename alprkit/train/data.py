"""Training data for recognizers: on-the-fly synthetic crops, crop folders and mixes of them.

Every source yields ``(pixels, text, region)`` with pixels already at the network's
input size, resized exactly as inference resizes a crop (:func:`alprkit.geometry.fit_crop`);
``region`` (a code, or None where unknown) trains a multi-region model's region head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from ..data.cutouts import CUTS, plate_quad
from ..data.formats import load_dataset
from ..data.splits import select_folds
from ..errors import ConfigError, InputError
from ..geometry import affine_quad, box_quad, fit_crop, warp_quad
from ..imageio import read_image
from ..types import Detection, Frame
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
        items.append((fit_crop(frame.pixels, size), sample.text, sample.plates[0].region or sample.region))
    if not items:
        raise InputError(path, "no usable labelled crops")
    return items, problems


class FolderSource:
    """Labelled crops of one folder, or of several (``path`` a list), in memory."""

    def __init__(self, path, size, fmt=None, split=None, region=None):
        self.items, self.problems = [], []
        for folder in ([path] if isinstance(path, (str, bytes)) or not hasattr(path, "__iter__") else path):
            items, problems = load_crops(folder, size, fmt, split, region)
            self.items.extend(items)
            self.problems.extend(problems)

    def sample(self, rng: np.random.Generator):
        return self.items[int(rng.integers(len(self.items)))]

    def fixed_items(self) -> list:
        return list(self.items)


class PhotoPlatesSource:
    """Plates cut out of labelled full images (``annotations.jsonl``, CCPD) through jittered corners.

    Each draw warps the plate's four corners (or its box) to the network's input
    after moving every corner by a random fraction of the plate's height and width
    and growing or shrinking the whole quadrilateral, as a detector's corners would
    be off; so the same photo gives a new crop each time. ``cut`` (:data:`CUTS`) says how
    the corners become the crop. Only a patch around each plate stays in memory. Plates
    without text are skipped.
    """

    def __init__(self, path, size, fmt=None, split: Optional[Split] = None, region=None, jitter=0.06,
                 grow=(-0.03, 0.12), cut="perspective"):
        if cut not in CUTS:
            raise ConfigError(f"dataset photos source {path}: cut={cut!r} is not one of {', '.join(CUTS)}")
        self.cut = cut
        dataset = load_dataset(path, format=fmt, strict=False, **({"region": region} if region else {}))
        samples = list(dataset)
        if split is not None:
            samples = select_folds(samples, split.folds, split.keep)
        self.size = tuple(size)
        self.jitter = float(jitter)
        self.grow = tuple(grow)
        self.items, self.problems = [], list(dataset.problems)
        for sample in samples:
            plates = [p for p in sample.plates if p.text and plate_quad(p) is not None]
            if not plates:
                continue
            try:
                pixels = read_image(sample.path).pixels
            except InputError as exc:
                self.problems.append(str(exc))
                continue
            for plate in plates:
                self.items.append((*_patch(pixels, plate_quad(plate), self.size), plate.text,
                                   plate.region or sample.region))
        if not self.items:
            raise InputError(path, "no labelled plates with a box or corners")

    def sample(self, rng: np.random.Generator):
        patch, quad, text, region = self.items[int(rng.integers(len(self.items)))]
        width = np.linalg.norm(quad[1] - quad[0])
        height = np.linalg.norm(quad[3] - quad[0])
        centre = quad.mean(axis=0)
        grown = centre + (quad - centre) * (1 + 2 * rng.uniform(*self.grow))
        moved = grown + rng.normal(0, self.jitter, size=(4, 2)) * [width * 0.5, height]
        return self._cut(patch, moved), text, region

    def fixed_items(self) -> list:
        """Every plate cut through its labelled corners, without jitter (for validation)."""
        return [(self._cut(patch, quad), text, region) for patch, quad, text, region in self.items]

    def _cut(self, patch, quad):
        frame = Frame(patch)
        detection = Detection((0, 0, patch.shape[1], patch.shape[0]))
        if self.cut == "affine":
            return warp_quad(frame, detection, affine_quad(quad, self.size), self.size, perspective=False).pixels
        if self.cut == "box":
            box = (*quad.min(axis=0), *quad.max(axis=0))
            return warp_quad(frame, detection, box_quad(box), self.size, perspective=False).pixels
        return warp_quad(frame, detection, quad, self.size).pixels


def _patch(pixels, quad, size, margin=0.5, oversample=4):
    """The image around a plate (``margin`` of its size on each side), at most ``oversample`` x the input size."""
    lo, hi = quad.min(axis=0), quad.max(axis=0)
    pad = (hi - lo) * margin
    x1, y1 = np.maximum(np.floor(lo - pad), 0).astype(int)
    x2, y2 = np.minimum(np.ceil(hi + pad), [pixels.shape[1], pixels.shape[0]]).astype(int)
    patch = pixels[y1:y2, x1:x2]
    local = quad - [x1, y1]
    scale = min(1.0, oversample * size[0] / max(1.0, hi[0] - lo[0]))
    if scale < 1.0:
        patch = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        local = local * scale
    return np.ascontiguousarray(patch), local


class SynthSource:
    """Crops rendered on the fly by the synthetic engine (regions drawn by share)."""

    def __init__(self, size, regions, split="mix"):
        from ..data.synth.streams import SyntheticCrops

        self.crops = SyntheticCrops(regions=dict(regions), size=tuple(size), split=split)

    def sample(self, rng: np.random.Generator):
        item = self.crops.render(int(rng.integers(2**62)))
        return item["image"], item["text"], item["region"]


def keep_regions(source, regions) -> bool:
    """Drop a source's items of other regions (``dataset.regions``); whether it has any left.

    A synthetic source draws only the regions its own config names, so it is kept as is.
    """
    if hasattr(source, "items"):
        source.items = [item for item in source.items if item[-1] in regions]
        return bool(source.items)
    return True


def build_source(node, size):
    kind = node.get("kind")
    if kind == "synth":
        return SynthSource(size, node["regions"], split=node.get("split", "mix"))
    if kind == "folder":
        return FolderSource(node["path"], size, node.get("format"), Split.from_config(node.get("split")),
                            node.get("region"))
    if kind == "photos":
        return PhotoPlatesSource(node["path"], size, node.get("format"), Split.from_config(node.get("split")),
                                 node.get("region"), jitter=float(node.get("jitter", 0.06)),
                                 cut=node.get("cut", "perspective"))
    raise ConfigError(f"dataset source kind {kind!r} is unknown (kinds: synth, folder, photos)")


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
            pixels, text, region = source.sample(rng)
            if self.augment is not None:
                pixels = self.augment(pixels, rng)
            yield pixels, self.encode(text), text, region


def collate(batch):
    pixels, labels, texts, regions = zip(*batch)
    images = torch.from_numpy(np.stack(pixels).transpose(0, 3, 1, 2).astype(np.float32))
    lengths = torch.tensor([len(l) for l in labels], dtype=torch.long)
    targets = torch.tensor([c for l in labels for c in l], dtype=torch.long)
    return images, targets, lengths, list(texts), list(regions)


class LabelEncoder:
    """Plate text -> class indices of an alphabet whose entry 0 is the CTC blank."""

    def __init__(self, alphabet):
        self.index = {c: i for i, c in enumerate(alphabet) if c}

    def __call__(self, text: str) -> list[int]:
        try:
            return [self.index[c] for c in text]
        except KeyError as exc:
            raise ConfigError(f"plate {text!r} has character {exc.args[0]!r} outside the recognizer's alphabet (set recognizer.region to the data's region, e.g. recognizer.region=us)") from None


def validation_items(nodes, size, limit=None, problems=None) -> list:
    """A fixed validation list drawn from sources (synthetic ones with their own seed).

    Bad items the folder sources skipped are appended to ``problems`` (when given).
    """
    items = []
    for node in nodes:
        if node.get("kind") == "synth":
            count = int(node.get("count", 512))
            source = build_source(node, size)
            rng = np.random.default_rng(int(node.get("seed", 12345)))
            items.extend(source.sample(rng) for _ in range(count))
        else:
            source = build_source(node, size)
            items.extend(source.fixed_items())
            if problems is not None:
                problems.extend(source.problems)
    return items[:limit] if limit else items


def make_loader(dataset, batch_size, workers):
    return DataLoader(dataset, batch_size=batch_size, collate_fn=collate, num_workers=workers,
                      persistent_workers=workers > 0)


class EncodedItems(torch.utils.data.Dataset):
    """A fixed list of (pixels, text, region) as a map-style dataset, for validation."""

    def __init__(self, items, encode):
        self.items = items
        self.encode = encode

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        pixels, text, region = self.items[i]
        return pixels, self.encode(text), text, region
