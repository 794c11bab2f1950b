"""``alprkit train detector=NAME dataset=scenes_*``: train a cascade detector with PyTorch Lightning.

The same conventions as recognizer training: Lightning on CPU, one GPU or several
(DDP), checkpoints (``train.resume=auto`` resumes), CSV and TensorBoard logs, the
composed config, and at the end a safetensors file with metadata that the plugin's
``weights/`` folder or ``detector.weights=`` can load.

A detector is trainable when its component has ``training_recipe()``, returning an
object with:

- ``stages``: names of the networks trained one after the other (``pnet``, ``onet``);
  a later stage may use the earlier ones, which are frozen by then;
- ``network(stage)``: the ``nn.Module`` that stage trains;
- ``examples(stage, scene, rng)``: the training examples cut from one
  :class:`TrainingScene` (patches, anchors ...), as a list;
- ``collate(stage, examples)``: a batch (a dict of tensors) from the examples of several scenes;
- ``losses(stage, batch)``: a dict of scalar tensors whose ``"loss"`` is minimised;
- ``predict(stage, image)``: ``(boxes (n, 4), scores (n,))`` in image pixels, scored for validation
  (a first stage returns its proposals, the last one the detector's output).

The component also has ``networks`` (one ``nn.Module`` holding every stage's network:
its state dict is the weights file) and ``metadata()`` (what rebuilds it).

Scenes come from the dataset config's ``train`` list: ``kind: synth_scenes`` renders
scenes on the fly (``reuse: k`` draws each rendered scene about k times, from a pool
of recent ones, because a scene costs far more to render than to train on;
``hard_negatives: 0.5`` of them get signs, van lettering, grilles and dealer frames
beside the plates; ``layout_shares: {cn_green: 0.3}`` sets a plate layout's share),
``kind: negatives`` shows the photos around a detector's false positives (the output of
``alprkit mine``; ``context: 2`` cuts each photo around its false positive) and
``kind: folder`` reads any labelled full-image folder (JSONL, CCPD), optionally only
the plates whose text falls in some folds (``split: {folds: 2, keep: 0}``; a set without
text by its dashcam events or file names, :mod:`alprkit.data.splits`). A plate labelled
with a box but no corners (``TrainingScene.corners_known``) trains the box and adds no
corner loss. ``train.batch_size`` counts scenes per step; ``train.steps`` is per stage;
``train.stages=[onet]`` trains only some stages (the others keep the detector's
weights). ``train.resume=auto`` skips the stages finished before and resumes the
interrupted one; a checkpoint file resumes the first stage trained.
"""

from __future__ import annotations

import functools
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from omegaconf import OmegaConf

from ..atomic import write_json_atomic, write_text_atomic
from ..config import component_params
from ..data.dataset import SCENES
from ..data.formats import load_dataset
from ..data.splits import select_folds
from ..errors import ConfigError, InputError
from ..geometry import box_quad
from ..imageio import read_image
from ..metrics import detection_ap
from ..pipeline import build_component
from ..weights import load_weights, save_weights
from .optim import adam_with_lr_drops


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
        samples = dataset.samples
        if split:
            keep = split["keep"]
            samples = select_folds(samples, int(split["folds"]), list(keep) if isinstance(keep, Sequence) else keep)
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


def _collate_scenes(recipe, stage, per_scene):
    return recipe.collate(stage, [example for examples in per_scene for example in examples])


# -- the classes made of torch and Lightning -------------------------------------------------
# SceneExamples and DetectionStage subclass torch's IterableDataset and Lightning's LightningModule, whose
# imports take about ten seconds. They are made on first use (``from alprkit.train.detection import
# SceneExamples``, or training), so that the scene sources above, ``alprkit mine`` and their tests load
# without them.

_TRAINING_CLASSES = ("SceneExamples", "DetectionStage")


