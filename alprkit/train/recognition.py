"""A LightningModule that trains any recognition network (a plain ``nn.Module``): CTC, or per position.

Both kinds return (batch, classes, steps); a per-position network (a parallel STN) has one
step per character slot, class 0 its "no character", and learns by per-character
cross-entropy over its slots instead of CTC.
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
from torch.nn import functional as F

from ..errors import ConfigError
from ..metrics import recognition_metrics
from .optim import adam_with_lr_drops


def greedy_texts(logits: torch.Tensor, alphabet, per_position: bool = False) -> list[str]:
    """Best-path decoding of (batch, classes, steps) logits; class 0 is the blank (or "no character")."""
    texts = []
    for path in logits.argmax(dim=1).cpu().numpy():
        keep = path != 0
        if not per_position:  # CTC: repeats collapse
            keep &= np.concatenate([[True], path[1:] != path[:-1]])
        texts.append("".join(alphabet[c] for c in path[keep]))
    return texts


def position_targets(targets: torch.Tensor, lengths: torch.Tensor, positions: int) -> torch.Tensor:
    """Concatenated label indices -> (batch, positions), "no character" (0) after each plate.

    A plate longer than the positions (which training drops up front) gets -100 throughout:
    it adds no loss.
    """
    rows = torch.zeros(len(lengths), positions, dtype=torch.long)
    for i, (start, length) in enumerate(zip((torch.cumsum(lengths, 0) - lengths).tolist(), lengths.tolist())):
        if length > positions:
            rows[i] = -100
        else:
            rows[i, :length] = targets[start : start + length]
    return rows


# A per-position log-probability floor for the loss: a label the network's priors rule out
# (about -1e4) adds a bounded loss and no gradient instead of swamping the batch.
_LOG_FLOOR = -100.0


class RecognitionModule(pl.LightningModule):
    """CTC loss, Adam with step-wise learning-rate drops, optional gradient noise.

    The LPRNet paper's schedule (batch 32, Adam 1e-3, x0.1 after every 100k of 250k
    iterations, gradient noise 0.001, LocNet switched on after 5k) is kept in
    proportion: ``lr_drops`` are fractions of ``steps``.

    A multi-region network (``regions`` names its region head's classes) returns
    ``(logits, region_logits)``; the region head's cross-entropy, weighted by
    ``region_weight``, joins the CTC loss. Samples of unknown region add no region loss.

    With ``per_position`` the network's outputs are per-slot log-probabilities and the loss is
    the mean cross-entropy of every slot (a 7-character plate's 8th slot learns "no character").
    """

    def __init__(self, network, alphabet, steps, lr=1e-3, lr_drops=(0.4, 0.8), grad_noise=0.0, stn_start=0,
                 weight_decay=0.0, regions=(), region_weight=0.2, channels_last=False, trainable=None,
                 per_position=False, distillation=None, distill_weight=1.0):
        super().__init__()
        self.network = network
        # Frame-level distillation from a trained CTC teacher (train.teacher): a plain attribute, so
        # the teacher's tensors stay out of this module's checkpoints and optimizer.
        self.distillation = distillation
        self.distill_weight = float(distill_weight)
        self.per_position = bool(per_position)
        self.alphabet = tuple(alphabet)
        self.steps = int(steps)
        self.lr = lr
        self.lr_drops = tuple(lr_drops)
        self.grad_noise = grad_noise
        self.stn_start = int(stn_start)
        self.weight_decay = weight_decay
        self.regions = tuple(regions)
        self.region_weight = float(region_weight)
        # NHWC tensors: CPU max-pooling and batch norm run vectorised over channels (about 20% faster steps).
        self.channels_last = bool(channels_last)
        # Train only the modules named (e.g. [net.region_head]); the rest stays frozen in eval mode, so
        # its batch-norm statistics and dropout do not change either, and no gradient is computed for it.
        self.trainable = tuple(trainable or ())
        if self.trainable:
            names = dict(self.network.named_modules())
            unknown = [t for t in self.trainable if t not in names]
            if unknown:
                raise ConfigError(f"train.trainable: no module {', '.join(unknown)} in this network "
                                  f"(for instance {', '.join(n for n in list(names)[1:6])})")
            for name, parameter in self.network.named_parameters():
                parameter.requires_grad_(any(name == t or name.startswith(t + ".") for t in self.trainable))
        if self.channels_last:
            self.network.to(memory_format=torch.channels_last)
        self._val_pairs = []
        self._val_regions = []

    def forward(self, images):
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return self.network(images)

    def _text_loss(self, logits, targets, lengths):
        if not self.per_position:
            return self._ctc_loss(logits, targets, lengths)
        rows = position_targets(targets.cpu(), lengths.cpu(), logits.shape[2]).to(logits.device)
        log_probs = F.log_softmax(logits.float(), dim=1).clamp(min=_LOG_FLOOR)  # (batch, classes, positions)
        return F.nll_loss(log_probs, rows, ignore_index=-100)

    def _ctc_loss(self, logits, targets, lengths):
        log_probs = F.log_softmax(logits.float(), dim=1).permute(2, 0, 1)  # (steps, batch, classes)
        steps = torch.full((logits.shape[0],), logits.shape[2], dtype=torch.long)
        return F.ctc_loss(log_probs, targets, steps, lengths, blank=0, zero_infinity=True)

    def on_train_batch_start(self, batch, batch_idx):
        if getattr(self.network, "stn", None) is not None:
            self.network.stn_active = self.global_step >= self.stn_start
        if self.trainable:
            self.network.eval()
            modules = dict(self.network.named_modules())
            for name in self.trainable:
                modules[name].train()

    def _split(self, outputs):
        """(logits, region logits or None) from a network's output."""
        return outputs if isinstance(outputs, tuple) else (outputs, None)

    def _region_targets(self, regions) -> torch.Tensor:
        index = {code: i for i, code in enumerate(self.regions)}
        return torch.tensor([index.get(r, -100) for r in regions], dtype=torch.long)

    def _region_loss(self, region_logits, regions):
        targets = self._region_targets(regions).to(region_logits.device)
        if not (targets >= 0).any():
            return region_logits.float().sum() * 0.0
        return F.cross_entropy(region_logits.float(), targets, ignore_index=-100)

    def training_step(self, batch, batch_idx):
        images, targets, lengths, _, regions = batch
        logits, region_logits = self._split(self(images))
        loss = self._text_loss(logits, targets, lengths)
        if self.distillation is not None:
            distill = self.distillation.loss(logits, images)
            self.log("train/distill", distill, batch_size=images.shape[0])
            loss = loss + self.distill_weight * distill
        if region_logits is not None:
            region_loss = self._region_loss(region_logits, regions)
            self.log("train/region_loss", region_loss, batch_size=images.shape[0])
            loss = loss + self.region_weight * region_loss
        self.log("train/loss", loss, prog_bar=True, batch_size=images.shape[0])
        self.log("train/lr", self.optimizers().param_groups[0]["lr"], batch_size=images.shape[0])
        return loss

    def on_after_backward(self):
        # TF's optimize_loss(gradient_noise_scale=s): truncated-normal noise times s on every gradient.
        if self.grad_noise > 0:
            for p in self.network.parameters():
                if p.grad is not None:
                    noise = torch.nn.init.trunc_normal_(torch.empty_like(p.grad), a=-2.0, b=2.0)
                    p.grad.add_(noise * self.grad_noise)

    def validation_step(self, batch, batch_idx):
        images, targets, lengths, texts, regions = batch
        logits, region_logits = self._split(self(images))
        self.log("val/loss", self._text_loss(logits, targets, lengths), batch_size=images.shape[0], sync_dist=True)
        self._val_pairs.extend(zip(greedy_texts(logits, self.alphabet, self.per_position), texts))
        if region_logits is not None:
            truth = self._region_targets(regions)
            predicted = region_logits.argmax(dim=1).cpu()
            self._val_regions.extend((p == t).item() for p, t in zip(predicted, truth) if t >= 0)

    def on_validation_epoch_end(self):
        if not self._val_pairs:
            return
        scores = recognition_metrics(self._val_pairs)
        self._val_pairs = []
        for key in ("acc", "acc_1e", "acc_pos1", "acc_pos2n", "cer"):
            self.log(f"val/{key}", float(scores[key]), prog_bar=key == "acc", sync_dist=True)
        if self._val_regions:
            self.log("val/region_acc", float(np.mean(self._val_regions)), sync_dist=True)
            self._val_regions = []

    def configure_optimizers(self):
        return adam_with_lr_drops(self.network, self.lr, self.weight_decay, self.steps, self.lr_drops)
