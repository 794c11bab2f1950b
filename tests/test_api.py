"""The Python API (``alprkit.Reader``, ``alprkit.components``): the same reads as ``alprkit run``."""

import importlib.util
import re
import threading
import warnings

import cv2
import numpy as np
import pytest
from helpers import (
    REPO,
    FakeRecognizer,
    cli,
    damage_frame,
    json_lines,
    one_torch_thread,  # noqa: F401 (a fixture)
    run_python,
)

import alprkit
from alprkit import plugins
from alprkit.errors import AlprkitError, ConfigError, InputError
from alprkit.imageio import read_image
from alprkit.pipeline import Pipeline
from alprkit.types import Frame, PlateRead, StreamResult

# One torch thread in this process's reads, where torch is installed (the base install reads without it).
pytestmark = [pytest.mark.usefixtures("one_torch_thread")] if importlib.util.find_spec("torch") else []

SAMPLES = sorted((REPO / "alprkit" / "samples" / "crops_cn" / "base").glob("*.jpg"))


@pytest.fixture(scope="module")
def reader():
    return alprkit.Reader("lprnet_cn")


@pytest.fixture(scope="module")
def run_lines():
    """What ``alprkit run pipeline=lprnet_cn`` prints for the built-in cn samples (in this process)."""
    from alprkit.cli import main

    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["run", "pipeline=lprnet_cn", "progress=false"]) == 0
    return json_lines(out.getvalue())


def one_line(error: Exception) -> str:
    message = str(error)
    assert "\n" not in message and message, message
    return message


# -- import and listing --------------------------------------------------------------------


