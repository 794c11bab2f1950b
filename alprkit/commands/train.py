"""``alprkit train``: train a recognizer with PyTorch Lightning on CPU, one GPU or several (DDP).

Writes into ``output`` (default ``runs/train/<recognizer>-<time>``): Lightning
checkpoints (``checkpoints/last.ckpt`` resumes with ``train.resume=auto``), CSV and
TensorBoard logs, the composed config, and the final weights as a safetensors file
that ``recognizer.name=<architecture> +recognizer.weights_path=...`` or a plugin's
``weights/`` folder can load.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from omegaconf import OmegaConf

from ..atomic import write_json_atomic, write_text_atomic
from ..config import component_params
from ..errors import ConfigError
from ..pipeline import build_component
from ..weights import save_weights


def main(cfg, words) -> int:
    if words == ["export"]:
        return export_checkpoint(cfg)
    if words:
        raise ConfigError(f"unknown train words {' '.join(words)!r} (usage: alprkit train [export] key=value ...)")
    if cfg.get("detector"):
        from ..train.detection import train_detector

        return train_detector(cfg)
    return train_recognizer(cfg)


def train_recognizer(cfg) -> int:
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint
    from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

    from ..train.augment import Augment
    from ..train.data import EncodedItems, LabelEncoder, MixedCrops, build_source, make_loader, validation_items
    from ..train.recognition import RecognitionModule

    t = cfg.train
    _check(t)
    name, _ = component_params(cfg.recognizer)
    output = Path(cfg.output) if cfg.output else Path("runs/train") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    resume = _resume_path(t.resume, output)
    pl.seed_everything(int(t.seed), workers=True, verbose=False)

    recognizer = build_component("recognizer", cfg.recognizer)
    network, alphabet, size = recognizer.network, recognizer.alphabet, recognizer.input_size
    if t.init:
        _load_init(network, alphabet, t.init)
    network.train()
    encode = LabelEncoder(alphabet)
    # A folder source without a path (an optional part left unset) is simply not used.
    train_nodes = [n for n in cfg.dataset.train if n.get("kind") != "folder" or n.get("path")]
    sources = [build_source(node, size) for node in train_nodes]
    stream = MixedCrops(sources, [float(n.get("weight", 1.0)) for n in train_nodes], encode,
                        Augment() if t.augment else None, seed=int(t.seed))
    val_items = validation_items(list(cfg.dataset.get("val") or []), size, limit=t.get("val_limit"))

    if t.compile:
        network.compile()  # in place: state-dict keys stay as they are; ~20% faster steps after ~1 min
    module = RecognitionModule(network, alphabet, steps=t.steps, lr=t.lr, lr_drops=tuple(t.lr_drops),
                               grad_noise=t.grad_noise, stn_start=t.stn_start, weight_decay=t.weight_decay)
    checkpoints = ModelCheckpoint(dirpath=output / "checkpoints", save_last=True, every_n_train_steps=t.val_every,
                                  save_top_k=1 if val_items else 0, monitor="val/acc" if val_items else None,
                                  mode="max", filename="best")
    trainer = pl.Trainer(
        max_steps=t.steps, accelerator=t.accelerator, devices=t.devices, strategy=t.strategy,
        precision=t.precision, logger=[CSVLogger(output, name="logs"), TensorBoardLogger(output, name="tb")],
        callbacks=[checkpoints], val_check_interval=t.val_every if val_items else None,
        check_val_every_n_epoch=None, limit_val_batches=1.0 if val_items else 0, num_sanity_val_steps=0,
        enable_progress_bar=cfg.progress, log_every_n_steps=min(50, t.val_every), default_root_dir=output,
        enable_model_summary=False,
    )
    val_loader = make_loader(EncodedItems(val_items, encode), t.batch_size, 0) if val_items else None
    if trainer.is_global_zero:
        output.mkdir(parents=True, exist_ok=True)
        write_text_atomic(output / "config.yaml", OmegaConf.to_yaml(cfg))
    trainer.fit(module, make_loader(stream, t.batch_size, t.workers), val_loader, ckpt_path=resume)
    if not trainer.is_global_zero:
        return 0

    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
    command = "alprkit train " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    save_trained(recognizer, output, int(trainer.global_step), command, metrics)
    return 0


def save_trained(recognizer, output: Path, steps: int, command: str, metrics: dict, name=None,
                 result=True) -> Path:
    """Write a trained recognizer's self-describing weights (and result.json) into its run folder."""
    network = recognizer.network
    network.stn_active = getattr(network, "stn", None) is not None
    weights = save_weights(output / f"{name or network.architecture}.safetensors", network.state_dict(), {
        "architecture": network.architecture,
        "alphabet": list(recognizer.alphabet),
        "stn": network.stn_active,
        "options": network.options,
        "region": recognizer.region,
        "input_size": list(recognizer.input_size),
        "steps": steps,
        "command": command,
        "metrics": metrics,
    })
    if result:
        write_json_atomic(output / "result.json", {"weights": str(weights), "steps": steps, "metrics": metrics,
                                                    "command": command})
    print(f"alprkit: weights written to {weights} after {steps} steps; {metrics}", file=sys.stderr)
    return weights


