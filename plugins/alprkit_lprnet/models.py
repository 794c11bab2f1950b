"""LPRNet recognizers as plain ``nn.Module``s (Zherzdev & Gruzdev, seed 000; NVIDIA baseline18, seed 001).

Every network takes float RGB in [0, 255], NCHW, at its ``input_size`` and returns
CTC logits of shape (batch, classes, steps); class 0 is the blank. A multi-region
LPRNet (``regions > 0``) also returns region logits (batch, regions).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def conv_bn_relu(cin, cout, kernel, stride=1, padding=0):
    # The paper puts batch norm and ReLU after every convolution.
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class SmallBasicBlock(nn.Module):
    """Table 2: 1x1 squeeze to C/4, 3x1 and 1x3 convolutions, 1x1 expand to C."""

    def __init__(self, cin, cout):
        super().__init__()
        mid = cout // 4
        self.body = nn.Sequential(
            conv_bn_relu(cin, mid, 1),
            conv_bn_relu(mid, mid, (3, 1), padding=(1, 0)),
            conv_bn_relu(mid, mid, (1, 3), padding=(0, 1)),
            conv_bn_relu(mid, cout, 1),
        )

    def forward(self, x):
        return self.body(x)


class GlobalContext(nn.Module):
    """The paper's global context embedding, after ParseNet (its ref. [12]).

    A fully-connected layer over the whole class map gives one vector per plate; it
    is tiled along the sequence, concatenated with the map and a 1x1 convolution
    brings the depth back to the class count. Both parts are L2-normalised per
    sample with a learned scale, as ParseNet does, so a plate's output never depends
    on the other plates in its batch (public ports normalise by a batch-wide mean).
    """

    def __init__(self, classes, steps, dim=128):
        super().__init__()
        self.fc = nn.Linear(classes * steps, dim)
        self.local_scale = nn.Parameter(torch.full((1, classes, 1, 1), 10.0))
        self.global_scale = nn.Parameter(torch.full((1, dim, 1, 1), 10.0))
        self.head = nn.Conv2d(classes + dim, classes, 1)

    def forward(self, x):  # x: (B, classes, 1, steps)
        g = F.relu(self.fc(x.flatten(1)))[:, :, None, None].expand(-1, -1, 1, x.shape[-1])
        local = F.normalize(x, dim=1) * self.local_scale
        g = F.normalize(g, dim=1) * self.global_scale
        return self.head(torch.cat([local, g], dim=1))


class RegionHead(nn.Module):
    """Which region's plate a crop shows: colour layout, early texture and the column features.

    Regions differ in where their colours sit (a blue band on the left of EU plates,
    a city band on top of Brazilian ones, yellow or blue Chinese plates) and in their
    characters (Hanzi). The head reads the input's colours and the first block's
    features average-pooled on a coarse grid (so a band's place is kept), and the
    4x1 convolution's column features by average and max (the max keeps a small cue
    such as a province character); a two-layer classifier on them. Fixed pooling
    kernels (no adaptive pooling) keep it exportable to ONNX.
    """

    IMAGE_CELL = (6, 12)  # 24x94 input -> 4x7 cells
    EARLY_CELL = (10, 18)  # 20x90 first-block map -> 2x5 cells

    def __init__(self, early_channels, channels, regions, input_size=(94, 24), early_size=(90, 20), hidden=64):
        super().__init__()
        cells = lambda size, cell: (size[1] // cell[0]) * (size[0] // cell[1])  # noqa: E731
        features = 3 * cells(input_size, self.IMAGE_CELL) + early_channels * cells(early_size, self.EARLY_CELL)
        self.classifier = nn.Sequential(nn.Linear(features + 2 * channels, hidden), nn.ReLU(inplace=True),
                                        nn.Linear(hidden, regions))

    def forward(self, image, early, features):  # (B, 3, 24, 94), (B, C1, 20, 90), (B, C, 1, steps)
        pooled = torch.cat([
            F.avg_pool2d(image, self.IMAGE_CELL).flatten(1),
            F.avg_pool2d(early, self.EARLY_CELL).flatten(1),
            features.mean(dim=(2, 3)),
            features.amax(dim=(2, 3)),
        ], dim=1)
        return self.classifier(pooled)


class LPRNet(nn.Module):
    """LPRNet basic (Table 3) and, with ``reduced=True``, LPRNet reduced.

    Table 3 on a 94x24 input with un-padded, floor-mode pooling: 22x92 after the
    stride-1 pool, 10x90 and 4x88 after the two (2, 1) pools, then the 4x1
    convolution leaves one row of 88 steps. The reduced model uses 2x2 strides in
    the two down-sampling pools (10x45, 4x22: 22 steps); a 2x2 stride in the first
    pool too would leave fewer rows than the 4x1 convolution needs.

    With ``regions`` > 0 a :class:`RegionHead` reads the input, the first block's
    map and the 4x1 convolution's features; the network returns ``(logits, region_logits)``.
    """

    input_size = (94, 24)
    _EARLY = 3  # backbone layers up to the first small basic block (20x90 map)
    _FEATURES = 9  # ... up to the 4x1 convolution (and its ReLU)

    def __init__(self, num_classes, reduced=False, global_context=True, dropout=0.5, regions=0):
        super().__init__()
        stride = (2, 2) if reduced else (2, 1)
        self.backbone = nn.Sequential(
            conv_bn_relu(3, 64, 3, padding=1),
            nn.MaxPool2d(3, stride=1),
            SmallBasicBlock(64, 128),
            nn.MaxPool2d(3, stride=stride),
            SmallBasicBlock(128, 256),
            SmallBasicBlock(256, 256),
            nn.MaxPool2d(3, stride=stride),
            nn.Dropout(dropout),
            conv_bn_relu(256, 256, (4, 1)),
            nn.Dropout(dropout),
            conv_bn_relu(256, num_classes, (1, 13), padding=(0, 6)),
        )
        self.steps = 22 if reduced else 88
        self.context = GlobalContext(num_classes, self.steps) if global_context else None
        self.region_head = RegionHead(128, 256, int(regions)) if regions else None

    def forward(self, x):
        x = (x - 127.5) / 127.5
        if self.region_head is None:
            return self._classes(self.backbone(x))
        early = self._layers(x, 0, self._EARLY)
        features = self._layers(early, self._EARLY, self._FEATURES)
        logits = self._classes(self._layers(features, self._FEATURES, len(self.backbone)))
        return logits, self.region_head(x, early, features)

    def _layers(self, x, start, stop):
        # By index: slicing a Sequential would build a new module on every call.
        for i in range(start, stop):
            x = self.backbone[i](x)
        return x

    def _classes(self, x):
        if self.context is not None:
            x = self.context(x)
        return x.squeeze(2)


class InceptionBlock(nn.Module):
    """Inception block (1x1, 3x3, double 3x3 and pool branches) for the baseline."""

    def __init__(self, cin, c1, c3, c5, cp):
        super().__init__()
        self.b1 = conv_bn_relu(cin, c1, 1)
        self.b3 = nn.Sequential(conv_bn_relu(cin, c3, 1), conv_bn_relu(c3, c3, 3, padding=1))
        self.b5 = nn.Sequential(
            conv_bn_relu(cin, c5, 1), conv_bn_relu(c5, c5, 3, padding=1), conv_bn_relu(c5, c5, 3, padding=1)
        )
        self.bp = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv_bn_relu(cin, cp, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)


class LPRNetBaseline(nn.Module):
    """The paper's starting point: Inception blocks, then a bidirectional LSTM over columns.

    The paper gives no layer table for it; this follows its description (after Li &
    Shen) with the basic model's down-sampling, so both produce 88 steps, and block
    widths chosen to land near the paper's 0.71 GFLOPs.
    """

    input_size = (94, 24)

    def __init__(self, num_classes, hidden=128, dropout=0.5):
        super().__init__()
        self.backbone = nn.Sequential(
            conv_bn_relu(3, 64, 3, padding=1),
            nn.MaxPool2d(3, stride=1),
            InceptionBlock(64, 32, 40, 16, 40),  # 128
            nn.MaxPool2d(3, stride=(2, 1)),
            InceptionBlock(128, 64, 96, 32, 64),  # 256
            InceptionBlock(256, 64, 96, 32, 64),  # 256
            nn.MaxPool2d(3, stride=(2, 1)),
            nn.Dropout(dropout),
            conv_bn_relu(256, 256, (4, 1)),
            nn.Dropout(dropout),
        )
        self.rnn = nn.LSTM(256, hidden, batch_first=True, bidirectional=True)
        self.classifier = nn.Linear(2 * hidden, num_classes)

    def forward(self, x):
        x = self.backbone((x - 127.5) / 127.5).squeeze(2).transpose(1, 2)  # (B, steps, 256)
        x, _ = self.rnn(x)
        return self.classifier(x).transpose(1, 2)


class ResNet18CTC(nn.Module):
    """NVIDIA's baseline18: a ResNet-18 backbone on 3x48x96 input and a CTC sequence head.

    timm's ResNet-18 with the stride of stages 2-4 kept in height only, so the
    96-pixel width leaves 24 columns (one per 4 pixels, as TAO's LPRNet emits 24
    steps); a bidirectional LSTM (TAO's ``hidden_units``) reads the columns.
    """

    input_size = (96, 48)

    def __init__(self, num_classes, hidden=256):
        super().__init__()
        import timm

        self.backbone = timm.create_model("resnet18", pretrained=False, num_classes=0, global_pool="")
        for stage in (self.backbone.layer2, self.backbone.layer3, self.backbone.layer4):
            block = stage[0]
            block.conv1.stride = (2, 1)
            block.downsample[0].stride = (2, 1)
        self.rnn = nn.LSTM(512, hidden, batch_first=True, bidirectional=True)
        self.classifier = nn.Linear(2 * hidden, num_classes)

    def forward(self, x):
        x = (x / 255.0 - 0.45) / 0.225
        x = self.backbone.forward_features(x).mean(dim=2).transpose(1, 2)  # (B, 24, 512)
        x, _ = self.rnn(x)
        return self.classifier(x).transpose(1, 2)


class LocNet(nn.Module):
    """Table 1: the localization network of LPRNet's optional spatial transformer.

    Two branches (3x3/2 average pool then 5x5/3 convolution; 5x5/5 convolution)
    are flattened and concatenated, then dropout, FC 32 with tanh, FC 6 with a
    scaled tanh. The affine matrix is identity + ``scale`` * tanh(...), with the
    last layer zero-initialised so training starts from the identity warp.
    """

    def __init__(self, input_size=(94, 24), scale=0.5, dropout=0.5):
        super().__init__()
        w, h = input_size
        self.pooled = nn.Sequential(nn.AvgPool2d(3, stride=2), nn.Conv2d(3, 32, 5, stride=3), nn.ReLU(inplace=True))
        self.direct = nn.Sequential(nn.Conv2d(3, 32, 5, stride=5), nn.ReLU(inplace=True))
        with torch.no_grad():
            probe = torch.zeros(1, 3, h, w)
            features = self.pooled(probe).numel() + self.direct(probe).numel()
        self.fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(features, 32), nn.Tanh(), nn.Linear(32, 6))
        nn.init.zeros_(self.fc[-1].weight)
        nn.init.zeros_(self.fc[-1].bias)
        self.scale = scale
        self.register_buffer("identity", torch.tensor([1.0, 0, 0, 0, 1, 0]))
        # Pixel-centre coordinates in [-1, 1] as (x, y, 1) rows: the sampling grid is
        # one matmul with theta, which exports to ONNX opsets without AffineGrid.
        ys, xs = torch.meshgrid(torch.linspace(-1 + 1 / h, 1 - 1 / h, h), torch.linspace(-1 + 1 / w, 1 - 1 / w, w),
                                indexing="ij")
        self.register_buffer("base_grid", torch.stack([xs, ys, torch.ones_like(xs)], dim=-1).reshape(1, h * w, 3))
        self.grid_shape = (h, w)

    def forward(self, x):
        z = (x - 127.5) / 127.5
        features = torch.cat([self.pooled(z).flatten(1), self.direct(z).flatten(1)], dim=1)
        theta = (self.identity + self.scale * torch.tanh(self.fc(features))).view(-1, 2, 3)
        grid = torch.matmul(self.base_grid, theta.transpose(1, 2)).view(-1, *self.grid_shape, 2)
        return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


class Recognizer(nn.Module):
    """An optional spatial transformer in front of a recognition network.

    While ``stn_active`` is off the input bypasses the transformer: the paper turns
    LocNet on after 5k iterations because a weak recognizer gives it no useful
    gradient. Training derives the flag from the step count, so resuming needs no
    extra state.
    """

    def __init__(self, net: nn.Module, stn: bool = False):
        super().__init__()
        self.net = net
        self.input_size = net.input_size
        self.stn = LocNet(net.input_size) if stn else None
        self.stn_active = stn

    def forward(self, x):
        if self.stn is not None and self.stn_active:
            x = self.stn(x)
        return self.net(x)


ARCHITECTURES = {
    "lprnet_basic": lambda classes, **kw: LPRNet(classes, reduced=False, **kw),
    "lprnet_reduced": lambda classes, **kw: LPRNet(classes, reduced=True, **kw),
    "lprnet_baseline": LPRNetBaseline,
    "lprnet_resnet18": ResNet18CTC,
}


REGION_HEAD_ARCHITECTURES = ("lprnet_basic", "lprnet_reduced")


def build_network(architecture: str, num_classes: int, stn: bool = False, **options) -> Recognizer:
    """A network that remembers how it was built, so trained weights describe themselves."""
    network = Recognizer(ARCHITECTURES[architecture](num_classes, **options), stn=stn)
    network.architecture = architecture
    network.options = dict(options)
    return network
