"""LPRNet family: architectures against the paper, STN, export parity, training, resume, DDP."""

import json

import numpy as np
import pytest
import torch
from helpers import CN_PLATES, assert_one_line_error, cli, run_alprkit, write_crops

from alprkit import plugins
from alprkit.backends import export_onnx
from alprkit.commands.export import parity
from alprkit.registry import Weights
from alprkit.types import Crop, Detection
from alprkit_lprnet.models import ARCHITECTURES, GlobalContext, LocNet, build_network

# Table 4 of the LPRNet paper (GFLOPs); the baseline and reduced models are rebuilt from the
# paper's prose, so they get a looser tolerance than the fully specified basic model.
PAPER_GFLOPS = {"lprnet_basic": (0.34, 0.02), "lprnet_reduced": (0.163, 0.10), "lprnet_baseline": (0.71, 0.02)}
STEPS = {"lprnet_basic": 88, "lprnet_reduced": 22, "lprnet_baseline": 88, "lprnet_resnet18": 24}


def gflops(network):
    from torch.utils.flop_counter import FlopCounterMode

    w, h = network.input_size
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = network.eval()(torch.rand(1, 3, h, w) * 255)
    return counter.get_total_flops() / 1e9, out


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_architecture_cost_and_sequence_length(architecture):
    network = build_network(architecture, 68)
    flops, out = gflops(network)
    assert out.shape == (1, 68, STEPS[architecture])
    if architecture in PAPER_GFLOPS:
        paper, tolerance = PAPER_GFLOPS[architecture]
        assert abs(flops - paper) / paper <= tolerance, f"{architecture}: {flops:.3f} GFLOPs vs paper {paper}"


def test_locnet_starts_as_the_identity_warp():
    stn = LocNet((94, 24)).eval()
    x = torch.rand(2, 3, 24, 94) * 255
    with torch.no_grad():
        assert torch.allclose(stn(x), x, atol=1e-2)  # a hundredth of a grey level


def test_global_context_is_per_sample_even_in_training_mode():
    # Public LPRNet ports normalise the context by a batch-wide mean; ours must not.
    context = GlobalContext(classes=10, steps=88).train()
    x = torch.rand(4, 10, 1, 88)
    together = context(x)
    alone = context(x[:1])
    assert torch.allclose(together[:1], alone, atol=1e-5)


