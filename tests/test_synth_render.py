"""Warps, crops, scenes and tracks: recorded corners and boxes match the rendered pixels."""

import cv2
import numpy as np
import pytest

from alprkit.data.synth import degrade
from alprkit.data.synth.conditions import SPLITS, Conditions, apply_conditions, sample_conditions
from alprkit.data.synth.crop import render_crop
from alprkit.data.synth.geometry import posed_quad, quad_box, warp_into
from alprkit.data.synth.scenes import render_scene
from alprkit.data.synth.tracks import render_track
from alprkit.errors import ConfigError

CLEAN = Conditions(noise=0.0, cast=0.0, jpeg=95)


def _signed_distances(quad, mask):
    ys, xs = np.nonzero(mask)
    poly = quad.astype(np.float32)
    return np.array([cv2.pointPolygonTest(poly, (float(x) + 0.5, float(y) + 0.5), True) for x, y in zip(xs, ys)])


@pytest.mark.parametrize("angles", [(0, 0, 0), (35, 10, 15), (-50, -25, 40)])
def test_warped_plate_covers_exactly_its_quad(angles):
    src = np.full((50, 100, 3), 255, np.uint8)
    quad = posed_quad(100, 50, *angles, distance=3) + [80, 70]
    dst = np.zeros((140, 160, 3), np.float32)
    warp_into(dst, src, np.full((50, 100), 255, np.uint8), quad)
    cover = dst[..., 0] / 255
    assert cover.sum() == pytest.approx(cv2.contourArea(quad.astype(np.float32)), rel=2e-3)
    assert _signed_distances(quad, cover > 0.01).min() > -0.75  # nothing drawn outside the corners
    assert _signed_distances(quad, cover < 0.99).max() < 0.75  # everything inside is drawn


def test_zero_pose_is_the_plate_rectangle():
    np.testing.assert_allclose(posed_quad(4, 2), [[-2, -1], [2, -1], [2, 1], [-2, 1]])


def test_crop_of_a_given_text_is_deterministic_and_tight():
    a = render_crop(np.random.default_rng(7), "cn", "皖A12345", size=(94, 24), conditions=CLEAN, margin=(0.0, 0.0))
    b = render_crop(np.random.default_rng(7), "cn", "皖A12345", size=(94, 24), conditions=CLEAN, margin=(0.0, 0.0))
    assert a.image.shape == (24, 94, 3) and a.image.dtype == np.uint8 and a.text == "皖A12345"
    assert np.array_equal(a.image, b.image)
    # Without margins the plate's corners are the crop's corners, and each character lies inside.
    np.testing.assert_allclose(a.corners, [(0, 0), (94, 0), (94, 24), (0, 24)], atol=0.6)
    for quad in a.char_quads:
        x0, y0, x1, y1 = quad_box(np.array(quad))
        assert 0 <= x0 and x1 <= 94 and 0 <= y0 and y1 <= 24


def test_crop_characters_are_where_their_quads_say():
    crop = render_crop(np.random.default_rng(8), "cn", "皖A88888", layout="cn_blue", size=(188, 48),
                       conditions=CLEAN, margin=(0.0, 0.0))
    white = crop.image.min(axis=2) > 170  # white strokes on the blue plate
    in_chars = np.zeros(white.shape, bool)
    for quad in crop.char_quads:
        cv2.fillPoly(in_chars.view(np.uint8), [np.round(np.array(quad)).astype(np.int32)], 1)
    assert white[in_chars].mean() > 0.25  # the "8"s are mostly stroke
    assert white[~in_chars].mean() < 0.2  # elsewhere only the frame, dot and rivets


@pytest.mark.parametrize("region", ["cn", "us", "br", "eu"])
def test_scene_labels_enclose_the_plates(region):
    scene = render_scene(np.random.default_rng([9, hash(region) % 97]), region, size=(640, 480), split="base",
                         max_plates=3, conditions=CLEAN)
    h, w = scene.image.shape[:2]
    assert (w, h) == (640, 480) and 1 <= len(scene.plates) <= 3
    for plate in scene.plates:
        quad = np.array(plate.corners)
        assert plate.region == region and plate.text
        assert plate.box == pytest.approx(quad_box(quad))
        assert 0 <= plate.box[0] and plate.box[2] <= w and 0 <= plate.box[1] and plate.box[3] <= h


