"""The MTCNN plate detector: pyramid, box coding, NMS, empty and crowded images, ONNX parity."""

import numpy as np
import pytest
import torch
from helpers import one_torch_thread  # noqa: F401 (a fixture)

from alprkit.errors import ConfigError
from alprkit.metrics import iou_matrix
from alprkit.testing import check_component, sample_frame
from alprkit.types import Frame

alprkit_mtcnn = pytest.importorskip("alprkit_mtcnn")
from alprkit_mtcnn import detector as mtcnn  # noqa: E402
from alprkit_mtcnn.shapes import PNET_WINDOW  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def untrained(**params):
    torch.manual_seed(0)
    return mtcnn.create(pretrained=False, **params)


def shipped(**params):
    if alprkit_mtcnn.default_weights() is None:
        pytest.skip("mtcnn weights not shipped yet")
    return mtcnn.create(**params)


def test_pyramid_starts_where_the_smallest_plate_fills_the_window():
    scales = mtcnn.pyramid_scales(1280, 720, min_plate_height=40)
    assert scales[0] == pytest.approx(PNET_WINDOW[1] / 40)
    assert np.allclose(np.array(scales[1:]) / scales[:-1], 0.709)
    last, beyond = scales[-1], scales[-1] * 0.709
    assert round(1280 * last) >= PNET_WINDOW[0] and round(720 * last) >= PNET_WINDOW[1]
    assert round(1280 * beyond) < PNET_WINDOW[0] or round(720 * beyond) < PNET_WINDOW[1]
    smaller = mtcnn.pyramid_scales(1280, 720, min_plate_height=20)
    assert smaller[0] == pytest.approx(2 * scales[0]) and len(smaller) > len(scales)


def test_a_frame_smaller_than_the_window_has_no_pyramid_and_no_plates():
    assert mtcnn.pyramid_scales(20, 8, min_plate_height=12) == []
    assert untrained()(Frame(np.zeros((8, 20, 3), np.uint8))) == []


def test_box_and_corner_offsets_invert():
    rng = np.random.default_rng(0)
    boxes = np.sort(rng.uniform(0, 500, (6, 4)).reshape(6, 2, 2), axis=1).transpose(0, 2, 1).reshape(6, 4)
    boxes = boxes[:, [0, 2, 1, 3]] + [0, 0, 5, 5]
    targets = boxes + rng.normal(0, 10, boxes.shape)
    assert np.allclose(mtcnn.calibrate(boxes, mtcnn.box_offsets(boxes, targets)), targets)
    corners = rng.uniform(0, 500, (6, 4, 2))
    assert np.allclose(mtcnn.corners_from_offsets(boxes, mtcnn.corner_offsets(boxes, corners)), corners)


def test_nms_keeps_the_best_of_overlapping_boxes_and_separate_ones():
    boxes = np.array([[0, 0, 100, 30], [5, 2, 104, 31], [300, 40, 380, 70]], np.float32)
    kept = mtcnn.nms(boxes, np.array([0.6, 0.9, 0.5], np.float32), 0.3)
    assert list(kept) == [1, 2]
    assert list(mtcnn.nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.3)) == []


def test_untrained_detector_meets_the_contract():
    check_component("detector", untrained())


@pytest.mark.parametrize("key, value", [("min_plate_height", 0), ("pnet_threshold", 1.5), ("scale_factor", 1.0),
                                        ("max_proposals", 0), ("backend", "tensorrt"), ("onet_passes", 0),
                                        ("onet_passes", 1.5), ("onet_pass_threshold", -0.1)])
def test_bad_parameters_are_config_errors_naming_the_key(key, value):
    with pytest.raises(ConfigError, match=key if key != "backend" else "tensorrt"):
        untrained(**{key: value})


def test_a_second_onet_pass_scores_the_box_the_first_refined():
    """Pass 1 scores a loose box 0.1 (kept for pass 2 at 0.05, below the final 0.3) and moves it;
    pass 2 scores the moved box 0.95. One pass returns nothing; two return the twice-refined box."""
    seen, logits = [], {1: np.log(0.1 / 0.9), 2: np.log(0.95 / 0.05)}
    shifts = {1: [0.1, 0.0, 0.1, 0.0], 2: [0.0, 0.05, 0.0, 0.05]}  # box offsets, as O-Net regresses them

    def fake_onet(batch):
        seen.append(len(batch))
        out = np.zeros((len(batch), 13), np.float32)
        out[:, 0], out[:, 1:5] = logits[len(seen)], shifts[len(seen)]
        return out

    proposal = np.array([[100.0, 50.0, 200.0, 80.0, 0.9]])
    frame = sample_frame(320, 240)
    for passes, expected in [(1, 0), (2, 1)]:
        seen.clear()
        detector = untrained(onet_passes=passes, onet_threshold=0.3, onet_pass_threshold=0.05)
        detector._runners = {"onet": fake_onet}
        found = detector.refine(frame, proposal)
        assert len(seen) == passes and len(found) == expected
    twice = mtcnn.calibrate(mtcnn.calibrate(proposal[:, :4], np.array([shifts[1]])), np.array([shifts[2]]))
    assert np.allclose(found[0].box, twice[0]) and found[0].score == pytest.approx(0.95, abs=1e-4)


