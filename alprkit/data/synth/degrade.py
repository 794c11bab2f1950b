"""Image degradations: light, blur, noise, compression, dirt, occlusion and weather.

Every degradation takes a float32 RGB image in [0, 255] (values may leave that
range until :func:`to_uint8`), and a numpy Generator where it draws anything, and
returns the degraded image. Strengths are plain numbers in pixels or fractions so
that a scene and a crop can share them after scaling.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def smooth_field(shape: tuple[int, int], rng: np.random.Generator, cells: int = 4) -> np.ndarray:
    """Low-frequency noise in [-1, 1] of ``shape`` (h, w): stains, light and fog variation."""
    h, w = shape
    coarse = rng.uniform(-1, 1, (cells, max(2, round(cells * w / max(h, 1))))).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).clip(-1, 1)


# --- light ----------------------------------------------------------------------------------


def exposure(image, rng, gain: float, gamma: float = 1.0, cast: float = 0.0):
    """Global brightness (``gain``), contrast curve (``gamma``) and a white-balance cast of size ``cast``."""
    tint = (1.0 + rng.normal(0, cast, 3)).astype(np.float32)
    out = image * (np.float32(gain) * tint)
    np.maximum(out, 0, out=out)
    if gamma != 1.0:
        np.minimum(out, 255.0, out=out)
        out *= np.float32(1 / 255)
        out = cv2.pow(out, gamma)
        out *= np.float32(255)
    return out


def veil(image, amount: float):
    """Veiling glare: light scattered in the lens lifts the image towards its own mean colour."""
    mean = np.float32(cv2.mean(image)[:3]) * np.float32(amount)
    return image * np.float32(1 - amount) + mean


def uneven_light(image, rng, amount: float):
    """A brightness ramp across the image in a random direction (``amount`` 0..1 of the gain range)."""
    h, w = image.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    xs = np.linspace(-1, 1, w, dtype=np.float32) * np.float32(np.cos(angle))
    ys = np.linspace(-1, 1, h, dtype=np.float32) * np.float32(np.sin(angle))
    ramp = (xs[None, :] + ys[:, None]) / max(1e-6, float(abs(np.cos(angle)) + abs(np.sin(angle))))
    field = 1.0 + amount * (0.6 * ramp + 0.4 * smooth_field((h, w), rng, 3))
    return image * np.clip(field, 0.1, 3.0)[..., None]


def shadow(image, rng, darkness: float):
    """A soft-edged cast shadow (a building edge, a tree, the car itself) over part of the image."""
    h, w = image.shape[:2]
    mask = np.zeros((h, w), np.float32)
    n = int(rng.integers(3, 7))
    cx, cy = rng.uniform(-0.2, 1.2) * w, rng.uniform(-0.2, 1.2) * h
    radius = rng.uniform(0.4, 1.0) * max(h, w)
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    reach = radius * rng.uniform(0.5, 1.0, (2, n))
    pts = np.stack([cx + reach[0] * np.cos(angles), cy + reach[1] * np.sin(angles)], 1)
    cv2.fillPoly(mask, [pts.astype(np.int32)], 1.0)
    mask = gaussian_blur(mask, 0.015 * max(h, w))
    return image * (1 - darkness * mask)[..., None]


def glare(image, rng, strength: float):
    """Bright light sources (headlights, sun reflections) blooming over the image."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = image.copy()
    for _ in range(int(rng.integers(1, 3))):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.05, 0.3) * max(h, w)
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        out += (strength * 255.0 * blob)[..., None] * np.float32([1.0, 0.97, 0.85])
    return out


def night(image, rng, darkness: float):
    """Low light: dark, bluish or sodium-orange, lifted blacks and blooming lights."""
    cast = np.float32([0.85, 0.95, 1.2]) if rng.random() < 0.5 else np.float32([1.2, 0.95, 0.7])
    out = image * (1 - darkness) * cast + rng.uniform(2, 10)
    return glare(out, rng, rng.uniform(0.1, 0.5)) if rng.random() < 0.6 else out


# --- blur, noise, compression -----------------------------------------------------------------


