"""EQ-LPR (seed 004): the attention recognizer, the quality target, Algorithm 1, P/S/E training and export.

Every network here is untrained or trained for a few steps: these tests check the plumbing
and the arithmetic, not what a trained model reads (docs/eqlpr.md has the training runs).
"""

import json

import numpy as np
import pytest
from helpers import assert_one_line_error, cli, observation, one_torch_thread  # noqa: F401 (a fixture)

torch = pytest.importorskip("torch")

from alprkit import plugins  # noqa: E402
from alprkit.registry import Provider, Registry, Weights  # noqa: E402
from alprkit.train.quality_data import quality_target  # noqa: E402
from alprkit.types import CharScores, Crop, Detection, PlateStream, Recognition  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
registry = plugins.registry()
BOX = Detection((0.0, 0.0, 96.0, 32.0))


def random_crops(count, size=(96, 32), seed=0):
    rng = np.random.default_rng(seed)
    return [Crop(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), BOX) for _ in range(count)]


# -- registration ---------------------------------------------------------------------------


def test_the_plugin_registers_the_recognizer_and_three_selectors_through_its_entry_point():
    assert registry.get("recognizer", "eqlpr_attn").provider.plugin == "eqlpr"
    for name in ("eqlpr_p", "eqlpr_s", "eqlpr_e"):
        component = registry.get("selector", name)
        assert component.provider.plugin == "eqlpr"
        assert component.extra["needs_weights"] is True  # the leaderboard scores trained ones only


# -- the recognizer -------------------------------------------------------------------------


def test_rows_stop_at_the_end_class_and_hold_only_characters():
    from alprkit_eqlpr.recognizer import rows_until_end

    probs = np.array([[0.1, 0.6, 0.3], [0.2, 0.1, 0.7], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1]])  # end, A, B
    rows = rows_until_end(probs)
    assert rows.shape == (2, 2)  # the end at step 2: the fourth step is never read
    np.testing.assert_allclose(rows, [[0.6 / 0.9, 0.3 / 0.9], [0.1 / 0.8, 0.7 / 0.8]], rtol=1e-6)
    assert rows_until_end(np.array([[0.9, 0.05, 0.05]])).shape == (0, 2)


def test_the_attention_recognizer_gives_per_position_scores_the_decoders_read():
    recognizer = registry.create("recognizer", "eqlpr_attn")
    assert recognizer.input_size == (96, 32) and recognizer.region == "br" and "" not in recognizer.alphabet
    [scores] = recognizer(random_crops(1))
    assert scores.blank is None and scores.probs.shape[1] == len(recognizer.alphabet)
    for decoder in ("greedy", "beam"):
        read = registry.create("decoder", decoder)(scores)
        assert len(read.text) == len(scores.probs)  # one character per row, nothing collapses


def test_teacher_forced_loss_learns_a_batch():
    from alprkit_eqlpr.models import build_recognizer
    from alprkit_eqlpr.training import greedy_texts, padded_targets, recognition_loss

    torch.manual_seed(0)
    network = build_recognizer(4, widths=(8, 8, 8, 8, 16, 16), hidden=16, max_length=4)
    lengths = torch.tensor([3, 2])
    targets = torch.tensor([0, 1, 2, 2, 0])  # "ABC", "CA" as 0-based characters
    assert padded_targets(targets, lengths, 5).tolist() == [[1, 2, 3, 0, -100], [3, 1, 0, -100, -100]]
    images = torch.rand(2, 3, 16, 48) * 255  # the CNN and the decoder take any size: a small one is quick
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-2)
    first = None
    for _ in range(40):
        loss = recognition_loss(network, images, targets, lengths)
        first = first if first is not None else float(loss.detach())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < first / 4
    with torch.no_grad():  # greedy, feeding back its own characters (batch statistics: two images, not learnt ones)
        assert greedy_texts(network(images), "ABC") == ["ABC", "CA"]


# -- the quality target (eq. 3) -------------------------------------------------------------


