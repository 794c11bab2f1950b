"""The RPN + R-CNN detector of seed 002 and its RANSAC affine rectifier."""

import cv2
import numpy as np
import pytest
import torch
from helpers import one_torch_thread, plate_image  # noqa: F401 (a fixture)

from alprkit.errors import ConfigError
from alprkit.geometry import target_quad
from alprkit.metrics import iou_matrix
from alprkit.testing import check_component, sample_frame
from alprkit.types import Detection, Frame

alprkit_rpn_rcnn = pytest.importorskip("alprkit_rpn_rcnn")
from alprkit_rpn_rcnn import detector as cascade  # noqa: E402
from alprkit_rpn_rcnn.shapes import ANCHOR_AREAS, ANCHOR_RATIOS  # noqa: E402
from alprkit_rpn_rcnn.rectifier import AffineRansacRectifier  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def untrained(**params):
    torch.manual_seed(0)
    return cascade.create(pretrained=False, **params)


def test_anchors_have_the_papers_areas_and_ratios_at_stride_8():
    anchors = cascade.make_anchors(2, 3)
    per_cell = len(ANCHOR_AREAS) * len(ANCHOR_RATIOS)
    assert anchors.shape == (2 * 3 * per_cell, 4)
    w, h = anchors[:per_cell, 2] - anchors[:per_cell, 0], anchors[:per_cell, 3] - anchors[:per_cell, 1]
    assert np.allclose(w * h, np.repeat(ANCHOR_AREAS, len(ANCHOR_RATIOS)))
    assert np.allclose(h / w, np.tile(ANCHOR_RATIOS, len(ANCHOR_AREAS)))
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    assert np.allclose(centres[:: per_cell][:4], [[4, 4], [12, 4], [20, 4], [4, 12]])


def test_box_deltas_and_corner_shifts_invert():
    rng = np.random.default_rng(0)
    anchors = cascade.make_anchors(3, 4)[:20]
    boxes = anchors * rng.uniform(0.8, 1.2, (20, 1)) + rng.normal(0, 3, (20, 4))
    assert np.allclose(cascade.decode(anchors, cascade.encode(anchors, boxes)), boxes)
    regions = cascade.sampler_regions(boxes)
    corners = rng.uniform(0, 300, (20, 4, 2))
    assert np.allclose(cascade.corners_from_shifts(regions, cascade.corner_shifts(regions, corners)), corners)


def test_sampler_keeps_the_centre_at_aspect_2_5_and_pads_with_grey():
    boxes = np.array([[100, 100, 300, 140], [100, 100, 140, 140]], float)  # too wide, too tall
    regions = cascade.sampler_regions(boxes)
    w, h = regions[:, 2] - regions[:, 0], regions[:, 3] - regions[:, 1]
    assert np.allclose(w / h, 2.5, atol=0.05)
    assert np.allclose((regions[:, :2] + regions[:, 2:]) / 2, (boxes[:, :2] + boxes[:, 2:]) / 2, atol=0.5)
    assert (regions[:, :2] <= boxes[:, :2]).all() and (regions[:, 2:] >= boxes[:, 2:]).all()
    image = np.zeros((200, 400, 3), np.uint8)
    (patch,) = cascade.sample_patches(image, cascade.sampler_regions(np.array([[0, 50, 40, 90.0]])))
    assert patch.shape == (48, 120, 3)
    assert (patch[:, :10] == 128).all() and (patch[:, -10:] == 0).all()  # left of the image: grey


def test_untrained_detector_meets_the_contract():
    check_component("detector", untrained())


@pytest.mark.parametrize("key, value", [("rpn_size", [100, 100]), ("proposals", 0), ("threshold", 2.0),
                                        ("backend", "tensorrt")])
def test_bad_parameters_are_config_errors_naming_the_key(key, value):
    with pytest.raises(ConfigError, match=key if key != "backend" else "tensorrt"):
        untrained(**{key: value})


def test_rcnn_rejecting_everything_gives_an_empty_list():
    detector = untrained()
    with torch.no_grad():
        detector.networks.rcnn.head.bias[:2] = torch.tensor([50.0, -50.0])
    assert detector(sample_frame(640, 360)) == []


def test_accepted_proposals_become_plates_with_corners_inside_the_frame():
    detector = untrained(proposals=6)
    with torch.no_grad():
        detector.networks.rcnn.head.bias[:2] = torch.tensor([-50.0, 50.0])
    frame = sample_frame(320, 240)
    found = detector(frame)
    assert 1 <= len(found) <= 6
    for d in found:
        x1, y1, x2, y2 = d.box
        assert 0 <= x1 < x2 <= frame.width and 0 <= y1 < y2 <= frame.height and len(d.corners) == 4


