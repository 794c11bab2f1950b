"""Detection at a working resolution: a photo upscaled 3x is read as at 1x, in its own pixels; the
plate-height limits are original pixels; bad values are one-line ConfigErrors naming the key."""

import cv2
import numpy as np
import pytest
from helpers import assert_one_line_error, cli, one_torch_thread  # noqa: F401 (a fixture)

from alprkit.errors import ConfigError
from alprkit.metrics import iou_matrix
from alprkit.types import Detection, Frame
from alprkit.working_image import within_plate_heights, working_image

alprkit_mtcnn = pytest.importorskip("alprkit_mtcnn")
alprkit_rpn_rcnn = pytest.importorskip("alprkit_rpn_rcnn")
from alprkit_mtcnn import detector as mtcnn  # noqa: E402
from alprkit_mtcnn.shapes import PNET_WINDOW  # noqa: E402
from alprkit_rpn_rcnn import detector as cascade  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
DETECTORS = {"mtcnn": (mtcnn.create, alprkit_mtcnn.default_weights),
             "rpn_rcnn": (cascade.create, alprkit_rpn_rcnn.default_weights)}
UPSCALE = 3


def shipped(name, **params):
    create, default_weights = DETECTORS[name]
    if default_weights() is None:
        pytest.skip(f"{name} weights not shipped yet")
    return create(**params)


@pytest.fixture(scope="module")
def scene():
    """A 1280x720 US street (one plate 49 px tall) and the same picture upscaled 3x, as a phone would."""
    from alprkit.data.synth.scenes import render_scene

    sample = render_scene(np.random.default_rng(0), "us", size=(1280, 720), split="base", max_plates=2)
    big = cv2.resize(sample.image, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_LINEAR)
    return Frame(sample.image), Frame(big), np.array([p.box for p in sample.plates])


def boxes(found, scale=1.0):
    return np.array([d.box for d in found], np.float64).reshape(-1, 4) / scale


# -- the working image ---------------------------------------------------------------------


def test_a_large_image_is_scaled_to_the_working_size_and_its_finds_come_back_in_its_pixels():
    pixels = np.zeros((2268, 4032, 3), np.uint8)
    work = working_image(pixels, 1280)
    assert work.pixels.shape == (720, 1280, 3) and work.scaled
    [back] = work.to_original([Detection((128.0, 72.0, 256.0, 144.0), 0.9, ((128.0, 72.0),) * 4)])
    assert np.allclose(back.box, (403.2, 226.8, 806.4, 453.6)) and np.allclose(back.corners[0], (403.2, 226.8))
    assert back.score == 0.9
    small = np.zeros((720, 1280, 3), np.uint8)
    assert working_image(small, 1280).pixels is small and working_image(pixels, None).pixels is pixels


def test_plate_heights_filter_by_box_height_with_open_ends():
    found = [Detection((0.0, 0.0, 50.0, h)) for h in (10.0, 30.0, 90.0)]
    assert [d.box[3] for d in within_plate_heights(found, 20, 60)] == [30.0]
    assert [d.box[3] for d in within_plate_heights(found, None, 30)] == [10.0, 30.0]
    assert [d.box[3] for d in within_plate_heights(found, 30, None)] == [30.0, 90.0]


def test_the_pyramid_of_a_scaled_down_photo_shares_the_levels_of_the_small_one():
    small = mtcnn.pyramid_scales(1280, 720, min_plate_height=40)
    big = mtcnn.pyramid_scales(1280, 720, min_plate_height=40, working_scale=1 / UPSCALE)
    assert np.allclose(big[-len(small):], small)  # the same grid: the same levels where both search
    assert big[0] <= 1.0 < big[0] / 0.709  # a 40-px plate of the 3x photo is 13 working px: as fine as the image
    wider = mtcnn.pyramid_scales(1280, 720, min_plate_height=40, working_scale=2 / 3)
    plate = 40 * 2 / 3  # working pixels of a 40-px plate of a 1920-px photo
    assert plate * wider[0] >= PNET_WINDOW[1] > plate * wider[0] * 0.709  # the first level where it fills the window
    huge = mtcnn.pyramid_scales(1280, 960, min_plate_height=40, working_scale=1280 / 12000)
    assert huge[0] <= 1.0  # never finer than the working image: memory stays bounded