def test_stn_switches_on_at_the_configured_step():
    from alprkit.train.recognition import RecognitionModule

    network = build_network("lprnet_basic", 68, stn=True)
    module = RecognitionModule(network, [""] * 68, steps=10, stn_start=5)
    for step, expected in ((0, False), (4, False), (5, True)):
        module.trainer = type("T", (), {"global_step": step})()  # only global_step is read
        module._trainer = module.trainer
        module.on_train_batch_start(None, 0)
        assert network.stn_active is expected


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_onnx_export_matches_pytorch_with_stn(architecture, tmp_path):
    network = build_network(architecture, 68, stn=True).eval()
    with torch.no_grad():  # a non-trivial STN warp, so the exported sampling grid is really exercised
        network.stn.fc[-1].bias.copy_(torch.tensor([0.2, 0.1, -0.1, 0.05, 0.3, 0.1]))
    path = export_onnx(network, network.input_size, tmp_path / f"{architecture}.onnx")
    report = parity(network, path, network.input_size, tolerance=1e-3)
    assert report["ok"], report


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Four training steps through the CLI, on a small labelled crops folder."""
    root = tmp_path_factory.mktemp("train")
    crops = write_crops(root / "crops", texts=CN_PLATES * 2)
    out = root / "run"
    result = run_alprkit("train", "train=smoke", "dataset=crops", f"dataset.path={crops}", "recognizer.stn=true",
                         f"output={out}", "progress=false")
    assert result.returncode == 0, result.stderr[-2000:]
    return crops, out


def test_training_writes_self_describing_weights_and_logs(trained):
    _, out = trained
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert (out / "logs" / "version_0" / "metrics.csv").is_file()
    assert any((out / "tb").rglob("events.out.tfevents*"))
    result = json.loads((out / "result.json").read_text())
    assert result["steps"] == 4 and "alprkit train" in result["command"]
    recognizer = plugins.registry().get("recognizer", "lprnet_basic").factory(
        weights=Weights(out / "lprnet_basic.safetensors"))
    assert recognizer.network.stn is not None and recognizer.alphabet[0] == ""
    crop = Crop(np.zeros((24, 94, 3), np.uint8), Detection((0, 0, 94, 24)))
    assert recognizer([crop])[0].probs.shape == (88, len(recognizer.alphabet))


def test_training_resumes_from_its_last_checkpoint(trained):
    crops, out = trained
    result = run_alprkit("train", "train=smoke", "train.steps=6", "train.resume=auto", "dataset=crops",
                         f"dataset.path={crops}", "recognizer.stn=true", f"output={out}", "progress=false")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((out / "result.json").read_text())["steps"] == 6


def test_training_without_resume_refuses_to_overwrite_an_earlier_run(trained, capsys):
    crops, out = trained
    status, _, err = cli(capsys, "train", "train=smoke", "dataset=crops", f"dataset.path={crops}", f"output={out}",
                         "progress=false")
    assert_one_line_error(status, err, str(out), "train.resume=auto")
    assert (out / "checkpoints" / "last.ckpt").is_file()


def test_ddp_with_two_cpu_processes(trained, tmp_path):
    crops, _ = trained
    result = run_alprkit("train", "train=smoke", "train.devices=2", "train.strategy=ddp", "dataset=crops",
                         f"dataset.path={crops}", f"output={tmp_path / 'ddp'}", "progress=false", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Starting with 2 processes" in result.stderr
    assert (tmp_path / "ddp" / "lprnet_basic.safetensors").is_file()


def test_onnxruntime_backend_reads_like_torch(trained, tmp_path, monkeypatch):
    _, out = trained
    monkeypatch.setenv("ALPRKIT_CACHE", str(tmp_path))
    factory = plugins.registry().get("recognizer", "lprnet_basic").factory
    weights = Weights(out / "lprnet_basic.safetensors")
    eager, onnx = factory(weights=weights), factory(weights=weights, backend="onnxruntime")
    rng = np.random.default_rng(0)
    crops = [Crop(rng.integers(0, 256, (24, 94, 3), dtype=np.uint8), Detection((0, 0, 94, 24))) for _ in range(4)]
    for a, b in zip(eager(crops), onnx(crops)):
        assert np.abs(a.probs - b.probs).max() < 1e-4
    assert list(tmp_path.rglob("*.onnx")), "the exported model is cached under ALPRKIT_CACHE"


def test_train_init_from_another_alphabet_carries_the_backbone_and_shared_characters_over(trained, capsys):
    from alprkit.commands.train import _load_init
    from alprkit.weights import load_weights
    from alprkit_lprnet.recognizer import alphabet_for

    _, out = trained
    cn_state, _ = load_weights(out / "lprnet_basic.safetensors")
    us = alphabet_for("us")
    network = build_network("lprnet_basic", len(us), stn=True)
    fresh = {k: v.clone() for k, v in network.state_dict().items()}
    _load_init(network, us, out / "lprnet_basic.safetensors")
    assert "tensors carried over" in capsys.readouterr().err
    state = network.state_dict()
    carried = [k for k in state if k in cn_state and cn_state[k].shape == state[k].shape
               and torch.equal(state[k], cn_state[k].to(state[k].dtype))]
    assert any(k.startswith("stn.") for k in carried) and any(k.startswith("net.backbone") for k in carried)
    # The last convolution's rows are per class: shared characters keep their trained rows, new ones start fresh.
    cn = alphabet_for("cn")
    head = "net.backbone.10.0.weight"
    assert state[head].shape[0] == len(us) and cn_state[head].shape[0] == len(cn)
    assert torch.equal(state[head][us.index("A")], cn_state[head][cn.index("A")].to(state[head].dtype))
    assert torch.equal(state[head][us.index("I")], fresh[head][us.index("I")]), "a character cn lacks starts fresh"
