"""Training data for quality networks (seed 004): degraded synthetic crops and their quality target.

A quality network learns to predict, from a crop alone, how well a recognizer will read it.
The crops are synthetic plates (clean captures of the ``base`` conditions), each degraded
as driving degrades a frame (:mod:`alprkit.degrade`) at random strengths, a share of them
left clean, so the target spans 0..1. The target ``alpha`` is the seed's eq. (3): the
smallest, over the characters read, of the recognizer's largest softmax probability.

Rendering is the slow part (a few hundred crops per second), so the crops are made once
per (regions, size, count, seed) and kept as one ``.npz`` in a cache folder; the targets of
each recognizer (named by a hash of its weights) are kept beside them.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

import numpy as np

from ..atomic import write_bytes_atomic
from ..batch import progress
from ..degrade import degrade, random_degradation
from ..errors import ConfigError, InputError
from ..types import CharScores, Crop, Detection

FORMAT_VERSION = 1  # part of the cache key: bump when the rendering or degradation recipe changes


def quality_target(scores: CharScores) -> float:
    """alpha = min over characters of the maximum softmax probability (seed 004, eq. 3).

    Per-position scores (``blank=None``) have one row per character. CTC scores are read
    along the best path: a character's probability is its largest over the steps it spans.
    Nothing read is quality 0: there is no plate to trust.
    """
    probs = np.asarray(scores.probs)
    if scores.blank is None:
        return float(probs.max(axis=1).min()) if len(probs) else 0.0
    chars, previous = [], None  # each character's best probability along the best path
    for t, cls in enumerate(probs.argmax(axis=1)):
        if cls == scores.blank:
            previous = None
            continue
        if cls == previous:  # a repeat collapses into the same character
            chars[-1] = max(chars[-1], float(probs[t, cls]))
        else:
            chars.append(float(probs[t, cls]))
        previous = cls
    return min(chars) if chars else 0.0


@dataclass(frozen=True, eq=False)
class DegradedCrops:
    images: np.ndarray  # (n, h, w, 3) uint8 RGB at the recognizer's input size
    texts: tuple[str, ...]
    regions: tuple[str, ...]
    severity: np.ndarray  # (n,) the strongest degradation of each crop, 0 for a clean one
    key: str  # names this set in the cache

    def __len__(self):
        return len(self.texts)


def _check_node(node) -> dict:
    from ..data.regions import get_region

    regions = node.get("regions")
    if not regions:
        raise ConfigError("dataset source kind 'degraded' needs regions: {br: 0.7, us: 0.3}")
    shares = {}
    for code, share in dict(regions).items():
        get_region(code)
        if not isinstance(share, (int, float)) or isinstance(share, bool) or not share > 0:
            raise ConfigError(f"dataset regions.{code} must be a share above 0, got {share!r}")
        shares[str(code)] = float(share)
    count = node.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"dataset source count must be a whole number >= 1, got {count!r}")
    clean = node.get("clean", 0.2)
    if isinstance(clean, bool) or not isinstance(clean, (int, float)) or not 0 <= clean <= 1:
        raise ConfigError(f"dataset source clean is a share of crops left undegraded (0..1), got {clean!r}")
    return {"regions": shares, "count": count, "seed": int(node.get("seed", 0)), "clean": float(clean),
            "split": str(node.get("split", "base"))}


def degraded_crops(node, size, cache: Optional[Path] = None, show_progress: bool = True) -> DegradedCrops:
    """The crops a ``{kind: degraded, regions, count, seed, clean, split}`` source describes, at ``size``."""
    from ..data.synth.conditions import check_split
    from ..data.synth.streams import SyntheticCrops

    settings = _check_node(node)
    check_split(settings["split"])
    key = _key({**settings, "size": list(size), "version": FORMAT_VERSION})
    path = Path(cache) / f"degraded-{key}.npz" if cache else None
    if path is not None and path.is_file():
        return _load(path, key)
    crops = SyntheticCrops(regions=settings["regions"], size=tuple(size), seed=settings["seed"],
                           split=settings["split"])
    images, texts, regions, severity = [], [], [], []
    for index in progress(range(settings["count"]), "degraded crops", enabled=show_progress):
        item = crops.render(index)
        rng = np.random.default_rng([settings["seed"], index, 1])
        if rng.random() < settings["clean"]:
            image, worst = item["image"], 0.0
        else:
            # The strongest change anywhere in 0..1, so mild and severe crops are equally common.
            d = random_degradation(rng, max_strength=float(rng.uniform(0.05, 1.0)), share=float(rng.uniform(0.3, 0.8)))
            image, worst = degrade(item["image"], d, rng), d.severity()
        images.append(image)
        texts.append(item["text"])
        regions.append(item["region"])
        severity.append(worst)
    result = DegradedCrops(np.stack(images), tuple(texts), tuple(regions), np.asarray(severity, np.float32), key)
    if path is not None:
        _save(path, result)
    return result


@dataclass(frozen=True, eq=False)
class Targets:
    alpha: np.ndarray  # (n,) the recognizer's quality target of each crop
    correct: np.ndarray  # (n,) bool: its greedy read of the crop is the plate's text


def quality_targets(recognizer, crops: DegradedCrops, decode, cache: Optional[Path] = None, batch: int = 64,
                    show_progress: bool = True) -> Targets:
    """alpha of every crop under ``recognizer`` (a built component), and whether ``decode`` of its scores
    reads the crop right; kept in ``cache`` by the recognizer's weights."""
    path = Path(cache) / f"alpha-{crops.key}-{_key(recognizer_about(recognizer))}.npz" if cache else None
    if path is not None and path.is_file():
        with np.load(path) as data:
            return Targets(data["alpha"], data["correct"])
    box = Detection((0.0, 0.0, float(crops.images.shape[2]), float(crops.images.shape[1])))
    alpha, correct = [], []
    for start in progress(range(0, len(crops), batch), "quality targets", enabled=show_progress):
        chunk = [Crop(image, box) for image in crops.images[start : start + batch]]
        for scores, text in zip(recognizer(chunk), crops.texts[start : start + batch]):
            alpha.append(quality_target(scores))
            correct.append(decode(scores).text == text)
    targets = Targets(np.asarray(alpha, np.float32), np.asarray(correct, bool))
    if path is not None:
        buffer = io.BytesIO()
        np.savez(buffer, alpha=targets.alpha, correct=targets.correct)
        write_bytes_atomic(path, buffer.getvalue())
    return targets


