"""The parallel-STN recognizer of seed 002: registration, shapes, template priors, the no-character
class, decoding per position, training, ONNX parity, the segments picture and its config errors."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import CN_PLATES, assert_one_line_error, cli, one_torch_thread, write_crops  # noqa: F401

from alprkit import plugins
from alprkit.data.regions import get_region
from alprkit.imageio import read_image
from alprkit.registry import Weights
from alprkit.types import CharScores, Crop, Detection
from alprkit_pstn.models import SEGMENT_SIZE, TemplatePrior
from alprkit_pstn.recognizer import alphabet_for
from alprkit_pstn.templates import NO_CHAR, expand, position_prior

pytestmark = pytest.mark.usefixtures("one_torch_thread")

registry = plugins.registry()
CN = alphabet_for("cn")
INDEX = {c: i for i, c in enumerate(CN)}
DIGITS = [INDEX[d] for d in "0123456789"]


def crops(count, seed=0):
    rng = np.random.default_rng(seed)
    return [Crop(rng.integers(0, 256, (48, 120, 3), dtype=np.uint8), Detection((0, 0, 120, 48)))
            for _ in range(count)]


@pytest.fixture(scope="module")
def recognizer():
    return registry.create("recognizer", "parallel_stn")


# -- registration and shapes ---------------------------------------------------------------------


def test_registered_with_its_configs_and_reads_with_its_weights_or_fails_clearly_without(capsys):
    component = registry.get("recognizer", "pstn")
    assert component.name == "parallel_stn" and component.provider.plugin == "pstn"
    status, out, err = cli(capsys, "run", "pipeline=pstn_cn", "input=alprkit/samples/crops_cn/base/000000.jpg",
                           "progress=false")
    if "cn" in component.weights:  # shipped: the pipeline reads with them whatever width they were built at
        assert status == 0 and json.loads(out.splitlines()[0])["text"], err
    else:
        assert_one_line_error(status, err, "parallel_stn", "no weights 'cn'")


def test_shapes_and_evenly_spaced_initial_windows(recognizer):
    network = recognizer.network
    assert recognizer.input_size == (120, 48) and recognizer.positions == 8 and recognizer.blank is None
    # Eight vertical bands of grey levels: the k-th initial window sees the k-th band only.
    bands = np.repeat(np.arange(8) * 30 + 10, 15).astype(np.float32)
    image = torch.from_numpy(np.broadcast_to(bands, (1, 3, 48, 120)).copy())
    with torch.no_grad():
        segments = network.segments(image)
        out = network(image)
    assert segments.shape == (1, 8, 3, SEGMENT_SIZE[1], SEGMENT_SIZE[0])
    means = segments[0, :, :, :, 4:-4].mean(dim=(1, 2, 3)).numpy()
    assert np.allclose(means, np.arange(8) * 30 + 10, atol=1.0), means
    assert out.shape == (1, len(CN), 8)
    scores = recognizer(crops(2))
    assert scores[0].probs.shape == (8, len(CN)) and scores[0].blank is None


def test_the_cross_entropy_reaches_the_stns_and_both_classifiers():
    from alprkit.train.recognition import RecognitionModule

    network = registry.create("recognizer", "parallel_stn").network.train()
    module = RecognitionModule(network, CN, steps=10, per_position=True)
    targets = torch.tensor([INDEX[c] for c in "皖A12345" + "粤BD12345"])
    loss = module._text_loss(network(torch.rand(2, 3, 48, 120) * 255), targets, torch.tensor([7, 8]))
    loss.backward()
    last = network.localization.head[-1]
    assert torch.isfinite(loss) and last.weight.grad.abs().sum() > 0 and last.bias.grad.abs().sum() > 0
    assert all(reader.classifier.weight.grad.abs().sum() > 0 for reader in network.readers)


def test_shared_and_separate_variants_differ_in_size():
    size = lambda **kw: sum(p.numel() for p in registry.create("recognizer", "parallel_stn", **kw)  # noqa: E731
                            .network.parameters())
    shared, own, stns = size(), size(shared=False), size(separate_stns=True)
    assert own > 3 * shared and stns > shared
    half = registry.create("recognizer", "parallel_stn", width=0.5)
    assert half.network.readers[0].body[0][0].out_channels == 32


# -- template priors ----------------------------------------------------------------------------


def test_templates_expand_into_position_sets():
    assert [len(s) for s in expand("[A-Z]{1,3}[0-9]{2}")] == [3, 4, 5]
    prior = position_prior(get_region("cn").templates, CN)
    assert prior.positions == 8 and sorted(set(prior.lengths)) == [7, 8]
    provincial = [i for i, t in enumerate(prior.templates) if not t.startswith("使")]
    assert not prior.masks[provincial][:, 1, DIGITS].any(), "a digit second on a provincial plate"
    assert prior.masks[:, 7, NO_CHAR].sum() == sum(n == 7 for n in prior.lengths)
    assert prior.accepts([INDEX[c] for c in "皖A12345"]) and prior.accepts([INDEX[c] for c in "皖AD12345"])
    assert not prior.accepts([INDEX[c] for c in "皖512345"])
    with pytest.raises(Exception, match="not read by the parallel-STN priors"):
        expand("[A-Z]+")


def test_reads_follow_one_template_so_no_digit_is_second_on_a_provincial_plate():
    prior = position_prior(get_region("cn").templates, CN)
    layer = TemplatePrior(prior.masks, prior.log_weights).eval()
    pattern = re.compile("|".join(f"(?:{t})" for t in get_region("cn").templates))
    logits = torch.randn(300, 8, len(CN)) * 3
    logits[:100, 1, DIGITS] += 6  # the network all but sure of a digit second
    with torch.no_grad():
        rows = layer(torch.log_softmax(logits, -1))
    assert torch.allclose(rows.exp().sum(-1), torch.ones(300, 8), atol=1e-4)
    for path in rows.argmax(-1).numpy():
        text = "".join(CN[c] for c in path)
        assert pattern.fullmatch(text), text
        assert text.startswith("使") or not text[1].isdigit(), text


def test_training_marginals_keep_every_template_in_play():
    prior = position_prior(get_region("cn").templates, CN)
    layer = TemplatePrior(prior.masks, prior.log_weights).train()
    rows = layer(torch.log_softmax(torch.zeros(1, 8, len(CN)), -1)).exp()[0]
    assert rows[7, NO_CHAR] > 0.5 and rows[7, INDEX["D"]] > 0  # 7 characters more likely, 8 possible
    assert rows[1, DIGITS].sum() < 1e-3 and rows[1, INDEX["A"]] > 0.03


def plate_rows(text, sure=8.0):
    """Network logits that read ``text`` (no character after it) with some confidence."""
    logits = torch.zeros(1, 8, len(CN))
    for i, c in enumerate(text.ljust(8, "\0")):
        logits[0, i, INDEX.get(c, NO_CHAR)] = sure
    return torch.log_softmax(logits, -1)


@pytest.mark.parametrize("text", ["皖A12345", "粤BD12345", "沪C12345D"])
def test_no_character_class_reads_seven_and_eight_character_plates(text):
    prior = position_prior(get_region("cn").templates, CN)
    rows = TemplatePrior(prior.masks, prior.log_weights).eval()(plate_rows(text))[0].exp().numpy()
    scores = CharScores(rows, CN, blank=None, region="cn")
    for name in ("greedy", "beam"):
        read = registry.create("decoder", name)(scores)
        assert read.text == text and len(read.char_probs) == len(text), (name, read)


# -- decoders on per-position scores ------------------------------------------------------------


def test_decoders_turn_no_character_into_nothing_and_merge_reads_that_look_alike():
    alphabet = ("", "A", "B")
    probs = np.array([[0.05, 0.9, 0.05], [0.05, 0.05, 0.9], [0.6, 0.3, 0.1], [0.5, 0.2, 0.3]])
    scores = CharScores(probs, alphabet, blank=None)
    greedy = registry.create("decoder", "greedy", top_n=3)(scores)
    assert greedy.text == "AB" and len(greedy.char_probs) == 2
    assert greedy.confidence == pytest.approx(0.9 * 0.9 * 0.6 * 0.5)
    beam = registry.create("decoder", "beam", top_n=4)(scores)
    texts = [c.text for c in beam.candidates]
    assert len(set(texts)) == len(texts) and texts[0] == "AB"
    # "ABA" is read by [A, B, A, -] and [A, B, -, A]: one candidate with both probabilities.
    expected = 0.9 * 0.9 * (0.3 * 0.5 + 0.6 * 0.2)
    assert dict((c.text, c.score) for c in beam.candidates)["ABA"] == pytest.approx(expected)


@pytest.mark.parametrize("cut, rectifier", [("affine", "affine_ransac"), ("box", "identity")])
def test_training_cuts_photos_plates_as_the_pipelines_rectifier_will(tmp_path, cut, rectifier):
    """Seed 002's Table 6: rectification on (the affine fit of the corners) or off (their box)."""
    import cv2
    from helpers import plate_image, write_rgb

    from alprkit.geometry import target_quad
    from alprkit.train.data import PhotoPlatesSource
    from alprkit.types import Frame

    matrix = np.array([[0.9, 0.3, 80.0], [-0.12, 1.1, 120.0]])  # a tilted, sheared plate
    frame = cv2.warpAffine(plate_image(seed=1, size=(190, 50)), matrix, (400, 300), borderValue=(90, 90, 90))
    corners = cv2.transform(target_quad((190, 50))[None], matrix)[0]
    write_rgb(tmp_path / "car.png", frame)
    (tmp_path / "annotations.jsonl").write_text(json.dumps({"file": "car.png", "region": "cn", "plates": [
        {"text": CN_PLATES[0], "box": None, "corners": corners.tolist()}]}, ensure_ascii=False) + "\n")
    [(pixels, text, _)] = PhotoPlatesSource(tmp_path, (120, 48), cut=cut).fixed_items()
    detection = Detection((*corners.min(axis=0), *corners.max(axis=0)), corners=tuple(map(tuple, corners)))
    expected = registry.create("rectifier", rectifier)(Frame(read_image(tmp_path / "car.png").pixels), detection,
                                                       (120, 48)).pixels
    assert text == CN_PLATES[0] and np.abs(pixels.astype(int) - expected).mean() < 1.5


