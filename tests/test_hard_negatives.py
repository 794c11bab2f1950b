"""Hard negatives: distractors in synthetic scenes, green plate shares, false-positive mining, the negatives source."""

import json

import cv2
import numpy as np
import pytest
from helpers import CN_PLATES, assert_one_line_error, cli, write_rgb, write_scenes

from alprkit.data.dataset import PlateLabel
from alprkit.data.negatives import NEGATIVES, load_negatives, negative_record
from alprkit.data.synth.conditions import Conditions
from alprkit.data.synth.plates import LAYOUTS, check_layout_shares, layout_weights, region_layouts
from alprkit.data.synth.scenes import render_scene
from alprkit.errors import ConfigError, LabelError
from alprkit.mining import false_positives
from alprkit.types import Detection

CLEAN = Conditions(noise=0.0, cast=0.0, jpeg=95)


def _plate_coloured_share(image, plate) -> float:
    """How much of a plate quad's core is the saturated colour of a Chinese plate (blue, green, yellow)."""
    inside = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(np.array(plate.corners)).astype(np.int32)], 1)
    core = cv2.erode(inside, np.ones((5, 5), np.uint8)).astype(bool)
    r, g, b = np.moveaxis(image.astype(int), 2, 0)
    # blue or yellow, or the green of a new-energy plate (its gradient starts pale at the top)
    coloured = (np.abs(b - r) > 60) | (np.abs(g - b) > 60) | (g - np.maximum(r, b) > 12)
    return float(coloured[core].mean())


def test_hard_negative_scenes_are_deterministic_and_keep_every_plate_labelled_and_visible():
    texts = ["皖A12345", "皖AD12345"]  # a blue and a green plate
    render = lambda share: render_scene(np.random.default_rng(5), "cn", size=(400, 640), texts=texts,  # noqa: E731
                                        conditions=CLEAN, hard_negatives=share)
    a, b = render(1.0), render(1.0)
    assert np.array_equal(a.image, b.image) and a.distractors == b.distractors
    assert {"lettering", "dealer"} <= {d.kind for d in a.distractors}
    # Only the plates are labelled, every one of them, and nothing is painted over them.
    assert sorted(p.text for p in a.plates) == sorted(texts)
    assert not {d.text for d in a.distractors} & set(texts)
    for plate in a.plates:
        assert _plate_coloured_share(a.image, plate) > 0.5, plate.text
    plain = render(0.0)
    assert plain.distractors == () and not np.array_equal(plain.image, a.image)


def test_street_signs_are_drawn_off_the_vehicles():
    scene = render_scene(np.random.default_rng(2), "us", size=(640, 360), conditions=CLEAN, hard_negatives=1.0)
    signs = [d for d in scene.distractors if d.kind.startswith("sign_")]
    assert signs
    for sign in signs:
        x0, y0, x1, y1 = (int(v) for v in sign.box)
        patch = scene.image[y0:y1, x0:x1].astype(float)
        assert patch.std() > 20, f"{sign.kind} ({sign.text}) is not visible"  # text on a panel, not a flat wall


def test_signs_fit_a_scene_whose_plate_is_as_wide_as_the_image():
    from alprkit.data.synth.roadsigns import road_signs

    image = np.full((120, 200, 3), 128, np.float32)  # a plate 200 px wide asks for a sign up to 400 px tall
    for seed in range(20):
        for sign in road_signs(image, np.random.default_rng(seed), "us", 200.0, [], 3):
            assert sign.box[3] - sign.box[1] <= 60 + 1e-6


def test_layout_shares_set_green_plates_in_cn_scenes():
    cn = region_layouts("cn")
    weights = dict(zip([layout.name for layout in cn], layout_weights(cn, {"cn_green": 0.4})))
    assert weights["cn_green"] == pytest.approx(0.4) and sum(weights.values()) == pytest.approx(1.0)
    assert weights["cn_blue"] / weights["cn_yellow"] == pytest.approx(LAYOUTS["cn_blue"].weight /
                                                                      LAYOUTS["cn_yellow"].weight)
    scene = render_scene(np.random.default_rng(5), "cn", size=(360, 580), max_plates=3,
                         layout_shares={"cn_green": 1.0}, hard_negatives=1.0)
    assert scene.plates and all(p.extra["layout"] == "cn_green" and len(p.text) == 8 for p in scene.plates)
    for shares, fragment in (({"cn_pink": 0.2}, "cn_pink"), ({"cn_green": 1.5}, "cn_green=1.5"),
                             ({"cn_green": 0.7, "cn_yellow": 0.5}, "region cn add up to 1.2")):
        with pytest.raises(ConfigError, match=fragment):
            check_layout_shares(shares)
    with pytest.raises(ConfigError, match="hard_negatives=2"):
        render_scene(np.random.default_rng(0), "cn", hard_negatives=2)


def test_false_positives_are_the_detections_off_every_plate():
    plate = (100.0, 100.0, 200.0, 140.0)
    on, loose, off = Detection((105, 102, 198, 141), 0.9), Detection((60, 80, 260, 170), 0.8), Detection((0, 0, 50, 20))
    part = Detection((110, 105, 140, 135))  # IoU 0.23 but wholly on the plate: the plate found badly
    assert false_positives([on, loose, off, part], [plate], 0.3) == [loose, off]  # loose: IoU 0.22
    assert false_positives([on], [], 0.3) == [on]


