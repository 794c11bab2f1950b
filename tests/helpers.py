"""Shared test helpers: small generated data sets, bad files, hand-made scores, CLI runners.

Everything is generated in the test's temporary folder; nothing here touches real data.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from alprkit.data.crops import write_crops_tsv
from alprkit.data.jsonl import ANNOTATIONS
from alprkit.plugins import ENV_PLUGINS
from alprkit.types import CharScores, Crop, Detection, PlateObservation

REPO = Path(__file__).resolve().parents[1]

# Plates whose texts match the cn templates, so label checks and template filters accept them.
CN_PLATES = ("皖A12345", "京B67890", "沪C2468K", "粤D13579", "苏E97531", "浙F11223", "鲁G44556", "川H77889")


# -- running alprkit ---------------------------------------------------------------------


def plugin_env(pythonpath=None) -> dict:
    """The environment for a subprocess: every installed plugin (no ALPRKIT_PLUGINS), PYTHONPATH prepended.

    Torch gets one thread: on shared test machines its thread pool makes one-crop
    batches several times slower.
    """
    env = {k: v for k, v in os.environ.items() if k != ENV_PLUGINS}
    env["OMP_NUM_THREADS"] = "1"
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def run_alprkit(*args, env=None, script=False, timeout=120) -> subprocess.CompletedProcess:
    """``alprkit ARGS`` in a fresh interpreter (``python -m alprkit.cli``, or the installed script)."""
    command = [str(Path(sys.executable).parent / "alprkit")] if script else [sys.executable, "-m", "alprkit.cli"]
    return subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, env=env or plugin_env(), cwd=REPO,
        timeout=timeout,
    )


def run_python(code: str, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env or plugin_env(),
                          cwd=REPO, timeout=timeout)


def cli(capsys, *args):
    """``alprkit ARGS`` in this process (imports are shared, so much faster): (status, stdout, stderr)."""
    from alprkit.cli import main

    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def assert_one_line_error(status, stderr, *fragments):
    """A user mistake: exit 2, a single ``alprkit: error:`` line naming every fragment, no traceback."""
    lines = stderr.strip().splitlines()
    assert status == 2, stderr
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1 and lines[0].startswith("alprkit: error: "), stderr
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


# -- images and data sets -----------------------------------------------------------------


def plate_image(seed=0, size=(94, 24)) -> np.ndarray:
    """An RGB plate-like picture: light background with dark vertical strokes."""
    w, h = size
    rng = np.random.default_rng(seed)
    pixels = np.full((h, w, 3), 200, np.uint8) + rng.integers(0, 40, (h, w, 3), dtype=np.uint8)
    for x in range(4, w - 4, max(w // 8, 2)):
        pixels[h // 5 : h - h // 5, x : x + max(w // 40, 2)] = rng.integers(0, 60)
    return pixels


def write_rgb(path, pixels) -> Path:
    """Write RGB pixels with OpenCV (which stores BGR)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    return path


def write_crops(folder, texts=CN_PLATES, region="cn") -> Path:
    """A labels.tsv crops folder with one generated image per text."""
    folder = Path(folder)
    rows = []
    for i, text in enumerate(texts):
        write_rgb(folder / f"crop{i:03d}.png", plate_image(seed=i))
        rows.append((f"crop{i:03d}.png", text, region))
    write_crops_tsv(folder, rows)
    return folder


def write_scenes(folder, texts=CN_PLATES[:4], region="cn", size=(160, 120)) -> Path:
    """An annotations.jsonl folder: each image holds one plate-like patch with its box."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    lines = []
    for i, text in enumerate(texts):
        pixels = np.full((h, w, 3), 90, np.uint8)
        box = [20 + 5 * i, 30, 20 + 5 * i + 94, 54]
        pixels[box[1] : box[3], box[0] : box[2]] = plate_image(seed=i)
        write_rgb(folder / f"scene{i}.jpg", pixels)
        lines.append(json.dumps({"file": f"scene{i}.jpg", "region": region,
                                 "plates": [{"text": text, "box": box, "corners": None}]}, ensure_ascii=False))
    (folder / ANNOTATIONS).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def make_unreadable(path) -> Path:
    """A file that exists but cannot be read by this user.

    ``chmod 000`` stops nobody when tests run as root, so there the file is a link
    to ``/proc/self/mem``, whose first page is never mapped (reading it fails with EIO).
    """
    path = Path(path)
    if os.geteuid() == 0:
        os.symlink("/proc/self/mem", path)
    else:
        path.write_bytes(cv2.imencode(".png", plate_image())[1].tobytes())
        path.chmod(0)
    return path


def write_bad_images(folder) -> dict[str, str]:
    """Broken image files, each with a fragment of the reason alprkit must give for it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    make_unreadable(folder / "unreadable.png")
    jpeg = cv2.imencode(".jpg", plate_image(seed=9))[1].tobytes()
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.png").write_text("these are notes, not a picture\n")
    write_rgb(folder / "tiny.png", np.zeros((4, 4, 3), np.uint8))
    return {
        "unreadable.png": "input/output error" if os.geteuid() == 0 else "permission denied",
        "truncated.jpg": "truncated",
        "empty.jpg": "empty file",
        "notes.png": "not an image",
        "tiny.png": "too small",
    }


