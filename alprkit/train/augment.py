"""Training-time augmentation of plate crops: random affine and colour (LPRNet paper, sec. 3.2)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Augment:
    rotation: float = 5.0  # degrees, either way
    scale: tuple = (0.9, 1.08)
    shift: float = 0.06  # fraction of width / height, either way
    shear: float = 0.1
    brightness: float = 0.3  # multiplicative, either way
    contrast: float = 0.3
    hue: float = 8.0  # OpenCV hue units (0..180), either way
    saturation: float = 0.3
    blur: float = 0.2  # probability of a light Gaussian blur
    invert: float = 0.0  # probability of inverting colours
    gray: float = 0.15  # probability of a grayscale crop: photos from grayscale cameras are read too

    def __call__(self, pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.colour(self.affine(pixels, rng), rng)

    def affine(self, pixels, rng):
        h, w = pixels.shape[:2]
        angle = rng.uniform(-self.rotation, self.rotation)
        scale = rng.uniform(*self.scale)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
        m[0, 1] += rng.uniform(-self.shear, self.shear)
        m[0, 2] += rng.uniform(-self.shift, self.shift) * w
        m[1, 2] += rng.uniform(-self.shift, self.shift) * h
        return cv2.warpAffine(pixels, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def colour(self, pixels, rng):
        hsv = cv2.cvtColor(pixels, cv2.COLOR_RGB2HSV).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-self.hue, self.hue)) % 180
        hsv[..., 1] *= 1 + rng.uniform(-self.saturation, self.saturation)
        out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
        mean = out.mean()
        out = (out - mean) * (1 + rng.uniform(-self.contrast, self.contrast)) + mean
        out *= 1 + rng.uniform(-self.brightness, self.brightness)
        out = np.clip(out, 0, 255).astype(np.uint8)
        if rng.random() < self.blur:
            out = cv2.GaussianBlur(out, (3, 3), rng.uniform(0.3, 1.0))
        if rng.random() < self.invert:
            out = 255 - out
        if rng.random() < self.gray:
            out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        return out
