"""Plate pose and warping: where the four corners of a flat plate land in an image.

Coordinates follow the pixel-corner convention of :mod:`alprkit.types` labels: a
W x H image spans [0, W] x [0, H], pixel (i, j) covering [i, i+1) x [j, j+1).
OpenCV samples pixel centres at integer coordinates, so :func:`warp_into` shifts
by half a pixel on both sides of a warp; the recorded corners then enclose
exactly the pixels the plate was drawn on.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...types import Box, Corners


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def posed_quad(width: float, height: float, yaw=0.0, pitch=0.0, roll=0.0, distance=4.0) -> np.ndarray:
    """The corners (TL, TR, BR, BL) of a ``width`` x ``height`` plate turned by yaw, pitch and roll
    (degrees) and seen by a pinhole camera ``distance`` plate-widths away, centred at the origin.

    At zero angles the quad is the plate itself; a closer camera exaggerates perspective.
    """
    corners = np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]]) * [width / 2, height / 2, 0]
    focal = distance * width
    points = corners @ _rotation(yaw, pitch, roll).T + [0, 0, focal]
    return points[:, :2] * (focal / points[:, 2:3])


def quad_box(quad: np.ndarray) -> Box:
    return (float(quad[:, 0].min()), float(quad[:, 1].min()), float(quad[:, 0].max()), float(quad[:, 1].max()))


def quad_height(quad: np.ndarray) -> float:
    """The plate's height in pixels along its own vertical edges (not the bounding box's)."""
    return float((np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2)


def as_corners(quad: np.ndarray) -> Corners:
    return tuple((float(x), float(y)) for x, y in quad)  # type: ignore[return-value]


def plate_homography(size: tuple[int, int], quad: np.ndarray) -> np.ndarray:
    """The 3x3 matrix taking a ``size`` = (w, h) image's corners to ``quad``."""
    w, h = size
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    return cv2.getPerspectiveTransform(src, np.float32(quad))


def transform_points(matrix: np.ndarray, points) -> np.ndarray:
    pts = np.asarray(points, np.float64).reshape(-1, 1, 2)
    return cv2.perspectiveTransform(pts, matrix).reshape(-1, 2)


_HALF = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])
_HALF_INV = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]])


def warp_into(dst: np.ndarray, src: np.ndarray, alpha: np.ndarray, quad: np.ndarray) -> None:
    """Draw ``src`` (with coverage ``alpha``) onto the float32 image ``dst`` in place so that its
    corners land on ``quad``.

    Only the quad's bounding box is warped; a source much larger than its footprint is
    first shrunk with area averaging so that fine strokes do not alias.
    """
    h, w = src.shape[:2]
    x0, y0 = int(np.floor(quad[:, 0].min())), int(np.floor(quad[:, 1].min()))
    x1, y1 = int(np.ceil(quad[:, 0].max())), int(np.ceil(quad[:, 1].max()))
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(dst.shape[1], x1), min(dst.shape[0], y1)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    footprint = max(x1 - x0, 1) / w
    if footprint < 0.7:
        scale = min(1.0, footprint * 1.4)
        sw, sh = max(2, round(w * scale)), max(2, round(h * scale))
        src = cv2.resize(src, (sw, sh), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, (sw, sh), interpolation=cv2.INTER_AREA)
        w, h = sw, sh
    local = quad - [cx0, cy0]
    matrix = _HALF_INV @ plate_homography((w, h), local) @ _HALF
    size = (cx1 - cx0, cy1 - cy0)
    warped = cv2.warpPerspective(src, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # The coverage is warped from a zero-padded alpha so that edges fade over one pixel.
    padded = cv2.copyMakeBorder(alpha, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    shift = np.array([[1, 0, -1], [0, 1, -1], [0, 0, 1]])
    cover = cv2.warpPerspective(padded, matrix @ shift, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    region = dst[cy0:cy1, cx0:cx1]
    a = cover[..., None].astype(np.float32) / 255.0
    region += a * (warped.astype(np.float32) - region)
