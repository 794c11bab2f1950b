"""Seed 002's recognizer as a plain ``nn.Module``: parallel STNs cut one segment per character,
shared-weight classifiers read them, per-position template priors combine the reads.

Input: float RGB in [0, 255], NCHW, the plate rectified to 48x120. Output: per-position
log-probabilities of shape (batch, classes, positions), the layout of the CTC networks'
logits, so export, parity checks and the onnxruntime backend treat it like them; class 0
is "no character" (a position beyond a shorter plate).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

INPUT_SIZE = (120, 48)  # (w, h) of the rectified plate
SEGMENT_SIZE = (24, 48)  # (w, h) of each character segment
_MASKED = -1.0e4  # log-mask of a class a template forbids: finite, so ONNX never meets inf - inf


class Localization(nn.Module):
    """Table 4: conv 5x5/1 64, pool 2, conv 5x5/2 64, pool 2, conv 3x3/2 128, FC 64, 32, 6 per STN.

    ``separate`` gives every position its own Table 4 network (the paper's K STNs), computed
    at once as grouped convolutions over the one input; otherwise the layers up to FC 32 are
    shared and only the last FC is per position (an 8th of the cost and parameters). The
    table's ReLU after the last FC is left out: affine parameters are signed. The last FC
    starts at zero with each position's window as its bias, so training starts from evenly
    spaced full-height windows (position k of K covers the k-th K-th of the width).
    """

    def __init__(self, positions: int, separate: bool = False, window: float = 1.0):
        super().__init__()
        groups = positions if separate else 1
        w, h = INPUT_SIZE
        self.positions = positions
        self.features = nn.Sequential(
            nn.Conv2d(3, 64 * groups, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(64 * groups, 64 * groups, 5, stride=2, padding=2, groups=groups), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(64 * groups, 128 * groups, 3, stride=2, padding=1, groups=groups), nn.ReLU(inplace=True),
        )
        with torch.no_grad():
            map_size = self.features(torch.zeros(1, 3, h, w)).shape[-2:]  # 3x8 for 48x120
        # Per-group fully-connected layers as convolutions spanning the whole map: exportable, one call.
        self.head = nn.Sequential(
            nn.Conv2d(128 * groups, 64 * groups, tuple(map_size), groups=groups), nn.ReLU(inplace=True),
            nn.Conv2d(64 * groups, 32 * groups, 1, groups=groups), nn.ReLU(inplace=True),
            nn.Conv2d(32 * groups, 6 * positions, 1, groups=groups),
        )
        last = self.head[-1]
        nn.init.zeros_(last.weight)
        with torch.no_grad():
            last.bias.copy_(initial_windows(positions, window).flatten())

    def forward(self, z):  # z: (B, 3, 48, 120) normalised
        return self.head(self.features(z)).view(-1, self.positions, 2, 3)


def initial_windows(positions: int, window: float = 1.0) -> torch.Tensor:
    """(positions, 2, 3) affine maps from segment to plate coordinates ([-1, 1], align_corners=False):
    full height, ``window`` times 1/positions of the width, centred on evenly spaced slots."""
    theta = torch.zeros(positions, 2, 3)
    theta[:, 0, 0] = window / positions
    theta[:, 0, 2] = torch.tensor([-1 + (2 * k + 1) / positions for k in range(positions)])
    theta[:, 1, 1] = 1.0
    return theta


def conv_bn_relu(cin, cout, kernel):
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class CharNet(nn.Module):
    """Table 3 on a 48x24 segment: conv 5 64, pool, conv 5 64, pool, conv 3 128, conv 3 128, pool,
    conv 3 256 (batch norm and ReLU after each), FC ``features`` with ReLU, then the classifier FC.

    The table leaves the feature FC's width open; 128 keeps the shipped model small. ``width``
    scales every convolution's channels (1: Table 3; the cost goes with its square).
    """

    def __init__(self, classes: int, features: int = 128, dropout: float = 0.0, width: float = 1.0):
        super().__init__()
        w, h = SEGMENT_SIZE
        c64, c128, c256 = (max(1, round(c * width)) for c in (64, 128, 256))
        self.body = nn.Sequential(
            conv_bn_relu(3, c64, 5), nn.MaxPool2d(2),
            conv_bn_relu(c64, c64, 5), nn.MaxPool2d(2),
            conv_bn_relu(c64, c128, 3), conv_bn_relu(c128, c128, 3), nn.MaxPool2d(2),
            conv_bn_relu(c128, c256, 3),
        )
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(c256 * (h // 8) * (w // 8), features),
                                      nn.ReLU(inplace=True), nn.Dropout(dropout))
        self.classifier = nn.Linear(features, classes)

    def forward(self, x):
        return self.classifier(self.features(self.body(x)))


class TemplatePrior(nn.Module):
    """Per-position posteriors under a prior of whole templates (see :mod:`alprkit_pstn.templates`).

    With ``q_i`` the network's per-position probabilities, a template sequence ``t`` of prior
    weight ``w_t`` uniform over its character sets ``S_ti`` has the evidence
    ``w_t * prod_i (sum over S_ti of q_i) / |S_ti|``, and under ``t`` position ``i`` reads ``c``
    with ``q_i(c) [c in S_ti] / sum over S_ti of q_i``. Training takes the exact marginals over
    templates (each character's cross-entropy sees every template it could belong to); reading
    (eval mode) takes the rows of the most likely template, so the best path is always a whole
    template's string: no digit second on a provincial Chinese plate, 7 or 8 characters as one
    reading. All in log space.
    """

    def __init__(self, masks, log_weights):
        super().__init__()
        masks = torch.as_tensor(masks, dtype=torch.bool)
        # Not persistent: the templates belong to the code (as the template post-filter's do).
        self.register_buffer("log_mask", torch.where(masks, 0.0, _MASKED), persistent=False)
        self.register_buffer("log_count", masks.sum(-1).clamp(min=1).float().log(), persistent=False)
        self.register_buffer("log_weight", torch.as_tensor(log_weights, dtype=torch.float32), persistent=False)

    def template_posterior(self, log_q):
        """(B, T) log P(template | x) and the (B, T, K) log sums of q over each S_ti."""
        inside = torch.logsumexp(log_q[:, None] + self.log_mask, dim=-1)
        return F.log_softmax(self.log_weight + (inside - self.log_count).sum(-1), dim=1), inside

    def forward(self, log_q):  # (B, K, C) log-probabilities -> (B, K, C)
        log_template, inside = self.template_posterior(log_q)
        if not self.training:  # the most likely template only (ties share)
            log_template = torch.where(log_template >= log_template.amax(1, keepdim=True), 0.0, _MASKED)
        joint = log_q[:, None] + self.log_mask - inside[..., None]  # (B, T, K, C): rows of each template
        return F.log_softmax(torch.logsumexp(log_template[:, :, None, None] + joint, dim=1), dim=-1)


class ParallelSTN(nn.Module):
    """K STNs cut K 48x24 segments; the first position has its own classifier (the province of a
    Chinese plate), positions 2..K share one (``shared``) or each have their own."""

    input_size = INPUT_SIZE

    def __init__(self, classes: int, positions: int, masks=None, log_weights=None, shared: bool = True,
                 separate_stns: bool = False, features: int = 128, dropout: float = 0.0, window: float = 1.0,
                 width: float = 1.0):
        super().__init__()
        if positions < 2:
            raise ValueError(f"a parallel-STN recognizer needs at least 2 positions, got {positions}")
        self.positions = positions
        self.shared = bool(shared)
        self.localization = Localization(positions, separate=separate_stns, window=window)
        nets = 2 if self.shared else positions
        self.readers = nn.ModuleList(CharNet(classes, features, dropout, width) for _ in range(nets))
        self.prior = TemplatePrior(masks, log_weights) if masks is not None else None
        sw, sh = SEGMENT_SIZE
        # Segment pixel centres in [-1, 1] as (x, y, 1) rows: the sampling grid is one matmul
        # with theta (exports without AffineGrid), as LPRNet's LocNet does.
        ys, xs = torch.meshgrid(torch.linspace(-1 + 1 / sh, 1 - 1 / sh, sh),
                                torch.linspace(-1 + 1 / sw, 1 - 1 / sw, sw), indexing="ij")
        self.register_buffer("base_grid", torch.stack([xs, ys, torch.ones_like(xs)], -1).reshape(1, 1, sh * sw, 3),
                             persistent=False)

    def transforms(self, x):
        """(B, K, 2, 3) affine maps, segment -> plate coordinates, of a batch."""
        return self.localization((x - 127.5) / 127.5)

    def segments(self, x, theta=None):
        """(B, K, 3, 48, 24) segments cut from ``x`` (pixels in [0, 255]) by ``theta``."""
        theta = self.transforms(x) if theta is None else theta
        b, k = x.shape[0], self.positions
        sw, sh = SEGMENT_SIZE
        grid = torch.matmul(self.base_grid, theta.transpose(2, 3)).reshape(-1, sh, sw, 2)  # (B*K, 48, 24, 2)
        tiled = x[:, None].expand(-1, k, -1, -1, -1).reshape(-1, *x.shape[1:])
        cut = F.grid_sample(tiled, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return cut.reshape(b, k, 3, sh, sw)

    def forward(self, x):
        z = (self.segments(x) - 127.5) / 127.5
        b, k = z.shape[:2]
        if self.shared:
            rest = self.readers[1](z[:, 1:].reshape(-1, *z.shape[2:])).reshape(b, k - 1, -1)
            logits = torch.cat([self.readers[0](z[:, 0])[:, None], rest], dim=1)
        else:
            logits = torch.stack([reader(z[:, i]) for i, reader in enumerate(self.readers)], dim=1)
        log_q = F.log_softmax(logits, dim=-1)  # (B, K, C)
        if self.prior is not None:
            log_q = self.prior(log_q)
        return log_q.transpose(1, 2)  # (B, C, K), as the CTC networks' logits
