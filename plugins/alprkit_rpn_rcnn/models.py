"""The RPN and the R-CNN of "ALPR in the wild" (seed 002, section 2) as plain ``nn.Module``s.

Both take float RGB in [0, 255], NCHW, and return one tensor with the heads side by
side, so any single-output backend (eager, onnxruntime) runs them:

- RPN on the downsampled image: Table 1's three convolutions, then Inception 3a and 3b
  of GoogLeNet v2 (BN-Inception), feature stride 8, and Faster R-CNN's head:
  (batch, A + 4A, rows, columns) = objectness logit per anchor, then (dx, dy, dw, dh) per anchor.
- R-CNN on a 48x120 patch sampled from the full-resolution image: Table 2's three
  convolutions and two fully connected layers, then (batch, 2 + 8) = background and
  plate logits, then the four corners' shifts (x, y for TL, TR, BR, BL) in units of the
  patch's width and height.

Batch norm follows every convolution (the Inception blocks have it by design) so that
the networks train from scratch in a few thousand steps. ``width`` scales the RPN's
channel counts: 0.5 (the default) is 4x cheaper than the paper's and fits a CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from .shapes import ANCHOR_AREAS, ANCHOR_RATIOS, RCNN_SIZE


def conv_bn_relu(cin, cout, kernel, stride=1, padding=0):
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class Inception(nn.Module):
    """BN-Inception block: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 -> 3x3; 3x3 average pool -> 1x1."""

    def __init__(self, cin, c1, c3_reduce, c3, d3_reduce, d3, pool):
        super().__init__()
        self.branches = nn.ModuleList([
            conv_bn_relu(cin, c1, 1),
            nn.Sequential(conv_bn_relu(cin, c3_reduce, 1), conv_bn_relu(c3_reduce, c3, 3, padding=1)),
            nn.Sequential(conv_bn_relu(cin, d3_reduce, 1), conv_bn_relu(d3_reduce, d3, 3, padding=1),
                          conv_bn_relu(d3, d3, 3, padding=1)),
            nn.Sequential(nn.AvgPool2d(3, 1, 1), conv_bn_relu(cin, pool, 1)),
        ])
        self.out_channels = c1 + c3 + d3 + pool

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class RPN(nn.Module):
    def __init__(self, width: float = 0.5, head: int = 256):
        super().__init__()

        def c(n):
            return max(8, int(round(n * width)))

        self.anchors = len(ANCHOR_AREAS) * len(ANCHOR_RATIOS)
        inception_3a = Inception(c(288), c(64), c(64), c(64), c(64), c(96), c(32))
        inception_3b = Inception(inception_3a.out_channels, c(64), c(64), c(96), c(64), c(96), c(64))
        self.body = nn.Sequential(
            conv_bn_relu(3, c(64), 7, stride=2, padding=3), nn.MaxPool2d(2, 2),  # conv1, pool1
            conv_bn_relu(c(64), c(128), 1),  # conv2_1
            conv_bn_relu(c(128), c(288), 3, padding=1), nn.MaxPool2d(2, 2),  # conv2_2, pool2
            inception_3a, inception_3b,
            conv_bn_relu(inception_3b.out_channels, c(head), 3, padding=1),
        )
        self.head = nn.Conv2d(c(head), self.anchors * 5, 1)

    def forward(self, x):
        return self.head(self.body((x - 127.5) / 128.0))


class RCNN(nn.Module):
    def __init__(self):
        super().__init__()
        w, h = RCNN_SIZE
        self.body = nn.Sequential(
            conv_bn_relu(3, 64, 5, padding=2), nn.MaxPool2d(2, 2),  # conv_1, pool_1
            conv_bn_relu(64, 64, 5, padding=2), nn.MaxPool2d(2, 2),  # conv_2, pool_2
            conv_bn_relu(64, 128, 3, stride=2, padding=1),  # conv_3
        )
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(128 * (h // 8) * (w // 8), 64), nn.ReLU(inplace=True),
                                nn.Linear(64, 32), nn.ReLU(inplace=True))
        self.head = nn.Linear(32, 2 + 8)

    def forward(self, x):
        return self.head(self.fc(self.body((x - 127.5) / 128.0)))


class RpnRcnnNetworks(nn.Module):
    """RPN and R-CNN under one state dict (``rpn.*``, ``rcnn.*``)."""

    def __init__(self, rpn: dict | None = None, rcnn: dict | None = None):
        super().__init__()
        self.options = {"rpn": dict(rpn or {}), "rcnn": dict(rcnn or {})}
        self.rpn = RPN(**self.options["rpn"])
        self.rcnn = RCNN(**self.options["rcnn"])