def test_scene_plate_pixels_are_plate_coloured():
    scene = render_scene(np.random.default_rng(10), "cn", size=(720, 1160), conditions=CLEAN, texts=["皖A12345"])
    (plate,) = scene.plates
    quad = np.round(np.array(plate.corners)).astype(np.int32)
    inside = np.zeros(scene.image.shape[:2], np.uint8)
    cv2.fillPoly(inside, [quad], 1)
    ring = cv2.dilate(inside, np.ones((15, 15), np.uint8)) - inside
    core = cv2.erode(inside, np.ones((5, 5), np.uint8)).astype(bool)
    rgb = scene.image.astype(int)
    blue_or_green_or_yellow = (np.abs(rgb[..., 2] - rgb[..., 0]) > 60) | (np.abs(rgb[..., 1] - rgb[..., 2]) > 60)
    assert blue_or_green_or_yellow[core].mean() > 0.5  # a coloured Chinese plate fills the quad
    assert blue_or_green_or_yellow[ring.astype(bool)].mean() < 0.2  # and stops at its edges


def test_scene_with_fixed_texts_and_impossible_requests():
    scene = render_scene(np.random.default_rng(11), "us", texts=["ABC1234", "XYZ987"], conditions=CLEAN)
    assert sorted(p.text for p in scene.plates) == ["ABC1234", "XYZ987"]
    with pytest.raises(ConfigError, match="max_plates"):
        render_scene(np.random.default_rng(0), "cn", max_plates=0)


@pytest.mark.parametrize("split", [*SPLITS, "mix"])
def test_every_split_samples_and_applies(split):
    rng = np.random.default_rng(12)
    c = sample_conditions(split, rng)
    out = apply_conditions(np.full((40, 120, 3), 128, np.float32), c, rng, 30.0)
    assert out.shape == (40, 120, 3) and np.isfinite(out).all()
    with pytest.raises(ConfigError, match="unknown split 'night'"):
        sample_conditions("night", rng)


def test_split_conditions_differ_as_named():
    def draw(split, key):
        return [getattr(sample_conditions(split, np.random.default_rng([13, i])), key) for i in range(60)]

    assert np.mean(np.abs(draw("rotate", "roll"))) > 3 * np.mean(np.abs(draw("base", "roll")))
    assert np.mean(np.abs(draw("tilt", "yaw"))) > 3 * np.mean(np.abs(draw("base", "yaw")))
    assert np.mean(draw("blur", "motion")) > 3 * np.mean(draw("base", "motion"))
    assert np.mean([s > 1.5 or s < 0.75 for s in draw("fn", "scale")]) == 1.0
    weather = [sample_conditions("weather", np.random.default_rng([13, i])) for i in range(30)]
    assert all(c.rain + c.snow + c.fog > 0 for c in weather)


def test_degradations_change_pixels_but_not_shape():
    rng = np.random.default_rng(14)
    image = np.random.default_rng(0).uniform(0, 255, (30, 60, 3)).astype(np.float32)
    quad = np.array([[10, 5], [50, 5], [50, 25], [10, 25]], float)
    for out in (degrade.motion_blur(image, rng, 6), degrade.defocus(image, 2.5), degrade.jpeg(image, 30),
                degrade.dirt(image, rng, 0.8), degrade.occlude(image, rng, quad, 0.2), degrade.fog(image, rng, 0.6),
                degrade.rain(image, rng, 0.8), degrade.snow(image, rng, 0.8), degrade.night(image, rng, 0.7),
                degrade.shadow(image, rng, 0.6), degrade.uneven_light(image, rng, 0.8)):
        assert out.shape == image.shape and not np.allclose(out, image)


def test_track_frames_move_grow_and_vary_in_sharpness():
    frames = list(render_track(np.random.default_rng(15), "br", frames=8, size=(480, 270)))
    assert len(frames) == 8 and len({f.plate.text for f in frames}) == 1
    widths = [f.plate.box[2] - f.plate.box[0] for f in frames]
    assert widths[-1] > widths[0] * 1.15
    blur = [f.conditions.motion + f.conditions.defocus for f in frames]
    assert max(blur) > min(blur)
    for f in frames:
        x0, y0, x1, y1 = f.plate.box
        assert 0 <= x0 and x1 <= 480 and 0 <= y0 and y1 <= 270 and f.image.shape == (270, 480, 3)
        assert len(f.plate.extra["chars"]) == len(f.plate.text)
