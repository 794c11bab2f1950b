"""Interrupted work loses nothing: ``run`` and ``train`` killed with SIGKILL mid-way.

No half-written file may be left under its real name (writes go to a hidden temporary
file renamed into place), and ``train.resume=auto`` continues from the last checkpoint.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, plate_image, plugin_env, write_crops, write_rgb

from alprkit.atomic import is_temporary
from alprkit.imageio import read_image


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "alprkit.cli", *map(str, args)], cwd=REPO, env=plugin_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, process, timeout=120):
    end = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"finished before it could be interrupted (status {process.returncode}): {err[-2000:]}")
        if time.monotonic() > end:
            process.kill()
            pytest.fail("never reached the point to interrupt")
        time.sleep(0.05)


def kill(process):
    process.send_signal(signal.SIGKILL)
    return process.communicate(timeout=30)


def test_run_killed_mid_folder_leaves_only_whole_files(tmp_path):
    photos = tmp_path / "photos"
    rng = np.random.default_rng(0)
    for i in range(150):
        pixels = rng.integers(0, 255, (360, 480, 3), np.uint8)
        pixels[150:174, 200:294] = plate_image(seed=i)
        write_rgb(photos / f"car{i:03d}.jpg", pixels)
    out = tmp_path / "annotated"
    process = start("run", "pipeline=untrained", "progress=false", f"input={photos}", f"output={out}")
    wait_for(lambda: out.is_dir() and len(list(out.iterdir())) >= 10, process)
    kill(process)
    written = [p for p in out.iterdir() if not is_temporary(p)]
    assert 10 <= len(written) < 150
    for path in written:  # every file under its real name is whole
        assert read_image(path).pixels.shape == (360, 480, 3)
    # Running again finishes the folder and clears what the kill left behind.
    again = start("run", "pipeline=untrained", "progress=false", f"input={photos}", f"output={out}")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert len(list(out.iterdir())) == 150 and not any(map(is_temporary, out.iterdir()))


def test_train_killed_mid_run_resumes_from_its_last_checkpoint(tmp_path):
    import torch

    crops = write_crops(tmp_path / "crops")
    (crops / "crop000.png").write_bytes(b"")  # an unreadable image: named, not silently dropped
    with (crops / "labels.tsv").open("a", encoding="utf-8") as f:
        f.write("crop001.png\tIIII\tcn\n")  # a label outside the charset
    out = tmp_path / "run"
    common = ["train", "train=smoke", "dataset=crops", f"dataset.path={crops}", "train.val_every=5",
              "train.val_limit=4", "progress=true", f"output={out}"]
    process = start(*common, "train.steps=2000")
    last = out / "checkpoints" / "last.ckpt"
    wait_for(last.is_file, process, timeout=240)
    time.sleep(1.0)
    stdout, stderr = kill(process)

    assert stdout == ""  # progress and messages go to stderr; stdout is for results
    assert "Tip" not in stderr and "GPU available" not in stderr and "deprecated" not in stderr, stderr
    assert "skipped:" in stderr and "crop000.png: empty file" in stderr and "'I'" in stderr, stderr
    # Only a temporary file can be half-written (the kill may land mid-write); last.ckpt itself is whole.
    assert all(is_temporary(p) or p.suffix == ".ckpt" for p in last.parent.iterdir())
    step = torch.load(last, map_location="cpu", weights_only=True)["global_step"]
    assert 5 <= step < 2000

    resumed = subprocess.run([sys.executable, "-m", "alprkit.cli", *common[:-2], "progress=false", f"output={out}",
                              "train.resume=auto", f"train.steps={step + 3}"], cwd=REPO, env=plugin_env(),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((out / "result.json").read_text())["steps"] == step + 3
    assert not any(map(is_temporary, last.parent.iterdir()))  # resuming cleared what the kill left
    assert Path(out / "lprnet_basic.safetensors").is_file()


def test_resuming_removes_the_checkpoint_a_kill_left_half_written(tmp_path):
    pytest.importorskip("pytorch_lightning")
    from alprkit.commands.train import _resume_path

    checkpoints = tmp_path / "run" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "last.ckpt").write_bytes(b"whole")
    half = checkpoints / ".last.ckpt.1a2b3c4d.tmp"
    half.write_bytes(b"ha")
    assert _resume_path("auto", tmp_path / "run") == str(checkpoints / "last.ckpt")
    assert not half.exists() and (checkpoints / "last.ckpt").read_bytes() == b"whole"