def test_alpha_is_the_smallest_of_the_characters_largest_probabilities():
    per_position = CharScores(np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]]), ("A", "B"), blank=None)
    assert quality_target(per_position) == pytest.approx(0.6)
    # CTC: blank, A A (one character: its best step counts), blank, B, A
    ctc = np.array([[0.9, 0.05, 0.05], [0.2, 0.5, 0.3], [0.1, 0.8, 0.1], [0.9, 0.05, 0.05], [0.3, 0.1, 0.6],
                    [0.2, 0.7, 0.1]])
    assert quality_target(CharScores(ctc, ("", "A", "B"), blank=0)) == pytest.approx(0.6)
    assert quality_target(CharScores(np.array([[0.9, 0.1]]), ("", "A"), blank=0)) == 0.0  # nothing read
    assert quality_target(CharScores(np.zeros((0, 2)), ("A", "B"), blank=None)) == 0.0


def test_s_training_computes_alpha_as_the_recognizer_component_reads_it():
    from alprkit_eqlpr.recipes import attention_alpha

    recognizer = registry.create("recognizer", "eqlpr_attn", backend="torch")
    crops = random_crops(6)
    expected = [quality_target(s) for s in recognizer(crops)]
    images = torch.from_numpy(np.stack([c.pixels for c in crops]).transpose(0, 3, 1, 2).astype(np.float32))
    with torch.no_grad():
        got = attention_alpha(recognizer.network(images))
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)


# -- Algorithm 1 ----------------------------------------------------------------------------


class FixedQuality:
    """A quality network that scores the crop of frame i with ``scores[i]``."""

    architecture = "fake"
    trained = True
    input_size = (94, 24)

    def __init__(self, scores):
        self.scores = scores

    def __call__(self, crops):
        return np.array([self.scores[int(c.pixels[0, 0, 0])] for c in crops], np.float32)


def quality_stream(count):
    observations = []
    for frame in range(count):
        o = observation(frame, (10, 10, 60, 30))
        o.crop.pixels[0, 0, 0] = frame  # the fake quality network reads the frame number there
        observations.append(o)
    return PlateStream(3, tuple(observations))


@pytest.mark.parametrize("margin, expected", [(0.0, [0, 1, 3, 6]), (0.25, [0, 1, 6])])
def test_algorithm_1_recognizes_only_frames_whose_quality_beats_the_best_so_far(margin, expected):
    from alprkit_eqlpr.selectors import QualityAwareSelector

    scores = [0.2, 0.5, 0.4, 0.7, 0.7, 0.1, 0.96]
    called = []

    def recognize(o):
        called.append(o.frame)
        return Recognition(f"ABC{o.frame:04d}", confidence=0.5)

    result = QualityAwareSelector(FixedQuality(scores), margin=margin)(quality_stream(len(scores)), recognize)
    assert called == expected and list(result.recognized_frames) == expected
    assert (result.track_id, result.frame, result.recognition.text) == (3, 6, "ABC0006")


def test_a_best_frame_read_dropped_by_the_post_filter_falls_back_to_the_latest_kept_read():
    from alprkit_eqlpr.selectors import QualityAwareSelector

    scores = [0.2, 0.5, 0.4, 0.7, 0.7, 0.1, 0.96]  # recognized: 0, 1, 3, 6
    called = []

    def recognize(o):  # the post-filter drops the reads of frames 3 and 6 (None)
        called.append(o.frame)
        return None if o.frame in (3, 6) else Recognition(f"ABC{o.frame:04d}", confidence=0.5)

    result = QualityAwareSelector(FixedQuality(scores))(quality_stream(len(scores)), recognize)
    assert called == [0, 1, 3, 6] and list(result.recognized_frames) == called  # no extra call
    assert (result.frame, result.recognition.text) == (1, "ABC0001")
    assert result.detection == quality_stream(len(scores)).observations[1].detection


def test_a_stream_of_falling_quality_is_recognized_once():
    from alprkit_eqlpr.selectors import QualityAwareSelector

    called = []
    result = QualityAwareSelector(FixedQuality([0.9, 0.8, 0.5, 0.1]))(
        quality_stream(4), lambda o: called.append(o.frame) or None)
    assert called == [0] and result.recognition.text == "" and result.frame == 0


