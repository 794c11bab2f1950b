"""``alprkit train quality=SELECTOR recognizer=NAME dataset=quality_*``: train a stream selector's quality network.

The conventions of recognizer and detector training: Lightning on CPU or GPU, checkpoints
(``train.resume=auto`` resumes), CSV and TensorBoard logs, the composed config, and at the
end safetensors weights with the metadata that rebuilds them.

A selector (``quality=NAME``) is trainable when it has ``training_recipe(recognizer, teacher=..., distill_weight=...)``,
returning an object with ``network`` (every module trained), ``quality`` (the quality network,
with its ``input_size``), ``needs_targets`` (whether the quality target alpha comes from the
recognizer, precomputed), ``encode`` (whether batches need the plate texts encoded),
``fit(pixels)`` (a crop as the quality network reads it), ``train_mode()``,
``losses(batch, step)`` (a dict whose ``"loss"`` is minimised), ``evaluate(batch)``
(``{"a", "alpha"[, "texts"]}``), ``save(folder, info)`` (the files written) and optionally
``trains_recognizer``: without it the recognizer must have weights, whose confidence is learned.

The data set's ``train`` and ``val`` lists hold ``kind: degraded`` sources
(:mod:`alprkit.train.quality_data`): synthetic crops at the recognizer's input size,
degraded at random strengths, kept in ``dataset.cache`` with each recognizer's alpha.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, Dataset, RandomSampler

from .. import plugins
from ..atomic import write_json_atomic, write_text_atomic
from ..config import component_params, config_float
from ..errors import ConfigError
from ..metrics import recognition_metrics
from ..pipeline import build_component
from ..registry import resolve_weights
from .checkpoints import AtomicCheckpointIO
from .data import LabelEncoder
from .optim import adam_with_lr_drops
from .quality_data import DegradedCrops, degraded_crops, describe, quality_targets, recognizer_about


def rank_correlation(a, b) -> float:
    """Spearman's rho: how well the scores order the crops as the targets do (what frame choice needs)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2:
        return float("nan")
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


class QualityItems(Dataset):
    """Degraded crops with their targets (None where the recipe computes them itself)."""

    def __init__(self, crops: DegradedCrops, alpha):
        self.crops, self.alpha = crops, alpha

    def __len__(self):
        return len(self.crops)

    def __getitem__(self, i):
        alpha = None if self.alpha is None else float(self.alpha[i])
        return self.crops.images[i], alpha, self.crops.texts[i]


class Collate:
    """A batch dict: ``images`` (the recognizer's crops), ``quality_images`` (as the quality network reads
    them), ``alpha``, and with an encoder ``targets``/``lengths`` of the texts; float NCHW in [0, 255]."""

    def __init__(self, fit, encode=None):
        self.fit, self.encode = fit, encode

    def __call__(self, items):
        pixels, alpha, texts = zip(*items)
        batch = {"images": _tensor(pixels), "quality_images": _tensor([self.fit(p) for p in pixels]),
                 "texts": list(texts)}
        if alpha[0] is not None:
            batch["alpha"] = torch.tensor(alpha, dtype=torch.float32)
        if self.encode is not None:
            labels = [self.encode(t) for t in texts]
            batch["lengths"] = torch.tensor([len(l) for l in labels], dtype=torch.long)
            batch["targets"] = torch.tensor([c for l in labels for c in l], dtype=torch.long)
        return batch


def _tensor(pixels):
    return torch.from_numpy(np.ascontiguousarray(np.stack(pixels).transpose(0, 3, 1, 2), dtype=np.float32))


class QualityModule(pl.LightningModule):
    """Trains a recipe's network; validation reports the mean |alpha - a| and the rank correlation."""

    def __init__(self, recipe, steps, lr=1e-3, lr_drops=(0.5,), weight_decay=0.0):
        super().__init__()
        self.recipe = recipe
        self.network = recipe.network
        self.steps, self.lr, self.lr_drops, self.weight_decay = int(steps), lr, tuple(lr_drops), weight_decay
        self._scores, self._targets, self._pairs = [], [], []

    def on_train_batch_start(self, batch, batch_idx):
        self.recipe.train_mode()

    def training_step(self, batch, batch_idx):
        losses = self.recipe.losses(batch, self.global_step)
        size = int(batch["images"].shape[0])
        for key, value in losses.items():
            self.log(f"train/{key}", value, prog_bar=key == "loss", batch_size=size)
        return losses["loss"]

    def validation_step(self, batch, batch_idx):
        out = self.recipe.evaluate(batch)
        self._scores.extend(out["a"].float().cpu().tolist())
        self._targets.extend(out["alpha"].float().cpu().tolist())
        if "texts" in out:
            self._pairs.extend(zip(out["texts"], batch["texts"]))

    def on_validation_epoch_end(self):
        if not self._scores:
            return
        a, alpha = np.asarray(self._scores), np.asarray(self._targets)
        self.log("val/mae", float(np.abs(a - alpha).mean()), prog_bar=True, sync_dist=True)
        self.log("val/rank", rank_correlation(a, alpha), sync_dist=True)
        if self._pairs:
            self.log("val/acc", float(recognition_metrics(self._pairs)["acc"]), prog_bar=True, sync_dist=True)
        self._scores, self._targets, self._pairs = [], [], []

    def configure_optimizers(self):
        return adam_with_lr_drops(self.network, self.lr, self.weight_decay, self.steps, self.lr_drops)


def _sources(nodes, what) -> list:
    nodes = list(nodes or [])
    for node in nodes:
        if node.get("kind") != "degraded":
            raise ConfigError(f"dataset {what} source kind {node.get('kind')!r}: quality networks train on "
                              "kind: degraded sources (dataset=quality_br_us)")
    return nodes


