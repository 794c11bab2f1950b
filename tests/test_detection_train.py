"""``alprkit train detector=NAME``: a few steps of every stage, resume, weights that load, bad data."""

import json

import numpy as np
import pytest
from helpers import assert_one_line_error, cli, one_torch_thread, write_scenes  # noqa: F401 (a fixture)

from alprkit import plugins
from alprkit.testing import check_component
from alprkit.train.detection import SceneExamples
from alprkit.train.scenes import FolderScenes, TrainingScene, augment_scene
from alprkit.weights import load_weights

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Two steps per stage on small synthetic scenes and a tiny labelled folder.
TINY = ["train=smoke", "train.steps=2", "train.val_every=2", "train.val_limit=2", "train.batch_size=2",
        "dataset=scenes_cn", "+dataset.train.0.size=[360,240]", "dataset.val.0.count=2", "progress=false"]


@pytest.mark.slow
@pytest.mark.parametrize("name, stages", [("mtcnn", ["pnet", "onet"]), ("rpn_rcnn", ["rpn", "rcnn"])])
def test_every_stage_trains_resumes_and_writes_loadable_weights(capsys, tmp_path, name, stages):
    out = tmp_path / "run"
    args = ["train", f"detector={name}", f"detector.name={name}", "+detector.pretrained=false", *TINY, f"output={out}"]
    status, _, err = cli(capsys, *args)
    assert status == 0, err
    weights = out / f"{name}.safetensors"
    state, meta = load_weights(weights)
    assert meta["architecture"] == name and meta["steps"] == {s: 2 for s in stages}
    assert meta["command"].startswith("alprkit train") and meta["dtype"] == "float16"
    assert {str(v.dtype) for v in state.values() if v.is_floating_point()} == {"torch.float16"}
    assert all((out / "stages" / f"{s}.safetensors").is_file() and (out / s / "checkpoints" / "last.ckpt").is_file()
               for s in stages)
    assert (out / "logs" / stages[0] / "metrics.csv").is_file() and (out / "config.yaml").is_file()

    # Resuming a finished run trains nothing again and writes the same weights.
    trained = {s: (out / "stages" / f"{s}.safetensors").stat().st_mtime_ns for s in stages}
    status, _, err = cli(capsys, *args, "train.resume=auto")
    assert status == 0, err
    assert {s: (out / "stages" / f"{s}.safetensors").stat().st_mtime_ns for s in stages} == trained
    assert json.loads((out / "result.json").read_text())["steps"] == {s: 2 for s in stages}
    assert load_weights(weights)[0].keys() == state.keys()
    check_component("detector", plugins.registry().create("detector", name, weights=str(weights)))


def test_recognizer_crops_are_refused_for_detectors(capsys, tmp_path):
    status, _, err = cli(capsys, "train", "detector=mtcnn", "detector.name=mtcnn", "+detector.pretrained=false",
                         "train=smoke", "dataset=synth_cn", f"output={tmp_path}")
    assert_one_line_error(status, err, "'synth'", "scenes_cn")


def test_a_labelled_folder_trains_by_text_fold(tmp_path):
    folder = write_scenes(tmp_path / "scenes", size=(320, 240))
    everything = FolderScenes(folder)
    half = FolderScenes(folder, split={"folds": 2, "keep": 0})
    other = FolderScenes(folder, split={"folds": 2, "keep": 1})
    assert len(half.samples) + len(other.samples) == len(everything.samples) == 4
    assert not {s.path for s in half.samples} & {s.path for s in other.samples}
    scene = everything.sample(np.random.default_rng(0))
    assert scene.boxes.shape == (1, 4)  # no corners in the label: the box's corners stand in, untrained
    assert scene.corners_known.tolist() == [False]
    assert np.allclose(scene.corners[0], [[scene.boxes[0, 0], scene.boxes[0, 1]], [scene.boxes[0, 2], scene.boxes[0, 1]],
                                          [scene.boxes[0, 2], scene.boxes[0, 3]], [scene.boxes[0, 0], scene.boxes[0, 3]]])


def test_a_folder_skips_and_reports_bad_labels_and_unreadable_images(tmp_path, capsys):
    folder = write_scenes(tmp_path / "scenes", size=(320, 240))
    (folder / "scene1.jpg").write_bytes(b"not a picture")
    with (folder / "annotations.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"file": "scene9.jpg", "plates": [{"box": [1, 2]}]}\n')
    source = FolderScenes(folder)
    assert "annotations.jsonl:5" in capsys.readouterr().err
    rng = np.random.default_rng(0)
    assert all(source.sample(rng).image.shape == (240, 320, 3) for _ in range(30))
    assert "scene1.jpg" in capsys.readouterr().err
    assert sorted(s.path.name for s in source.samples) == ["scene0.jpg", "scene2.jpg", "scene3.jpg"]


def test_mirrored_scenes_keep_corners_in_reading_order():
    image = np.zeros((100, 200, 3), np.uint8)
    corners = np.array([[[20, 30], [80, 35], [78, 55], [22, 50]]], float)
    scene = TrainingScene(image, np.array([[20, 30, 80, 55.0]]), corners)
    rng = np.random.default_rng(1)
    mirrored = next(s for s in (augment_scene(scene, rng) for _ in range(20)) if s.boxes[0, 0] != 20)
    assert np.allclose(mirrored.boxes, [[120, 30, 180, 55]])
    # The old top-right corner, mirrored, is the new top-left one.
    assert np.allclose(mirrored.corners[0], [[120, 35], [180, 30], [178, 50], [122, 55]])


def test_scene_stream_yields_the_recipes_examples_of_each_scene(tmp_path):
    folder = FolderScenes(write_scenes(tmp_path / "scenes", size=(320, 240)))

    class Recipe:
        def examples(self, stage, scene, rng):
            return [(stage, scene.image.shape)] * len(scene.boxes)

    stream = iter(SceneExamples(Recipe(), "pnet", [folder], [1.0], seed=0))
    assert all(next(stream) == [("pnet", (240, 320, 3))] for _ in range(3))