# -- training, export, backends ------------------------------------------------------------------


def test_three_training_steps_write_weights_that_read(capsys, tmp_path):
    data = write_crops(tmp_path / "crops", texts=[*CN_PLATES, "皖512345"])  # the last fits no cn template
    out = tmp_path / "run"
    status, _, err = cli(capsys, "train", "recognizer=parallel_stn", "train=smoke", "train.steps=3",
                         "train.batch_size=4", "train.val_every=3", "dataset=crops", f"dataset.path={data}",
                         f"dataset.val=[{{kind: folder, path: '{data}'}}]", f"output={out}", "progress=false")
    assert status == 0, err
    assert "'皖512345' does not fit the recognizer's positions or templates" in err
    result = json.loads((out / "result.json").read_text())
    assert result["steps"] == 3 and {"val/acc", "val/acc_pos1", "val/acc_pos2n"} <= set(result["metrics"])
    loaded = registry.create("recognizer", "parallel_stn", weights=Weights(out / "parallel_stn.safetensors"))
    assert loaded.alphabet == CN and loaded.network.options["shared"] is True
    assert loaded(crops(1))[0].probs.shape == (8, len(CN))


def test_onnx_export_of_an_untrained_net_reads_as_torch_does_and_runs_without_it(tmp_path):
    """What `alprkit export shipped=true` does once parallel_stn.cn is shipped, on untrained stand-in weights:
    parity on random crops and the sample crops, and backend=auto then runs the ONNX file."""
    from dataclasses import replace

    from alprkit.commands.train import save_trained
    from alprkit.export import ShippedWeights, check_shipped, export_recognizer
    from alprkit.shipped_onnx import onnx_beside

    path = save_trained(registry.create("recognizer", "parallel_stn"), tmp_path, 0, "test", {},
                        name="parallel_stn.cn", result=False)
    plugin_set = plugins.discover()
    table = plugin_set.registry._entries["recognizer"]
    table["parallel_stn"] = replace(table["parallel_stn"], weights={"cn": Weights(path)})
    reference = plugin_set.registry.create("recognizer", "parallel_stn.cn", backend="torch")
    export_recognizer(reference, onnx_beside(path), weights_path=path)
    report = check_shipped(plugin_set.registry, ShippedWeights("recognizer", "parallel_stn.cn", path))
    assert report["ok"] and report["auto_runs_onnx"] and report["random"]["max_abs_diff"] < 1e-3, report
    onnx_only = plugin_set.registry.create("recognizer", "parallel_stn", weights=Weights(onnx_beside(path)))
    assert onnx_only.positions == 8 and onnx_only.reads("皖A12345") and not onnx_only.reads("皖512345")


