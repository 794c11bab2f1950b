"""The pipeline's plumbing, the rectifiers, and ``alprkit run`` on bad and unusual input."""

import io
from contextlib import redirect_stderr

import cv2
import numpy as np
import pytest
from helpers import (
    FakeRecognizer,
    assert_one_line_error,
    cli,
    damage_frame,
    json_lines,
    one_torch_thread,  # noqa: F401 (a fixture)
    plate_image,
    run_alprkit,
    write_bad_images,
    write_odd_good_images,
    write_rgb,
    write_video,
)
from omegaconf import OmegaConf

from alprkit import plugins
from alprkit.config import compose
from alprkit.draw import CORNERS
from alprkit.errors import AlprkitError, ConfigError
from alprkit.imageio import read_image
from alprkit.pipeline import STAGES, Pipeline, build_component
from alprkit.types import Crop, Detection, Frame

pytestmark = pytest.mark.usefixtures("one_torch_thread")

registry = plugins.registry()


def basic_pipeline(recognizer, detector=None, rectifier=None, postfilters=()):
    return Pipeline(
        detector=detector or registry.create("detector", "whole_image"),
        rectifier=rectifier or registry.create("rectifier", "identity"),
        recognizer=recognizer,
        decoder=registry.create("decoder", "greedy"),
        postfilters=postfilters,
    )


class EncodingRectifier:
    """Hands the recognizer a crop that reads as the text assigned to the detection's box."""

    def __init__(self, recognizer, texts):
        self.recognizer, self.texts = recognizer, texts

    def __call__(self, frame, detection, size):
        return Crop(self.recognizer.encode(self.texts[detection.box]), detection)


# -- plumbing ---------------------------------------------------------------------------------


def test_read_runs_every_stage_and_times_them():
    recognizer = FakeRecognizer()
    pipeline = basic_pipeline(recognizer)
    [read] = pipeline.read(Frame(recognizer.encode("AB12"), source="x.png", index=3))
    assert (read.source, read.frame, read.recognition.text) == ("x.png", 3, "AB12")
    assert read.detection.box == (0.0, 0.0, 94.0, 24.0)
    assert read.to_json()["text"] == "AB12" and read.to_json()["frame"] == 3
    assert all(len(pipeline.times.seconds[stage]) == 1 for stage in STAGES)


def test_all_crops_of_a_frame_are_recognized_in_one_batch():
    recognizer = FakeRecognizer()
    boxes = {(0.0, 0.0, 50.0, 20.0): "AB1", (60.0, 0.0, 110.0, 20.0): "CD2", (0.0, 30.0, 50.0, 50.0): "EF3"}
    pipeline = basic_pipeline(recognizer, detector=lambda frame: [Detection(box) for box in boxes],
                              rectifier=EncodingRectifier(recognizer, boxes))
    reads = pipeline.read(Frame(np.zeros((60, 120, 3), np.uint8)))
    assert [r.recognition.text for r in reads] == list(boxes.values())
    assert [r.detection.box for r in reads] == list(boxes)
    assert recognizer.calls == 1


def test_postfilters_run_in_order_and_none_drops_the_read():
    recognizer = FakeRecognizer()
    boxes = {(0.0, 0.0, 50.0, 20.0): "AB1", (60.0, 0.0, 110.0, 20.0): "CD22"}
    seen = []

    def shorten(recognition):
        seen.append(("shorten", recognition.text))
        return type(recognition)(recognition.text[:3], confidence=recognition.confidence)

    def drop_c(recognition):
        seen.append(("drop_c", recognition.text))
        return None if recognition.text.startswith("C") else recognition

    pipeline = basic_pipeline(recognizer, detector=lambda frame: [Detection(box) for box in boxes],
                              rectifier=EncodingRectifier(recognizer, boxes), postfilters=[shorten, drop_c])
    frame = Frame(np.zeros((60, 120, 3), np.uint8))
    assert len(pipeline.observe(frame)) == 2
    assert [r.recognition.text for r in pipeline.read(frame)] == ["AB1"]
    assert seen[-4:] == [("shorten", "AB1"), ("drop_c", "AB1"), ("shorten", "CD22"), ("drop_c", "CD2")]


def test_a_frame_without_plates_reads_nothing():
    recognizer = FakeRecognizer()
    pipeline = basic_pipeline(recognizer, detector=lambda frame: [])
    assert pipeline.read(Frame(np.zeros((30, 30, 3), np.uint8))) == []
    assert recognizer.calls == 0


def test_from_config_builds_the_configured_components():
    cfg = compose("run", ["pipeline=untrained", "decoder=beam", "decoder.top_n=2", "postfilter=[template,charset]",
                          "selector=last_frame"])
    pipeline = Pipeline.from_config(cfg)
    assert pipeline.name == "untrained"
    assert type(pipeline.decoder).__name__ == "BeamSearchDecoder" and pipeline.decoder.top_n == 2
    assert [type(p).__name__ for p in pipeline.postfilters] == ["TemplateFilter", "CharsetFilter"]
    assert type(pipeline.selector).__name__ == "LastFrame"
    assert pipeline.recognizer.input_size == (94, 24) and pipeline.recognizer.alphabet[0] == ""
    [read] = pipeline.read(Frame(plate_image(size=(120, 32))))
    assert read.recognition.region == "cn"