def test_a_chain_of_passes_ends_with_the_pass_that_scored_it_highest():
    """Pass 1 scores the proposal 0.3 and moves it, pass 2 scores the moved box 0.95 and moves it
    again, pass 3 scores that 0.6 (the box drifted): the plate is pass 2's box at 0.95, kept at a
    final threshold of 0.9 that pass 3's score alone misses."""
    seen, scores = [], {1: 0.3, 2: 0.95, 3: 0.6}
    shifts = {1: [0.1, 0.0, 0.1, 0.0], 2: [0.0, 0.05, 0.0, 0.05], 3: [0.2, 0.0, 0.2, 0.0]}

    def fake_onet(batch):
        seen.append(len(batch))
        out = np.zeros((len(batch), 13), np.float32)
        out[:, 0], out[:, 1:5] = np.log(scores[len(seen)] / (1 - scores[len(seen)])), shifts[len(seen)]
        return out

    proposal = np.array([[100.0, 50.0, 200.0, 80.0, 0.9]])
    detector = untrained(onet_passes=3, onet_threshold=0.9, onet_pass_threshold=0.02)
    detector._runners = {"onet": fake_onet}
    found = detector.refine(sample_frame(320, 240), proposal)
    assert len(seen) == 3 and len(found) == 1
    twice = mtcnn.calibrate(mtcnn.calibrate(proposal[:, :4], np.array([shifts[1]])), np.array([shifts[2]]))
    assert np.allclose(found[0].box, twice[0]) and found[0].score == pytest.approx(0.95, abs=1e-4)
    seen.clear()
    scores[2] = 0.01  # under the pass threshold: the chain ends at pass 2, and 0.3 is no plate
    assert detector.refine(sample_frame(320, 240), proposal) == [] and len(seen) == 2


def test_no_proposal_gives_an_empty_list_not_an_error():
    detector = untrained()
    with torch.no_grad():
        detector.pnet.head.bias[0] = -50.0  # P-Net rejects every window
    assert detector(sample_frame(640, 360)) == []


def test_every_proposal_accepted_gives_boxes_corners_and_scores_inside_the_frame():
    detector = untrained(max_proposals=8)
    with torch.no_grad():
        detector.pnet.head.bias[0] = 50.0
        detector.onet.head.bias[0] = 50.0
    frame = sample_frame(320, 240)
    found = detector(frame)
    assert 1 <= len(found) <= 8
    for d in found:
        x1, y1, x2, y2 = d.box
        assert 0 <= x1 < x2 <= frame.width and 0 <= y1 < y2 <= frame.height and d.score > 0.99
        assert len(d.corners) == 4


def test_onnxruntime_finds_what_torch_finds(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPRKIT_CACHE", str(tmp_path))
    frame = scene_with_plates(1)[0]
    params = dict(pnet_threshold=0.3, onet_threshold=0.0, max_proposals=6, min_plate_height=30)
    torch_found = untrained(**params)(frame)
    onnx_found = untrained(backend="onnxruntime", **params)(frame)
    assert len(torch_found) == len(onnx_found) > 0
    for a, b in zip(torch_found, onnx_found):
        assert np.allclose(a.box, b.box, atol=1e-2) and abs(a.score - b.score) < 1e-4
    assert len(list(tmp_path.rglob("*pnet*.onnx"))) == 1  # one file for every pyramid level


def scene_with_plates(count, seed=3):
    from alprkit.data.synth.scenes import render_scene

    scene = render_scene(np.random.default_rng(seed), "us", size=(960, 540), split="base",
                         texts=["ABC123", "XYZ789", "KLM456"][:count])
    return Frame(scene.image), np.array([p.box for p in scene.plates])


def test_shipped_weights_find_every_plate_of_a_crowded_scene():
    frame, truths = scene_with_plates(3)
    found = shipped(min_plate_height=16)(frame)
    overlap = iou_matrix([d.box for d in found], truths)
    assert (overlap.max(axis=0) >= 0.5).all(), f"plates missed: {overlap.max(axis=0)}"


def test_shipped_weights_find_nothing_in_an_empty_street():
    from alprkit.data.synth.background import street

    image = street(np.random.default_rng(5), 960, 540, "us").clip(0, 255).astype(np.uint8)
    assert shipped(min_plate_height=16)(Frame(image)) == []
