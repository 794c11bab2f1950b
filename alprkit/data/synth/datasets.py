"""Writing synthetic data sets in the real formats, in parallel and reproducibly.

Every item (an image, or a whole track) is generated from its own seed
``[seed, split number, index]``, so the bytes do not depend on the number of worker
processes. Files go to a hidden ``.<out>.partial`` folder beside ``out`` (each file
written atomically) that is renamed to ``out`` only when everything is written: an
interrupted run never leaves a folder that looks complete.

Layouts (all readable by :func:`alprkit.data.formats.load_dataset`):

- ``ccpd``: ``ccpd_<split>/<CCPD name>.jpg`` and ``splits/<split>.txt`` (one Chinese plate per image);
- ``jsonl``: ``<split>/<index>.jpg`` and one ``annotations.jsonl`` (a ``split`` key per image);
- ``crops_tsv``: ``<split>/<index>.jpg`` and one ``labels.tsv``;
- ``tao``: ``image/<split>_<index>.jpg``, ``label/<split>_<index>.txt`` and ``characters_list.txt``;
- ``ufpr``: ``<split>/track<NNNN>/track<NNNN>[<FF>].jpg`` (or ``.png``, as UFPR-ALPR ships them) with one ``.txt``
  label per frame, whose ``degradation:`` line gives the quality changes of that frame (:mod:`alprkit.degrade`).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ...atomic import write_json_atomic
from ...errors import ConfigError
from ...imageio import imwrite_atomic
from ..ccpd import CCPDLabel, ccpd_name, write_ccpd_split_lists
from ..crops import write_crops_tsv, write_tao_characters, write_tao_label
from ..jsonl import ANNOTATIONS, JsonlWriter, scene_record
from ..regions import REGIONS
from ..ufpr import write_ufpr_frame
from .conditions import SPLITS, check_split
from .crop import render_crop
from .plates import check_layout_shares, check_share
from .scenes import pick_region, render_scene
from .tracks import DEGRADE_MAX, DEGRADE_SHARE, TRACK_SIZE, render_track

FORMATS = ("ccpd", "jsonl", "crops_tsv", "tao", "ufpr")
FRAME_FORMATS = ("jpg", "png")
MARKER = ".alprkit-synth"  # marks a partial folder as ours, so a stale one may be removed
CROP_SIZE = (94, 24)
SIZE_LIMITS = {"crops": (8, 2048), "scenes": (160, 8192)}


@dataclass(frozen=True)
class SynthJob:
    """What to generate; everything a worker process needs (it is pickled to them)."""

    out: Path
    format: str
    regions: dict = field(default_factory=lambda: {"cn": 1.0})
    splits: tuple = ("base",)
    count: int = 100  # items per split: images, or tracks for ufpr
    seed: int = 0
    size: Optional[tuple] = None  # (w, h); None: the format's usual size
    max_plates: int = 1
    frames: int = 30
    quality: Optional[int] = None  # JPEG quality; None: each item's capture conditions decide
    degrade: float = DEGRADE_MAX  # ufpr: the strongest driving quality change along a track (0..1)
    degrade_share: float = DEGRADE_SHARE  # ufpr: the chance of each change being present in a track
    frame_format: str = "jpg"  # ufpr: frame files, jpg or png
    hard_negatives: float = 0.0  # jsonl: share of scenes with signs, van lettering ... beside the plates
    layout_shares: Optional[dict] = None  # jsonl: some plate layouts' share of their region, {cn_green: 0.3}

    def __post_init__(self):
        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "splits", tuple(self.splits))
        if self.size is not None:
            object.__setattr__(self, "size", tuple(int(v) for v in self.size))
        self.validate()

    @property
    def kind(self) -> str:
        return {"crops_tsv": "crops", "tao": "crops", "ufpr": "tracks"}.get(self.format, "scenes")

    def validate(self):
        if self.format not in FORMATS:
            raise ConfigError(f"format={self.format!r} is unknown (formats: {', '.join(FORMATS)})")
        if not self.regions:
            raise ConfigError("regions is empty: give at least one region with a share, e.g. regions={cn: 1.0}")
        for name, share in self.regions.items():
            if name not in REGIONS:
                raise ConfigError(f"regions: unknown region {name!r} (regions: {', '.join(REGIONS)})")
            if not isinstance(share, (int, float)) or isinstance(share, bool) or share <= 0:
                raise ConfigError(f"regions.{name}={share!r}: a share must be a number > 0")
        if self.format == "ccpd" and set(self.regions) != {"cn"}:
            raise ConfigError(f"format=ccpd holds Chinese plates only, but regions={dict(self.regions)}")
        if self.format == "ccpd" and self.max_plates != 1:
            raise ConfigError(f"max_plates={self.max_plates}: a CCPD file name holds exactly one plate")
        if not self.splits:
            raise ConfigError("splits is empty: name at least one of " + ", ".join([*SPLITS, "mix"]))
        for split in self.splits:
            check_split(split)
        if len(set(self.splits)) != len(self.splits):
            raise ConfigError(f"splits={list(self.splits)} names a split twice")
        for key in ("count", "max_plates", "frames"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{key}={value!r}: must be a whole number > 0")
        if self.format == "ufpr" and self.frames < 2:
            raise ConfigError(f"frames={self.frames}: a track needs at least 2 frames")
        for key in ("degrade", "degrade_share"):
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
                raise ConfigError(f"{key}={value!r}: must be a number from 0 to 1")
        if self.frame_format not in FRAME_FORMATS:
            raise ConfigError(f"frame_format={self.frame_format!r}: frames are written as {' or '.join(FRAME_FORMATS)}")
        check_share(self.hard_negatives, "hard_negatives")
        object.__setattr__(self, "layout_shares", check_layout_shares(self.layout_shares) or None)
        if self.format != "jsonl" and (self.hard_negatives or self.layout_shares):
            raise ConfigError(f"hard_negatives and layout_shares are for format=jsonl scenes, not format={self.format}")
        if self.quality is not None and not 1 <= int(self.quality) <= 100:
            raise ConfigError(f"quality={self.quality!r}: JPEG quality runs from 1 to 100")
        if self.size is not None:
            low, high = SIZE_LIMITS["crops" if self.kind == "crops" else "scenes"]
            if len(self.size) != 2 or not all(low <= v <= high for v in self.size):
                raise ConfigError(
                    f"size={list(self.size)}: {self.kind} need [width, height] with each side from {low} to {high} px"
                )

    def item_rng(self, split: str, index: int) -> np.random.Generator:
        # crc32 of the name, not its position: adding a split leaves the others' bytes unchanged
        return np.random.default_rng([self.seed, zlib.crc32(split.encode()), index])


# --- one item per format (run in worker processes) ------------------------------------------


def _jpeg_quality(job: SynthJob, natural: int) -> int:
    return int(job.quality) if job.quality is not None else int(np.clip(natural, 60, 95))


def _ccpd_item(job: SynthJob, root: Path, split: str, index: int):
    rng = job.item_rng(split, index)
    scene = render_scene(rng, "cn", job.size, split, max_plates=1)
    plate = scene.plates[0]
    c = scene.conditions
    label = CCPDLabel.from_text(
        plate.text,
        plate.box,
        plate.corners,
        image_size=scene.size,
        tilt=(max(0, round(90 + c.yaw)), max(0, round(90 + c.pitch))),
        brightness=int(np.clip(round(_plate_brightness(scene.image, plate.box)), 0, 255)),
        blurriness=int(np.clip(round(c.blurriness()), 0, 255)),
    )
    # The index after the area's digits keeps names unique (the area only gains 1e-9 units).
    label = replace(label, area=f"{label.area}{index:09d}")
    rel = Path(f"ccpd_{split}") / ccpd_name(label)
    imwrite_atomic(root / rel, scene.image, quality=_jpeg_quality(job, c.jpeg))
    return rel.as_posix()


def _plate_brightness(image: np.ndarray, box) -> float:
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    patch = image[max(0, y0) : max(y0 + 1, y1), max(0, x0) : max(x0 + 1, x1)]
    return float(patch.mean()) if patch.size else 0.0


def _jsonl_item(job: SynthJob, root: Path, split: str, index: int):
    rng = job.item_rng(split, index)
    scene = render_scene(rng, job.regions, job.size, split, job.max_plates, hard_negatives=job.hard_negatives,
                         layout_shares=job.layout_shares)
    rel = f"{split}/{index:06d}.jpg"
    imwrite_atomic(root / rel, scene.image, quality=_jpeg_quality(job, scene.conditions.jpeg))
    w, h = scene.size
    # What was painted to look like a plate, for a person to look at; never a plate label.
    distractors = {"distractors": [{"kind": d.kind, "text": d.text, "box": [round(v, 1) for v in d.box]}
                                   for d in scene.distractors]} if scene.distractors else {}
    return scene_record(rel, w, h, scene.plates, region=scene.region, split=split, source="alprkit synth",
                        **distractors)


def _crop(job: SynthJob, split: str, index: int):
    rng = job.item_rng(split, index)
    return render_crop(rng, pick_region(job.regions, rng), size=job.size or CROP_SIZE, split=split)


def _tsv_item(job: SynthJob, root: Path, split: str, index: int):
    crop = _crop(job, split, index)
    rel = f"{split}/{index:06d}.jpg"
    imwrite_atomic(root / rel, crop.image, quality=_jpeg_quality(job, 95))
    return (rel, crop.text, crop.region)


def _tao_item(job: SynthJob, root: Path, split: str, index: int):
    crop = _crop(job, split, index)
    name = f"{split}_{index:06d}.jpg"
    imwrite_atomic(root / "image" / name, crop.image, quality=_jpeg_quality(job, 95))
    write_tao_label(root, name, crop.text)
    return crop.text


def _ufpr_item(job: SynthJob, root: Path, split: str, index: int):
    rng = job.item_rng(split, index)
    track = f"track{index + 1:04d}"
    folder = root / split / track
    frames = render_track(rng, pick_region(job.regions, rng), job.frames, job.size or TRACK_SIZE, split,
                          degrade_max=job.degrade, degrade_share=job.degrade_share)  # fmt: skip
    for i, frame in enumerate(frames):
        stem = folder / f"{track}[{i + 1:02d}]"
        imwrite_atomic(stem.with_suffix(f".{job.frame_format}"), frame.image, quality=_jpeg_quality(job, frame.jpeg))
        p = frame.plate
        write_ufpr_frame(
            stem.with_suffix(".txt"), p.text, p.box, p.corners, frame.vehicle_box, p.region,
            camera="alprkit synth", vehicle={"type": "car"}, char_boxes=p.extra["chars"],
            degradation=strengths(frame.degradation),
        )  # fmt: skip
    return track


ITEM_WRITERS: dict[str, Callable] = {
    "ccpd": _ccpd_item,
    "jsonl": _jsonl_item,
    "crops_tsv": _tsv_item,
    "tao": _tao_item,
    "ufpr": _ufpr_item,
}


def strengths(d) -> dict:
    """A degradation's strengths by name, as the label file lists them."""
    from ...degrade import STRENGTHS

    return {name: getattr(d, name) for name in STRENGTHS}


