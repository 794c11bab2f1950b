"""``alprkit train``: train a recognizer with PyTorch Lightning on CPU, one GPU or several (DDP).

``alprkit train detector=NAME`` trains a detector (:mod:`alprkit.train.detection`) and
``alprkit train quality=SELECTOR recognizer=NAME`` a stream selector's quality network for that
recognizer (:mod:`alprkit.train.quality`).

Writes into ``output`` (default ``runs/train/<recognizer>-<time>``): Lightning
checkpoints (``checkpoints/last.ckpt`` resumes with ``train.resume=auto``), CSV and
TensorBoard logs, the composed config, and the final weights as a safetensors file
that ``recognizer.name=<architecture> +recognizer.weights=...`` or a plugin's
``weights/`` folder can load.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from omegaconf import OmegaConf

from ..atomic import remove_stale_temporaries, write_json_atomic, write_text_atomic
from ..config import component_params, config_float, config_int
from ..errors import ConfigError
from ..pipeline import build_component
from ..weights import save_weights


def main(cfg, words) -> int:
    if words == ["export"]:
        return export_checkpoint(cfg)
    if words:
        raise ConfigError(f"unknown train words {' '.join(words)!r} (usage: alprkit train [export] key=value ...)")
    from ..train.console import quiet_lightning

    with quiet_lightning():
        if cfg.get("detector"):
            from ..train.detection import train_detector

            return train_detector(cfg)
        if cfg.get("quality"):
            from ..train.quality import train_quality

            return train_quality(cfg)
        return train_recognizer(cfg)


def train_recognizer(cfg) -> int:
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint
    from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

    from ..train.augment import Augment
    from ..train.checkpoints import AtomicCheckpointIO
    from ..train.data import (EncodedItems, LabelEncoder, MixedCrops, build_source, keep_regions, make_loader,
                              validation_items)
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
    train_nodes = [n for n in cfg.dataset.train if n.get("kind") not in ("folder", "photos") or n.get("path")]
    regions = set(cfg.dataset.regions) if cfg.dataset.get("regions") is not None else None
    if regions is not None:  # one region's share of a multi-region data set (a specialist from it)
        train_nodes = [n for n in train_nodes if n.get("region") in (None, *regions)]
    sources = [build_source(node, size) for node in train_nodes]
    if regions is not None:
        kept = [(node, source) for node, source in zip(train_nodes, sources) if keep_regions(source, regions)]
        train_nodes, sources = [n for n, _ in kept], [s for _, s in kept]
    _report_problems([p for source in sources for p in getattr(source, "problems", [])])
    _check_alphabet(sources, encode)
    _report_problems(_drop_unreadable(sources, recognizer), "unreadable")
    stream = MixedCrops(sources, [float(n.get("weight", 1.0)) for n in train_nodes], encode,
                        Augment(gray=float(t.gray)) if t.augment else None, seed=int(t.seed))
    val_problems = []
    val_items = validation_items(list(cfg.dataset.get("val") or []), size, limit=t.get("val_limit"),
                                 problems=val_problems)
    _report_problems(val_problems, "validation")
    if regions is not None:
        val_items = [item for item in val_items if item[-1] in regions]
    if hasattr(recognizer, "reads"):
        val_items = [item for item in val_items if recognizer.reads(item[-2])]

    # A recognizer with its own loss (an attention decoder) names its module; the rest learn CTC or per position.
    module_class = getattr(recognizer, "training_module", RecognitionModule)
    distillation = _distillation(t, recognizer, module_class is RecognitionModule)
    if t.compile:
        network.compile()  # in place: state-dict keys stay as they are; ~20% faster steps after ~1 min
    module = module_class(network, alphabet, steps=t.steps, lr=t.lr, lr_drops=tuple(t.lr_drops),
                               grad_noise=t.grad_noise, stn_start=t.stn_start, weight_decay=t.weight_decay,
                               regions=getattr(recognizer, "regions", ()), region_weight=t.region_weight,
                               channels_last=t.channels_last, trainable=t.get("trainable"),
                               per_position=getattr(recognizer, "blank", 0) is None, **distillation)
    checkpoints = ModelCheckpoint(dirpath=output / "checkpoints", save_last=True, every_n_train_steps=t.val_every,
                                  save_top_k=1 if val_items else 0, monitor="val/acc" if val_items else None,
                                  mode="max", filename="best")
    trainer = pl.Trainer(
        max_steps=t.steps, accelerator=t.accelerator, devices=t.devices, num_nodes=t.get("num_nodes", 1),
        strategy=t.strategy, precision=t.precision,
        logger=[CSVLogger(output, name="logs"), TensorBoardLogger(output, name="tb")],
        callbacks=[checkpoints], val_check_interval=t.val_every if val_items else None,
        check_val_every_n_epoch=None, limit_val_batches=1.0 if val_items else 0, num_sanity_val_steps=0,
        enable_progress_bar=cfg.progress, log_every_n_steps=min(50, t.val_every), default_root_dir=output,
        enable_model_summary=False, plugins=[AtomicCheckpointIO()],
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


def _distillation(t, recognizer, ctc_module: bool) -> dict:
    """The training module's distillation arguments for ``train.teacher`` (none without one)."""
    if not t.get("teacher"):
        return {}
    if not ctc_module or getattr(recognizer, "blank", 0) is None:
        raise ConfigError("train.teacher: distillation trains CTC recognizers; this one learns another loss")
    from ..train.distill import Distillation, load_teacher

    weight = config_float(t, "distill_weight", minimum=0.0, name="train.distill_weight")
    return {"distillation": Distillation(*load_teacher(t.teacher, recognizer.alphabet)),
            "distill_weight": 1.0 if weight is None else weight}


