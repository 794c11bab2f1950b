"""Frame-level distillation (train.teacher) and train.init across LPRNet architectures."""

import pytest

torch = pytest.importorskip("torch")

from alprkit.commands.train import _load_init  # noqa: E402
from alprkit.errors import ConfigError  # noqa: E402
from alprkit.train.distill import Distillation, resample_posteriors  # noqa: E402
from alprkit.weights import save_weights  # noqa: E402


def spikes(classes=5, steps=88, at=((10, 2), (40, 3), (41, 3), (70, 4))):
    probs = torch.zeros(1, classes, steps)
    probs[0, 0] = 1.0
    for t, c in at:
        probs[0, :, t] = 0.0
        probs[0, c, t] = 1.0
    return probs


def test_resampling_keeps_one_frame_characters_and_sums_to_one():
    out = resample_posteriors(spikes(), 22)
    assert out.shape == (1, 5, 22)
    assert torch.allclose(out.sum(dim=1), torch.ones(1, 22))
    # Averaging would leave each spike at 0.25 under the blank; the peak keeps it the window's best class.
    assert out[0].argmax(dim=0).tolist() == [0, 0, 2] + [0] * 7 + [3] + [0] * 6 + [4] + [0] * 4
    assert torch.equal(resample_posteriors(spikes(), 88), spikes())


class Fixed(torch.nn.Module):
    """A 'teacher' whose logits are given: checks the loss, the input resize and its target."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits
        self.seen = None

    def forward(self, x):
        self.seen = tuple(x.shape[-2:])
        return self.logits.expand(x.shape[0], -1, -1)


def test_distillation_loss_is_zero_only_for_the_teachers_own_frames():
    teacher_logits = torch.log(spikes(steps=24, at=((3, 2), (10, 3), (20, 4))).clamp(min=1e-6))
    distill = Distillation(Fixed(teacher_logits), (94, 24))
    images = torch.rand(2, 3, 48, 96) * 255
    assert distill.loss(teacher_logits.expand(2, -1, -1).clone(), images).item() == pytest.approx(0.0, abs=1e-4)
    assert distill.network.seen == (24, 94)  # resized to the teacher's input
    assert distill.loss(torch.zeros(2, 5, 24), images).item() > 1.0


def test_init_from_lprnet_basic_carries_the_shared_layers_into_reduced(tmp_path, capsys):
    from alprkit_lprnet.models import build_network

    basic = build_network("lprnet_basic", 7)
    path = save_weights(tmp_path / "basic.safetensors", basic.state_dict(),
                        {"architecture": "lprnet_basic", "alphabet": list("-abcdef")})
    reduced = build_network("lprnet_reduced", 7)
    _load_init(reduced, tuple("-abcdef"), path)
    assert "tensors of lprnet_reduced carried over" in capsys.readouterr().err
    first = "net.backbone.0.0.weight"
    assert torch.equal(reduced.state_dict()[first], basic.state_dict()[first])
    resnet = build_network("lprnet_resnet18", 7)
    with pytest.raises(ConfigError, match="shares no tensor"):
        _load_init(resnet, tuple("-abcdef"), path)