@functools.cache
def _training_classes() -> dict:
    import pytorch_lightning as pl
    import torch
    from torch.utils.data import IterableDataset

    class SceneExamples(IterableDataset):
        """An endless stream: for each scene drawn by weight, the list of examples the recipe cuts from it.

        Every DataLoader worker and every DDP rank draws with its own seed.
        """

        def __init__(self, recipe, stage, sources, weights, seed=0, augment=True, gray=0.15):
            total = float(sum(weights))
            if total <= 0 or any(w < 0 for w in weights):
                raise ConfigError(f"dataset source weights must be >= 0 with a positive sum, got {list(weights)}")
            self.recipe, self.stage, self.sources = recipe, stage, list(sources)
            self.p = np.asarray(weights, dtype=np.float64) / total
            self.seed, self.augment, self.gray = seed, augment, gray

        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            worker = info.id if info else 0
            dist = torch.distributed
            rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
            rng = np.random.default_rng([self.seed, rank, worker, len(self.stage)])
            while True:
                scene = self.sources[int(rng.choice(len(self.sources), p=self.p))].sample(rng)
                if self.augment:
                    scene = augment_scene(scene, rng, self.gray)
                yield self.recipe.examples(self.stage, scene, rng)

    class DetectionStage(pl.LightningModule):
        """Trains one stage of a recipe; validation scores the stage's boxes (AP and recall at IoU 0.5..0.9)."""

        def __init__(self, recipe, stage, steps, lr=1e-3, lr_drops=(0.5,), weight_decay=0.0):
            super().__init__()
            self.recipe, self.stage = recipe, stage
            self.network = recipe.network(stage)
            self.steps, self.lr, self.lr_drops, self.weight_decay = int(steps), lr, tuple(lr_drops), weight_decay
            self._found, self._truths = [], []

        def training_step(self, batch, batch_idx):
            losses = self.recipe.losses(self.stage, batch)
            size = int(next(iter(batch.values())).shape[0])
            for key, value in losses.items():
                self.log(f"train/{self.stage}_{key}", value, prog_bar=key == "loss", batch_size=size)
            self.log("train/lr", self.optimizers().param_groups[0]["lr"], batch_size=size)
            return losses["loss"]

        def transfer_batch_to_device(self, batch, device, dataloader_idx):
            if isinstance(batch, TrainingScene):  # validation runs the detector on the image as inference does
                return batch
            return super().transfer_batch_to_device(batch, device, dataloader_idx)

        def validation_step(self, scene, batch_idx):
            boxes, scores = self.recipe.predict(self.stage, scene.image)
            key = (self.global_rank, batch_idx)
            self._found.extend((key, tuple(b), float(s)) for b, s in zip(boxes, scores))
            self._truths.extend((key, tuple(b)) for b in scene.boxes)

        def on_validation_epoch_end(self):
            if not self._truths:
                return
            scores = detection_ap(self._found, self._truths)
            self._found, self._truths = [], []
            for key in ("ap50", "ap70", "ap_mean", "recall50"):
                self.log(f"val/{self.stage}_{key}", float(scores[key]), prog_bar=key == "ap50", sync_dist=True)

        def configure_optimizers(self):
            return adam_with_lr_drops(self.network, self.lr, self.weight_decay, self.steps, self.lr_drops)

    made = {"SceneExamples": SceneExamples, "DetectionStage": DetectionStage}
    for name, cls in made.items():  # pickled by name (DataLoader workers, ddp_spawn), found by __getattr__
        cls.__qualname__ = name
    globals().update(made)
    return made


def __getattr__(name):
    if name in _TRAINING_CLASSES:
        return _training_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- the command ---------------------------------------------------------------------------


def _first_scene(per_scene):
    return per_scene[0]


