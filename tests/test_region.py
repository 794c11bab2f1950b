"""Multi-region reading: the region head, region-masked decoding, init by character, plates cut from photos."""

import json

import cv2
import numpy as np
import torch
from helpers import cli

from alprkit.backends import export_onnx
from alprkit.commands.export import parity
from alprkit.commands.train import _by_character
from alprkit.data.cutouts import cut_out, plates_as_crops
from alprkit.data.dataset import CROPS
from alprkit.data.regions import GLOBAL_REGIONS, get_region
from alprkit.recognizers import NetworkRecognizer
from alprkit.train.data import PhotoPlatesSource
from alprkit.types import Crop, Detection
from alprkit_lprnet.models import build_network
from alprkit_lprnet.recognizer import alphabet_for, create


def test_region_head_outputs_logits_and_region_logits():
    network = build_network("lprnet_basic", len(alphabet_for("global")), stn=True, regions=4).eval()
    with torch.no_grad():
        logits, regions = network(torch.rand(3, 3, 24, 94) * 255)
    assert logits.shape == (3, len(alphabet_for("global")), 88)
    assert regions.shape == (3, 4)


def test_untrained_global_recognizer_predicts_a_region_per_crop():
    recognizer = create("lprnet_basic", region="global", stn=True)
    assert recognizer.regions == GLOBAL_REGIONS and recognizer.region is None
    crop = Crop(np.zeros((24, 94, 3), np.uint8), Detection((0, 0, 94, 24)))
    (scores,) = recognizer([crop])
    assert scores.region in GLOBAL_REGIONS and 0 < scores.region_confidence <= 1
    np.testing.assert_allclose(scores.probs.sum(axis=1), 1.0, rtol=1e-5)


def test_region_mask_keeps_only_the_predicted_regions_characters():
    alphabet = alphabet_for("global")

    class Fixed:  # logits that favour every class equally, region logits that say "cn"
        def __call__(self, batch):
            return np.zeros((len(batch), len(alphabet), 5), np.float32), np.array([[5.0, 0, 0, 0]] * len(batch))

    recognizer = NetworkRecognizer(Fixed(), alphabet, (94, 24), regions=GLOBAL_REGIONS)
    (scores,) = recognizer([Crop(np.zeros((24, 94, 3), np.uint8), Detection((0, 0, 94, 24)))])
    assert scores.region == "cn"
    allowed = {c for c, p in zip(alphabet, scores.probs[0]) if p > 0}
    assert "I" not in allowed and "O" not in allowed and "皖" in allowed and "" in allowed
    unmasked = NetworkRecognizer(Fixed(), alphabet, (94, 24), regions=GLOBAL_REGIONS, region_mask=False)
    (raw,) = unmasked([Crop(np.zeros((24, 94, 3), np.uint8), Detection((0, 0, 94, 24)))])
    assert (raw.probs > 0).all()


def test_region_head_exports_to_onnx_with_parity(tmp_path):
    network = build_network("lprnet_basic", len(alphabet_for("global")), stn=True, regions=4).eval()
    path = export_onnx(network, network.input_size, tmp_path / "global.onnx")
    report = parity(network, path, network.input_size, tolerance=1e-3, count=4)
    assert report["ok"], report
    assert report["regions_differ"] == 0


def test_init_from_another_alphabet_keeps_each_characters_rows():
    source, target = ("", "A", "B", "C"), ("", "C", "X", "A", "Y")
    trained = torch.arange(4 * 2 * 3, dtype=torch.float32).reshape(4, 2, 3)  # classes x features x steps
    fitted = _by_character(trained, torch.full((5, 2, 3), -1.0), source, target)
    assert torch.equal(fitted[0], trained[0]) and torch.equal(fitted[1], trained[3]) and torch.equal(fitted[3], trained[1])
    assert (fitted[2] == -1).all() and (fitted[4] == -1).all()  # X and Y are new: their rows stay as initialised
    # classes then 2 context features along the input axis (the global context's 1x1 head)
    head = _by_character(torch.arange(4 * 6.0).reshape(4, 6), torch.zeros(5, 7), source, target)
    assert head[1].tolist() == [18, 21, 0, 19, 0, 22, 23]
    # classes x 2 steps, flattened (the global context's FC input)
    flat = _by_character(torch.arange(8.0)[None], torch.zeros(1, 10), source, target)
    assert flat[0].tolist() == [0, 1, 6, 7, 0, 0, 2, 3, 0, 0]
    assert _by_character(torch.zeros(32), torch.zeros(32), source, target) is None  # no class axis: carried as is
    assert _by_character(torch.zeros(6), torch.zeros(9), source, target) is None  # unrelated shapes


