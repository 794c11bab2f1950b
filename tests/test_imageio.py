import io
import os
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from alprkit.errors import InputError
from alprkit.imageio import imwrite_atomic, list_images, read_image


@pytest.fixture(scope="module")
def rgb():
    """A 48x64 RGB image whose three channels all differ, so a channel swap shows."""
    y, x = np.mgrid[0:48, 0:64]
    return np.dstack([x * 4, y * 5, 255 - x * 2]).astype(np.uint8)


def pil_bytes(array, fmt, **save_args):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, fmt, **save_args)
    return buf.getvalue()


def cv2_bytes(array, suffix, params=()):
    ok, encoded = cv2.imencode(suffix, array, list(params))
    assert ok
    return encoded.tobytes()


def write(path, data):
    path.write_bytes(data)
    return path


def read_ok(path, **kwargs):
    frame = read_image(path, **kwargs)
    assert frame.pixels.dtype == np.uint8 and frame.pixels.ndim == 3 and frame.pixels.shape[2] == 3
    assert frame.pixels.flags["C_CONTIGUOUS"]
    assert frame.source == str(path) and frame.index == 0
    return frame.pixels


def read_fails(path, reason, **kwargs):
    with pytest.raises(InputError, match=reason) as info:
        read_image(path, **kwargs)
    assert info.value.path == str(path)
    return info.value


# --- pixels come out right ---------------------------------------------------------------------


def test_png_reads_as_rgb_exactly(tmp_path, rgb):
    assert np.array_equal(read_ok(write(tmp_path / "a.png", pil_bytes(rgb, "PNG"))), rgb)


@pytest.mark.parametrize("suffix", [".bmp", ".tif", ".webp"])
def test_lossless_formats_read_as_rgb_exactly(tmp_path, rgb, suffix):
    params = [cv2.IMWRITE_WEBP_QUALITY, 101] if suffix == ".webp" else []  # above 100: lossless WebP
    path = write(tmp_path / f"a{suffix}", cv2_bytes(rgb[..., ::-1], suffix, params))
    assert np.array_equal(read_ok(path), rgb)


def test_jpeg_matches_pillows_decoding(tmp_path, rgb):
    path = write(tmp_path / "a.jpg", pil_bytes(rgb, "JPEG", quality=95))
    reference = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert np.abs(read_ok(path).astype(int) - reference).mean() < 1.5


def test_non_ascii_file_name(tmp_path, rgb):
    path = write(tmp_path / "皖A512T3.jpg", pil_bytes(rgb, "JPEG"))
    assert read_ok(path).shape == (48, 64, 3)


def test_grayscale_becomes_three_equal_channels(tmp_path, rgb):
    gray = rgb[..., 1]
    pixels = read_ok(write(tmp_path / "g.png", pil_bytes(gray, "PNG")))
    assert all(np.array_equal(pixels[..., c], gray) for c in range(3))


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_dropped_keeping_the_stored_colour(tmp_path, rgb, mode):
    rgba = np.dstack([rgb, np.linspace(0, 255, 64, dtype=np.uint8)[None, :].repeat(48, 0)])
    image = Image.fromarray(rgba, "RGBA").convert(mode)
    path = tmp_path / f"{mode}.png"
    image.save(path)
    assert np.array_equal(read_ok(path), np.asarray(image.convert("RGB")))


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_is_scaled_to_8_bit(tmp_path, rgb, suffix):
    deep = rgb.astype(np.uint16) * 256 + 100  # the low byte is noise that must not leak in
    path = write(tmp_path / f"deep{suffix}", cv2_bytes(deep[..., ::-1], suffix))
    assert np.array_equal(read_ok(path), rgb)


def test_16_bit_grayscale(tmp_path, rgb):
    path = write(tmp_path / "deep_gray.png", cv2_bytes(rgb[..., 0].astype(np.uint16) << 8, ".png"))
    assert np.array_equal(read_ok(path)[..., 2], rgb[..., 0])


def test_float_grayscale_tiff_is_scaled_from_0_1(tmp_path):
    ramp = np.tile(np.linspace(-0.5, 1.5, 64, dtype=np.float32), (16, 1))
    pixels = read_ok(write(tmp_path / "f.tif", cv2_bytes(ramp, ".tif")))
    expected = (np.clip(ramp, 0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(pixels[..., 0], expected)


def test_exif_orientation_is_applied(tmp_path, rgb):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = write(tmp_path / "phone.jpg", pil_bytes(rgb, "JPEG", quality=100, exif=exif))
    pixels = read_ok(path)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(path))).astype(int)
    assert pixels.shape == (64, 48, 3)
    assert np.abs(pixels.astype(int) - upright).mean() < 1.5


def test_bytes_after_the_end_of_a_jpeg_are_ignored(tmp_path, rgb):
    path = write(tmp_path / "trailer.jpg", pil_bytes(rgb, "JPEG") + b"\x00" * 64 + b"camera trailer")
    assert read_ok(path).shape == (48, 64, 3)


def test_a_very_large_image_reads(tmp_path):
    # 108 M pixels: above Pillow's own warning limit, below ours; zeros compress to about 100 kB.
    zeros = np.zeros((9000, 12000), np.uint8)
    path = write(tmp_path / "big.png", cv2_bytes(zeros, ".png", [cv2.IMWRITE_PNG_COMPRESSION, 9]))
    pixels = read_ok(path)
    assert pixels.shape == (9000, 12000, 3) and pixels[4500, 6000].tolist() == [0, 0, 0]


# --- bad files give an InputError with a short reason -------------------------------------------


def test_missing_file(tmp_path):
    read_fails(tmp_path / "nope.jpg", "no such file")