@pytest.mark.parametrize("node, fragments", [
    ({"name": "greedy", "top_nn": 3}, ["decoder 'greedy'", "top_nn"]),
    ({"name": "gredy"}, ["unknown decoder 'gredy'", "did you mean 'greedy'?"]),
    ({"top_n": 3}, ["no 'name' key"]),
    ({"name": "greedy", "top_n": 0}, ["top_n must be >= 1"]),
])
def test_build_component_mistakes_are_one_line_errors(node, fragments):
    with pytest.raises(AlprkitError) as error:
        build_component("decoder", OmegaConf.create(node))
    assert all(fragment in str(error.value) for fragment in fragments) and "\n" not in str(error.value)


def test_video_needs_a_selector():
    pipeline = basic_pipeline(FakeRecognizer())
    with pytest.raises(ConfigError, match="selector"):
        list(pipeline.read_video([Frame(np.zeros((24, 94, 3), np.uint8))]))


# -- rectifiers ----------------------------------------------------------------------------------

COLOUR = (30, 200, 60)
QUAD = ((112.0, 61.0), (305.0, 93.0), (296.0, 171.0), (98.0, 132.0))  # TL, TR, BR, BL: skewed and rotated


@pytest.fixture(scope="module")
def quad_frame():
    pixels = np.full((240, 400, 3), 128, np.uint8)
    pixels[::7] = 0  # background lines: any background pixel in a crop shows
    cv2.fillPoly(pixels, [np.round(np.array(QUAD)).astype(np.int32)], COLOUR)
    return Frame(pixels)


def corner_box(quad):
    xs, ys = zip(*quad)
    return (min(xs), min(ys), max(xs), max(ys))


def colour_fraction(pixels, border=2):
    inner = pixels[border:-border, border:-border].astype(int)
    return float(np.mean(np.abs(inner - COLOUR).max(axis=2) <= 12))


def test_perspective_rectifier_maps_the_quad_onto_the_crop(quad_frame):
    rectifier = registry.create("rectifier", "perspective")
    detection = Detection(corner_box(QUAD), corners=QUAD)
    crop = rectifier(quad_frame, detection, (94, 24))
    assert crop.pixels.shape == (24, 94, 3) and crop.pixels.dtype == np.uint8
    assert colour_fraction(crop.pixels) == 1.0
    corners = np.array([[0, 0, 1], [94, 0, 1], [94, 24, 1], [0, 24, 1]], float).T
    mapped = crop.transform @ corners
    assert np.allclose((mapped[:2] / mapped[2]).T, QUAD, atol=0.5)


def test_identity_rectifier_crops_the_box_without_correction(quad_frame):
    detection = Detection(corner_box(QUAD), corners=QUAD)
    crop = registry.create("rectifier", "identity")(quad_frame, detection, (94, 24))
    assert 0.3 < colour_fraction(crop.pixels) < 0.95  # the box holds background around the skewed plate
    x1, y1, x2, y2 = (int(v) for v in detection.box)
    expected = cv2.resize(quad_frame.pixels[y1:y2, x1:x2], (94, 24), interpolation=cv2.INTER_AREA)
    assert np.abs(crop.pixels.astype(int) - expected).mean() < 12
    mapped = crop.transform @ np.array([[0, 0, 1], [94, 24, 1]], float).T
    assert np.allclose((mapped[:2] / mapped[2]).T, [(x1, y1), (x2, y2)], atol=0.5)


def test_identity_rectifier_keeps_left_and_right_apart():
    pixels = np.zeros((100, 200, 3), np.uint8)
    pixels[20:60, 40:100] = (255, 0, 0)
    pixels[20:60, 100:160] = (0, 0, 255)
    crop = registry.create("rectifier", "identity")(Frame(pixels), Detection((40, 20, 160, 60)), (94, 24)).pixels
    # The last row and column blend with the frame beyond the box's edge.
    assert (crop[:-1, :45, 0] > 240).all() and (crop[:-1, 49:-1, 2] > 240).all()


def test_rectifier_margin_widens_the_crop(quad_frame):
    detection = Detection(corner_box(QUAD), corners=QUAD)
    tight = registry.create("rectifier", "perspective")(quad_frame, detection, (94, 24))
    wide = registry.create("rectifier", "perspective", margin=0.2)(quad_frame, detection, (94, 24))
    assert colour_fraction(wide.pixels) < 0.7 < colour_fraction(tight.pixels)
    with pytest.raises(ConfigError, match="margin"):
        registry.create("rectifier", "perspective", margin=1.5)


# -- alprkit run on bad and unusual input -------------------------------------------------------------