def motion_blur(image, rng, length: float, angle: float | None = None):
    """Blur along a line of ``length`` px (camera or vehicle motion)."""
    if length < 1.0:
        return image
    k = int(np.ceil(length)) | 1
    kernel = np.zeros((k, k), np.float32)
    a = np.radians(rng.uniform(0, 180) if angle is None else angle)
    c = (k - 1) / 2
    dx, dy = np.cos(a) * length / 2, np.sin(a) * length / 2
    start, end = np.round(np.array([[c - dx, c - dy], [c + dx, c + dy]]) * 16).astype(int)  # 4 fractional bits
    cv2.line(kernel, tuple(map(int, start)), tuple(map(int, end)), 1.0, 1, cv2.LINE_AA, shift=4)
    return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6), borderType=cv2.BORDER_REFLECT)


def defocus(image, radius: float):
    """Out-of-focus blur: a disc kernel of ``radius`` px."""
    if radius < 0.5:
        return image
    k = int(np.ceil(radius)) * 2 + 1
    kernel = np.zeros((k, k), np.float32)
    c = k // 2
    cv2.circle(kernel, (c * 16, c * 16), int(radius * 16), 1.0, -1, cv2.LINE_AA, shift=4)
    return cv2.filter2D(image, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def gaussian_blur(image, sigma: float):
    """Gaussian blur; wide ones run on a shrunk copy (a soft mask or shadow loses nothing)."""
    if sigma <= 0.2:
        return image
    if sigma <= 4:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    h, w = image.shape[:2]
    k = sigma / 2
    small = cv2.resize(image, (max(1, round(w / k)), max(1, round(h / k))), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), 2.0), (w, h), interpolation=cv2.INTER_LINEAR)


@lru_cache(maxsize=1)
def _normal_bank() -> np.ndarray:
    # Drawing fresh normals costs more than the rest of a crop's degradations; a random
    # window into a fixed bank is as good for pixel noise and stays seed-deterministic.
    return np.random.default_rng(0x5EED).standard_normal(1 << 22, dtype=np.float32)


def normals(rng, shape) -> np.ndarray:
    """Standard normal noise of ``shape`` (float32) cut from the bank at a random offset."""
    bank = _normal_bank()
    n = int(np.prod(shape))
    if n > len(bank):
        return rng.standard_normal(shape, dtype=np.float32)
    start = int(rng.integers(0, len(bank) - n))
    return bank[start : start + n].reshape(shape)


def sensor_noise(image, rng, sigma: float):
    """Read noise of ``sigma`` grey levels plus signal-dependent shot noise, partly coloured."""
    if sigma <= 0:
        return image
    h, w = image.shape[:2]
    noise = normals(rng, (h, w, 3)) * np.float32(0.4)
    noise += normals(rng, (h, w, 1)) * np.float32(0.7)
    shot = cv2.sqrt(np.clip(image, 0, 255) * np.float32(1 / 255))
    return image + np.float32(sigma) * noise * (0.5 + shot)


def jpeg(image, quality: int):
    """Round-trip through a JPEG encoder at ``quality`` (blocking and ringing artefacts)."""
    rgb = to_uint8(image)
    ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32)


def resample(image, size: tuple[int, int], rng):
    """Resize to ``size`` (w, h) with a randomly chosen filter, as different pipelines do."""
    h, w = image.shape[:2]
    shrinking = size[0] < w
    flag = [cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC][int(rng.integers(3))] if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=flag)


# --- dirt and occlusion -----------------------------------------------------------------------


def dirt(image, rng, amount: float):
    """Grime, mud splashes and faded paint on a plate face (``amount`` 0..1)."""
    if amount <= 0:
        return image
    h, w = image.shape[:2]
    stain = np.clip(smooth_field((h, w), rng, int(rng.integers(3, 8))), 0, 1) * amount
    mud = np.float32(rng.uniform([70, 55, 35], [140, 120, 90]))
    out = image + stain[..., None] * (mud - image) * 0.8
    spots = np.zeros((h, w), np.float32)
    for _ in range(int(amount * 60)):
        r = max(1, int(rng.uniform(0.003, 0.02) * w))
        centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        cv2.circle(spots, centre, r, float(rng.uniform(0.3, 0.9)), -1, cv2.LINE_AA)
    return out + spots[..., None] * (mud - out)


