"""Reading and writing images: every image alprkit reads comes through :func:`read_image`.

A bad file becomes an :class:`InputError` with a short reason, never a traceback.

Choices:
- Bytes are read in Python and decoded with ``cv2.imdecode``, so non-ASCII paths work
  (``cv2.imread`` fails on them on some platforms).
- ``IMREAD_ANYCOLOR | IMREAD_ANYDEPTH``: OpenCV expands palettes, drops alpha, keeps 16-bit
  and float samples for us to scale, and applies the EXIF orientation (``IMREAD_UNCHANGED``
  skips it, and phone photos would come out sideways). ``IMREAD_COLOR`` would also expand
  grayscale, but it fails on single-channel float TIFFs.
- Alpha is dropped, not composited: the stored colour is what cv2 and Pillow's
  ``convert("RGB")`` give too, so training and inference see the same pixels whichever
  library read an image, and no background colour has to be invented.
- The size is read from the header (Pillow, pixels untouched) and checked before decoding,
  so an oversized file costs no memory.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PIL import Image

from .atomic import write_bytes_atomic
from .errors import InputError
from .types import Frame

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
MAX_PIXELS = 200_000_000  # a 200-megapixel phone photo (16320x12240) still reads
MIN_SIDE = 8

_DECODE_FLAGS = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH
_TO_RGB = {1: cv2.COLOR_GRAY2RGB, 4: cv2.COLOR_BGRA2RGB}  # 3 channels (BGR) are swapped in place
_RGB_TO_BGR = {3: cv2.COLOR_RGB2BGR, 4: cv2.COLOR_RGBA2BGRA}
_QUALITY_FLAGS = {
    ".jpg": cv2.IMWRITE_JPEG_QUALITY,
    ".jpeg": cv2.IMWRITE_JPEG_QUALITY,
    ".webp": cv2.IMWRITE_WEBP_QUALITY,
}


def is_image(path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def list_images(folder) -> list[Path]:
    """Image files under ``folder`` (recursively, by suffix, any case), sorted.

    Links that lead nowhere (broken, or looping back on themselves) are listed too, so
    that reading reports them instead of a folder run passing over them in silence.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "no such folder" if not folder.exists() else "not a folder")
    return sorted(p for p in folder.rglob("*") if is_image(p) and (p.is_file() or _is_dead_link(p)))


def _is_dead_link(path: Path) -> bool:
    return path.is_symlink() and not path.exists()


def os_input_error(path, error: OSError) -> InputError:
    """The InputError for a file that could not be opened (missing, a folder, no permission...)."""
    reasons = {
        FileNotFoundError: "no such file",
        IsADirectoryError: "is a directory",
        PermissionError: "permission denied",
    }
    return InputError(path, reasons.get(type(error)) or error.strerror or str(error))


class NotAnImageError(InputError):
    """Bytes of no image format at all (a server answers 415 to them, not 422)."""


