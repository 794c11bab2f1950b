"""The scenes detector training draws: synthetic, labelled folders, mined negatives, and their augmentation.

Plain numpy and the synthetic engine, no torch or Lightning, so ``alprkit mine`` and the
sources' tests load fast; :mod:`alprkit.train.detection` trains on them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..data.dataset import SCENES
from ..data.formats import load_dataset
from ..data.splits import select_split
from ..errors import ConfigError, InputError
from ..geometry import box_quad
from ..imageio import read_image


@dataclass(frozen=True, eq=False)
class TrainingScene:
    image: np.ndarray  # uint8 RGB (h, w, 3)
    boxes: np.ndarray  # (n, 4) x1, y1, x2, y2
    corners: np.ndarray  # (n, 4, 2) TL, TR, BR, BL
    # (n,) bool: the plate's corners are labelled. Box-only plates (real detection sets) hold their box's
    # corners in ``corners``, a stand-in the recipes must not train the corner regressors towards.
    corners_known: Optional[np.ndarray] = None  # None: every plate's

    def __post_init__(self):
        known = np.ones(len(self.boxes), bool) if self.corners_known is None else np.asarray(self.corners_known, bool)
        object.__setattr__(self, "corners_known", known.reshape(len(self.boxes)))

    @classmethod
    def from_plates(cls, image, plates) -> "TrainingScene":
        boxes = np.array([p.box for p in plates], dtype=np.float64).reshape(-1, 4)
        corners = np.array([p.corners if p.corners is not None else box_quad(p.box) for p in plates],
                           dtype=np.float64).reshape(-1, 4, 2)
        return cls(image, boxes, corners, np.array([p.corners is not None for p in plates], bool))


# -- scene sources -------------------------------------------------------------------------

HARD_NEGATIVES = 0.5  # share of synthetic scenes with signs, van lettering, grilles ... beside the plates


class SynthScenes:
    """Scenes rendered on the fly by the synthetic engine (cars, street, 1..max_plates plates)."""

    def __init__(self, regions, max_plates=3, split="mix", size=None, hard_negatives=HARD_NEGATIVES,
                 layout_shares=None):
        from ..data.synth.conditions import check_split
        from ..data.synth.plates import check_layout_shares, check_share
        from ..data.synth.streams import _check_regions

        self.regions = _check_regions(regions)
        self.max_plates = int(max_plates)
        self.split = check_split(split)
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.hard_negatives = check_share(hard_negatives, "hard_negatives")
        self.layout_shares = check_layout_shares(layout_shares)

    def sample(self, rng: np.random.Generator) -> TrainingScene:
        from ..data.synth.scenes import render_scene

        scene = render_scene(rng, self.regions, self.size, self.split, self.max_plates, compress=True,
                             hard_negatives=self.hard_negatives, layout_shares=self.layout_shares)
        return TrainingScene.from_plates(scene.image, scene.plates)


class MinedNegatives:
    """The photos of a detector's false positives (``path``: the output of ``alprkit mine``, or a list of
    them), their labelled plates kept positive.

    ``context`` k shows the photo cut around one false positive, k times its size on each
    side: the part the detector got wrong, at its own size (MTCNN cuts its training crops at
    fixed scales, so the cut's size does not change theirs). ``context: null`` shows the whole
    photo (the RPN resizes a whole scene to its input: a cut would enlarge it). Each negative
    is drawn equally often, so a photo with many false positives comes back more often.
    """

    def __init__(self, path, context=2.0):
        from ..data.negatives import load_negatives

        if context is not None and (not isinstance(context, (int, float)) or isinstance(context, bool)
                                    or context < 0):
            raise ConfigError(f"negatives source context={context!r}: a number >= 0 (null: the whole photo)")
        paths = [path] if isinstance(path, (str, Path)) else list(path)  # one output of alprkit mine, or several
        self.path, self.context = ", ".join(map(str, paths)), None if context is None else float(context)
        self.negatives = [negative for p in paths for negative in load_negatives(p)]
        self._scenes: dict = {}  # cut scenes are small, and whole photos few: decode each once

    def sample(self, rng: np.random.Generator) -> TrainingScene:
        while self.negatives:
            negative = self.negatives[int(rng.integers(len(self.negatives)))]
            key = negative.image if self.context is None else negative
            if key not in self._scenes:
                try:
                    self._scenes[key] = self._scene(negative)
                except InputError as exc:  # one bad photo must not end a run of hours
                    print(f"alprkit: skipped: {exc}", file=sys.stderr)
                    self.negatives = [n for n in self.negatives if n.image != negative.image]
                    continue
            return self._scenes[key]
        raise InputError(self.path, "none of its photos could be read (each is listed above)")

    def _scene(self, negative) -> TrainingScene:
        from ..data.dataset import PlateLabel
        from ..data.negatives import context_window

        pixels = read_image(negative.image).pixels
        x0, y0, x1, y1 = (0, 0, pixels.shape[1], pixels.shape[0]) if self.context is None else \
            context_window(negative, (pixels.shape[1], pixels.shape[0]), self.context)
        shift = np.array([x0, y0])
        plates = [PlateLabel(box=tuple(np.subtract(box, [x0, y0, x0, y0])),
                             corners=None if corners is None else tuple(map(tuple, np.subtract(corners, shift))))
                  for box, corners in negative.plates
                  if box[0] < x1 and x0 < box[2] and box[1] < y1 and y0 < box[3]]
        return TrainingScene.from_plates(np.ascontiguousarray(pixels[y0:y1, x0:x1]), plates)


class FolderScenes:
    """Full images of a labelled folder (any scenes format); images without boxed plates are left out.

    Bad labels and unreadable images are reported on stderr (one line each) and left out.
    """

    def __init__(self, path, fmt=None, split=None):
        dataset = load_dataset(path, format=fmt, strict=False)
        if dataset.kind != SCENES:
            raise ConfigError(f"dataset folder {path}: holds {dataset.kind}, detector training needs full images")
        for problem in dataset.problems:
            print(f"alprkit: skipped: {problem}", file=sys.stderr)
        samples = select_split(dataset.samples, split)
        self.path = path
        self.samples = [s for s in samples if s.plates and all(p.box is not None for p in s.plates)]
        if not self.samples:
            raise InputError(path, "no images with labelled plate boxes")
        self._decoded: dict[Path, TrainingScene] = {}  # real folders are small and drawn again and again

    def sample(self, rng: np.random.Generator) -> TrainingScene:
        while self.samples:
            sample = self.samples[int(rng.integers(len(self.samples)))]
            if sample.path not in self._decoded:
                scene = self._load_or_drop(sample)
                if scene is None:
                    continue
                self._decoded[sample.path] = scene
            return self._decoded[sample.path]
        raise InputError(self.path, "none of its labelled images could be read (each is listed above)")

    def scenes(self, limit=None) -> list[TrainingScene]:
        """The first ``limit`` readable scenes (all without a limit), in folder order."""
        scenes = []
        for sample in list(self.samples):
            if limit is not None and len(scenes) >= limit:
                break
            scene = self._load_or_drop(sample)
            if scene is not None:
                scenes.append(scene)
        return scenes

    def _load_or_drop(self, sample) -> Optional[TrainingScene]:
        try:
            return self.load(sample)
        except InputError as exc:  # one bad image must not end a run of hours
            print(f"alprkit: skipped: {exc}", file=sys.stderr)
            self.samples.remove(sample)
            return None

    @staticmethod
    def load(sample) -> TrainingScene:
        return TrainingScene.from_plates(read_image(sample.path).pixels, sample.plates)


class ScenePool:
    """Draws each scene of ``source`` about ``reuse`` times, from a pool of the latest ``size`` scenes."""

    def __init__(self, source, reuse: float, size: int = 64):
        if reuse < 1:
            raise ConfigError(f"dataset source reuse must be >= 1, got {reuse!r}")
        self.source, self.reuse, self.size = source, float(reuse), int(size)
        self.pool: list = []

    def sample(self, rng: np.random.Generator) -> TrainingScene:
        if len(self.pool) < min(self.size, 4) or rng.random() < 1.0 / self.reuse:
            scene = self.source.sample(rng)
            if len(self.pool) < self.size:
                self.pool.append(scene)
            else:
                self.pool[int(rng.integers(self.size))] = scene
            return scene
        return self.pool[int(rng.integers(len(self.pool)))]


def build_scene_source(node):
    kind = node.get("kind")
    if kind == "synth_scenes":
        source = SynthScenes(node["regions"], node.get("max_plates", 3), node.get("split", "mix"), node.get("size"),
                             node.get("hard_negatives", HARD_NEGATIVES), node.get("layout_shares"))
    elif kind == "folder":
        source = FolderScenes(node["path"], node.get("format"), node.get("split"))
    elif kind == "negatives":
        source = MinedNegatives(node["path"], node.get("context", 2.0))
    elif kind == "synth":
        raise ConfigError("dataset source kind 'synth' renders plate crops; detector training needs scenes "
                          "(dataset=scenes_multi, scenes_cn, scenes_us ... or kind: synth_scenes)")
    else:
        raise ConfigError(f"dataset source kind {kind!r} is unknown for detectors (kinds: synth_scenes, folder, "
                          "negatives)")
    reuse = float(node.get("reuse", 1))
    return ScenePool(source, reuse) if reuse > 1 else source


def validation_scenes(nodes, limit=None) -> list[TrainingScene]:
    """A fixed list: seeded synthetic scenes (``count``, ``seed``) and whole folders, at most ``limit``."""
    scenes = []
    for node in nodes:
        room = (int(limit) - len(scenes)) if limit else None
        source = build_scene_source({**node, "reuse": 1})
        if isinstance(source, FolderScenes):
            scenes.extend(source.scenes(room))
        else:
            rng = np.random.default_rng(int(node.get("seed", 12345)))
            count = int(node.get("count", 64))
            scenes.extend(source.sample(rng) for _ in range(count if room is None else min(count, room)))
    return scenes


# -- scene augmentation ----------------------------------------------------------------------

def jitter_colour(image: np.ndarray, rng: np.random.Generator, blur=0.15, gray=0.15) -> np.ndarray:
    """Brightness, contrast and white balance through one lookup table (a whole frame in about a
    millisecond), now and then a light blur, and now and then grayscale (photos of grayscale cameras)."""
    import cv2

    gain = rng.uniform(0.7, 1.3) * rng.uniform(0.9, 1.1, 3)
    levels = (np.arange(256, dtype=np.float64)[:, None] - 128) * rng.uniform(0.7, 1.3) + 128
    table = np.clip(levels * gain, 0, 255).astype(np.uint8)[:, None, :]
    image = cv2.LUT(np.ascontiguousarray(image), table)
    if rng.random() < blur:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.5))
    if rng.random() < gray:
        image = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    return image


def augment_scene(scene: TrainingScene, rng: np.random.Generator, gray: float = 0.15) -> TrainingScene:
    """A mirror image half the time (corners stay TL, TR, BR, BL) and colour jitter (grayscale with probability ``gray``)."""
    image, boxes, corners = scene.image, scene.boxes, scene.corners
    if rng.random() < 0.5:
        w = image.shape[1]
        image = image[:, ::-1]
        boxes = np.stack([w - boxes[:, 2], boxes[:, 1], w - boxes[:, 0], boxes[:, 3]], axis=1)
        corners = corners[:, [1, 0, 3, 2]] * [-1, 1] + [w, 0]
    return TrainingScene(jitter_colour(image, rng, gray=gray), boxes, corners, scene.corners_known)