def _report_problems(problems, what="training", shown=5):
    """Unreadable images and bad labels a data set skipped: counted, and the first few named."""
    for problem in problems[:shown]:
        print(f"alprkit: skipped: {problem}", file=sys.stderr)
    if len(problems) > shown:
        print(f"alprkit: skipped {len(problems)} bad {what} items in all", file=sys.stderr)


def _check_alphabet(sources, encode):
    """Every label of the folder sources fits the alphabet: found now, not in a loader worker mid-run."""
    for source in sources:
        for item in getattr(source, "items", ()):  # (pixels, [quad,] text, region)
            encode(item[-2])


def _drop_unreadable(sources, recognizer) -> list[str]:
    """Labels a recognizer says it cannot read (``reads(text)``: a per-position one's slots and
    templates) leave the in-memory sources; what was dropped, for the report."""
    reads = getattr(recognizer, "reads", None)
    dropped = []
    if reads is None:
        return dropped
    for source in sources:
        if not hasattr(source, "items"):
            continue
        kept = []
        for item in source.items:
            if reads(item[-2]):
                kept.append(item)
            else:
                dropped.append(f"plate {item[-2]!r} does not fit the recognizer's positions or templates")
        source.items = kept
        if not kept:
            raise ConfigError(f"no label of a training source fits the recognizer (for instance {dropped[-1]})")
    return dropped