def read_image(path, max_pixels: int = MAX_PIXELS, min_side: int = MIN_SIDE) -> Frame:
    """Read an image file as an RGB uint8 :class:`Frame`, or raise :class:`InputError`."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise os_input_error(path, e) from None
    return decode_image(data, path, max_pixels, min_side)


def decode_image(data: bytes, path, max_pixels: int = MAX_PIXELS, min_side: int = MIN_SIDE) -> Frame:
    """Decode an encoded image (the bytes of a file or an upload) as an RGB uint8 :class:`Frame`.

    ``path`` names the bytes in errors and becomes the frame's ``source``.
    """
    if not data:
        raise InputError(path, "empty file")

    header = _read_header(path, data)
    width, height = header.size
    if min(width, height) < min_side:
        raise InputError(path, f"too small ({width}x{height} px; the minimum side is {min_side} px)")
    if width * height > max_pixels:
        reason = f"too large ({width}x{height} = {width * height:,} px; the limit is {max_pixels:,})"
        raise InputError(path, reason)
    is_complete = _COMPLETENESS_CHECKS.get(header.format)
    if is_complete is not None and not is_complete(data):
        raise InputError(path, f"truncated {header.format} file")

    try:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), _DECODE_FLAGS)
    except cv2.error as e:
        raise InputError(path, f"cannot decode {header.format} data ({e.err})") from None
    if pixels is None:
        raise InputError(path, f"cannot decode {header.format} data (corrupt file?)")
    return Frame(pixels=_to_rgb(path, _to_uint8(path, pixels)), source=str(path), index=0)


def frame_from_pixels(pixels, source: str = "<array>", min_side: int = MIN_SIDE) -> Frame:
    """A :class:`Frame` from a uint8 array: RGB (H, W, 3), grayscale (H, W) or (H, W, 1), or RGBA (alpha dropped).

    Anything else is an :class:`InputError` naming ``source``: a float or BGR-looking array
    would be read wrongly without a word.
    """
    if not isinstance(pixels, np.ndarray):
        raise InputError(source, f"expected a numpy array of pixels, got {type(pixels).__name__}")
    if pixels.dtype != np.uint8:
        raise InputError(source, f"pixels must be uint8 (0..255), got {pixels.dtype}")
    channels = 1 if pixels.ndim == 2 else pixels.shape[2] if pixels.ndim == 3 else None
    if channels not in (1, 3, 4):
        raise InputError(source, f"pixels must have shape (H, W, 3) RGB, (H, W) gray or (H, W, 4) RGBA, "
                                 f"got {pixels.shape}")
    height, width = pixels.shape[:2]
    if min(height, width) < min_side:
        raise InputError(source, f"too small ({width}x{height} px; the minimum side is {min_side} px)")
    if channels == 3:
        rgb = np.ascontiguousarray(pixels)
    else:
        rgb = cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB if channels == 1 else cv2.COLOR_RGBA2RGB)
    return Frame(pixels=rgb, source=source, index=0)


def imwrite_atomic(path, rgb_pixels: np.ndarray, quality: int = 95, scratch: bool = False) -> None:
    """Encode RGB (or RGBA, or grayscale) pixels in the format of ``path``'s suffix and write atomically.

    ``quality`` applies to JPEG and WebP. ``scratch``: the caller's pixels may be overwritten (turned
    to BGR in place), which saves a copy of a large image.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    pixels = np.asarray(rgb_pixels)
    to_bgr = _RGB_TO_BGR.get(pixels.shape[2]) if pixels.ndim == 3 else None
    if to_bgr is not None:
        in_place = scratch and pixels.flags.writeable and pixels.flags.c_contiguous and pixels.shape[2] == 3
        pixels = cv2.cvtColor(pixels, to_bgr, dst=pixels) if in_place else cv2.cvtColor(pixels, to_bgr)
    params = [_QUALITY_FLAGS[suffix], int(quality)] if suffix in _QUALITY_FLAGS else []
    try:
        ok, encoded = cv2.imencode(suffix, pixels, params)
    except cv2.error as e:
        raise InputError(path, f"cannot write an image as '{suffix}' ({e.err})") from None
    if not ok:
        raise InputError(path, f"cannot write an image as '{suffix}'")
    write_bytes_atomic(path, encoded)



def _read_header(path, data: bytes) -> Image.Image:
    """Pillow's view of the header (``format``, ``size``) without decoding pixels.

    This is what ``Image.open`` does, minus its decompression-bomb check: that refuses images
    over about 179 M pixels, below our own ``max_pixels`` default, which we check ourselves.
    """
    Image.init()
    prefix = data[:16]
    problem = None
    for format_id in Image.ID:
        factory, accept = Image.OPEN[format_id]
        looks_like = accept is None or accept(prefix)  # None: formats without a signature to check
        if not looks_like or isinstance(looks_like, str):  # a str is Pillow's "recognised but unsupported"
            continue
        try:
            return factory(io.BytesIO(data))
        except (SyntaxError, OSError, ValueError, IndexError, TypeError, struct.error) as e:
            if accept is not None:  # the signature matched: the file is of this format, but damaged
                problem = problem or f"damaged or unsupported {format_id} header ({e})"
    if problem:
        raise InputError(path, problem)
    raise NotAnImageError(path, "not an image (unknown format)")


def _jpeg_is_complete(data: bytes) -> bool:
    # Entropy-coded data escapes every 0xFF byte, so an end-of-image marker after the last
    # start-of-scan marker is the real end; bytes some cameras append after it are fine.
    return data.rfind(b"\xff\xd9") > data.rfind(b"\xff\xda")


def _png_is_complete(data: bytes) -> bool:
    # Walk the chunks (length, type, data, CRC) from after the 8-byte signature to a whole IEND.
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        pos += 12 + length
        if kind == b"IEND":
            return pos <= len(data)
    return False


# Cut-off files of these formats have decoded as partly grey images (libjpeg in OpenCV 4) rather than
# failing; checking the structure also gives a clearer reason than a decoder error.
_COMPLETENESS_CHECKS: dict[str, Callable[[bytes], bool]] = {
    "JPEG": _jpeg_is_complete,
    "MPO": _jpeg_is_complete,  # Pillow's name for multi-picture JPEGs from stereo and some phone cameras
    "PNG": _png_is_complete,
}


def _to_uint8(path, pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        return (pixels >> 8).astype(np.uint8)
    if np.issubdtype(pixels.dtype, np.floating):  # float images store 0..1
        return (np.clip(pixels, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise InputError(path, f"unsupported pixel type {pixels.dtype}")


def _to_rgb(path, pixels: np.ndarray) -> np.ndarray:
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if channels == 3:
        return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB, dst=pixels)  # in place: no second copy of a large image
    if channels not in _TO_RGB:
        raise InputError(path, f"unsupported number of channels ({channels})")
    return cv2.cvtColor(pixels, _TO_RGB[channels])