def write_odd_good_images(folder) -> list[str]:
    """Unusual but valid images: grayscale, RGBA and 16-bit PNGs."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    gray = cv2.cvtColor(plate_image(seed=3), cv2.COLOR_RGB2GRAY)
    assert cv2.imwrite(str(folder / "gray.png"), gray)
    rgba = np.dstack([plate_image(seed=4), np.full((24, 94), 128, np.uint8)])
    assert cv2.imwrite(str(folder / "rgba.png"), rgba)
    assert cv2.imwrite(str(folder / "deep16.png"), plate_image(seed=5).astype(np.uint16) * 257)
    return ["deep16.png", "gray.png", "rgba.png"]


def write_video(path, frames=12, size=(160, 96), fps=10) -> Path:
    """An MJPG AVI of a plate-like patch sliding right, one frame per step."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    plate = plate_image(seed=1, size=(60, 16))
    for i in range(frames):
        pixels = np.full((h, w, 3), 80, np.uint8)
        pixels[40:56, 10 + 4 * i : 70 + 4 * i] = plate
        writer.write(cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    writer.release()
    return Path(path)


def damage_frame(path, number):
    """Garble the start-of-frame segment of the JPEG that is frame ``number`` of an MJPG AVI."""
    data = bytearray(path.read_bytes())
    starts = [m.start() for m in re.finditer(b"\xff\xd8\xff", data)]  # JPEG start-of-image markers
    sof = data.index(b"\xff\xc0", starts[number])
    data[sof + 2 : sof + 19] = b"\xab" * 17
    path.write_bytes(bytes(data))


# -- hand-made component data --------------------------------------------------------------


def scores_for_path(path, alphabet, p=0.9, blank=0, region=None) -> CharScores:
    """CharScores whose most likely class at step t is ``path[t]`` with probability ``p``."""
    probs = np.full((len(path), len(alphabet)), (1 - p) / (len(alphabet) - 1))
    probs[np.arange(len(path)), path] = p
    return CharScores(probs, tuple(alphabet), blank=blank, region=region)


def observation(frame, box) -> PlateObservation:
    """A plate seen at ``box`` in ``frame`` (with a blank crop: tracking and selection never look at it)."""
    detection = Detection(box=tuple(float(v) for v in box), score=0.9)
    return PlateObservation(frame, detection, Crop(np.zeros((24, 94, 3), np.uint8), detection))


class FakeRecognizer:
    """Reads a crop's text from its first row of pixels, which holds class indices (0 = blank).

    Keeps plumbing tests free of torch and their expected reads exact: each pixel of
    that row becomes a near-certain CTC step.
    """

    input_size = (94, 24)

    def __init__(self, alphabet=("", *"ABCDEFGH0123456789"), region=None):
        self.alphabet = tuple(alphabet)
        self.region = region
        self.calls = 0

    def __call__(self, crops):
        self.calls += 1
        return [scores_for_path(list(c.pixels[0, :, 0]), self.alphabet, p=0.95, region=self.region) for c in crops]

    def encode(self, text) -> np.ndarray:
        """Crop pixels this recognizer reads as ``text`` (characters separated by blanks)."""
        path = []
        for char in text:
            path += [self.alphabet.index(char), 0]
        pixels = np.zeros((24, 94, 3), np.uint8)
        pixels[0, : len(path), 0] = path
        return pixels


@pytest.fixture(scope="module")
def one_torch_thread():
    """One thread for a module's in-process runs (see plugin_env): torch's, and the default of every
    backend built meanwhile (``alprkit.threads``); both restored afterwards."""
    import torch

    from alprkit.threads import pinned

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with pinned(1, "one thread for the tests (tests/helpers.py)"):
        yield
    torch.set_num_threads(before)