def save_trained(recognizer, output: Path, steps: int, command: str, metrics: dict, name=None,
                 result=True) -> Path:
    """Write a trained recognizer's self-describing weights (and result.json) into its run folder."""
    network = recognizer.network
    network.stn_active = getattr(network, "stn", None) is not None
    # Shipped as fp16 (half the size); loading copies the values into the fp32 network.
    state = {k: v.half() if v.is_floating_point() else v for k, v in network.state_dict().items()}
    weights = save_weights(output / f"{name or network.architecture}.safetensors", state, {
        "architecture": network.architecture,
        "alphabet": list(recognizer.alphabet),
        "stn": network.stn_active,
        "options": network.options,
        "region": recognizer.region,
        "regions": list(getattr(recognizer, "regions", ())),
        "input_size": list(recognizer.input_size),
        "dtype": "float16",
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
    """Start from trained weights of the same architecture (or the tensors another one shares).

    With the same alphabet every tensor must fit. With another alphabet (a cn model
    starting a us or a multi-region one) the tensors of the same shape carry over
    (the backbone and the STN), and the layers sized by the class count keep the
    rows of every character both alphabets share; only new characters and new
    heads (a region head) start fresh.
    """
    from ..weights import load_weights

    state, meta = load_weights(path)
    source = tuple(meta.get("alphabet", alphabet))
    if source != tuple(alphabet):
        own = network.state_dict()
        remapped = {k: _by_character(v, own[k], source, tuple(alphabet)) for k, v in state.items() if k in own}
        remapped = {k: v for k, v in remapped.items() if v is not None}
        carried = {k: v for k, v in state.items() if k in own and k not in remapped and own[k].shape == v.shape}
        print(f"alprkit: train.init: {path} has another alphabet; {len(carried)} of {len(own)} tensors carried over, "
              f"{len(remapped)} class layers keep the rows of the {len(set(source) & set(alphabet))} shared "
              "characters", file=sys.stderr)
        if not carried:
            raise ConfigError(f"train.init: {path} shares no tensor with this network")
        network.load_state_dict({**carried, **remapped}, strict=False)
        return
    own = network.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    misfits = (set(own) | set(state)) - set(fitting)
    if meta.get("architecture") not in (None, getattr(network, "architecture", None)):
        # Another architecture of the family (LPRNet basic starting LPRNet reduced): the layers of the
        # same name and shape carry over, the rest starts fresh; said, so nothing passes unnoticed.
        if not fitting:
            raise ConfigError(f"train.init: {path} ({meta['architecture']}) shares no tensor with "
                              f"{network.architecture}")
        print(f"alprkit: train.init: {path} is {meta['architecture']}; {len(fitting)} of {len(own)} tensors of "
              f"{network.architecture} carried over, the rest starts fresh", file=sys.stderr)
        network.load_state_dict(fitting, strict=False)
        return
    if any(".region_head." not in k for k in misfits):
        raise ConfigError(f"train.init: {path} does not fit this network ({len(misfits)} tensors missing, "
                          "unexpected or of another shape)")
    if misfits:  # a region head of another design (or none yet) starts fresh; everything else carries over
        print(f"alprkit: train.init: {path}: the region head starts fresh", file=sys.stderr)
    network.load_state_dict(fitting, strict=False)


def _by_character(trained, own, source, target):
    """``trained`` (sized by ``source``'s classes) fitted to ``own`` (sized by ``target``'s), row by character.

    A class axis may be the whole axis, lead it (the global context's 1x1 head reads
    classes, then context features) or be its major part (the context's FC reads a
    flattened classes x steps map). Characters missing from ``source`` keep ``own``'s
    rows. None where no axis is a class axis (a backbone tensor) or the shapes are not
    related that way.
    """
    import torch

    if trained.dim() != own.dim():
        return None
    old = {c: i for i, c in enumerate(source)}
    pairs = [(j, old[c]) for j, c in enumerate(target) if c in old]
    cs, ct = len(source), len(target)
    own_index, src_index, classes = [], [], False
    for n_src, n_own in zip(trained.shape, own.shape):
        if n_src == cs and n_own == ct:  # a class axis (also where both alphabets have one size)
            own_index.append([j for j, _ in pairs])
            src_index.append([i for _, i in pairs])
            classes = True
        elif n_src == n_own:
            own_index.append(list(range(n_own)))
            src_index.append(list(range(n_src)))
        elif n_src % cs == 0 and n_own % ct == 0 and n_src // cs == n_own // ct:  # classes (x steps)
            inner = n_src // cs
            own_index.append([j * inner + t for j, _ in pairs for t in range(inner)])
            src_index.append([i * inner + t for _, i in pairs for t in range(inner)])
            classes = True
        elif n_src - cs == n_own - ct > 0:  # classes, then other features
            extra = range(n_src - cs)
            own_index.append([j for j, _ in pairs] + [ct + k for k in extra])
            src_index.append([i for _, i in pairs] + [cs + k for k in extra])
            classes = True
        else:
            return None
    if not classes:
        return None
    grid = lambda index: torch.meshgrid(*[torch.tensor(i) for i in index], indexing="ij")  # noqa: E731
    result = own.clone()
    result[grid(own_index)] = trained[grid(src_index)].to(own.dtype)
    return result


def _resume_path(resume, output):
    last = output / "checkpoints" / "last.ckpt"
    if not resume:
        # Starting afresh would overwrite the earlier run's checkpoints.
        if last.exists():
            raise ConfigError(f"output {str(output)!r} already holds a training run ({last}): continue it with "
                              "train.resume=auto or choose another output=")
        return None
    if last.parent.is_dir():  # a killed run may have left a checkpoint half-written under its temporary name
        remove_stale_temporaries(last.parent)
    if resume == "auto":
        return str(last) if last.exists() else None
    if not Path(resume).is_file():
        raise ConfigError(f"train.resume: checkpoint {resume!r} not found")
    return str(resume)


def _check(t):
    for key in ("steps", "batch_size", "val_every"):
        config_int(t, key, minimum=1, name=f"train.{key}")
    config_float(t, "lr", minimum=0.0, above=True, name="train.lr")
    _warn_slow_bf16(t)


def cpu_has_bf16() -> bool:
    import torch

    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _warn_slow_bf16(t):
    """Say so when bf16 would run on a CPU that emulates it: kept as asked, but it can be 50x slower than fp32."""
    import torch

    accelerator = str(t.get("accelerator", "auto"))
    on_cpu = accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())
    if str(t.get("precision", "")).startswith("bf16") and on_cpu and not cpu_has_bf16():
        print(f"alprkit train: train.precision={t.precision}: this CPU has no native bf16 (no AVX512-BF16 or AMX), so "
              "bf16 runs emulated, many times slower than fp32; train.precision=32-true is faster here",
              file=sys.stderr)