def test_directory(tmp_path):
    (tmp_path / "folder.jpg").mkdir()
    read_fails(tmp_path / "folder.jpg", "is a directory")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path, rgb):
    path = write(tmp_path / "secret.png", pil_bytes(rgb, "PNG"))
    path.chmod(0)
    read_fails(path, "permission denied")


def test_empty_file(tmp_path):
    read_fails(write(tmp_path / "empty.jpg", b""), "empty file")


def test_text_named_jpg(tmp_path):
    read_fails(write(tmp_path / "notes.jpg", "plate: ABC123\n".encode()), "not an image")


def test_damaged_jpeg_header(tmp_path, rgb):
    read_fails(write(tmp_path / "head.jpg", pil_bytes(rgb, "JPEG")[:40]), "JPEG")


@pytest.mark.parametrize(
    "suffix, params",
    [(".jpg", []), (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]), (".png", [])],
    ids=["jpeg", "progressive-jpeg", "png"],
)
@pytest.mark.parametrize("kept", [0.2, 0.6, 0.99])
def test_truncated_files_are_reported_as_truncated(tmp_path, suffix, params, kept):
    noise = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    data = cv2_bytes(noise, suffix, params)
    read_fails(write(tmp_path / f"cut{suffix}", data[: int(len(data) * kept)]), "truncated")


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # Pillow's TIFF header parser, on the cut-off IFD
@pytest.mark.parametrize(
    "suffix, reason",
    # TIFF keeps its directory at the end and Pillow checks WebP data while reading the header.
    [(".bmp", "cannot decode BMP data"), (".tif", "damaged .* TIFF header"), (".webp", "damaged .* WEBP header")],
)
def test_truncated_files_of_other_formats_fail_cleanly(tmp_path, suffix, reason):
    noise = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    data = cv2_bytes(noise, suffix)
    read_fails(write(tmp_path / f"cut{suffix}", data[: len(data) // 2]), reason)


@pytest.mark.parametrize("size", [(4, 4), (100, 7), (7, 100)])
def test_tiny_images_are_too_small(tmp_path, size):
    width, height = size
    path = write(tmp_path / "tiny.png", pil_bytes(np.zeros((height, width, 3), np.uint8), "PNG"))
    read_fails(path, "too small")


def test_min_side_is_adjustable(tmp_path):
    path = write(tmp_path / "tiny.png", pil_bytes(np.zeros((4, 4, 3), np.uint8), "PNG"))
    assert read_ok(path, min_side=4).shape == (4, 4, 3)


def test_too_large_is_refused_from_the_header_alone(tmp_path, rgb):
    # A small PNG whose header claims 30000x30000: decoding it would fail, so "too large"
    # shows the size was checked first.
    data = bytearray(pil_bytes(rgb, "PNG"))
    struct.pack_into(">II", data, 16, 30000, 30000)  # IHDR width, height
    struct.pack_into(">I", data, 29, zlib.crc32(data[12:29]))  # IHDR's CRC over type and data
    read_fails(write(tmp_path / "bomb.png", bytes(data)), "too large")


def test_max_pixels_is_adjustable(tmp_path, rgb):
    path = write(tmp_path / "a.png", pil_bytes(rgb, "PNG"))
    read_fails(path, "too large", max_pixels=48 * 64 - 1)
    assert read_ok(path, max_pixels=48 * 64).shape == (48, 64, 3)


# --- writing and listing ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.png", "結果.png", "out.BMP"])
def test_imwrite_atomic_round_trips_rgb(tmp_path, rgb, name):
    imwrite_atomic(tmp_path / name, rgb)
    assert np.array_equal(read_ok(tmp_path / name), rgb)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_imwrite_atomic_jpeg_quality(tmp_path):
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    imwrite_atomic(tmp_path / "low.jpg", noise, quality=30)
    imwrite_atomic(tmp_path / "high.jpg", noise, quality=95)
    assert (tmp_path / "low.jpg").stat().st_size < (tmp_path / "high.jpg").stat().st_size


def test_imwrite_atomic_grayscale(tmp_path, rgb):
    imwrite_atomic(tmp_path / "g.png", rgb[..., 0])
    assert np.array_equal(read_ok(tmp_path / "g.png")[..., 1], rgb[..., 0])


def test_imwrite_atomic_unknown_format(tmp_path, rgb):
    with pytest.raises(InputError, match="cannot write"):
        imwrite_atomic(tmp_path / "out.xyz", rgb)
    assert list(tmp_path.iterdir()) == []


def test_list_images_is_recursive_sorted_and_case_insensitive(tmp_path):
    names = ["b.JPG", "a.png", "sub/c.jpeg", "sub/deeper/d.TIFF", "e.webp", "notes.txt", "clip.mp4", "f.bmp.bak"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "folder.png").mkdir()
    found = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert found == ["a.png", "b.JPG", "e.webp", "sub/c.jpeg", "sub/deeper/d.TIFF"]


def test_list_images_of_a_missing_folder(tmp_path):
    with pytest.raises(InputError, match="no such folder"):
        list_images(tmp_path / "nope")


def test_real_images_read(real_data):
    paths = list_images(real_data)[::50]
    assert paths
    for path in paths:
        read_ok(path)


def test_imwrite_as_scratch_converts_in_place_and_writes_the_same_image(tmp_path, rgb):
    mine = rgb.copy()
    imwrite_atomic(tmp_path / "kept.png", mine)
    assert np.array_equal(mine, rgb)  # not scratch: the caller's pixels stay as they were
    imwrite_atomic(tmp_path / "scratch.png", mine, scratch=True)
    assert np.array_equal(mine, rgb[..., ::-1])  # turned to BGR in place: no second copy of the image
    assert np.array_equal(read_image(tmp_path / "scratch.png").pixels, read_image(tmp_path / "kept.png").pixels)