def test_mine_writes_the_false_positives_of_a_folder_and_goes_past_bad_images(capsys, tmp_path):
    data = write_scenes(tmp_path / "photos", texts=CN_PLATES[:3], size=(160, 120))
    with open(data / "annotations.jsonl", "a", encoding="utf-8") as f:  # a labelled image that is not there
        line = {"file": "gone.jpg", "region": "cn", "plates": [{"text": CN_PLATES[3], "box": [1, 1, 90, 25]}]}
        f.write(json.dumps(line, ensure_ascii=False) + "\n")
    out = tmp_path / "mined"
    # The whole-image detector finds one box per photo, IoU 0.12 with its plate: a false positive each.
    status, _, err = cli(capsys, "mine", "detector=whole_image", f"data={data}", f"output={out}", "progress=false")
    assert status == 1 and "gone.jpg" in err and "3 false positives" in err
    lines = [json.loads(line) for line in (out / NEGATIVES).read_text(encoding="utf-8").splitlines()]
    assert [line["box"] for line in lines] == [[0, 0, 160, 120]] * 3
    assert [line["plates"][0]["box"] for line in lines] == [[20 + 5 * i, 30, 114 + 5 * i, 54] for i in range(3)]
    for line in lines:
        assert (out / line["file"]).resolve() == (data / line["file"].rsplit("/", 1)[1]).resolve()
        assert cv2.imread(str(out / line["crop"])).shape == (120, 160, 3)
    assert [n.box for n in load_negatives(out)] == [(0.0, 0.0, 160.0, 120.0)] * 3
    assert json.loads((out / "mine.json").read_text())["negatives"] == 3
    status, _, err = cli(capsys, "mine", "detector=whole_image", f"data={data}", f"output={out}")
    assert_one_line_error(status, err, "already holds negatives.jsonl")


def _negatives_file(tmp_path, boxes):
    image = tmp_path / "street.jpg"
    write_rgb(image, np.full((240, 320, 3), 120, np.uint8))
    jsonl = tmp_path / "mined" / NEGATIVES
    jsonl.parent.mkdir()
    plates = [PlateLabel(box=(20.0, 30.0, 114.0, 54.0), corners=((20, 30), (114, 30), (114, 54), (20, 54)))]
    records = [negative_record(jsonl, image, box, 0.9, (320, 240), plates) for box in boxes]
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return jsonl


def test_negatives_source_shows_each_false_positive_with_the_plates_it_touches(tmp_path):
    from alprkit.train.scenes import MinedNegatives, build_scene_source

    far, near = (200.0, 150.0, 260.0, 170.0), (120.0, 30.0, 160.0, 54.0)
    jsonl = _negatives_file(tmp_path, [far, near])
    source = build_scene_source({"kind": "negatives", "path": str(jsonl.parent), "context": 1.0})
    scenes = {s.image.shape: s for s in (source.sample(np.random.default_rng(i)) for i in range(12))}
    # Far from the plate: the photo around the false positive alone, a scene without plates.
    assert scenes[(60, 180, 3)].boxes.shape == (0, 4)
    # Beside the plate: the window grows to hold the whole plate, which stays a labelled plate.
    beside = scenes[(72, 180, 3)]
    np.testing.assert_allclose(beside.boxes, [[0, 24, 94, 48]])
    np.testing.assert_allclose(beside.corners[0], [[0, 24], [94, 24], [94, 48], [0, 48]])
    whole = MinedNegatives([jsonl], context=None).sample(np.random.default_rng(0))
    assert whole.image.shape == (240, 320, 3) and whole.boxes.tolist() == [[20, 30, 114, 54]]


def test_a_bad_negatives_line_is_one_line_naming_it(tmp_path):
    jsonl = _negatives_file(tmp_path, [(200.0, 150.0, 260.0, 170.0)])
    with open(jsonl, "a") as f:
        f.write('{"file": "street.jpg", "box": [5, 5, 5, 9]}\n')
    with pytest.raises(LabelError, match=rf"{NEGATIVES}:2: \"box\" must be a non-empty"):
        load_negatives(jsonl)


def test_synth_jsonl_lists_the_hard_negatives_apart_from_the_plates(tmp_path):
    from alprkit.data.formats import load_dataset
    from alprkit.data.synth.datasets import SynthJob, generate

    out = generate(SynthJob(tmp_path / "s", "jsonl", regions={"us": 1.0}, count=2, size=(480, 320), seed=3,
                            hard_negatives=1.0, layout_shares={"cn_green": 0.3}))
    samples = load_dataset(out).samples
    listed = [d for s in samples for d in s.extra.get("distractors", [])]
    assert listed and all(set(d) == {"kind", "text", "box"} for d in listed)
    assert all(p.text and p.extra["layout"] == "us" for s in samples for p in s.plates)
    assert json.loads((out / "synth.json").read_text())["hard_negatives"] == 1.0
    with pytest.raises(ConfigError, match="for format=jsonl scenes, not format=ccpd"):
        SynthJob(tmp_path / "c", "ccpd", hard_negatives=0.5)
