"""Capture conditions per CCPD-like split, and applying them to an image.

A :class:`Conditions` is everything about one capture except the plate itself:
pose, distance, light, blur, noise, compression, dirt, occlusion and weather.
Each split (``base``, ``db``, ``fn``, ``rotate``, ``tilt``, ``weather``,
``challenge``, ``blur``, as in CCPD) is a sampler of conditions; ``mix`` draws a
split first, for training data that covers them all. Blur lengths are fractions of
the plate's height in pixels so that one setting means the same at any scale.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ...errors import ConfigError
from . import degrade


@dataclass(frozen=True)
class Conditions:
    yaw: float = 0.0  # degrees, plate turned left/right
    pitch: float = 0.0  # degrees, plate seen from above/below
    roll: float = 0.0  # degrees, in-plane rotation
    distance: float = 5.0  # camera distance in plate widths (smaller: stronger perspective)
    scale: float = 1.0  # plate size relative to the nominal size of the output (fn: far/near)
    gain: float = 1.0
    gamma: float = 1.0
    cast: float = 0.03
    veil: float = 0.0  # 0..1 veiling glare: haze over the lens that flattens contrast
    uneven: float = 0.0
    shadow: float = 0.0
    night: float = 0.0  # 0..1 darkness of a night capture
    motion: float = 0.0  # motion-blur length, in plate heights
    defocus: float = 0.0  # defocus radius, in plate heights
    noise: float = 2.0  # grey levels
    jpeg: int = 90
    dirt: float = 0.0
    occlusion: float = 0.0  # fraction of the plate width covered
    rain: float = 0.0
    snow: float = 0.0
    fog: float = 0.0

    def blurriness(self) -> float:
        """A CCPD-style blurriness score (larger is blurrier)."""
        return 100.0 * (self.motion + 2 * self.defocus)


def _base(rng) -> Conditions:
    return Conditions(
        yaw=float(np.clip(rng.normal(0, 8), -25, 25)),
        pitch=float(np.clip(rng.normal(0, 6), -20, 20)),
        roll=float(np.clip(rng.normal(0, 2.5), -8, 8)),
        distance=float(rng.uniform(3, 10)),
        scale=float(rng.uniform(0.8, 1.25)),
        gain=float(rng.uniform(0.7, 1.3)),
        gamma=float(rng.uniform(0.85, 1.2)),
        cast=float(rng.uniform(0.0, 0.06)),
        veil=float(rng.uniform(0, 0.3)),
        uneven=float(rng.uniform(0, 0.25)),
        shadow=float(rng.uniform(0.2, 0.5)) if rng.random() < 0.1 else 0.0,
        motion=float(rng.uniform(0, 0.035)),
        defocus=float(rng.uniform(0, 0.02)),
        noise=float(rng.uniform(0.5, 4)),
        jpeg=int(rng.integers(60, 96)),
        dirt=float(rng.uniform(0, 0.35)) if rng.random() < 0.3 else 0.0,
        occlusion=float(rng.uniform(0.02, 0.1)) if rng.random() < 0.03 else 0.0,
    )


def _db(rng) -> Conditions:
    c = _base(rng)
    kind = rng.integers(3)
    if kind == 0:  # dark
        night = float(rng.uniform(0.2, 0.75))
        return replace(c, gain=float(rng.uniform(0.25, 0.6)), night=night, noise=float(rng.uniform(3, 9)))
    if kind == 1:  # bright, washed out
        return replace(c, gain=float(rng.uniform(1.5, 2.6)), gamma=float(rng.uniform(0.5, 0.85)))
    return replace(c, uneven=float(rng.uniform(0.5, 1.0)), shadow=float(rng.uniform(0.4, 0.75)))


def _fn(rng) -> Conditions:
    far = rng.random() < 0.5
    return replace(_base(rng), scale=float(rng.uniform(0.4, 0.7) if far else rng.uniform(1.6, 2.4)))


def _rotate(rng) -> Conditions:
    roll = float(rng.uniform(15, 45) * rng.choice([-1, 1]))
    return replace(_base(rng), roll=roll, yaw=float(rng.normal(0, 8)))


def _tilt(rng) -> Conditions:
    return replace(
        _base(rng),
        yaw=float(rng.uniform(30, 60) * rng.choice([-1, 1])),
        pitch=float(rng.uniform(10, 35) * rng.choice([-1, 1])),
        roll=float(rng.normal(0, 10)),
        distance=float(rng.uniform(2, 5)),
    )


def _weather(rng) -> Conditions:
    c = _base(rng)
    kind = rng.integers(3)
    if kind == 0:
        rain = float(rng.uniform(0.3, 1.0))
        return replace(c, rain=rain, gain=float(rng.uniform(0.5, 0.9)), motion=float(rng.uniform(0, 0.08)))
    if kind == 1:
        return replace(c, snow=float(rng.uniform(0.3, 1.0)), gain=float(rng.uniform(0.9, 1.3)))
    return replace(c, fog=float(rng.uniform(0.3, 0.7)), gamma=float(rng.uniform(0.8, 1.0)))


def _blur(rng) -> Conditions:
    c = _base(rng)
    if rng.random() < 0.6:
        return replace(c, motion=float(rng.uniform(0.08, 0.25)), defocus=float(rng.uniform(0, 0.02)))
    return replace(c, defocus=float(rng.uniform(0.03, 0.08)))


def _challenge(rng) -> Conditions:
    """Several hard conditions at once."""
    picks = rng.choice(len(_HARD), size=int(rng.integers(2, 4)), replace=False)
    c = _base(rng)
    for i in sorted(picks):
        hard = _HARD[i](rng)
        changed = {k: getattr(hard, k) for k in _HARD_FIELDS[i]}
        c = replace(c, **changed)
    return replace(c, occlusion=float(rng.uniform(0.05, 0.18)) if rng.random() < 0.25 else c.occlusion)


_HARD = (_db, _fn, _rotate, _tilt, _weather, _blur)
_HARD_FIELDS = (
    ("gain", "gamma", "night", "noise", "uneven", "shadow"),
    ("scale",),
    ("roll", "yaw"),
    ("yaw", "pitch", "roll", "distance"),
    ("rain", "snow", "fog", "gain", "gamma", "motion"),
    ("motion", "defocus"),
)

SPLITS: dict[str, Callable[[np.random.Generator], Conditions]] = {
    "base": _base,
    "db": _db,
    "fn": _fn,
    "rotate": _rotate,
    "tilt": _tilt,
    "weather": _weather,
    "challenge": _challenge,
    "blur": _blur,
}
MIX_BASE_SHARE = 0.5  # the rest is spread evenly over the hard splits


def check_split(split: str) -> str:
    if split != "mix" and split not in SPLITS:
        raise ConfigError(f"unknown split {split!r} (splits: {', '.join(SPLITS)}, mix)")
    return split


def sample_conditions(split: str, rng: np.random.Generator) -> Conditions:
    """Conditions of one capture in ``split`` (or in a split drawn at random for ``mix``)."""
    check_split(split)
    if split == "mix":
        hard = [s for s in SPLITS if s != "base"]
        split = "base" if rng.random() < MIX_BASE_SHARE else hard[int(rng.integers(len(hard)))]
    return SPLITS[split](rng)


def apply_conditions(image: np.ndarray, c: Conditions, rng: np.random.Generator, plate_height: float) -> np.ndarray:
    """Light, weather, blur and noise of ``c`` on a float32 image whose plate is ``plate_height`` px tall.

    Compression is left to the caller, which knows at what size the image is stored.
    """
    if c.uneven > 0:
        image = degrade.uneven_light(image, rng, c.uneven)
    if c.shadow > 0:
        image = degrade.shadow(image, rng, c.shadow)
    image = degrade.exposure(image, rng, c.gain, c.gamma, c.cast)
    if c.veil > 0:
        image = degrade.veil(image, c.veil)
    if c.night > 0:
        image = degrade.night(image, rng, c.night)
    if c.fog > 0:
        image = degrade.fog(image, rng, c.fog)
    if c.rain > 0:
        image = degrade.rain(image, rng, c.rain)
    if c.snow > 0:
        image = degrade.snow(image, rng, c.snow)
    image = degrade.motion_blur(image, rng, c.motion * plate_height)
    image = degrade.defocus(image, c.defocus * plate_height)
    return degrade.sensor_noise(image, rng, c.noise)