# -- training: P, S (LPRNet and attention), E, and the attention recognizer ------------------


def small_run(tmp_path, name, *extra):
    return ("train", f"quality={name}", "dataset=quality_br_us", "train=quality", "train.steps=3",
            "train.batch_size=4", "train.val_every=3", "dataset.train.0.count=12", "dataset.val.0.count=8",
            f"dataset.cache={tmp_path / 'cache'}", f"output={tmp_path / name}", "progress=false", *extra)


def weights(tmp_path, run, name):
    return json.loads((tmp_path / run / "result.json").read_text())["weights"][-1 if name else 0]


def test_p_s_and_e_train_three_steps_and_select_frames(tmp_path, capsys):
    status, _, err = cli(capsys, *small_run(tmp_path, "eqlpr_p", "recognizer=lprnet_br"))
    assert status == 0, err
    assert "alpha of 12 crops" in err
    status, _, err = cli(capsys, *small_run(tmp_path, "eqlpr_s", "recognizer=lprnet_br"))
    assert status == 0, err
    teacher = tmp_path / "eqlpr_s" / "eqlpr_s.safetensors"
    status, _, err = cli(capsys, *small_run(tmp_path, "eqlpr_e", "recognizer=lprnet_br", f"train.teacher={teacher}"))
    assert status == 0, err
    assert len(list((tmp_path / "cache").glob("degraded-*.npz"))) == 2  # made once, read by the later runs
    for name in ("eqlpr_p", "eqlpr_s", "eqlpr_e"):
        path = tmp_path / name / f"{name}.safetensors"
        selector = registry.create("selector", name, weights=str(path))
        assert selector.scorer.about["recognizer"]["architecture"] == "lprnet_basic"
        scores = selector.scorer(random_crops(3, (94, 24)))
        assert scores.shape == (3,) and ((0 <= scores) & (scores <= 1)).all()


def test_s_over_the_attention_recognizer_alternates_and_writes_both_networks(tmp_path, capsys):
    status, _, err = cli(capsys, *small_run(tmp_path, "eqlpr_s", "recognizer=eqlpr_attn"))
    assert status == 0, err
    result = json.loads((tmp_path / "eqlpr_s" / "result.json").read_text())
    assert [p.rsplit("/", 1)[-1] for p in result["weights"]] == ["eqlpr_attn.safetensors", "eqlpr_s.safetensors"]
    assert "val/acc" in result["metrics"]
    logged = (tmp_path / "eqlpr_s" / "logs").rglob("metrics.csv")
    header = next(iter(logged)).read_text().splitlines()[0]
    assert "train/recognition" in header and "train/quality" in header  # both losses, alternately
    # The S quality network is the recognizer's own CNN with the head on it.
    run = tmp_path / "eqlpr_s"
    recognizer = registry.create("recognizer", "eqlpr_attn", weights=str(run / "eqlpr_attn.safetensors"),
                                 backend="torch")
    selector = registry.create("selector", "eqlpr_s", weights=str(run / "eqlpr_s.safetensors"), backend="torch")
    for key, value in recognizer.network.cnn.state_dict().items():
        assert torch.equal(selector.scorer.network.features.state_dict()[key], value), key


def test_the_attention_recognizer_trains_through_alprkit_train(tmp_path, capsys):
    status, _, err = cli(capsys, "train", "recognizer=eqlpr_attn", "dataset=synth_br_us", "train=smoke",
                         "train.steps=2", "train.val_every=2", "train.val_limit=4", "dataset.val.0.count=4",
                         f"output={tmp_path}", "progress=false")
    assert status == 0, err
    recognizer = registry.create("recognizer", "eqlpr_attn", weights=str(tmp_path / "eqlpr_attn.safetensors"))
    assert recognizer.alphabet == registry.create("recognizer", "eqlpr_attn").alphabet