RUN = ("run", "pipeline=untrained", "progress=false")


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mixed")
    good = [write_rgb(folder / f"plate{i}.jpg", plate_image(seed=i)).name for i in range(2)]
    good += write_odd_good_images(folder)
    bad = write_bad_images(folder)
    return folder, sorted(good), bad


@pytest.fixture(scope="module")
def mixed_run(mixed_folder, tmp_path_factory):
    """``alprkit run`` over the mixed folder, writing annotated images (one process for several tests)."""
    output = tmp_path_factory.mktemp("annotated")
    return run_alprkit(*RUN, f"input={mixed_folder[0]}", f"output={output}"), output


def test_run_prints_the_good_images_reads(mixed_folder, mixed_run):
    _, good, _ = mixed_folder
    result, _ = mixed_run
    reads = json_lines(result.stdout)
    assert sorted(r["source"].rsplit("/", 1)[1] for r in reads) == good
    assert all(isinstance(r["text"], str) and r["region"] == "cn" for r in reads)
    assert all(r["box"] == [0.0, 0.0, 94.0, 24.0] for r in reads)


def test_run_reports_the_bad_images_at_the_end_and_exits_1(mixed_folder, mixed_run):
    _, good, bad = mixed_folder
    result, _ = mixed_run
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    summary = lines.index(f"alprkit: {len(good)} images read, {len(good)} plates, {len(bad)} failed")
    failed = lines[summary + 1 :]
    assert len(failed) == len(bad) and all(line.startswith("  failed: ") for line in failed)
    for name, reason in bad.items():
        [line] = [line for line in failed if f"/{name}: " in line]
        assert reason in line.lower(), line


def test_run_writes_one_annotated_image_per_good_image(mixed_folder, mixed_run):
    _, good, _ = mixed_folder
    _, output = mixed_run
    written = sorted(p.name for p in output.iterdir())
    assert written == sorted(f"{name.rsplit('.', 1)[0]}.annotated.jpg" for name in good)  # and no temp files
    annotated = cv2.cvtColor(cv2.imread(str(output / "plate0.annotated.jpg")), cv2.COLOR_BGR2RGB)
    assert annotated.shape == (24, 94, 3)
    # The plate is the whole image: its corner outline, drawn last, runs along the top row.
    assert np.abs(annotated[0, 10:80].astype(int) - CORNERS).mean() < 30


@pytest.mark.parametrize("name", ["unreadable.png", "truncated.jpg", "empty.jpg", "notes.png", "tiny.png"])
def test_a_bad_file_given_alone_is_a_one_line_error(mixed_folder, capsys, name):
    folder, _, bad = mixed_folder
    status, out, err = cli(capsys, *RUN, f"input={folder / name}")
    assert_one_line_error(status, err, f"{folder / name}: ")
    assert bad[name] in err.lower() and out == ""


def test_a_missing_input_is_a_one_line_error(tmp_path, capsys):
    status, out, err = cli(capsys, *RUN, f"input={tmp_path / 'nope.jpg'}")
    assert_one_line_error(status, err, "nope.jpg", "no such file")


def test_a_very_large_image_reads(tmp_path):
    pixels = np.zeros((9000, 12000, 3), np.uint8)
    pixels[4000:4500, 5000:7000] = 200
    path = tmp_path / "huge.jpg"
    path.write_bytes(cv2.imencode(".jpg", pixels)[1].tobytes())
    del pixels
    frame = read_image(path)
    assert (frame.width, frame.height) == (12000, 9000)
    [read] = Pipeline.from_config(compose("run", ["pipeline=untrained"])).read(frame)
    assert read.detection.box == (0.0, 0.0, 12000.0, 9000.0)


def test_run_on_a_video_with_a_broken_frame_keeps_going(tmp_path):
    video = write_video(tmp_path / "clip.avi", frames=12)
    damage_frame(video, 5)
    result = run_alprkit(*RUN, f"input={video}")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [vehicle] = json_lines(result.stdout)  # the whole-frame "plate" is one track through the video
    assert vehicle["frames"] == [i for i in range(12) if i != 5]
    assert vehicle["frame"] in vehicle["frames"] and vehicle["track"] == 0
    assert f"  failed: {video}#frame=5: unreadable (damaged data)" in result.stderr.splitlines()
    assert "alprkit: 11 frames read, 1 plate, 1 failed" in result.stderr


def test_a_non_numeric_video_step_is_a_one_line_error(tmp_path, capsys):
    video = write_video(tmp_path / "clip.avi", frames=2)
    status, _, err = cli(capsys, *RUN, f"input={video}", "video.step=abc")
    assert_one_line_error(status, err, "step", "abc")


def test_batch_report_writes_to_the_current_stderr():
    from alprkit.batch import BatchReport

    report = BatchReport()
    report.fail("x.jpg", "empty file")
    with redirect_stderr(io.StringIO()) as stream:
        assert report.finish(item="image") == 1
    assert "  failed: x.jpg: empty file" in stream.getvalue()
