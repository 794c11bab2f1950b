"""EQ-LPR's networks (seed 004, Fig. 2) as plain ``nn.Module``s.

Every network takes float RGB in [0, 255], NCHW, at its ``input_size`` (width, height):

- :class:`AttentionRecognizer`: the seed's recognizer, a CNN feature extractor whose
  column features an LSTM encodes and an attention decoder reads one character per step.
  It returns logits (batch, classes, steps); class 0 ends the plate.
- :class:`QualityNet`: a feature extractor and the fully connected quality head N'q,
  returning the quality awareness score ``a`` in [0, 1] per crop. EQ-LPR-P runs the
  recognizer's CNN design on the grayscale crop, EQ-LPR-S the recognizer's own (shared)
  feature extractor, EQ-LPR-E a lightweight grayscale CNN whose features are distilled to
  match the S features (:class:`LightFeatures`).

The seed gives no layer table, only that every convolution is 3x3 (Fig. 2); the widths
here are chosen for a 2-core CPU, each module's docstring says what they are.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

INPUT_SIZE = (96, 32)  # (w, h): a 3:1 Brazilian or US plate with a little margin
MAX_LENGTH = 9  # the longest plate of the latin regions (eu); one more step reads the end
WIDTHS = (32, 48, 64, 64, 96, 96)  # FeatureCNN: two 2x2 pools, then two (2, 1) pools
LIGHT_WIDTHS = (16, 24, 32, 48)  # LightFeatures: a quarter of the work at each stage or less


def conv3(cin, cout):
    """A 3x3 convolution (the seed's only kernel) with batch norm and ReLU."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Grayscale(nn.Module):
    """RGB [0, 255] -> one normalised grey channel: the seed's G(P) feeds the quality CNNs grey crops,
    "to avoid colour interference". Inside the network, so its ONNX file takes the same RGB input."""

    def __init__(self):
        super().__init__()
        self.register_buffer("weights", torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1))

    def forward(self, x):
        return ((x * self.weights).sum(dim=1, keepdim=True) - 127.5) / 127.5


class Normalise(nn.Module):
    def forward(self, x):
        return (x - 127.5) / 127.5


class FeatureCNN(nn.Module):
    """The feature extractor N of Fig. 2: 3x3 convolutions in four stages.

    32x96 input -> 2x2 pool -> 2x2 pool -> two (2, 1) pools: a (C, 2, 24) map, one column
    per 4 input pixels, so a plate's 7-9 characters span about 2-3 columns each.
    """

    def __init__(self, in_channels=3, widths=WIDTHS):
        super().__init__()
        w = tuple(int(v) for v in widths)
        if len(w) != 6:
            raise ValueError(f"FeatureCNN needs 6 widths, got {list(widths)}")
        self.body = nn.Sequential(
            conv3(in_channels, w[0]), nn.MaxPool2d(2),
            conv3(w[0], w[1]), nn.MaxPool2d(2),
            conv3(w[1], w[2]), conv3(w[2], w[3]), nn.MaxPool2d((2, 1)),
            conv3(w[3], w[4]), conv3(w[4], w[5]), nn.MaxPool2d((2, 1)),
        )
        self.channels = w[5]

    def forward(self, x):
        return self.body(x)


