"""How each EQ-LPR quality network trains (seed 004, sec. 2.2-2.3), for :mod:`alprkit.train.quality`.

- P: a separate grey CNN of the recognizer's design learns ``L_q = |alpha - a|``; the
  recognizer is frozen and ``alpha`` is its confidence on each crop (eq. 3), precomputed.
- S over the attention recognizer: the quality head sits on the recognizer's own CNN, and
  the steps alternate between ``L_r`` (recognition) and ``L_q`` (quality), both reaching the
  shared CNN; ``alpha`` comes from the network being trained, on each batch, as the seed
  derives it "based on the recognition results". Writes the recognizer and the quality net.
- S over LPRNet: the head on the frozen LPRNet backbone's features (the map its class
  layers read): the shipped recognizer stays as it is, only ``L_q`` trains.
- E: a lightweight grey network distilled from an S network (``train.teacher``):
  ``L*_q = |alpha - a| + ||F*_q - F_r||^2``, the second term the mean squared difference
  between E's map and the S features (times ``train.distill_weight``); its head starts as S's.

A recipe has ``network`` (every module the optimizer and the checkpoint hold), ``quality``
(the network saved as the selector's weights), ``losses(batch, step)``, ``evaluate(batch)``,
``train_mode()`` and ``save(folder, info)``; ``needs_targets`` says whether ``alpha`` is
precomputed from the recognizer, ``encode`` whether batches carry encoded plate texts,
``trains_recognizer`` whether it trains the recognizer too (S over the attention recognizer:
the only one that may start from an untrained recognizer).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from alprkit.errors import ConfigError
from alprkit.train.quality_data import recognizer_about
from alprkit.weights import save_weights

from .models import LIGHT_WIDTHS, WIDTHS, build_quality, feature_shape
from .quality import fit_pixels, load_quality, quality_metadata
from .recognizer import ARCHITECTURE as ATTENTION, END


def recipe_for(architecture, recognizer, teacher=None, distill_weight=1.0):
    network = getattr(recognizer, "network", None)
    if network is None:
        raise ConfigError(f"selector {architecture}: the recognizer has no torch network to learn the quality of")
    if architecture == "eqlpr_p":
        return PseudoSiamese(recognizer)
    if architecture == "eqlpr_s":
        if getattr(network, "architecture", None) == ATTENTION:
            return SharedAttention(recognizer)
        return SharedFrozen(recognizer)
    if architecture == "eqlpr_e":
        if not teacher:
            raise ConfigError("selector eqlpr_e is distilled from an EQ-LPR-S quality network: name its weights, "
                              "train.teacher=runs/.../eqlpr_s.safetensors")
        return Distilled(recognizer, Path(str(teacher)), float(distill_weight))
    raise ConfigError(f"selector {architecture}: no training recipe")


def l1(a, alpha):
    return (a - alpha).abs().mean()


class _Recipe:
    needs_targets = True
    encode = False
    trains_recognizer = False  # else the recognizer must come trained: its confidence is what is learned

    def __init__(self, recognizer, quality):
        self.recognizer = recognizer
        self.quality = quality
        self.network = quality
        self.architecture = quality.architecture

    def fit(self, pixels):
        """A crop (at the recognizer's size) as this quality network reads it."""
        return fit_pixels(pixels, self.quality.input_size)

    def train_mode(self):
        self.network.train()

    def losses(self, batch, step):
        loss = l1(self.quality(batch["quality_images"]), batch["alpha"])
        return {"loss": loss, "quality": loss}

    def evaluate(self, batch):
        return {"a": self.quality(batch["quality_images"]), "alpha": batch["alpha"]}

    def save(self, folder: Path, info: dict) -> list[Path]:
        return [save_quality(self.quality, folder / f"{self.architecture}.safetensors", info)]


def save_quality(quality, path, info) -> Path:
    # fp16 on disk, as the shipped recognizers: half the size; loading copies into fp32.
    state = {k: v.half() if v.is_floating_point() else v for k, v in quality.state_dict().items()}
    save_weights(path, state, {**quality_metadata(quality), "dtype": "float16", **info})
    print(f"alprkit: quality weights written to {path}", file=sys.stderr)
    return Path(path)


class PseudoSiamese(_Recipe):
    """EQ-LPR-P: its own grey CNN, the recognizer frozen beside it."""

    def __init__(self, recognizer):
        super().__init__(recognizer, build_quality("eqlpr_p", {"kind": "cnn", "widths": list(WIDTHS)}))


class SharedFrozen(_Recipe):
    """EQ-LPR-S over LPRNet: the head on the frozen backbone's features (the shipped recognizer is kept)."""

    def __init__(self, recognizer):
        network = recognizer.network
        architecture = getattr(network, "architecture", None)
        if architecture not in ("lprnet_basic", "lprnet_reduced"):
            raise ConfigError(f"selector eqlpr_s shares a recognizer's features: supported for {ATTENTION}, "
                              f"lprnet_basic and lprnet_reduced, not {architecture!r}")
        features = {"kind": "lprnet", "architecture": architecture, "classes": len(recognizer.alphabet),
                    "stn": getattr(network, "stn", None) is not None, "options": dict(getattr(network, "options", {}))}
        network.stn_active = features["stn"]
        quality = build_quality("eqlpr_s", features, tuple(recognizer.input_size), shared=network)
        quality.features.requires_grad_(False)
        super().__init__(recognizer, quality)

    def train_mode(self):
        self.quality.eval()  # batch norm and dropout of the shared features stay as the recognizer has them
        self.quality.head.train()


class SharedAttention(_Recipe):
    """EQ-LPR-S over the attention recognizer: L_r and L_q optimised alternately on the shared CNN."""

    needs_targets = False
    encode = True
    trains_recognizer = True

    def __init__(self, recognizer):
        self.net = recognizer.network
        widths = list(getattr(self.net, "options", {}).get("widths", WIDTHS))
        quality = build_quality("eqlpr_s", {"kind": "cnn", "widths": widths}, tuple(recognizer.input_size),
                                shared=self.net.cnn)
        super().__init__(recognizer, quality)
        self.network = nn.ModuleDict({"recognizer": self.net, "head": quality.head})

    def alpha(self, images):
        """alpha of the network being trained, as the recognizer component would give it (eq. 3)."""
        was = self.net.training
        self.net.eval()
        with torch.no_grad():
            alpha = attention_alpha(self.net(images))
        self.net.train(was)
        return alpha

    def losses(self, batch, step):
        from .training import recognition_loss

        if step % 2 == 0:  # the seed: "performed separately and alternately rather than joint training"
            loss = recognition_loss(self.net, batch["images"], batch["targets"], batch["lengths"])
            return {"loss": loss, "recognition": loss}
        loss = l1(self.quality(batch["images"]), self.alpha(batch["images"]))
        return {"loss": loss, "quality": loss}

    def evaluate(self, batch):
        from .training import greedy_texts

        logits = self.net(batch["images"])
        return {"a": self.quality(batch["images"]), "alpha": attention_alpha(logits),
                "texts": greedy_texts(logits, self.recognizer.alphabet)}

    def save(self, folder, info):
        from alprkit.commands.train import save_trained

        recognizer = save_trained(self.recognizer, folder, info["steps"], info["command"], info["metrics"],
                                  name=ATTENTION, result=False)
        return [recognizer, *super().save(folder, {**info, "recognizer": {**info.get("recognizer", {}),
                                                                          "weights_file": recognizer.name}})]


def attention_alpha(logits):
    """(batch, 1 + characters, steps) logits -> alpha per crop, read as the component cuts the rows.

    Up to the first end step, each row's best character probability renormalised without the
    end class; the smallest of them; 0 where the first step already ends the plate.
    """
    probs = torch.softmax(logits.float(), dim=1)
    before_end = (probs.argmax(dim=1) == END).long().cumsum(dim=1) == 0  # (B, steps)
    best = probs[:, 1:].max(dim=1).values / (1 - probs[:, END]).clamp(min=1e-12)
    alpha = torch.where(before_end, best, torch.ones_like(best)).min(dim=1).values
    return torch.where(before_end.any(dim=1), alpha, torch.zeros_like(alpha))


class Distilled(_Recipe):
    """EQ-LPR-E: a lightweight grey network whose map learns the S features, and alpha."""

    def __init__(self, recognizer, teacher_path: Path, distill_weight: float):
        if not teacher_path.is_file():
            raise ConfigError(f"train.teacher={teacher_path}: no such weights file")
        teacher, meta = load_quality(teacher_path)
        if meta.get("architecture") != "eqlpr_s":
            raise ConfigError(f"train.teacher={teacher_path}: EQ-LPR-E is distilled from eqlpr_s weights, "
                              f"not {meta.get('architecture')!r} ones")
        if tuple(teacher.input_size) != tuple(recognizer.input_size):
            raise ConfigError(f"train.teacher={teacher_path} reads {tuple(teacher.input_size)} crops, the recognizer "
                              f"{tuple(recognizer.input_size)}: distil E with the recognizer its S was trained for")
        if distill_weight < 0:
            raise ConfigError(f"train.distill_weight must be >= 0, got {distill_weight!r}")
        target = feature_shape(nn.Sequential(teacher.front, teacher.features), teacher.input_size)
        quality = build_quality("eqlpr_e", {"kind": "light", "widths": list(LIGHT_WIDTHS), "target": list(target)})
        quality.head.load_state_dict(teacher.head.state_dict())  # N'_q starts as the teacher's: F*_q learns F_r
        super().__init__(recognizer, quality)
        self.teacher = teacher.requires_grad_(False).eval()
        self.teacher_file = teacher_path.name
        self.distill_weight = distill_weight
        learned = meta.get("recognizer", {}).get("network_sha")
        if learned and learned != recognizer_about(recognizer)["network_sha"]:
            print(f"alprkit: train.teacher={teacher_path.name} learned the quality of another recognizer than the "
                  "one given: E learns alpha of this one and the features of that one", file=sys.stderr)

    def losses(self, batch, step):
        student = self.quality.features_of(batch["quality_images"])
        with torch.no_grad():
            target = self.teacher.features_of(batch["images"])
        quality = l1(self.quality.head(student), batch["alpha"])
        distill = F.mse_loss(student, target)
        return {"loss": quality + self.distill_weight * distill, "quality": quality, "distill": distill}

    def save(self, folder, info):
        return super().save(folder, {**info, "teacher": self.teacher_file, "distill_weight": self.distill_weight})