def recognizer_about(recognizer) -> dict:
    """Which recognizer a quality network learned the confidence of (recorded in its weights)."""
    network = getattr(recognizer, "network", None)
    return {"architecture": getattr(network, "architecture", type(recognizer).__name__),
            "region": getattr(recognizer, "region", None),
            "network_sha": _weights_hash(network) if network is not None else None}


def _weights_hash(network) -> str:
    """A hash of a network's weights as fp16 holds them: the same before saving (fp16 files) and after loading."""
    digest = hashlib.sha256()
    for name, tensor in sorted(network.state_dict().items()):
        value = tensor.detach().cpu()
        digest.update(name.encode())
        digest.update((value.half() if value.is_floating_point() else value).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def describe(targets: Targets) -> str:
    """How the targets spread, and how often the recognizer reads the crops of each range right: the seed's
    premise (a low alpha is a crop the recognizer gets wrong) checked on these crops."""
    alpha, correct = targets.alpha, targets.correct
    parts = []
    for lo in np.arange(0.0, 1.0, 0.2):
        inside = (alpha >= lo) & ((alpha < lo + 0.2) | (lo >= 0.8))
        read = f", {correct[inside].mean():.0%} read" if inside.any() else ""
        parts.append(f"{lo:.1f}-{lo + 0.2:.1f}: {inside.mean():.0%}{read}")
    return (f"alpha of {len(alpha)} crops: mean {float(np.mean(alpha)):.3f}, {correct.mean():.0%} read right; "
            + "; ".join(parts))


def _key(settings: Mapping) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _save(path: Path, crops: DegradedCrops) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, images=crops.images, texts=np.array(crops.texts), regions=np.array(crops.regions),
             severity=crops.severity)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, buffer.getvalue())
    print(f"alprkit: {len(crops)} degraded crops kept in {path}", file=sys.stderr)


def _load(path: Path, key: str) -> DegradedCrops:
    try:
        with np.load(path, allow_pickle=False) as data:
            return DegradedCrops(data["images"], tuple(map(str, data["texts"])), tuple(map(str, data["regions"])),
                                 data["severity"], key)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(path, f"not a degraded-crops cache ({exc}); delete it to render the crops again") from None
