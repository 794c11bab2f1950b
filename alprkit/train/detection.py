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

Scenes come from the dataset config's ``train`` list (:mod:`alprkit.train.scenes`): ``kind: synth_scenes`` renders
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
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, IterableDataset

from ..atomic import write_json_atomic, write_text_atomic
from ..config import component_params
from ..errors import ConfigError
from ..metrics import detection_ap
from ..pipeline import build_component
from ..weights import load_weights, save_weights
from .checkpoints import AtomicCheckpointIO
from .optim import adam_with_lr_drops
from .scenes import TrainingScene, augment_scene, build_scene_source, validation_scenes


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


def _collate_scenes(recipe, stage, per_scene):
    return recipe.collate(stage, [example for examples in per_scene for example in examples])


# -- the command ---------------------------------------------------------------------------


def _first_scene(per_scene):
    return per_scene[0]


def train_detector(cfg) -> int:
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
    from pytorch_lightning.callbacks import ModelCheckpoint
    from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

    from ..commands.train import _resume_path

    
    t = cfg.train
    for earlier in recipe.stages[: recipe.stages.index(stage)]:
        recipe.network(earlier).eval().requires_grad_(False)
    recipe.network(stage).train().requires_grad_(True)
    module = DetectionStage(recipe, stage, t.steps, lr=t.lr, lr_drops=tuple(t.lr_drops),
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
    stream = SceneExamples(recipe, stage, sources, weights, seed=int(t.seed), augment=bool(t.augment),
                                      gray=float(t.gray))
    loader = DataLoader(stream, batch_size=int(t.batch_size), num_workers=int(t.workers),
                        collate_fn=functools.partial(_collate_scenes, recipe, stage),
                        persistent_workers=int(t.workers) > 0)
    val_loader = DataLoader(val_scenes, batch_size=1, collate_fn=_first_scene) if val_scenes else None
    trainer.fit(module, loader, val_loader, ckpt_path=_resume_path(resume, output / stage))
    return trainer
