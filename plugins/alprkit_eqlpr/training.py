"""Training the attention recognizer through ``alprkit train``: L_r of the seed's eq. (4).

``L_r = -sum_k ln P(theta_k | theta_1:k-1)``: each character's cross-entropy given the true
characters before it (teacher forcing), and the end of the plate after the last one.
Everything else (data, augmentation, schedule, checkpoints, validation accuracy) is the
recognizer training of :mod:`alprkit.train.recognition`.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from alprkit.errors import ConfigError
from alprkit.train.recognition import RecognitionModule

from .recognizer import END

IGNORE = -100


def padded_targets(targets: torch.Tensor, lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """Flat character indices (0-based, as :class:`alprkit.train.data.LabelEncoder` gives them for an
    alphabet without a blank) -> (batch, steps) network classes: characters + 1, the end class after
    the text, ``IGNORE`` beyond it."""
    longest = int(lengths.max()) if len(lengths) else 0
    if longest >= steps:
        raise ConfigError(f"a plate of {longest} characters is longer than the recognizer reads ({steps - 1})")
    out = torch.full((len(lengths), steps), IGNORE, dtype=torch.long)
    start = 0
    for i, n in enumerate(lengths.tolist()):
        out[i, :n] = targets[start : start + n] + 1
        out[i, n] = END
        start += n
    return out


def greedy_texts(logits: torch.Tensor, alphabet) -> list[str]:
    """(batch, 1 + characters, steps) logits -> the characters before the first end step."""
    texts = []
    for path in logits.argmax(dim=1).tolist():
        chars = []
        for c in path:
            if c == END:
                break
            chars.append(alphabet[c - 1])
        texts.append("".join(chars))
    return texts


def recognition_loss(network, images, targets, lengths) -> torch.Tensor:
    """L_r of a batch: the teacher-forced cross-entropy of every character and of the end."""
    steps = network.decoder.steps
    truth = padded_targets(targets.cpu(), lengths.cpu(), steps).to(images.device)
    logits = network(images, truth.clamp(min=0))  # the positions past the end feed anything: they are ignored
    return F.cross_entropy(logits.float(), truth, ignore_index=IGNORE)


class AttentionTraining(RecognitionModule):
    """RecognitionModule with L_r in place of CTC; validation decodes greedily as inference does."""

    def training_step(self, batch, batch_idx):
        images, targets, lengths, _, _ = batch
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        loss = recognition_loss(self.network, images, targets, lengths)
        self.log("train/loss", loss, prog_bar=True, batch_size=images.shape[0])
        self.log("train/lr", self.optimizers().param_groups[0]["lr"], batch_size=images.shape[0])
        return loss

    def validation_step(self, batch, batch_idx):
        images, targets, lengths, texts, _ = batch
        self.log("val/loss", recognition_loss(self.network, images, targets, lengths), batch_size=images.shape[0],
                 sync_dist=True)
        self._val_pairs.extend(zip(greedy_texts(self(images), self.alphabet), texts))