def _photo_set(tmp_path):
    image = np.full((200, 300, 3), 90, np.uint8)
    cv2.rectangle(image, (100, 80), (200, 110), (255, 255, 255), -1)
    cv2.imwrite(str(tmp_path / "car.jpg"), image)
    record = {"file": "car.jpg", "region": "br", "plates": [
        {"text": "ABC1234", "box": [100, 80, 200, 110], "corners": [[100, 80], [200, 80], [200, 110], [100, 110]]},
        {"text": None, "box": [10, 10, 40, 20], "corners": None}]}
    (tmp_path / "annotations.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    return tmp_path


def test_photo_plates_are_cut_through_jittered_corners(tmp_path):
    source = PhotoPlatesSource(_photo_set(tmp_path), (94, 24))
    assert len(source.items) == 1  # the plate without text is skipped
    rng = np.random.default_rng(0)
    crops = [source.sample(rng) for _ in range(4)]
    assert all(p.shape == (24, 94, 3) and t == "ABC1234" and r == "br" for p, t, r in crops)
    assert len({p.tobytes() for p, _, _ in crops}) == 4  # a new jitter every draw
    (fixed, text, region), = source.fixed_items()
    assert fixed[12, 47].mean() > 200  # the centre of the unjittered cut is the white plate


def test_plates_as_crops_cuts_each_labelled_plate_by_its_box(tmp_path):
    from alprkit.data.formats import load_dataset

    crops = plates_as_crops(load_dataset(_photo_set(tmp_path)), by="box")
    assert crops.kind == CROPS and [s.text for s in crops] == ["ABC1234"]
    pixels = cut_out(cv2.imread(str(tmp_path / "car.jpg")), crops.samples[0].extra["cut_quad"])
    assert pixels.shape[:2] == (30, 100)


def test_eval_crops_from_box_scores_plates_of_a_photo_set(tmp_path, capsys):
    status, out, _ = cli(capsys, "eval", "pipeline=untrained", f"data={_photo_set(tmp_path)}", "crops_from=box",
                         "progress=false", "warmup=0")
    assert status == 0
    metrics = json.loads(out.strip().splitlines()[-1])
    assert metrics["n"] == 1 and metrics["format"] == "jsonl"


def test_error_breakdown_names_the_kind_of_each_misread():
    from alprkit.metrics import error_breakdown

    counts = error_breakdown([("皖A12345", "皖A12345"), ("苏A12345", "皖A12345"), ("皖A1234", "皖A12345"),
                              ("0SG719", "OSG719"), ("8AB123", "BAB123"), ("ABC1234X", "ABC1234"), (None, "ABC")])
    assert counts["misread"] == 6 and counts["province"] == 1 and counts["missing_chars"] == 2
    assert counts["extra_chars"] == 1 and counts["0_O_D_Q"] == 1 and counts["8_B"] == 1 and counts["other"] == 0


def test_a_reading_with_a_hanzi_overrules_a_region_head_that_says_us():
    alphabet = alphabet_for("global")
    hanzi = alphabet.index("皖")

    class HanziPlate:  # every step reads 皖 with 0.9; the head is 70% sure of "us"
        def __call__(self, batch):
            logits = np.full((len(batch), len(alphabet), 5), -5.0, np.float32)
            logits[:, hanzi] = np.log(0.9) + 5.0 + np.log(len(alphabet))
            return logits, np.log(np.array([[0.2, 0.7, 0.05, 0.05]] * len(batch)))

    recognizer = NetworkRecognizer(HanziPlate(), alphabet, (94, 24), regions=GLOBAL_REGIONS)
    (scores,) = recognizer([Crop(np.zeros((24, 94, 3), np.uint8), Detection((0, 0, 94, 24)))])
    assert scores.region == "cn" and scores.region_confidence > 0.99


def test_a_fixed_region_overrides_the_region_head():
    alphabet = alphabet_for("global")

    class SaysCn:
        def __call__(self, batch):
            return np.zeros((len(batch), len(alphabet), 5), np.float32), np.array([[5.0, 0, 0, 0]] * len(batch))

    recognizer = NetworkRecognizer(SaysCn(), alphabet, (94, 24), region="eu", regions=GLOBAL_REGIONS)
    (scores,) = recognizer([Crop(np.zeros((24, 94, 3), np.uint8), Detection((0, 0, 94, 24)))])
    assert scores.region == "eu" and scores.region_confidence is None
    assert not any(p > 0 for c, p in zip(alphabet, scores.probs[0]) if c and c not in get_region("eu").charset)


def test_train_trainable_freezes_everything_but_the_named_modules():
    from alprkit.train.recognition import RecognitionModule

    network = build_network("lprnet_basic", len(alphabet_for("global")), stn=True, regions=4)
    module = RecognitionModule(network, alphabet_for("global"), steps=10, regions=GLOBAL_REGIONS,
                               trainable=["net.region_head"])
    trained = {n for n, p in network.named_parameters() if p.requires_grad}
    assert trained and all(n.startswith("net.region_head.") for n in trained)
    module.trainer = type("T", (), {"global_step": 0})()
    module._trainer = module.trainer
    module.on_train_batch_start(None, 0)
    assert network.net.region_head.training and not network.net.backbone.training


def test_validation_folders_report_the_items_they_skip(tmp_path):
    from helpers import write_crops

    from alprkit.train.data import validation_items

    folder = write_crops(tmp_path / "val")
    first = sorted(p for p in folder.rglob("*") if p.suffix in (".png", ".jpg"))[0]
    first.write_bytes(b"not an image")
    problems = []
    items = validation_items([{"kind": "folder", "path": str(folder)}], (94, 24), problems=problems)
    assert len(items) == 7 and len(problems) == 1 and first.name in problems[0]