def _run_item(args):
    job, root, split, index = args
    return ITEM_WRITERS[job.format](job, root, split, index)


def _worker_init():
    import cv2

    cv2.setNumThreads(1)  # one process per core; OpenCV's own threads would fight them


# --- the whole run ----------------------------------------------------------------------------


def _partial_folder(out: Path) -> Path:
    return out.parent / f".{out.name}.partial"


def _prepare(out: Path) -> Path:
    if out.exists():
        raise ConfigError(f"out={str(out)!r} already exists: give a new folder (nothing is overwritten)")
    partial = _partial_folder(out)
    if partial.exists():
        if not (partial / MARKER).is_file():
            raise ConfigError(f"{partial} exists and was not made by alprkit synth: remove it or choose another out")
        shutil.rmtree(partial)  # a stale folder from an interrupted run of ours
    partial.mkdir(parents=True)
    (partial / MARKER).write_text("written by alprkit synth; renamed when complete\n", encoding="utf-8")
    return partial


def _finish(job: SynthJob, root: Path, results: dict[str, list]):
    if job.format == "ccpd":
        write_ccpd_split_lists(root, results)
    elif job.format == "jsonl":
        with JsonlWriter(root / ANNOTATIONS) as writer:
            for records in results.values():
                for record in records:
                    writer.write(record)
    elif job.format == "crops_tsv":
        write_crops_tsv(root, [row for rows in results.values() for row in rows])
    elif job.format == "tao":
        write_tao_characters(root, sorted({c for texts in results.values() for t in texts for c in t}))
    write_json_atomic(root / "synth.json", job_summary(job))


