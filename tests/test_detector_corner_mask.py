"""Plates labelled with a box only train the detectors' boxes, never their corner regressors."""

import numpy as np
import pytest
import torch
from helpers import one_torch_thread  # noqa: F401 (a fixture)

from alprkit.data.dataset import PlateLabel
from alprkit.train.scenes import TrainingScene, augment_scene

pytestmark = pytest.mark.usefixtures("one_torch_thread")
mtcnn = pytest.importorskip("alprkit_mtcnn.detector")
rpn_rcnn = pytest.importorskip("alprkit_rpn_rcnn.detector")

QUAD = ((20.0, 30.0), (80.0, 32.0), (80.0, 52.0), (20.0, 50.0))


def scene_with_two_plates():
    image = np.random.default_rng(0).integers(0, 255, (120, 200, 3), dtype=np.uint8)
    plates = [PlateLabel(box=(20, 30, 80, 52), corners=QUAD), PlateLabel(box=(120, 60, 180, 80))]
    return TrainingScene.from_plates(image, plates)


def test_scenes_know_which_plates_have_corners_and_keep_it_when_mirrored():
    scene = scene_with_two_plates()
    assert scene.corners_known.tolist() == [True, False]
    assert np.allclose(scene.corners[1], [[120, 60], [180, 60], [180, 80], [120, 80]])  # a stand-in only
    rng = np.random.default_rng(3)
    assert all(augment_scene(scene, rng).corners_known.tolist() == [True, False] for _ in range(4))
    empty = TrainingScene(scene.image, np.zeros((0, 4)), np.zeros((0, 4, 2)))
    assert empty.corners_known.shape == (0,)  # scenes built without the mask: every plate's corners count
    assert TrainingScene(scene.image, scene.boxes, scene.corners).corners_known.tolist() == [True, True]


@pytest.fixture(scope="module")
def recipes():
    torch.manual_seed(0)
    made = (mtcnn.create(pretrained=False, min_plate_height=12).training_recipe(),
            rpn_rcnn.create(pretrained=False).training_recipe())
    for recipe in made:
        for stage in recipe.stages:
            recipe.network(stage).eval()  # no dropout: two calls on one input give one output
    return made


def test_examples_carry_the_mask_of_the_plate_they_were_matched_to(recipes):
    scene, rng = scene_with_two_plates(), np.random.default_rng(0)
    for recipe, stage in ((recipes[0], "onet"), (recipes[1], "rcnn")):
        examples = recipe.examples(stage, scene, rng)
        located = [e for e in examples if e["label"] > 0]  # positives (and O-Net's parts) of either plate
        assert {bool(e["corners_known"]) for e in located} == {True, False}, stage
        batch = recipe.collate(stage, examples)
        assert batch["corners_known"].dtype == torch.bool and len(batch["corners_known"]) == len(examples)


def onet_batch(corners_known, corners):
    return {"image": torch.zeros(2, 3, 24, 94), "label": torch.tensor([1, 1], dtype=torch.int8),
            "offsets": torch.zeros(2, 4), "corners": corners, "corners_known": torch.tensor(corners_known)}


def test_onet_corner_loss_leaves_out_box_only_plates(recipes):
    recipe = recipes[0]
    target = torch.zeros(2, 8)
    with torch.no_grad():
        both = recipe.losses("onet", onet_batch([True, True], target))
        far = recipe.losses("onet", onet_batch([True, False], target + torch.tensor([[0.0], [50.0]])))
        first = recipe.losses("onet", {k: v[:1] for k, v in onet_batch([True, True], target).items()})
    assert far["corners"] == pytest.approx(float(first["corners"]))  # the box-only plate's target is ignored
    assert far["box"] == pytest.approx(float(both["box"]))  # its box still trains
    assert float(both["corners"]) > 0


def rcnn_batch(shifts, corners_known):
    return {"image": torch.zeros(len(shifts), 3, 48, 120), "label": torch.ones(len(shifts), dtype=torch.int8),
            "shifts": torch.as_tensor(shifts, dtype=torch.float32), "corners_known": torch.tensor(corners_known)}


def test_rcnn_trains_the_extent_of_box_only_plates_not_their_corners(recipes):
    recipe = recipes[1]
    with torch.no_grad():
        predicted = recipe.network("rcnn")(torch.zeros(1, 3, 48, 120))[:, 2:10]
    predicted = predicted.reshape(4, 2) + torch.tensor([[0.0, 0], [1, 0], [1, 1], [0, 1]])  # region fractions
    x1, y1 = predicted.min(dim=0).values.tolist()
    x2, y2 = predicted.max(dim=0).values.tolist()
    quad = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
    other = np.array([[x1, y1], [x2, (y1 + y2) / 2], [x2, y2], [(x1 + x2) / 2, y2]])  # other corners, same extent
    to_shifts = lambda q: (q - [[0, 0], [1, 0], [1, 1], [0, 1]]).reshape(1, 8)  # noqa: E731
    with torch.no_grad():
        same_box = recipe.losses("rcnn", rcnn_batch(to_shifts(quad), [False]))
        other_corners = recipe.losses("rcnn", rcnn_batch(to_shifts(other), [False]))
        as_corners = recipe.losses("rcnn", rcnn_batch(to_shifts(other), [True]))
        wider = recipe.losses("rcnn", rcnn_batch(to_shifts(quad * [1.5, 1]), [False]))
    assert float(same_box["box"]) == pytest.approx(0, abs=1e-6) and float(same_box["corners"]) == 0
    assert float(other_corners["box"]) == pytest.approx(0, abs=1e-6)  # the corners inside the box are free
    assert float(as_corners["corners"]) > 0.01 and float(as_corners["box"]) == 0
    assert float(wider["box"]) > 0.01