@pytest.fixture(scope="module")
def half_width(tmp_path_factory):
    """A plugin set whose parallel_stn.cn are (untrained) weights built as the shipped ones: width 0.5, shared."""
    from dataclasses import replace

    from alprkit.commands.train import save_trained

    built = registry.create("recognizer", "parallel_stn", width=0.5, shared=True)
    path = save_trained(built, tmp_path_factory.mktemp("pstn"), 0, "test", {}, name="parallel_stn.cn", result=False)
    plugin_set = plugins.discover()
    table = plugin_set.registry._entries["recognizer"]
    table["parallel_stn"] = replace(table["parallel_stn"], weights={"cn": Weights(path)})
    return plugin_set.registry, path


def test_weights_built_at_half_width_read_through_the_configs(half_width):
    from alprkit.config import compose
    from alprkit.pipeline import build_component

    own, path = half_width
    for overrides in (["pipeline=pstn_cn"],  # recognizer=pstn_cn: the tag
                      ["pipeline=pstn_cn", "recognizer=parallel_stn", f"+recognizer.weights={path}"],
                      ["pipeline=pstn_cn", "recognizer=parallel_stn", f"+recognizer.weights={path}",
                       "recognizer.width=0.5", "recognizer.shared=true"]):  # given, and as built: fine
        recognizer = build_component("recognizer", compose("run", overrides).recognizer, own)
        assert recognizer.network.options["width"] == 0.5, overrides
        assert recognizer(crops(1))[0].probs.shape == (8, len(CN))