def occlude(image, rng, quad: np.ndarray, fraction: float):
    """Cover about ``fraction`` of the plate quad's width with an object in front of it.

    Occluders come in from an edge (a tow bar, a frame, a passer-by's leg) so that
    most characters stay visible; the label is still the full plate text.
    """
    if fraction <= 0:
        return image
    x0, y0 = quad[:, 0].min(), quad[:, 1].min()
    x1, y1 = quad[:, 0].max(), quad[:, 1].max()
    pw, ph = x1 - x0, y1 - y0
    color = rng.uniform(10, 200) * (1 + rng.normal(0, 0.1, 3))
    out = image.copy()
    side = rng.integers(4)
    if side == 0:  # from the left
        slant = fraction * pw * rng.uniform(0.5, 1.5)
        pts = [[x0 - pw, y0 - ph], [x0 + fraction * pw, y0 - ph], [x0 + slant, y1 + ph], [x0 - pw, y1 + ph]]
    elif side == 1:  # from the right
        slant = fraction * pw * rng.uniform(0.5, 1.5)
        pts = [[x1 - fraction * pw, y0 - ph], [x1 + pw, y0 - ph], [x1 + pw, y1 + ph], [x1 - slant, y1 + ph]]
    elif side == 2:  # a bar across the bottom edge
        slant = fraction * ph * rng.uniform(0.3, 1.2)
        pts = [[x0 - pw, y1 - fraction * ph], [x1 + pw, y1 - slant], [x1 + pw, y1 + ph], [x0 - pw, y1 + ph]]
    else:  # a vertical post or bar through the plate
        cx = rng.uniform(x0 + 0.15 * pw, x1 - 0.15 * pw)
        half = fraction * pw / 2
        pts = [[cx - half, y0 - ph], [cx + half, y0 - ph], [cx + half, y1 + ph], [cx - half, y1 + ph]]
    cv2.fillPoly(out, [np.array(pts, np.int32)], color.astype(np.float32).tolist(), cv2.LINE_AA)
    return out


# --- weather ----------------------------------------------------------------------------------


def fog(image, rng, density: float):
    """Haze: blend towards a bright, slightly uneven airlight (``density`` 0..1)."""
    h, w = image.shape[:2]
    air = rng.uniform(170, 235)
    t = np.clip(density * (0.8 + 0.2 * smooth_field((h, w), rng, 3)), 0, 0.95)[..., None]
    return image * (1 - t) + air * t


def rain(image, rng, amount: float):
    """Falling rain: thin bright slanted streaks, a darker wet scene and some haze."""
    h, w = image.shape[:2]
    streaks = np.zeros((h, w), np.float32)
    angle = np.radians(rng.uniform(-20, 20))
    length = rng.uniform(0.03, 0.1) * h
    for _ in range(int(amount * h * w / 400) + 1):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        dx, dy = np.sin(angle) * length, np.cos(angle) * length
        cv2.line(streaks, (int(x), int(y)), (int(x + dx), int(y + dy)), float(rng.uniform(0.2, 0.6)), 1, cv2.LINE_AA)
    streaks = cv2.GaussianBlur(streaks, (3, 3), 0)
    out = image * (1 - 0.25 * amount) + streaks[..., None] * 200.0
    return fog(out, rng, 0.25 * amount)


def snow(image, rng, amount: float):
    """Falling snow: soft white flakes of several sizes, and a brighter, flatter scene."""
    h, w = image.shape[:2]
    flakes = np.zeros((h, w), np.float32)
    scale = max(h, w) / 600
    for _ in range(int(amount * h * w / 250) + 1):
        r = max(1, int(rng.exponential(1.2) * scale))
        centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        cv2.circle(flakes, centre, r, float(rng.uniform(0.4, 1.0)), -1, cv2.LINE_AA)
    flakes = cv2.GaussianBlur(flakes, (0, 0), max(0.6, scale * 0.6))
    out = fog(image, rng, 0.3 * amount)
    return out + np.clip(flakes, 0, 1)[..., None] * (245.0 - out)