class LightFeatures(nn.Module):
    """EQ-LPR-E's lightweight N*_q: four thin 3x3 stages on the grey crop, then a 1x1 projection to
    the shape of the S features it is distilled to match (``target``: channels, height, width)."""

    def __init__(self, target, widths=LIGHT_WIDTHS, input_size=INPUT_SIZE):
        super().__init__()
        w = tuple(int(v) for v in widths)
        if len(w) != 4:
            raise ValueError(f"LightFeatures needs 4 widths, got {list(widths)}")
        self.body = nn.Sequential(
            conv3(1, w[0]), nn.MaxPool2d(2),
            conv3(w[0], w[1]), nn.MaxPool2d(2),
            conv3(w[1], w[2]), nn.MaxPool2d((2, 1)),
            conv3(w[2], w[3]), nn.MaxPool2d((2, 1)),
        )
        self.target = tuple(int(v) for v in target)
        # Four stages halve the height four times and the width twice; LPRNet's (1, 88) columns are
        # reached from (2, 24) by resampling.
        self.resample = (input_size[1] // 16, input_size[0] // 4) != self.target[1:]
        self.project = nn.Conv2d(w[3], self.target[0], 1)
        self.channels = self.target[0]

    def forward(self, x):
        z = self.project(self.body(x))
        if self.resample:
            z = F.interpolate(z, size=self.target[1:], mode="bilinear", align_corners=False)
        return z


class LPRNetFeatures(nn.Module):
    """S over LPRNet: the features of an LPRNet basic/reduced recognizer, its STN included.

    The map after the 4x1 convolution (256 x 1 x steps) is what LPRNet's class layers read:
    the recognition features F_r that the quality head shares.
    """

    def __init__(self, recognizer_network):
        super().__init__()
        net = recognizer_network.net
        if not hasattr(net, "_FEATURES") or not hasattr(net, "backbone"):
            raise ValueError(f"{type(net).__name__} has no LPRNet backbone features (lprnet_basic or lprnet_reduced)")
        self.stn = recognizer_network.stn if recognizer_network.stn_active else None
        self.layers = nn.Sequential(*[net.backbone[i] for i in range(net._FEATURES)])
        self.channels = 256

    def forward(self, x):  # RGB 0..255: LPRNet normalises after its STN
        if self.stn is not None:
            x = self.stn(x)
        return self.layers((x - 127.5) / 127.5)


class QualityHead(nn.Module):
    """N'_q: the fully connected quality network on a feature map, ending in a sigmoid.

    A 1x1 reduction, then average and max pooling into ``bins`` column groups (a plate is as
    readable as its worst character, which a pooled vector of the whole map would hide), then
    two fully connected layers. Fixed pooling sizes keep it exportable to ONNX.
    """

    def __init__(self, channels, width, bins=8, reduced=32, hidden=64):
        super().__init__()
        if width % bins:
            raise ValueError(f"quality head: feature width {width} is not a multiple of {bins} bins")
        self.reduce = nn.Sequential(nn.Conv2d(channels, reduced, 1), nn.ReLU(inplace=True))
        self.kernel = width // bins
        self.fc = nn.Sequential(nn.Linear(2 * reduced * bins, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 1))

    def forward(self, features):
        z = self.reduce(features).mean(dim=2)  # (B, reduced, W)
        pooled = torch.cat([F.avg_pool1d(z, self.kernel), F.max_pool1d(z, self.kernel)], dim=1)
        return torch.sigmoid(self.fc(pooled.flatten(1))).squeeze(1)


class QualityNet(nn.Module):
    """RGB crop -> quality score ``a`` in [0, 1]: ``front`` (grey or normalise), ``features``, ``head``.

    ``features_of`` gives the map the head reads (F_q, or E's F*_q for distillation).
    """

    def __init__(self, front, features, head, input_size=INPUT_SIZE):
        super().__init__()
        self.front = front
        self.features = features
        self.head = head
        self.input_size = tuple(input_size)

    def features_of(self, x):
        return self.features(self.front(x))

    def forward(self, x):
        return self.head(self.features_of(x))


class AttentionDecoder(nn.Module):
    """Bahdanau attention over the encoded columns; one LSTM cell step per character.

    Step t attends with the previous hidden state, feeds the context and the previous
    character (the true one while training, the argmax at inference: P(theta_k | theta_1:k-1))
    to the cell, and classifies from the new state and the context. ``steps`` includes the
    end-of-plate step.
    """

    def __init__(self, encoded, classes, hidden=128, steps=MAX_LENGTH + 1):
        super().__init__()
        self.classes, self.hidden, self.steps = int(classes), int(hidden), int(steps)
        self.embed = nn.Embedding(self.classes + 1, hidden)  # the last row is the start symbol
        self.key = nn.Linear(encoded, hidden)
        self.query = nn.Linear(hidden, hidden, bias=False)
        self.score = nn.Linear(hidden, 1, bias=False)
        self.cell = nn.LSTMCell(encoded + hidden, hidden)
        self.out = nn.Linear(hidden + encoded, self.classes)

    def forward(self, encoded, targets=None):  # encoded (B, T, E); targets (B, steps) class indices
        keys = self.key(encoded)
        # Zero states and the start symbol sized from the input, so the batch axis stays free in ONNX.
        h = keys[:, 0, :] * 0.0
        c = h
        previous = (keys[:, 0, 0] * 0.0).long() + self.classes
        logits = []
        for t in range(self.steps):
            weights = torch.softmax(self.score(torch.tanh(keys + self.query(h).unsqueeze(1))).squeeze(2), dim=1)
            context = torch.bmm(weights.unsqueeze(1), encoded).squeeze(1)
            h, c = self.cell(torch.cat([self.embed(previous), context], dim=1), (h, c))
            step = self.out(torch.cat([h, context], dim=1))
            logits.append(step)
            previous = targets[:, t] if targets is not None else step.argmax(dim=1)
        return torch.stack(logits, dim=2)


class AttentionRecognizer(nn.Module):
    """The seed's recognizer: FeatureCNN (RGB), a bidirectional LSTM encoder, an attention decoder.

    ``forward(x)`` decodes greedily (logits (batch, classes, steps), class 0 ends the plate);
    ``forward(x, targets)`` is teacher-forced for training. ``features(x)`` is F_r, the map
    EQ-LPR-S shares with its quality head.
    """

    input_size = INPUT_SIZE

    def __init__(self, num_classes, widths=WIDTHS, hidden=128, max_length=MAX_LENGTH):
        super().__init__()
        self.cnn = FeatureCNN(3, widths)
        self.normalise = Normalise()
        self.encoder = nn.LSTM(self.cnn.channels, hidden, batch_first=True, bidirectional=True)
        self.decoder = AttentionDecoder(2 * hidden, num_classes, hidden, max_length + 1)
        self.num_classes = int(num_classes)

    def features(self, x):
        return self.cnn(self.normalise(x))

    def decode(self, features, targets=None):
        columns = features.mean(dim=2).transpose(1, 2)  # (B, W, C)
        encoded, _ = self.encoder(columns)
        return self.decoder(encoded, targets)

    def forward(self, x, targets=None):
        return self.decode(self.features(x), targets)


def build_recognizer(num_classes, **options) -> AttentionRecognizer:
    network = AttentionRecognizer(num_classes, **options)
    network.architecture = "eqlpr_attn"
    network.options = dict(options)
    return network


def feature_shape(module: nn.Module, input_size) -> tuple[int, int, int]:
    """(channels, height, width) of the map ``module`` makes from one RGB crop of ``input_size``."""
    w, h = input_size
    was = module.training
    with torch.no_grad():
        shape = tuple(module.eval()(torch.zeros(1, 3, h, w)).shape[1:])
    module.train(was)
    return shape


ARCHITECTURES = ("eqlpr_p", "eqlpr_s", "eqlpr_e")


def build_quality(architecture: str, features: dict, input_size=INPUT_SIZE, head: dict | None = None,
                  shared: nn.Module | None = None) -> QualityNet:
    """A quality network from its description (what its weights file records).

    ``features`` is ``{"kind": "cnn", "widths": [...]}`` (P on the grey crop, S on the RGB crop:
    the recognizer's own CNN), ``{"kind": "lprnet", "architecture", "classes", "stn", "options"}``
    (S over an LPRNet recognizer) or ``{"kind": "light", "widths", "target": [C, H, W]}`` (E).
    ``shared`` is the recognizer's module to use itself (S trains the two together), else one is built.
    """
    kind = features.get("kind")
    grey = architecture in ("eqlpr_p", "eqlpr_e")
    if kind == "cnn":
        extractor = shared if shared is not None else FeatureCNN(1 if grey else 3, features.get("widths", WIDTHS))
    elif kind == "lprnet":
        if shared is None:
            from alprkit_lprnet.models import build_network

            network = build_network(features["architecture"], int(features["classes"]), stn=bool(features["stn"]),
                                    **features.get("options", {}))
            network.stn_active = bool(features["stn"])
            shared = network
        extractor = LPRNetFeatures(shared)
    elif kind == "light":
        extractor = LightFeatures(features["target"], features.get("widths", LIGHT_WIDTHS), input_size)
    else:
        raise ValueError(f"unknown quality features {kind!r} (cnn, lprnet or light)")
    front = Grayscale() if grey else Normalise() if kind == "cnn" else nn.Identity()
    body = nn.Sequential(front, extractor)
    network = QualityNet(front, extractor, head_for(feature_shape(body, input_size), **(head or {})), input_size)
    network.architecture = architecture
    network.spec = {"features": dict(features), "head": dict(head or {})}
    return network


def head_for(features_shape, **options) -> QualityHead:
    channels, _, width = features_shape
    return QualityHead(channels, width, **options)