def _crops(nodes, size, cache, show) -> DegradedCrops | None:
    """Every source's crops, as one set."""
    parts = [degraded_crops(node, size, cache, show) for node in nodes]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return DegradedCrops(np.concatenate([p.images for p in parts]), sum((p.texts for p in parts), ()),
                         sum((p.regions for p in parts), ()), np.concatenate([p.severity for p in parts]),
                         "+".join(p.key for p in parts))


def quality_selector(value) -> str:
    """The selector ``quality=NAME`` names (checked by :mod:`alprkit.checks`), if it has a quality network to train."""
    registry = plugins.registry()
    name = registry.get("selector", str(value)).name
    if not hasattr(registry.create("selector", name), "training_recipe"):
        raise ConfigError(f"quality={value}: selector {name!r} has no quality network to train")
    return name


def _refuse_untrained(node, selector):
    """A quality network learns its recognizer's confidence: an untrained recognizer's is noise."""
    name, params = component_params(node)
    registry = plugins.registry()
    component = registry.get("recognizer", name)
    if resolve_weights(component, name.partition(".")[2], params.get("weights")) is None:
        raise ConfigError(f"recognizer {name!r} has no weights: quality={selector} learns a trained recognizer's "
                          "confidence; name one (recognizer=lprnet_br, recognizer=NAME.TAG or "
                          "+recognizer.weights=FILE)")


def train_quality(cfg) -> int:
    from pytorch_lightning.callbacks import ModelCheckpoint
    from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

    from ..commands.train import _check, _resume_path

    t = cfg.train
    _check(t)
    distill_weight = config_float(t, "distill_weight", minimum=0.0, name="train.distill_weight")
    name = quality_selector(cfg.quality)
    output = Path(cfg.output) if cfg.output else Path("runs/train") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    resume = _resume_path(t.resume, output)
    train_nodes = _sources(cfg.dataset.get("train"), "train")
    val_nodes = _sources(cfg.dataset.get("val"), "val")
    if not train_nodes:
        raise ConfigError("dataset.train is empty: quality networks need kind: degraded sources "
                          "(dataset=quality_br_us)")
    pl.seed_everything(int(t.seed), workers=True, verbose=False)

    selector = plugins.registry().create("selector", name)  # untrained: training makes its weights
    recognizer = build_component("recognizer", cfg.recognizer)
    recipe = selector.training_recipe(recognizer, teacher=t.get("teacher"),
                                      distill_weight=1.0 if distill_weight is None else distill_weight)
    if not getattr(recipe, "trains_recognizer", False):
        _refuse_untrained(cfg.recognizer, name)
    cache = Path(str(cfg.dataset.cache)) if cfg.dataset.get("cache") else None
    size = tuple(recognizer.input_size)
    show = bool(cfg.progress)
    crops, val_crops = _crops(train_nodes, size, cache, show), _crops(val_nodes, size, cache, show)

    decode = plugins.registry().create("decoder", "greedy")

    def targets(of):
        if of is None or not recipe.needs_targets:
            return None
        found = quality_targets(recognizer, of, decode, cache, show_progress=show)
        print(f"alprkit: {describe(found)}", file=sys.stderr)
        return found.alpha

    encode = LabelEncoder(recognizer.alphabet) if recipe.encode else None
    collate = Collate(recipe.fit, encode)
    items = QualityItems(crops, targets(crops))
    loader = DataLoader(items, batch_size=int(t.batch_size), collate_fn=collate, num_workers=int(t.workers),
                        sampler=RandomSampler(items, replacement=True, num_samples=int(t.steps) * int(t.batch_size)),
                        persistent_workers=int(t.workers) > 0)
    val_loader = (DataLoader(QualityItems(val_crops, targets(val_crops)), batch_size=int(t.batch_size),
                             collate_fn=collate) if val_crops is not None else None)

    module = QualityModule(recipe, t.steps, lr=t.lr, lr_drops=tuple(t.lr_drops), weight_decay=t.weight_decay)
    checkpoints = ModelCheckpoint(dirpath=output / "checkpoints", save_last=True, every_n_train_steps=t.val_every,
                                  save_top_k=1 if val_loader else 0, monitor="val/mae" if val_loader else None,
                                  mode="min", filename="best")
    trainer = pl.Trainer(
        max_steps=t.steps, accelerator=t.accelerator, devices=t.devices, strategy=t.strategy, precision=t.precision,
        logger=[CSVLogger(output, name="logs"), TensorBoardLogger(output, name="tb")], callbacks=[checkpoints],
        val_check_interval=t.val_every if val_loader else None, check_val_every_n_epoch=None,
        limit_val_batches=1.0 if val_loader else 0, num_sanity_val_steps=0, enable_progress_bar=cfg.progress,
        log_every_n_steps=min(50, t.val_every), default_root_dir=output, enable_model_summary=False,
        plugins=[AtomicCheckpointIO()],
    )
    if trainer.is_global_zero:
        output.mkdir(parents=True, exist_ok=True)
        write_text_atomic(output / "config.yaml", OmegaConf.to_yaml(cfg))
    trainer.fit(module, loader, val_loader, ckpt_path=resume)
    if not trainer.is_global_zero:
        return 0

    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
    command = "alprkit train " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    steps = int(trainer.global_step)
    info = {"steps": steps, "command": command, "metrics": metrics, "data": crops.key,
            "recognizer": recognizer_about(recognizer)}
    written = recipe.save(output, info)
    write_json_atomic(output / "result.json", {"weights": [str(p) for p in written], "steps": steps,
                                                "metrics": metrics, "command": command})
    print(f"alprkit: {', '.join(map(str, written))} written after {steps} steps; {metrics}", file=sys.stderr)
    return 0
