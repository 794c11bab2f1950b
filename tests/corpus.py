"""The bad-input corpus: files a new user feeds alprkit, each with what alprkit must say about it.

Every maker writes into a folder and returns ``{file name: fragment of the reason}``
for the items a batch must skip; nothing is downloaded, everything is generated.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
from helpers import make_unreadable, plate_image, write_rgb, write_video
from PIL import Image


def random_bytes(n, seed=0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def write_bad_images(folder) -> dict[str, str]:
    """Images a folder run must skip, each named with its reason, while it reads the rest."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    jpeg = cv2.imencode(".jpg", plate_image(seed=9))[1].tobytes()
    png = cv2.imencode(".png", plate_image(seed=8))[1].tobytes()
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "random.jpg").write_bytes(random_bytes(4096, seed=1))
    (folder / "random.png").write_bytes(random_bytes(512, seed=2))
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "truncated.png").write_bytes(png[: len(png) // 2])
    (folder / "notes.jpg").write_text("these are notes, not a picture\n")
    (folder / "page.png").write_text("<html><body>404 not found</body></html>\n")
    (folder / "header_only.jpg").write_bytes(jpeg[:200])
    write_rgb(folder / "one_pixel.png", np.zeros((1, 1, 3), np.uint8))
    write_rgb(folder / "line.png", np.zeros((1, 300, 3), np.uint8))
    os.symlink("loop.jpg", folder / "loop.jpg")  # a link to itself
    os.symlink("gone.jpg", folder / "dangling.png")
    make_unreadable(folder / "unreadable.png")
    return {
        "empty.jpg": "empty file",
        "random.jpg": "not an image",
        "random.png": "not an image",
        "truncated.jpg": "truncated",
        "truncated.png": "truncated",
        "notes.jpg": "not an image",
        "page.png": "not an image",
        "header_only.jpg": "truncated",
        "one_pixel.png": "too small",
        "line.png": "too small",
        "loop.jpg": "symbolic links",
        "dangling.png": "no such file",
        "unreadable.png": "input/output error" if os.geteuid() == 0 else "permission denied",
    }


def write_odd_images(folder) -> dict[str, tuple[int, int]]:
    """Unusual but valid images: {name: (height, width) alprkit must read}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pixels = plate_image(seed=3)
    assert cv2.imwrite(str(folder / "gray.png"), cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY))
    assert cv2.imwrite(str(folder / "gray.jpg"), cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY))
    assert cv2.imwrite(str(folder / "deep16.png"), pixels.astype(np.uint16) * 257)
    assert cv2.imwrite(str(folder / "rgba.png"), np.dstack([pixels, np.full((24, 94), 128, np.uint8)]))
    Image.fromarray(pixels).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(pixels).convert("P").save(folder / "palette.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    Image.fromarray(pixels).save(folder / "rotated.jpg", exif=exif)
    (folder / "png_named.jpg").write_bytes(cv2.imencode(".png", pixels)[1].tobytes())  # mislabelled, but an image
    (folder / "UPPER.JPG").write_bytes(cv2.imencode(".jpg", pixels)[1].tobytes())
    write_rgb(folder / "皖A12345.png", pixels)
    write_rgb(folder / "with space (1).png", pixels)
    return {"gray.png": (24, 94), "gray.jpg": (24, 94), "deep16.png": (24, 94), "rgba.png": (24, 94),
            "cmyk.jpg": (24, 94), "palette.png": (24, 94), "rotated.jpg": (94, 24), "png_named.jpg": (24, 94),
            "UPPER.JPG": (24, 94), "皖A12345.png": (24, 94), "with space (1).png": (24, 94)}


def write_bad_videos(folder) -> dict[str, str]:
    """Video files whose run must end in one line naming them (exit 2)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "random.avi").write_bytes(random_bytes(20000, seed=3))
    (folder / "notes.mp4").write_text("not a video\n")
    good = write_video(folder / "whole.avi", frames=12)
    data = good.read_bytes()
    (folder / "header_only.avi").write_bytes(data[:300])
    good.unlink()
    return {"empty.mp4": "empty file", "random.avi": "not a readable video", "notes.mp4": "not a readable video",
            "header_only.avi": "video"}


def write_weights_files(folder) -> dict[str, str]:
    """Weights files a recognizer cannot be built from: {name: fragment of the reason}."""
    import torch
    from safetensors.torch import save_file

    from alprkit.weights import load_weights, save_weights

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state, meta = load_weights(Path(__file__).resolve().parents[1] / "plugins/alprkit_lprnet/weights/lprnet_basic.cn.safetensors")
    first = sorted(state)[0]
    save_file({"a": torch.zeros(2)}, str(folder / "no_metadata.safetensors"))
    save_weights(folder / "missing_tensor.safetensors", {k: v for k, v in state.items() if k != first}, meta)
    save_weights(folder / "wrong_shape.safetensors", {**state, first: torch.zeros(3, 3)}, meta)
    (folder / "random.safetensors").write_bytes(random_bytes(1000, seed=4))
    (folder / "empty.safetensors").write_bytes(b"")
    (folder / "model.pt").write_bytes(b"PK\x03\x04" + random_bytes(100, seed=5))  # a pickle zip, never loaded
    (folder / "a_folder.safetensors").mkdir()
    return {
        "no_metadata.safetensors": "no alprkit metadata",
        "missing_tensor.safetensors": "missing tensors",
        "wrong_shape.safetensors": "has shape [3, 3]",
        "random.safetensors": "not a safetensors",
        "empty.safetensors": "not a safetensors",
        "model.pt": "not a safetensors",
        "a_folder.safetensors": "not a file",
    }


def write_jsonl_scenes(folder, good_lines) -> dict[int, str]:
    """An annotations.jsonl whose good lines are followed by broken ones: {line number: reason fragment}."""
    folder = Path(folder)
    bad = [
        ('{"file": "scene0.jpg",', "not valid JSON"),
        ('"just a string"', "must be a JSON object"),
        ('{"plates": []}', "no \"file\" key"),
        ('{"file": "scene0.jpg", "plates": {"text": "x"}}', "must be a list"),
        ('{"file": "scene0.jpg", "region": "cn", "plates": [{"text": 7}]}', "must be a string"),
        ('{"file": "scene0.jpg", "region": "xx", "plates": []}', "unknown region"),
        ('{"file": "scene0.jpg", "region": ["cn"], "plates": []}', "region must be"),
        ('{"file": "scene0.jpg", "region": "cn", "plates": [{"text": "皖A12345", "box": [1, 2, 3]}]}', "box"),
        ('{"file": "scene0.jpg", "region": "cn", "plates": [{"text": "皖A12345", "box": [5, 5, 1, 1]}]}', "x2 < x1"),
        ('{"file": "scene0.jpg", "region": "cn", "plates": [{"text": "皖A12345", "corners": [[0, 0]]}]}', "corners"),
        ('{"file": "scene0.jpg", "region": "cn", "plates": [{"text": "皖AI2345"}]}', "'I'"),
        ('{"file": "scene0.jpg", "region": "cn", "plates": ["x"]}', "must be an object"),
        ("[1, 2", "not valid JSON"),
        ('{"file": "scene0.jpg", "plates": [], "region": "cn"} trailing', "not valid JSON"),
    ]
    lines = [*good_lines, *(line for line, _ in bad)]
    (folder / "annotations.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {len(good_lines) + i + 1: reason for i, (_, reason) in enumerate(bad)}


BAD_CCPD_NAMES = {
    "not-a-ccpd-name.jpg": "not a CCPD file name",
    "025-95_113-154&383_386&473-386&473_177&454_154&383_363&402-0_0_22_27_27_33-37-15.jpg": "not a CCPD",  # 6 indices
    "025-95_113-154&383_386&473-386&473_177&454_154&383_363&402-99_0_22_27_27_33_16-37-15.jpg": "past its list",
    "025-95_113-154&383_386&473-386&473_177&454_154&383_363&402-0_99_22_27_27_33_16-37-15.jpg": "past its list",
    "025-95_113-154&383-386&473_177&454_154&383_363&402-0_0_22_27_27_33_16-37-15.jpg": "not a CCPD",  # 1 box corner
    "025-95_113-154&383_386&473-386&473_177&454_154&383_363&402-0_0_22_27_27_33_16-37.jpg": "not a CCPD",
}
GOOD_CCPD_NAME = "025-95_113-10&10_104&34-104&34_10&34_10&10_104&10-0_0_22_27_27_33_16-37-15.jpg"


def gbk(text: str) -> bytes:
    return text.encode("gbk")


def jsonl_line(file, text, box, region="cn") -> str:
    return json.dumps({"file": file, "region": region, "plates": [{"text": text, "box": box}]}, ensure_ascii=False)