@pytest.mark.parametrize("option, fragment", [
    ({"width": 1.0}, "recognizer.width=1.0: parallel_stn.cn.safetensors was built with width=0.5"),
    ({"shared": False}, "recognizer.shared=False: parallel_stn.cn.safetensors was built with shared=True"),
    ({"positions": 7}, "built with positions=8"),
    ({"width": "wide"}, "recognizer.width"),
])
def test_a_build_option_other_than_the_weights_is_a_one_line_error(half_width, option, fragment):
    from alprkit.errors import ConfigError

    own, _ = half_width
    with pytest.raises(ConfigError) as error:
        own.create("recognizer", "parallel_stn.cn", **option)
    assert fragment in str(error.value) and "\n" not in str(error.value)


# -- the segments picture and config errors -------------------------------------------------------


def test_segments_sheet_shows_each_plate_with_and_without_rectification(capsys, tmp_path):
    import shutil

    folder = tmp_path / "plates"
    folder.mkdir()
    for name in ("000000.jpg", "000001.jpg"):
        shutil.copy(f"alprkit/samples/crops_cn/base/{name}", folder / name)
    (folder / "broken.jpg").write_bytes(b"not a picture")
    sheet = tmp_path / "sheet.png"
    status, _, err = cli(capsys, "segments", folder, "recognizer=parallel_stn", f"output={sheet}", "progress=false")
    assert status == 1 and "2 plates drawn" in err and "broken.jpg: not an image" in err, err
    height, width = read_image(sheet).pixels.shape[:2]
    assert height > 2 * 96 and width > 2 * 8 * 48  # two rows of 96-pixel plates, two strips of 8 segments