def export_checkpoint(cfg) -> int:
    """``alprkit train export run=DIR [checkpoint=last|best]``: weights from any checkpoint of a run."""
    import torch

    run = Path(str(cfg.get("run") or ""))
    if not (run / "config.yaml").is_file():
        raise ConfigError(f"run={run}: not a training run folder (no config.yaml)")
    which = cfg.get("checkpoint") or "last"
    path = run / "checkpoints" / f"{which}.ckpt"
    if not path.is_file():
        raise ConfigError(f"checkpoint={which}: {path} not found")
    run_cfg = OmegaConf.load(run / "config.yaml")
    recognizer = build_component("recognizer", run_cfg.recognizer)
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)  # never unpickle objects
    prefix = "network."
    state = {k[len(prefix):]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)}
    recognizer.network.load_state_dict(state)
    steps = int(checkpoint["global_step"])
    command = f"alprkit train export run={run} checkpoint={which}"
    save_trained(recognizer, run, steps, command, {}, name=f"{recognizer.network.architecture}.step{steps}",
                 result=False)
    return 0


def _load_init(network, alphabet, path):
    """Start from trained weights of the same architecture.

    With the same alphabet every tensor must fit. With another alphabet (a cn model
    starting a us one) the tensors of the same shape carry over: the backbone and the
    STN; the layers sized by the class count start fresh.
    """
    from ..weights import load_weights

    state, meta = load_weights(path)
    if tuple(meta.get("alphabet", alphabet)) != tuple(alphabet):
        own = network.state_dict()
        state = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        print(f"alprkit: train.init: {path} has another alphabet; {len(state)} of {len(own)} tensors carried over, "
              "the class layers start fresh", file=sys.stderr)
        if not state:
            raise ConfigError(f"train.init: {path} shares no tensor with this network")
        network.load_state_dict(state, strict=False)
        return
    missing, unexpected = network.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ConfigError(f"train.init: {path} does not fit this network "
                          f"(missing {len(missing)}, unexpected {len(unexpected)} tensors)")


def _resume_path(resume, output):
    last = output / "checkpoints" / "last.ckpt"
    if not resume:
        # Starting afresh would overwrite the earlier run's checkpoints.
        if last.exists():
            raise ConfigError(f"output {str(output)!r} already holds a training run ({last}): continue it with "
                              "train.resume=auto or choose another output=")
        return None
    if resume == "auto":
        return str(last) if last.exists() else None
    if not Path(resume).is_file():
        raise ConfigError(f"train.resume: checkpoint {resume!r} not found")
    return str(resume)


def _check(t):
    for key in ("steps", "batch_size", "val_every"):
        if int(t[key]) <= 0:
            raise ConfigError(f"train.{key} must be > 0, got {t[key]!r}")
    if float(t.lr) <= 0:
        raise ConfigError(f"train.lr must be > 0, got {t.lr!r}")