def test_onnxruntime_finds_what_torch_finds(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPRKIT_CACHE", str(tmp_path))
    frame = sample_frame(640, 360)
    torch_found = untrained(threshold=0.0)(frame)
    onnx_found = untrained(threshold=0.0, backend="onnxruntime")(frame)
    assert len(torch_found) == len(onnx_found) > 0
    for a, b in zip(torch_found, onnx_found):
        assert np.allclose(a.box, b.box, atol=1e-2) and abs(a.score - b.score) < 1e-4


def test_shipped_weights_find_every_plate_of_a_crowded_scene():
    from alprkit.data.synth.scenes import render_scene

    if alprkit_rpn_rcnn.default_weights() is None:
        pytest.skip("rpn_rcnn weights not shipped yet")
    scene = render_scene(np.random.default_rng(3), "us", size=(960, 540), split="base",
                         texts=["ABC123", "XYZ789", "KLM456"])
    found = cascade.create()(Frame(scene.image))
    overlap = iou_matrix([d.box for d in found], [p.box for p in scene.plates])
    assert (overlap.max(axis=0) >= 0.5).all(), f"plates missed: {overlap.max(axis=0)}"


# -- the affine rectifier (seed 002, equation 2) -----------------------------------------------


def plate_in_frame(matrix):
    """A plate picture warped into a 400x300 frame by ``matrix`` (plate -> frame), and its corners."""
    plate = plate_image(seed=1, size=(188, 48))
    frame = cv2.warpAffine(plate, matrix, (400, 300), borderValue=(90, 90, 90))
    corners = cv2.transform(target_quad((188, 48))[None], matrix)[0]
    return plate, Frame(frame), corners


def test_affine_ransac_maps_the_corners_onto_the_crop_corners():
    matrix = np.array([[0.9, 0.25, 80.0], [-0.1, 1.1, 120.0]])  # rotated, sheared, scaled
    plate, frame, corners = plate_in_frame(matrix)
    rectifier = AffineRansacRectifier()
    fitted = rectifier.affine(corners, (94, 24))
    assert np.allclose(cv2.transform(corners[None], fitted)[0], target_quad((94, 24)), atol=1e-4)
    crop = rectifier(frame, Detection((0, 0, 1, 1), corners=tuple(map(tuple, corners))), (94, 24))
    expected = cv2.resize(plate, (94, 24), interpolation=cv2.INTER_AREA)
    assert np.abs(crop.pixels.astype(int) - expected).mean() < 12
    assert np.allclose(crop.transform @ [94, 24, 1], [*corners[2], 1], atol=1e-3)


def test_affine_ransac_ignores_one_bad_corner():
    matrix = np.array([[0.9, 0.25, 80.0], [-0.1, 1.1, 120.0]])
    _, frame, corners = plate_in_frame(matrix)
    bad = corners.copy()
    bad[2] += [25.0, 18.0]  # the bottom-right corner regressed far off
    rectifier = AffineRansacRectifier()
    good_fit, bad_fit = rectifier.affine(corners, (94, 24)), rectifier.affine(bad, (94, 24))
    assert np.allclose(good_fit, bad_fit, atol=1e-4)
    # A homography through all four corners is skewed by the bad one.
    homography = cv2.getPerspectiveTransform(np.float32(bad), np.float32(target_quad((94, 24))))
    assert np.abs(cv2.perspectiveTransform(corners[None], homography)[0] - target_quad((94, 24))).max() > 3


def test_affine_ransac_meets_the_rectifier_contract_and_checks_parameters():
    check_component("rectifier", AffineRansacRectifier(margin=0.1))
    with pytest.raises(ConfigError, match="margin"):
        AffineRansacRectifier(margin=1.5)


def test_shipped_weights_find_nothing_in_an_empty_street():
    from alprkit.data.synth.background import street

    if alprkit_rpn_rcnn.default_weights() is None:
        pytest.skip("rpn_rcnn weights not shipped yet")
    image = street(np.random.default_rng(5), 960, 540, "us").clip(0, 255).astype(np.uint8)
    assert cascade.create()(Frame(image)) == []


def test_a_grayscale_copy_of_a_real_photo_reads_as_the_colour_one(real_data):
    """A grayscale camera's photo of a blue Chinese plate (fold 1 of e2e_ccpd_cn, never trained on)."""
    from alprkit.api import Reader

    if alprkit_rpn_rcnn.default_weights() is None:
        pytest.skip("rpn_rcnn weights not shipped yet")
    name = "00622964559386-91_90-226&433_358&500-360&494_230&484_231&438_361&448-0_0_22_10_27_31_29-121-11.jpg"
    colour = cv2.cvtColor(cv2.imread(str(real_data / "e2e_ccpd_cn" / name)), cv2.COLOR_BGR2RGB)
    gray = cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY)
    reader = Reader("lprnet_cn_rpn_rcnn")
    assert [r.recognition.text for r in reader(colour)] == [r.recognition.text for r in reader(gray)] == ["皖AYL375"]
