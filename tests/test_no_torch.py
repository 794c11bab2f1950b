"""The base install reads plates without PyTorch: `alprkit run` and the Python API in a process
where importing torch (and the rest of the train extra) fails, reading what the torch backends read.

The subprocesses get a ``sitecustomize.py`` on PYTHONPATH whose import hook refuses the
train extra's modules exactly as a missing package does (ModuleNotFoundError).
"""

import json
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
from helpers import REPO, assert_one_line_error, cli, json_lines, plugin_env, run_alprkit, run_python

from alprkit.extras import TRAIN_INSTALL, TRAIN_MODULES

BLOCKER = textwrap.dedent(f"""
    import sys

    BLOCKED = {sorted(TRAIN_MODULES)!r}


    class RefuseTrainExtra:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
            return None


    sys.meta_path.insert(0, RefuseTrainExtra())
""")


@pytest.fixture(scope="module")
def no_torch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("no_torch")
    (folder / "sitecustomize.py").write_text(BLOCKER)
    env = plugin_env(pythonpath=folder)
    probe = run_python("import torch", env=env)
    assert probe.returncode != 0 and "blocked by the test" in probe.stderr, "the import hook must refuse torch"
    return env


def _texts(records):
    return [(r["source"], r["text"], r["region"]) for r in records]


def test_run_reads_the_built_in_samples_as_torch_does(no_torch, capsys, tmp_path):
    result = run_alprkit("run", "progress=false", f"output={tmp_path}", env=no_torch)
    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.rglob("*.annotated.jpg"))) == 8  # labels drawn with the bundled font
    assert "Traceback" not in result.stderr
    status, out, _ = cli(capsys, "run", "progress=false", "recognizer.backend=torch")
    assert status == 0
    torch_reads, onnx_reads = json_lines(out), json_lines(result.stdout)
    assert len(onnx_reads) == 8 and _texts(onnx_reads) == _texts(torch_reads)
    for a, b in zip(onnx_reads, torch_reads):
        assert abs(a["confidence"] - b["confidence"]) <= 2e-4


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    from alprkit.data.synth.scenes import render_scene

    folder = tmp_path_factory.mktemp("scenes")
    rng = np.random.default_rng(5)
    for i, region in enumerate(["us", "cn", "us", "eu"]):
        scene = render_scene(rng, region, size=(1280, 720), max_plates=2)
        cv2.imwrite(str(folder / f"{i}.jpg"), cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR))
    return folder


API_SNIPPET = """
import json, sys
from pathlib import Path

import alprkit
from alprkit.imageio import list_images

photos, crops, blocked = sys.argv[1:]
found = {}
for pipeline, folder in (("lprnet_us_mtcnn", photos), ("lprnet_us_rpn_rcnn", photos), ("lprnet_global", crops)):
    reader = alprkit.Reader(pipeline)
    found[pipeline] = [[read.to_json() for read in reads] for reads in reader.read_batch(list_images(folder))]
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(blocked.split(",")))
print(json.dumps({"reads": found, "train_modules_loaded": loaded}))
"""


def test_the_python_api_reads_photos_and_crops_as_torch_does(no_torch, scenes):
    import alprkit
    from alprkit.imageio import list_images

    crops = REPO / "alprkit" / "samples" / "crops_us"
    result = subprocess.run([sys.executable, "-c", API_SNIPPET, str(scenes), str(crops), ",".join(TRAIN_MODULES)],
                            capture_output=True, text=True, env=no_torch, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["train_modules_loaded"] == []
    plates = 0
    for pipeline, onnx_reads in report["reads"].items():
        on_torch = ["recognizer.backend=torch"] + (["detector.backend=torch"] if "_us_" in pipeline else [])
        reader = alprkit.Reader(pipeline, *on_torch)
        images = list_images(crops if pipeline == "lprnet_global" else scenes)
        torch_reads = [[read.to_json() for read in reads] for reads in reader.read_batch(images)]
        assert len(onnx_reads) == len(torch_reads) == len(images)
        for got, expected in zip(onnx_reads, torch_reads):
            assert _texts(got) == _texts(expected), pipeline
            for a, b in zip(got, expected):
                assert np.allclose(a["box"], b["box"], atol=0.2), pipeline
            plates += len(got) if pipeline != "lprnet_global" else 0
    assert plates >= 4  # the detectors found plates: the comparison compared something


@pytest.mark.parametrize("args", [("train",), ("export",), ("run", "progress=false", "recognizer.backend=torch"),
                                  ("run", "progress=false", "pipeline=lprnet_us_mtcnn", "detector.backend=torch")])
def test_what_needs_the_train_extra_says_how_to_install_it(no_torch, args):
    result = run_alprkit(*args, env=no_torch)  # the fixture made sure torch is refused: nothing trains
    assert_one_line_error(result.returncode, result.stderr, TRAIN_INSTALL)
