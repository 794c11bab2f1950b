"""The quality changes of real driving, applied to an image with strengths in [0, 1].

A plate seen from a moving car is blurred by motion and by focus, small when far away,
too dark or washed out, noisy and compressed, and each of these drifts from frame to
frame. :class:`Degradation` holds one strength per change (0: none, 1: about as bad as
still leaves a human a chance), :func:`degrade` applies it, and :func:`track_schedule`
gives the smoothly varying strengths of a track of frames, so a stream has good and bad
frames as UFPR-ALPR's do. Quality-network training (seed 004) and the synthetic tracks use
the same functions.

Sizes scale with the plate's height in pixels (``plate_height``; a crop's own height by
default), so one strength means the same on a 24-px crop and on a 1280x720 frame. The
pixel work is done by the synthetic engine's primitives (``alprkit.data.synth.degrade``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Optional

import cv2
import numpy as np

from .data.synth import degrade as _px
from .errors import ConfigError

# What strength 1 means, in the plate's own units. Chosen so that 1 is severe but not
# hopeless (docs/video/degrade.jpg): CCPD's "blur" split reaches a motion of 0.25 plate
# heights, its darkest "db" captures a gain of about 0.25.
MAX_MOTION = 0.35  # blur length, in plate heights
MAX_DEFOCUS = 0.1  # disc radius, in plate heights
MIN_DISTANCE_SCALE = 0.25  # the plate at 1/4 of its size (4x further away)
MIN_PLATE_PX = 6.0  # never smaller than this: no camera resolves a plate below it
MIN_GAIN = 0.2  # darkness 1: a fifth of the light
MAX_GAIN, MIN_GAMMA = 2.8, 0.45  # overexposure 1: highlights clipped, contrast gone
MAX_NOISE = 28.0  # sensor noise sigma, in grey levels
MIN_JPEG, MAX_JPEG = 8, 95  # JPEG quality at strength 1 and 0


@dataclass(frozen=True)
class Degradation:
    """Strengths in [0, 1] of each quality change; the default is a clean capture."""

    motion: float = 0.0  # motion blur length
    defocus: float = 0.0  # out-of-focus disc blur
    distance: float = 0.0  # plate shrunk (seen further away), then brought back to size
    darkness: float = 0.0  # less light: lower gain, steeper gamma, the noise a dark sensor adds
    overexposure: float = 0.0  # too much light: higher gain, flatter gamma, clipped highlights
    noise: float = 0.0  # sensor noise
    jpeg: float = 0.0  # compression artefacts
    angle: float = 0.0  # motion direction in degrees (0: horizontal); not a strength

    def __post_init__(self):
        for name in STRENGTHS:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= float(value) <= 1.0):
                raise ConfigError(f"degradation {name}={value!r}: a strength must be a number in [0, 1]")
        if not (isinstance(self.angle, (int, float)) and np.isfinite(self.angle)):
            raise ConfigError(f"degradation angle={self.angle!r}: must be a finite number of degrees")

    def severity(self) -> float:
        """One number in [0, 1]: the strongest change (a frame is as bad as its worst defect)."""
        return max(getattr(self, name) for name in STRENGTHS)


STRENGTHS = tuple(f.name for f in fields(Degradation) if f.name != "angle")


def degrade(image: np.ndarray, d: Degradation, rng: Optional[np.random.Generator] = None,
            plate_height: Optional[float] = None) -> np.ndarray:  # fmt: skip
    """``image`` (uint8 RGB, h x w x 3) with ``d`` applied; same shape and dtype.

    ``plate_height`` is the plate's height in pixels (default: the image's height, a crop);
    ``rng`` draws the noise (default: a fixed seed, so the same call gives the same pixels).
    The order follows the light through the camera: scene light, motion and focus blur at
    full resolution, sampling at the distance's resolution, sensor noise, compression, and
    back to the input size.
    """
    if not (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8):
        raise ValueError(f"degrade needs a uint8 RGB image (h, w, 3), got {getattr(image, 'shape', type(image))}")
    rng = rng if rng is not None else np.random.default_rng(0)
    h, w = image.shape[:2]
    plate = float(plate_height) if plate_height else float(h)
    out = image.astype(np.float32)
    out = _light(out, d)
    out = _px.motion_blur(out, rng, d.motion * MAX_MOTION * plate, angle=d.angle)
    out = _px.defocus(out, d.defocus * MAX_DEFOCUS * plate)
    scale = distance_scale(d.distance, plate)
    if scale < 1.0:
        out = cv2.resize(out, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    sigma = d.noise * MAX_NOISE + d.darkness * 0.35 * MAX_NOISE  # a dark sensor is pushed, and noisy
    out = _px.sensor_noise(out, rng, sigma)
    if d.jpeg > 0:
        out = _px.jpeg(out, jpeg_quality(d.jpeg))
    if out.shape[:2] != (h, w):
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return _px.to_uint8(out)


def _light(image: np.ndarray, d: Degradation) -> np.ndarray:
    if d.darkness == 0 and d.overexposure == 0:
        return image
    gain = (1 - d.darkness * (1 - MIN_GAIN)) * (1 + d.overexposure * (MAX_GAIN - 1))
    gamma = (1 + 0.4 * d.darkness) * (1 - d.overexposure * (1 - MIN_GAMMA))
    out = np.minimum(image * np.float32(gain), 255.0) * np.float32(1 / 255)
    return cv2.pow(out, gamma) * np.float32(255)


def distance_scale(strength: float, plate_height: float) -> float:
    """The resize factor that ``distance`` = ``strength`` means for a plate ``plate_height`` px tall."""
    scale = 1.0 - strength * (1.0 - MIN_DISTANCE_SCALE)
    return float(min(1.0, max(scale, MIN_PLATE_PX / max(plate_height, 1e-6))))


def jpeg_quality(strength: float) -> int:
    """The JPEG quality (``MAX_JPEG`` .. ``MIN_JPEG``) that ``jpeg`` = ``strength`` means."""
    return int(round(MAX_JPEG - strength * (MAX_JPEG - MIN_JPEG)))


def random_degradation(rng: np.random.Generator, max_strength: float = 1.0, share: float = 0.5) -> Degradation:
    """One capture's degradation: each change present with probability ``share``, uniform up to ``max_strength``.

    For training data of one frame at a time (a quality network needs every level of each change).
    """
    _check_shape(max_strength, share)
    strengths = {name: float(rng.uniform(0, max_strength)) if rng.random() < share else 0.0 for name in STRENGTHS}
    if strengths["darkness"] and strengths["overexposure"]:
        strengths[("darkness", "overexposure")[int(rng.integers(2))]] = 0.0  # one light level per capture
    return Degradation(**strengths, angle=float(rng.uniform(-30, 30)))


def track_schedule(rng: np.random.Generator, frames: int = 30, max_strength: float = 1.0, share: float = 0.5,
                   knots: int = 4) -> list[Degradation]:  # fmt: skip
    """The degradation of each of ``frames`` frames of one track, varying smoothly from frame to frame.

    Each change is present in the track with probability ``share``; a present one passes through
    ``knots`` random levels (up to ``max_strength``) spread over the track, joined by smoothstep
    curves, so quality rises and falls within the track as focus, speed and light change. The
    motion direction is the track's own, drifting a few degrees.
    """
    if frames < 1:
        raise ConfigError(f"track_schedule frames={frames!r}: needs at least one frame")
    _check_shape(max_strength, share)
    knots = max(2, int(knots))
    t = np.linspace(0.0, 1.0, frames)
    at = np.linspace(0.0, 1.0, knots)
    curves = {}
    for name in STRENGTHS:
        if rng.random() >= share:
            curves[name] = np.zeros(frames)
            continue
        levels = rng.uniform(0, max_strength, knots)
        curves[name] = _smooth_interp(t, at, levels)
    if curves["darkness"].any() and curves["overexposure"].any():
        curves[("darkness", "overexposure")[int(rng.integers(2))]][:] = 0.0
    angle = rng.uniform(-30, 30) + np.cumsum(rng.normal(0, 1.0, frames))
    return [
        Degradation(**{name: float(np.clip(curves[name][i], 0.0, 1.0)) for name in STRENGTHS}, angle=float(angle[i]))
        for i in range(frames)
    ]


def _check_shape(max_strength, share):
    for key, value in (("max_strength", max_strength), ("share", share)):
        if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 1.0):
            raise ConfigError(f"degradation {key}={value!r}: must be a number in [0, 1]")


def _smooth_interp(t: np.ndarray, at: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Piecewise smoothstep through (``at``, ``levels``): flat at each knot, so no kinks between frames."""
    i = np.clip(np.searchsorted(at, t, side="right") - 1, 0, len(at) - 2)
    u = (t - at[i]) / (at[i + 1] - at[i])
    u = u * u * (3 - 2 * u)
    return levels[i] + (levels[i + 1] - levels[i]) * u


def blend(a: Degradation, b: Degradation, u: float) -> Degradation:
    """The degradation ``u`` of the way from ``a`` to ``b`` (``u`` in [0, 1])."""
    return replace(a, **{name: getattr(a, name) + (getattr(b, name) - getattr(a, name)) * u
                         for name in (*STRENGTHS, "angle")})  # fmt: skip