def test_import_alprkit_loads_no_model_library():
    result = run_python(
        "import sys, alprkit\n"
        "assert 'omegaconf' not in sys.modules, 'import alprkit composes nothing'\n"
        "alprkit.Reader, alprkit.components\n"
        "heavy = {'torch', 'timm', 'lightning', 'pytorch_lightning', 'fastapi', 'onnxruntime'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "print(sorted(alprkit.components()))\n")
    assert result.returncode == 0, result.stderr
    assert "recognizer" in result.stdout and "pipeline" in result.stdout


def test_dir_and_unknown_attributes():
    assert {"Reader", "components"} <= set(dir(alprkit))
    with pytest.raises(AttributeError, match="no attribute 'Readr'"):
        alprkit.Readr  # noqa: B018


def test_components_lists_what_each_group_accepts():
    assert {"lprnet_cn", "lprnet_stn", "lprnet_us_mtcnn", "untrained"} <= set(alprkit.components("pipeline"))
    assert {"lprnet_cn", "lprnet_basic", "lprnet_global"} <= set(alprkit.components("recognizer"))
    assert {"mtcnn", "whole_image"} <= set(alprkit.components("detector"))
    every = alprkit.components()
    assert every["decoder"] == alprkit.components("decoder") and {"beam", "greedy"} <= set(every["decoder"])
    with pytest.raises(ConfigError, match="unknown kind 'recogniser'") as error:
        alprkit.components("recogniser")
    one_line(error.value)


# -- reading images --------------------------------------------------------------------------


def test_reads_the_samples_as_run_does(reader, run_lines):
    reads = [read for path in SAMPLES for read in reader(str(path))]
    assert all(isinstance(read, PlateRead) for read in reads)
    assert [read.to_json() for read in reads] == run_lines
    assert reader.name == "lprnet_cn" and not reader.pipeline.times.seconds  # a long-lived reader keeps no timings


def test_read_batch_gives_the_same_reads_in_order(reader, run_lines):
    batches = reader.read_batch([str(p) for p in SAMPLES])
    assert [r.to_json() for reads in batches for r in reads] == run_lines
    assert reader.read_batch([]) == []


def test_arrays_bytes_paths_and_frames(reader, run_lines):
    path = SAMPLES[1]
    expected = run_lines[1]["text"]
    pixels = read_image(path).pixels
    for item in (path, pixels, path.read_bytes(), Frame(pixels, source="mine")):
        [read] = reader(item)
        assert read.recognition.text == expected, type(item)
    assert reader(pixels)[0].source == "<array>" and reader(path.read_bytes())[0].source == "<bytes>"
    gray = np.ascontiguousarray(pixels[:, :, 1])
    assert len(reader(gray)) == 1 and len(reader(np.dstack([pixels, np.full(pixels.shape[:2], 9, np.uint8)]))) == 1


@pytest.mark.parametrize("pixels, fragment", [
    (np.zeros((24, 94, 3), np.float32), "must be uint8"),
    (np.zeros((24, 94, 2), np.uint8), "must have shape"),
    (np.zeros((4, 94, 3), np.uint8), "too small"),
], ids=["float", "two-channels", "tiny"])
def test_bad_arrays_are_one_line_input_errors(reader, pixels, fragment):
    with pytest.raises(InputError, match=fragment) as error:
        reader(pixels)
    assert one_line(error.value).startswith("<array>: ")


def test_bad_files_name_the_file(reader, tmp_path):
    (tmp_path / "notes.jpg").write_text("not a picture")
    for path, fragment in [(tmp_path / "missing.jpg", "no such file"), (tmp_path / "notes.jpg", "not an image"),
                           (tmp_path, "is a folder")]:
        with pytest.raises(InputError, match=fragment) as error:
            reader(path)
        assert str(path) in one_line(error.value)
    with pytest.raises(InputError, match="notes.jpg: not an image"):
        reader.read_batch([SAMPLES[0], tmp_path / "notes.jpg"])
    with pytest.raises(TypeError, match="cannot read a int"):
        reader(3)


def test_read_many_recognizes_every_frame_in_one_call():
    registry = plugins.registry()
    recognizer = FakeRecognizer()
    pipeline = Pipeline(registry.create("detector", "whole_image"), registry.create("rectifier", "identity"),
                        recognizer, registry.create("decoder", "greedy"), timed=False)
    frames = [Frame(recognizer.encode(text), source=f"{i}.png") for i, text in enumerate(["AB12", "", "H0"])]
    batched = pipeline.read_many(frames)
    assert recognizer.calls == 1
    assert [[(r.source, r.recognition.text) for r in reads] for reads in batched] == \
        [[("0.png", "AB12")], [("1.png", "")], [("2.png", "H0")]]
    assert [pipeline.read(frame) for frame in frames] == batched and not pipeline.times.seconds


# -- configuration ----------------------------------------------------------------------------


def test_overrides_as_strings_and_keywords():
    reader = alprkit.Reader("lprnet_cn", "decoder.top_n=3", decoder="greedy", batch_size=2)
    assert reader.config.decoder.name == "greedy" and reader.config.decoder.top_n == 3
    assert reader.config.batch_size == 2 and reader.pipeline.decoder.__class__.__name__ != "BeamDecoder"
    [read] = reader(SAMPLES[2])
    assert len(read.recognition.candidates) == 3
    assert "decoder='greedy'" in repr(reader)


def test_a_detector_pipeline_with_any_detector():
    reader = alprkit.Reader("lprnet_stn", detector="mtcnn")
    assert str(reader.config.detector.name).startswith("mtcnn") and reader.name == "lprnet_stn"
    assert isinstance(reader(SAMPLES[0]), list)  # a crop is no photo: any number of plates, no error


@pytest.mark.parametrize("args, settings, fragments", [
    (("nope",), {}, ["unknown pipeline 'nope'", "lprnet_cn"]),
    (("lprnet_cn", "decoder.beam_widht=3"), {}, ["'decoder.beam_widht'"]),
    (("lprnet_cn", "decoder.beam_width=-3"), {}, ["beam_width", "-3"]),
    (("lprnet_cn",), {"detector": "nope"}, ["unknown detector 'nope'"]),
    (("lprnet_cn",), {"batch_size": 0}, ["batch_size must be >= 1"]),
    (("lprnet_cn",), {"decoder": {"beam", "greedy"}}, ["setting value", "set"]),
    (("lprnet_cn", "beam"), {}, ["'key=value'"]),
    (("lprnet_cn", "+rectifier.marginn=0.1"), {}, ["marginn"]),
    (("lprnet_cn",), {"video": {"step": 0}}, ["video.step must be >= 1"]),
], ids=["pipeline", "key", "value", "group", "batch-size", "set", "no-equals", "parameter", "nested"])
def test_mistakes_are_one_line_errors_before_any_model_loads(args, settings, fragments):
    with pytest.raises(AlprkitError) as error:
        alprkit.Reader(*args, **settings)
    message = one_line(error.value)
    for fragment in fragments:
        assert fragment in message


def test_string_settings_stay_strings():
    from alprkit.api import settings_overrides

    assert settings_overrides({"detector": "mtcnn", "video": None, "flag": True, "n": 3, "a": {"b": {"c": 1.5}}}) \
        == ["detector='mtcnn'", "video=null", "flag=true", "n=3", "a.b.c=1.5"]
    [quoted] = settings_overrides({"note": "皖A (1)"})
    assert quoted == "note='皖A (1)'"


def test_readers_can_be_made_in_threads():
    from alprkit.config import compose

    results, errors = [], []

    def compose_one(decoder):
        try:
            results.append(compose("api", ["pipeline=untrained", f"decoder={decoder}"]).decoder.name)
        except Exception as exc:  # collected: an assertion inside a thread would be lost
            errors.append(exc)

    threads = [threading.Thread(target=compose_one, args=(d,)) for d in ("beam", "greedy") * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(results) == ["beam", "beam", "greedy", "greedy"]


# -- video --------------------------------------------------------------------------------------


def plate_video(path, frames=12):
    """An MJPG AVI whose every frame is a built-in sample crop at twice its size: one vehicle, one text."""
    pixels = cv2.resize(read_image(SAMPLES[0]).pixels, (188, 48))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (188, 48))
    for _ in range(frames):
        writer.write(cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_a_video_gives_one_result_per_vehicle_as_run(reader, tmp_path, capsys):
    video = plate_video(tmp_path / "clip.avi")
    status, out, _ = cli(capsys, "run", "pipeline=lprnet_cn", "progress=false", f"input={video}")
    assert status == 0
    results = reader(str(video))
    assert all(isinstance(r, StreamResult) for r in results)
    assert [r.to_json(str(video)) for r in results] == json_lines(out)
    assert [r.recognition.text for r in results] == ["皖A2U4X6"]


def test_bad_frames_are_reported_not_dropped(tmp_path):
    video = plate_video(tmp_path / "clip.avi")
    damage_frame(video, 5)
    reader = alprkit.Reader("lprnet_cn", video={"step": 1})
    bad = []
    [vehicle] = reader.read_video(video, on_bad_frame=lambda item, reason: bad.append((item, reason)))
    assert bad == [(f"{video}#frame=5", "unreadable (damaged data)")] and 5 not in vehicle.recognized_frames
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        list(reader.read_video(video))
    assert [str(w.message) for w in caught] == [f"{video}#frame=5: unreadable (damaged data) (skipped)"]
    with pytest.raises(InputError, match="is a video"):
        reader.read_batch([video])


# -- the README's example ---------------------------------------------------------------------------


def test_the_readme_example_runs(monkeypatch, capsys):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Python API") : readme.index("## Serving over HTTP")]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(REPO)
    exec(compile(code, "README.md (Python API)", "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("皖A2U4X6 ") and "alprkit/samples/crops_cn/base/000003.jpg ['皖A4WL52']" in out