def test_segments_reads_the_unrectified_columns_with_their_own_weights(capsys, tmp_path):
    # The shipped pipeline's recognizer node names tagged weights and has no `weights` key:
    # unrectified.weights must still load the file it names (it once failed on the struct).
    weights = Path("plugins/alprkit_pstn/weights/parallel_stn.cn.safetensors")
    if not weights.is_file():
        pytest.skip("parallel_stn.cn is not shipped")
    sheet = tmp_path / "sheet.jpg"
    status, _, err = cli(capsys, "segments", "alprkit/samples/crops_cn/base/000000.jpg", "pipeline=pstn_cn",
                         f"unrectified.weights={weights}", f"output={sheet}", "progress=false")
    assert status == 0 and "1 plate drawn" in err, err
    assert read_image(sheet).pixels.shape[0] > 96


@pytest.mark.parametrize("args, fragments", [
    (["run", "pipeline=pstn_cn", "recognizer=parallel_stn", "recognizer.shared=3"], ["recognizer.shared", "3"]),
    (["run", "pipeline=pstn_cn", "recognizer=parallel_stn", "recognizer.positions=1"], ["recognizer.positions"]),
    (["run", "pipeline=pstn_cn", "recognizer=parallel_stn", "recognizer.region=global"], ["recognizer.region"]),
    (["run", "pipeline=pstn_cn", "recognizer=parallel_stn", "+recognizer.segments=8"], ["no parameter 'segments'"]),
    (["segments", "recognizer=parallel_stn", "limit=0"], ["limit must be >= 1"]),
    (["segments", "recognizer=lprnet_basic", "pipeline=lprnet_cn", "unrectified.rectifier=null"],
     ["cuts no segments"]),
    (["train", "recognizer=parallel_stn", "dataset=real_multi", "dataset.synth=x", "dataset.val_path=x",
      "dataset.cut=diagonal"], ["dataset.cut", "diagonal"]),
])
def test_bad_values_are_one_line_errors(capsys, tmp_path, args, fragments):
    status, _, err = cli(capsys, *args, *([f"output={tmp_path / 's.png'}"] if args[0] == "segments" else []))
    assert_one_line_error(status, err, *fragments)


def test_bench_gives_each_recognizer_only_the_params_it_takes():
    from alprkit.commands.bench import _taken

    assert _taken(registry.get("recognizer", "parallel_stn"), {"stn": True, "width": 0.5}) == {"width"}
    assert _taken(registry.get("recognizer", "lprnet_basic"), {"stn": True}) == {"stn"}


def test_leaderboard_leaves_out_configs_naming_weights_not_trained_yet(monkeypatch):
    import alprkit.config
    from alprkit.leaderboard import runner
    from alprkit.leaderboard.combinations import Choice, Options

    options = Options(registry)
    shipped = "cn" in registry.get("recognizer", "parallel_stn").weights
    assert options.trained(Choice.of("recognizer", "pstn_cn", {"name": "parallel_stn.cn"})) == shipped
    assert options.trained(Choice.of("recognizer", "lprnet_cn", {"name": "lprnet_basic.cn"}))
    monkeypatch.setattr(alprkit.config, "group_options", lambda group: ["lprnet_cn", "pstn_cn"])
    assert [name for name, _ in runner._shortcuts("all", options)] == ["lprnet_cn", *(["pstn_cn"] if shipped else [])]