def test_distillation_loss_is_the_l1_quality_term_plus_the_feature_distance(tmp_path):
    from torch.nn import functional as F

    from alprkit_eqlpr.quality import untrained_network
    from alprkit_eqlpr.recipes import Distilled, save_quality

    teacher = untrained_network("eqlpr_s")
    path = save_quality(teacher, tmp_path / "s.safetensors", {})
    recognizer = registry.create("recognizer", "eqlpr_attn", backend="torch")
    recipe = Distilled(recognizer, path, distill_weight=0.5)
    for key, value in recipe.quality.head.state_dict().items():  # E's head starts as S's
        assert torch.allclose(value, teacher.head.state_dict()[key].half().float()), key
    images = torch.rand(4, 3, 32, 96) * 255
    batch = {"images": images, "quality_images": images, "alpha": torch.tensor([0.1, 0.5, 0.9, 0.3])}
    losses = recipe.losses(batch, 0)
    with torch.no_grad():
        student = recipe.quality.features_of(images)
        target = recipe.teacher.features_of(images)
        a = recipe.quality.head(student)
    assert float(losses["quality"]) == pytest.approx(float((a - batch["alpha"]).abs().mean()), rel=1e-5)
    assert float(losses["distill"]) == pytest.approx(float(F.mse_loss(student, target)), rel=1e-5)
    assert float(losses["loss"]) == pytest.approx(float(losses["quality"] + 0.5 * losses["distill"]), rel=1e-5)
    losses["loss"].backward()
    assert all(p.grad is None for p in recipe.teacher.parameters())  # the teacher stays as it is


# -- export ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["eqlpr_p", "eqlpr_s", "eqlpr_e"])
def test_quality_networks_export_to_onnx_that_scores_as_torch_does(tmp_path, name):
    from alprkit.export import export_quality
    from alprkit.parity import output_parity, quality_agreement

    selector = registry.create("selector", name, backend="torch")
    path = export_quality(selector, tmp_path / f"{name}.onnx")
    scorer = selector.scorer
    assert output_parity(scorer.network, path, scorer.input_size, 1e-4)["ok"]
    on_onnx = registry.create("selector", name, weights=str(path)).scorer
    assert on_onnx.backend_choice.backend == "onnxruntime"
    report = quality_agreement(scorer, on_onnx, random_crops(8, (94, 24)), 1e-4)
    assert report["ok"], report


def test_shipped_quality_weights_are_exported_and_checked_like_the_recognizers(tmp_path):
    """``alprkit export shipped=true`` covers a selector's weights: ONNX beside them, used by backend=auto."""
    from alprkit.export import export_shipped
    from alprkit_eqlpr import _selector
    from alprkit_eqlpr.quality import untrained_network
    from alprkit_eqlpr.recipes import save_quality

    path = save_quality(untrained_network("eqlpr_e"), tmp_path / "eqlpr_e.test.safetensors", {})
    own = Registry()
    own.add("selector", "eqlpr_e", _selector("eqlpr_e"), Provider("eqlpr", "alprkit", "0.1.0"),
            weights={"test": Weights(path)}, needs_weights=True)
    [report] = export_shipped(own)
    assert report["ok"] and report["auto_runs_onnx"] and report["made_from_these_weights"], report
    assert (tmp_path / "eqlpr_e.test.onnx").is_file()
    built = own.create("selector", "eqlpr_e.test")
    assert built.scorer.backend_choice.backend == "onnxruntime"


def test_the_attention_recognizer_exports_with_its_decoder_loop():
    from alprkit.parity import parity

    recognizer = registry.create("recognizer", "eqlpr_attn", backend="torch")
    pytest.importorskip("onnx")
    import tempfile
    from pathlib import Path

    from alprkit.export import export_recognizer

    with tempfile.TemporaryDirectory() as folder:
        path = export_recognizer(recognizer, Path(folder) / "attn.onnx")
        assert parity(recognizer.network, path, recognizer.input_size, 1e-3)["ok"]


# -- bad settings ---------------------------------------------------------------------------


TINY = ["train.steps=1", "train.batch_size=2", "train.val_every=1", "dataset.train.0.count=2", "dataset.val.0.count=2"]


