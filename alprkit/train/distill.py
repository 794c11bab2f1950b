"""Frame-level distillation of a CTC recognizer from a trained one (``train.teacher=WEIGHTS``).

From scratch, CTC first has to find where the characters are: LPRNet reads nothing for
thousands of steps (docs/lprnet.md). A trained teacher's per-frame posteriors give the
student that alignment from the first step, so it learns like a per-frame classifier
(Takashima et al., "An investigation of a knowledge distillation method for CTC acoustic
models", ICASSP 2018). The student keeps its CTC loss beside it.

Teacher and student may see other input sizes (ResNet-18 reads 96x48, LPRNet 94x24) and
emit other step counts (88, 22, 24): the batch is resized for the teacher, and its posteriors
are resampled to the student's steps by keeping each character's peak within a window
(averaging would turn a one-frame character spike into mostly blank) and giving the blank
what is left.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ..errors import ConfigError


def load_teacher(path, alphabet):
    """The teacher's torch network (eval mode, frozen) from a recognizer weights file."""
    from omegaconf import OmegaConf

    from ..pipeline import build_component
    from ..weights import load_weights

    _, meta = load_weights(path)  # its architecture names the component to build
    node = OmegaConf.create({"name": meta.get("architecture"), "weights": str(path), "backend": "torch"})
    teacher = build_component("recognizer", node)
    if getattr(teacher, "blank", 0) is None:  # the same test the trainer applies to its student
        raise ConfigError(f"train.teacher: {path} is not a CTC recognizer")
    if tuple(teacher.alphabet) != tuple(alphabet):
        raise ConfigError(f"train.teacher: {path} reads another alphabet than the recognizer being trained "
                          "(set recognizer.region to the teacher's)")
    network = teacher.network
    network.eval()
    for p in network.parameters():
        p.requires_grad_(False)
    return network, tuple(teacher.input_size)


def resample_posteriors(probs: torch.Tensor, steps: int) -> torch.Tensor:
    """(batch, classes, T) CTC posteriors (class 0 blank) -> (batch, classes, steps), rows summing to 1."""
    if probs.shape[2] == steps:
        return probs
    chars = F.adaptive_max_pool1d(probs[:, 1:], steps)
    blank = (1.0 - chars.sum(dim=1, keepdim=True)).clamp(min=0.0)
    out = torch.cat([blank, chars], dim=1)
    return out / out.sum(dim=1, keepdim=True)


class Distillation:
    """KL(teacher || student) per frame, averaged over frames and plates."""

    def __init__(self, network, input_size):
        self.network = network
        self.input_size = tuple(input_size)  # (width, height)

    @torch.no_grad()
    def targets(self, images: torch.Tensor, steps: int) -> torch.Tensor:
        w, h = self.input_size
        if images.shape[-2:] != (h, w):
            images = F.interpolate(images.float(), size=(h, w), mode="bilinear", align_corners=False)
        outputs = self.network(images.float().contiguous())
        logits = outputs[0] if isinstance(outputs, tuple) else outputs
        return resample_posteriors(F.softmax(logits.float(), dim=1), steps)

    def loss(self, student_logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        target = self.targets(images, student_logits.shape[2])
        log_student = F.log_softmax(student_logits.float(), dim=1)
        return (target * (target.clamp(min=1e-8).log() - log_student)).sum(dim=1).mean()