def job_summary(job: SynthJob) -> dict:
    """What produced a folder, written beside the data as ``synth.json``."""
    return {
        "generator": "alprkit synth",
        "format": job.format,
        "regions": dict(job.regions),
        "splits": list(job.splits),
        "count": job.count,
        "seed": job.seed,
        "size": list(job.size) if job.size else None,
        "max_plates": job.max_plates,
        "frames": job.frames if job.format == "ufpr" else None,
        "quality": job.quality,
        **({"degrade": job.degrade, "degrade_share": job.degrade_share, "frame_format": job.frame_format}
           if job.format == "ufpr" else {}),
        **({"hard_negatives": job.hard_negatives, "layout_shares": job.layout_shares}
           if job.format == "jsonl" else {}),
    }


def generate(job: SynthJob, workers: int = 1, progress: bool = False) -> Path:
    """Write the data set of ``job`` to ``job.out``; returns it. Same job, same bytes, any ``workers``."""
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers={workers!r}: must be a whole number >= 1")
    root = _prepare(job.out)
    tasks = [(job, root, split, i) for split in job.splits for i in range(job.count)]
    results: dict[str, list] = {split: [] for split in job.splits}
    bar = _progress(len(tasks), job, progress)
    try:
        if workers == 1:
            outputs = map(_run_item, tasks)
            _collect(outputs, tasks, results, bar)
        else:
            ctx = multiprocessing.get_context("spawn")  # no inherited locks or threads from the parent
            with ctx.Pool(workers, initializer=_worker_init) as pool:
                chunk = max(1, min(16, len(tasks) // (workers * 4)))
                _collect(pool.imap(_run_item, tasks, chunksize=chunk), tasks, results, bar)
        _finish(job, root, results)
    finally:
        bar.close()
    (root / MARKER).unlink()
    os.replace(root, job.out)
    return job.out


def _collect(outputs, tasks, results, bar):
    for (_, _, split, _), output in zip(tasks, outputs):
        results[split].append(output)
        bar.update(1)


def _progress(total: int, job: SynthJob, enabled: bool):
    from tqdm import tqdm

    unit = "track" if job.format == "ufpr" else "image"
    return tqdm(total=total, unit=unit, desc=f"synth {job.format}", disable=not enabled, dynamic_ncols=True)

