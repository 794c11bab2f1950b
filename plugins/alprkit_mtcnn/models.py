"""P-Net and O-Net for plates (seed 003: MTCNN with R-Net skipped) as plain ``nn.Module``s.

Both take float RGB in [0, 255], NCHW, and return one tensor whose channels are
the heads side by side, so any single-output backend (eager, onnxruntime) runs them:

- P-Net is fully convolutional over one pyramid level; every output cell scores the
  12x30 window at (4 x column, 2 x row) of that level: (batch, 1 + 4, rows, columns) =
  plate logit and box offsets.
- O-Net scores a 24x94 crop of a P-Net proposal: (batch, 1 + 4 + 8) = plate logit,
  box offsets and the four corners (TL, TR, BR, BL), all relative to the crop's box.
"""

from __future__ import annotations

from torch import nn

from .shapes import ONET_SIZE


def _conv(cin, cout, kernel):
    return [nn.Conv2d(cin, cout, kernel, bias=False), nn.BatchNorm2d(cout), nn.PReLU(cout)]


class PNet(nn.Module):
    """Receptive field 12x30 with no padding, so a cell sees exactly its window.

    The horizontal pooling of 4 (the original plate MTCNN pools by 5) keeps the
    pyramid cheap: plates are wide, so horizontal steps of 4 level pixels lose little.
    """

    def __init__(self, channels=(10, 16, 32)):
        super().__init__()
        c1, c2, c3 = channels
        self.body = nn.Sequential(
            *_conv(3, c1, 3), nn.MaxPool2d((2, 4), (2, 4)),
            *_conv(c1, c2, (3, 4)),
            *_conv(c2, c3, (3, 4)),
        )
        self.head = nn.Conv2d(c3, 5, 1)

    def forward(self, x):
        return self.head(self.body((x - 127.5) / 128.0))


class ONet(nn.Module):
    def __init__(self, channels=(32, 64, 64, 128), hidden=256):
        super().__init__()
        c1, c2, c3, c4 = channels
        w, h = ONET_SIZE
        self.body = nn.Sequential(
            *_conv(3, c1, 3), nn.MaxPool2d(2, 2),  # 22x92 -> 11x46
            *_conv(c1, c2, 3), nn.MaxPool2d(2, 2),  # 9x44 -> 4x22
            *_conv(c2, c3, 3),  # 2x20
            *_conv(c3, c4, 2),  # 1x19
        )
        rows, cols = ((h - 2) // 2 - 2) // 2 - 3, ((w - 2) // 2 - 2) // 2 - 3
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(c4 * rows * cols, hidden), nn.PReLU(hidden), nn.Dropout(0.25))
        self.head = nn.Linear(hidden, 1 + 4 + 8)

    def forward(self, x):
        return self.head(self.fc(self.body((x - 127.5) / 128.0)))


class MtcnnNetworks(nn.Module):
    """P-Net and O-Net under one state dict (``pnet.*``, ``onet.*``)."""

    def __init__(self, pnet: dict | None = None, onet: dict | None = None):
        super().__init__()
        self.options = {"pnet": dict(pnet or {}), "onet": dict(onet or {})}
        self.pnet = PNet(**self.options["pnet"])
        self.onet = ONet(**self.options["onet"])