def train_detector(cfg) -> int:
    import pytorch_lightning as pl

    from ..commands.train import _check

    t = cfg.train
    _check(t)
    name, _ = component_params(cfg.detector)
    output = Path(cfg.output) if cfg.output else Path("runs/train") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    pl.seed_everything(int(t.seed), workers=True, verbose=False)

    detector = build_component("detector", cfg.detector)
    if not hasattr(detector, "training_recipe"):
        raise ConfigError(f"detector {name!r} cannot be trained (it has no training_recipe())")
    recipe = detector.training_recipe()
    stages = list(t.get("stages") or recipe.stages)
    unknown = [s for s in stages if s not in recipe.stages]
    if unknown:
        raise ConfigError(f"train.stages: {unknown} are not stages of {name!r} (stages: {list(recipe.stages)})")
    train_nodes = list(cfg.dataset.train)
    sources = [build_scene_source(node) for node in train_nodes]
    weights = [float(node.get("weight", 1.0)) for node in train_nodes]
    val_scenes = validation_scenes(list(cfg.dataset.get("val") or []), limit=t.get("val_limit"))
    output.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output / "config.yaml", OmegaConf.to_yaml(cfg))

    metrics, steps, is_global_zero = {}, {}, True
    resume = t.resume
    for stage in stages:
        done = output / "stages" / f"{stage}.safetensors"
        if t.resume and done.exists():  # finished before an interruption: keep its weights
            state, meta = load_weights(done)
            detector.networks.load_state_dict({k: v.float() for k, v in state.items()})
            steps[stage] = meta.get("steps")
            continue
        trainer = _train_stage(cfg, recipe, stage, output, sources, weights, val_scenes, resume)
        if resume != "auto":  # a checkpoint file resumes the first stage trained, not the later ones
            resume = None
        steps[stage] = int(trainer.global_step)
        metrics.update({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")})
        is_global_zero = trainer.is_global_zero
        if is_global_zero:
            save_weights(done, detector.networks.state_dict(),
                         {**detector.metadata(), "stage": stage, "steps": steps[stage]})
    if not is_global_zero:
        return 0

    command = "alprkit train " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    # Half precision halves the shipped files; the detectors compute in float32 after loading.
    result = save_weights(output / f"{detector.metadata()['architecture']}.safetensors",
                          {k: v.half() if v.is_floating_point() else v for k, v in detector.networks.state_dict().items()},
                          {**detector.metadata(), "dtype": "float16", "steps": steps, "command": command,
                           "metrics": metrics})
    write_json_atomic(output / "result.json", {"weights": str(result), "steps": steps, "metrics": metrics,
                                                "command": command})
    print(f"alprkit: weights written to {result} after {steps} steps; {metrics}", file=sys.stderr)
    return 0


def _train_stage(cfg, recipe, stage, output, sources, weights, val_scenes, resume):
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint
    from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger
    from torch.utils.data import DataLoader

    from ..commands.train import _resume_path
    from .checkpoints import AtomicCheckpointIO

    classes = _training_classes()

    t = cfg.train
    for earlier in recipe.stages[: recipe.stages.index(stage)]:
        recipe.network(earlier).eval().requires_grad_(False)
    recipe.network(stage).train().requires_grad_(True)
    module = classes["DetectionStage"](recipe, stage, t.steps, lr=t.lr, lr_drops=tuple(t.lr_drops),
                                       weight_decay=t.weight_decay)
    checkpoints = ModelCheckpoint(dirpath=output / stage / "checkpoints", save_last=True,
                                  every_n_train_steps=t.val_every, save_top_k=1 if val_scenes else 0,
                                  monitor=f"val/{stage}_ap50" if val_scenes else None, mode="max", filename="best")
    trainer = pl.Trainer(
        max_steps=t.steps, accelerator=t.accelerator, devices=t.devices, strategy=t.strategy,
        precision=t.precision, callbacks=[checkpoints],
        logger=[CSVLogger(output, name="logs", version=stage), TensorBoardLogger(output, name="tb", version=stage)],
        val_check_interval=t.val_every if val_scenes else None, check_val_every_n_epoch=None,
        limit_val_batches=1.0 if val_scenes else 0, num_sanity_val_steps=0, enable_progress_bar=cfg.progress,
        log_every_n_steps=min(50, t.val_every), default_root_dir=output, enable_model_summary=False,
        plugins=[AtomicCheckpointIO()],
    )
    stream = classes["SceneExamples"](recipe, stage, sources, weights, seed=int(t.seed), augment=bool(t.augment),
                                      gray=float(t.gray))
    loader = DataLoader(stream, batch_size=int(t.batch_size), num_workers=int(t.workers),
                        collate_fn=functools.partial(_collate_scenes, recipe, stage),
                        persistent_workers=int(t.workers) > 0)
    val_loader = DataLoader(val_scenes, batch_size=1, collate_fn=_first_scene) if val_scenes else None
    trainer.fit(module, loader, val_loader, ckpt_path=_resume_path(resume, output / stage))
    return trainer