def test_the_largest_plate_ends_the_pyramid_where_it_fits_the_window():
    scales = mtcnn.pyramid_scales(1280, 720, min_plate_height=20, max_plate_height=80)
    assert 80 * scales[-1] <= PNET_WINDOW[1] < 80 * scales[-2]
    halved = mtcnn.pyramid_scales(1280, 720, min_plate_height=20, max_plate_height=80, working_scale=0.5)
    assert 40 * halved[-1] <= PNET_WINDOW[1] < 40 * halved[-2]  # original pixels: 40 working px at half size


# -- the shipped detectors on a photo and its 3x upscale -------------------------------------


@pytest.mark.parametrize("name", DETECTORS)
def test_a_photo_upscaled_3x_gives_the_same_boxes_in_its_own_pixels(name, scene):
    small, big, truth = scene
    detector = shipped(name)
    at_1x, at_3x = boxes(detector(small)), boxes(detector(big), UPSCALE)
    assert len(at_1x) and len(at_1x) == len(at_3x)
    assert iou_matrix(at_1x, truth).max() >= 0.5  # the plate is found at all
    for box in at_1x:
        size = np.tile(box[2:] - box[:2], 2)
        deviation = (np.abs(at_3x - box) / size).max(axis=1).min()
        # 5%: the 3x photo's working image has other pixels, and mtcnn may then report another of its
        # O-Net passes (the one that scored the plate highest): 4.2% on this plate, as of 2026-12-03
        assert deviation <= 0.05, f"{name}: box {box} moved by {deviation:.1%} of its size at 3x"
    corners = np.array(detector(big)[0].corners)
    assert corners[:, 0].max() > small.width  # corners come back in the upscaled image's pixels too


@pytest.mark.parametrize("name", DETECTORS)
def test_the_largest_plate_is_in_original_pixels(name, scene):
    small, big, truth = scene
    plate = truth[np.argmax(truth[:, 3] - truth[:, 1])]
    limit = 2 * (plate[3] - plate[1])  # taller than the plate at 1x, shorter than it at 3x
    def finds_plate(frame, scale):
        found = boxes(shipped(name, max_plate_height=limit)(frame), scale)
        return len(found) > 0 and iou_matrix(found, [plate]).max() >= 0.5

    assert finds_plate(small, 1.0) and not finds_plate(big, UPSCALE)


def test_the_smallest_plate_of_rpn_rcnn_is_in_original_pixels(scene):
    small, big, truth = scene
    limit = 2 * (truth[:, 3] - truth[:, 1]).max()
    assert shipped("rpn_rcnn", min_plate_height=limit)(small) == []
    assert len(shipped("rpn_rcnn", min_plate_height=limit)(big)) > 0


# -- bad values ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DETECTORS)
@pytest.mark.parametrize("params, key", [
    ({"min_plate_height": 0}, "min_plate_height"), ({"min_plate_height": "tall"}, "min_plate_height"),
    ({"max_plate_height": -5}, "max_plate_height"),
    ({"min_plate_height": 40, "max_plate_height": 20}, "max_plate_height"),
    ({"working_size": 32}, "working_size"), ({"working_size": "big"}, "working_size"),
    ({"working_size": 1.5}, "working_size"),
])
def test_bad_sizes_are_config_errors_naming_the_key(name, params, key):
    create, _ = DETECTORS[name]
    with pytest.raises(ConfigError, match=f"detector {name}: .*{key}"):
        create(pretrained=False, **params)


def test_mtcnn_needs_a_smallest_plate_but_rpn_rcnn_does_not():
    with pytest.raises(ConfigError, match="min_plate_height"):
        mtcnn.create(pretrained=False, min_plate_height=None)
    assert cascade.create(pretrained=False, min_plate_height=None).min_plate_height is None


def test_a_bad_size_on_the_command_line_is_one_line(capsys, tmp_path):
    image = tmp_path / "car.jpg"
    cv2.imwrite(str(image), np.zeros((64, 64, 3), np.uint8))
    status, _, err = cli(capsys, "run", "pipeline=lprnet_us_mtcnn", f"input={image}", "detector.working_size=ten")
    assert_one_line_error(status, err, "working_size", "ten")
