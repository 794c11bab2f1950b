"""alprkit.degrade: each change does what its name says, grows with its strength, and tracks vary smoothly."""

import cv2
import numpy as np
import pytest

from alprkit.data.synth.crop import render_crop
from alprkit.degrade import STRENGTHS, Degradation, blend, degrade, random_degradation, track_schedule
from alprkit.errors import ConfigError


@pytest.fixture(scope="module")
def crop():
    return render_crop(np.random.default_rng(3), "br", size=(188, 48), margin=(0.05, 0.05)).image


def _sharpness(image):
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F).var())


def test_clean_is_the_identity(crop):
    out = degrade(crop, Degradation())
    assert out.shape == crop.shape and out.dtype == np.uint8
    assert np.array_equal(out, crop)


@pytest.mark.parametrize("name", ["motion", "defocus", "distance"])
def test_blur_and_distance_lose_detail_as_strength_grows(crop, name):
    sharp = [_sharpness(degrade(crop, Degradation(**{name: s}))) for s in (0.0, 0.3, 0.6, 1.0)]
    assert all(a > b for a, b in zip(sharp, sharp[1:])), sharp


def test_motion_blurs_along_its_direction(crop):
    horizontal = degrade(crop, Degradation(motion=1.0, angle=0.0)).astype(np.float32)
    # Along the blur the image is smooth; across it, edges survive.
    along = np.abs(np.diff(horizontal, axis=1)).mean()
    across = np.abs(np.diff(horizontal, axis=0)).mean()
    assert along < across


def test_light_moves_the_brightness_the_right_way(crop):
    mean = crop.mean()
    assert degrade(crop, Degradation(darkness=0.8)).mean() < 0.4 * mean
    bright = degrade(crop, Degradation(overexposure=0.8))
    assert bright.mean() > mean and (bright == 255).mean() > 0.3  # highlights clipped


def test_noise_and_jpeg_change_pixels_more_when_stronger(crop):
    for name in ("noise", "jpeg"):
        errs = [np.abs(degrade(crop, Degradation(**{name: s})).astype(float) - crop).mean() for s in (0.2, 1.0)]
        assert 0 < errs[0] < errs[1], (name, errs)


def test_plate_height_scales_blur_for_a_whole_frame(crop):
    frame = cv2.resize(crop, (crop.shape[1] * 4, crop.shape[0] * 4))
    small = degrade(frame, Degradation(defocus=1.0), plate_height=crop.shape[0])
    large = degrade(frame, Degradation(defocus=1.0))  # plate assumed as tall as the frame: 4x the radius
    assert _sharpness(small) > _sharpness(large)


def test_same_rng_same_pixels(crop):
    d = Degradation(noise=0.5, motion=0.3, angle=12)
    a = degrade(crop, d, np.random.default_rng(5))
    b = degrade(crop, d, np.random.default_rng(5))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("bad", [{"motion": 1.5}, {"noise": -0.1}, {"jpeg": "x"}, {"angle": float("nan")}])
def test_out_of_range_strength_is_a_one_line_error(bad):
    with pytest.raises(ConfigError) as err:
        Degradation(**bad)
    assert next(iter(bad)) in str(err.value) and "\n" not in str(err.value)


def test_track_schedule_is_smooth_and_in_range():
    rng = np.random.default_rng(11)
    schedule = track_schedule(rng, frames=30, share=1.0)
    assert len(schedule) == 30
    values = np.array([[getattr(d, n) for n in STRENGTHS] for d in schedule])
    assert values.min() >= 0 and values.max() <= 1
    assert np.abs(np.diff(values, axis=0)).max() < 0.35  # no jumps between neighbouring frames
    assert values.std(axis=0).max() > 0.05  # quality does change within the track
    assert not (values[:, STRENGTHS.index("darkness")].any() and values[:, STRENGTHS.index("overexposure")].any())


def test_random_degradation_and_blend():
    d = random_degradation(np.random.default_rng(2), max_strength=0.5, share=1.0)
    assert 0 < d.severity() <= 0.5
    half = blend(Degradation(), Degradation(motion=1.0, angle=40), 0.5)
    assert half.motion == pytest.approx(0.5) and half.angle == pytest.approx(20)