@pytest.mark.parametrize("args, fragments", [
    (["quality=majority", "recognizer=lprnet_br"], ["quality=majority", "no quality network to train"]),
    (["quality=eqlpr_p.attn"], ["training makes the weights", "quality=eqlpr_p"]),
    (["quality=eqlpr_x"], ["unknown selector 'eqlpr_x'"]),
    (["quality=eqlpr_e", "recognizer=lprnet_br"], ["eqlpr_e is distilled", "train.teacher="]),
    (["quality=eqlpr_e", "train.teacher=/no/such.safetensors"], ["train.teacher=/no/such.safetensors"]),
    (["quality=eqlpr_p", "train.distill_weight=-1"], ["train.distill_weight must be >= 0"]),
    (["quality=eqlpr_p", "recognizer=lprnet_br", "dataset=synth_br_us"], ["kind: degraded"]),
    (["quality=eqlpr_p", "recognizer=lprnet_br", "dataset.train.0.count=0"], ["count must be a whole number >= 1"]),
    # train.yaml's default recognizer is untrained: its confidence is noise to learn (a tiny run, were it let through)
    (["quality=eqlpr_p", *TINY], ["recognizer 'lprnet_basic' has no weights", "quality=eqlpr_p"]),
    (["quality=eqlpr_s", "recognizer=lprnet_basic", *TINY], ["recognizer 'lprnet_basic' has no weights"]),
])
def test_bad_quality_training_settings_are_one_line_errors(tmp_path, capsys, args, fragments):
    dataset = [] if any(a.startswith("dataset=") for a in args) else ["dataset=quality_br_us",
                                                                       f"dataset.cache={tmp_path}"]
    status, _, err = cli(capsys, "train", *dataset, *args, f"output={tmp_path / 'run'}", "progress=false")
    assert_one_line_error(status, err, *fragments)


@pytest.mark.parametrize("setting, fragment", [
    ("selector.margin=2", "margin is a quality difference in [0, 1)"),
    ("selector.max_batch=0", "max_batch must be a whole number >= 1"),
])
def test_bad_selector_settings_are_one_line_errors(capsys, setting, fragment):
    status, _, err = cli(capsys, "run", "pipeline=lprnet_br", "selector=eqlpr_p", "selector.name=eqlpr_p", setting,
                         "progress=false")
    assert_one_line_error(status, err, fragment)


def test_a_quality_network_of_another_kind_is_refused_naming_the_file(tmp_path, capsys):
    from alprkit_eqlpr.quality import untrained_network
    from alprkit_eqlpr.recipes import save_quality

    path = save_quality(untrained_network("eqlpr_p"), tmp_path / "p.safetensors", {})
    capsys.readouterr()
    status, _, err = cli(capsys, "run", "pipeline=lprnet_br", "selector=eqlpr_e", "selector.name=eqlpr_e",
                         f"+selector.weights={path}", "progress=false")
    assert_one_line_error(status, err, "p.safetensors", "'eqlpr_p' quality weights, not 'eqlpr_e'")


def test_the_leaderboard_scores_eqlpr_selectors_only_with_trained_quality_networks(tmp_path):
    from alprkit.leaderboard.combinations import Choice, Options

    options = Options(registry)
    assert options.trained(Choice.of("selector", "majority", {"name": "majority"}))
    assert not options.trained(Choice.of("selector", "eqlpr_e", {"name": "eqlpr_e"}))  # untrained: arbitrary frames
    shipped = registry.get("selector", "eqlpr_e").weights
    for tag in ("lprnet_global", "attn"):  # a tag counts once its weights are shipped
        assert options.trained(Choice.of("selector", "eqlpr_e", {"name": f"eqlpr_e.{tag}"})) == (tag in shipped)
    assert options.trained(Choice.of("selector", "eqlpr_e", {"name": "eqlpr_e", "weights": str(tmp_path / "e.st")}))
    scored = {c.name for c in options.auto("selector", untrained=False)}
    assert "eqlpr_e" not in scored and {f"eqlpr_e.{tag}" for tag in shipped} <= scored
