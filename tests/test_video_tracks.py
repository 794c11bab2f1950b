"""UFPR-ALPR-style tracks: synthetic ones whose quality changes over the track, reading track folders,
scoring every selector on them in one pass, and the annotated copy of a video."""

import shutil

import cv2
import numpy as np
import pytest
from helpers import assert_one_line_error, cli, json_lines, make_unreadable, one_torch_thread  # noqa: F401

from alprkit.config import compose
from alprkit.data.formats import detect_format, load_dataset
from alprkit.data.synth.datasets import SynthJob, generate
from alprkit.degrade import STRENGTHS
from alprkit.errors import ConfigError
from alprkit.evaluate import evaluate_many
from alprkit.pipeline import Pipeline, build_component
from alprkit.types import Detection

SELECTORS = ["first_frame", "last_frame", "majority", "best_confidence"]


@pytest.fixture(scope="module")
def tracks(tmp_path_factory):
    """Two br tracks of 4 PNG frames each, as UFPR-ALPR ships them."""
    out = tmp_path_factory.mktemp("synth") / "tracks"
    return generate(SynthJob(out, "ufpr", regions={"br": 1.0}, count=2, frames=4, size=(640, 360), seed=7,
                             degrade=0.9, degrade_share=1.0, frame_format="png"))


def test_synthetic_tracks_are_ufpr_folders_with_their_quality_per_frame(tracks):
    frames = sorted((tracks / "base" / "track0001").glob("*.png"))
    assert [f.name for f in frames] == [f"track0001[{i:02d}].png" for i in range(1, 5)]
    assert detect_format(tracks) == "ufpr"
    dataset = load_dataset(tracks)
    assert dataset.kind == "tracks" and [len(t) for t in dataset.tracks().values()] == [4, 4]
    for samples in dataset.tracks().values():
        assert len({s.text for s in samples}) == 1 and all(s.region == "br" for s in samples)
        levels = np.array([[s.extra["degradation"][name] for name in STRENGTHS] for s in samples])
        assert levels.min() >= 0 and levels.max() <= 0.9 and levels.std(axis=0).max() > 0  # it changes over the track


def test_no_degradation_when_asked(tmp_path):
    out = generate(SynthJob(tmp_path / "clean", "ufpr", regions={"us": 1.0}, count=1, frames=2, size=(160, 160),
                            degrade=0.0))
    dataset = load_dataset(out)
    assert all(set(s.extra["degradation"].values()) == {0.0} for s in dataset)
    assert {p.suffix for p in (out / "base" / "track0001").iterdir()} == {".jpg", ".txt"}


@pytest.mark.parametrize("bad, fragment", [({"degrade": 1.5}, "degrade=1.5"), ({"degrade_share": -0.1}, "degrade_share"),
                                           ({"frame_format": "gif"}, "frame_format='gif'")])
def test_bad_track_settings_are_one_line_errors(tmp_path, bad, fragment):
    with pytest.raises(ConfigError) as error:
        SynthJob(tmp_path / "x", "ufpr", **bad)
    assert fragment in str(error.value) and "\n" not in str(error.value)


# -- scoring selectors on tracks ----------------------------------------------------------------------


def eval_lines(capsys, *args):
    status, out, err = cli(capsys, "eval", "progress=false", "warmup=0", *args)
    return status, [line for line in json_lines("\n".join(l for l in out.splitlines() if l.startswith("{")))], err


def test_every_selector_in_one_pass_on_the_labelled_plates(tracks, capsys, one_torch_thread):
    status, lines, _ = eval_lines(capsys, "pipeline=lprnet_br", f"data={tracks}", "crops_from=corners",
                                  f"selectors=[{','.join(SELECTORS)}]")
    assert status == 0 and [m["selector"] for m in lines] == SELECTORS
    for m in lines:
        assert {"acc", "acc_1e", "acc_2e", "cer", "frame_acc", "acc_any", "calls_per_frame", "ms_per_frame"} <= set(m)
        assert (m["n"], m["frames"], m["observed_frames"], m["crops_from"]) == (2, 8, 8, "corners")
        assert m["ms_per_frame"] > 0 and m["acc"] <= m["acc_1e"] <= m["acc_2e"]
    by = {m["selector"]: m for m in lines}
    assert by["first_frame"]["calls_per_frame"] == by["last_frame"]["calls_per_frame"] == 2 / 8  # one call a track
    assert by["majority"]["calls_per_frame"] == by["best_confidence"]["calls_per_frame"] == 1.0
    assert len({m["frame_acc"] for m in lines}) == 1  # one recognizer: the same single-frame reads
    for name in ("first_frame", "last_frame", "best_confidence"):  # a read some frame made: never beyond acc_any
        assert by[name]["acc"] <= by[name]["acc_any"]


class Counting:
    """A recognizer wrapper counting the crops it reads."""

    def __init__(self, recognizer):
        self.recognizer, self.crops = recognizer, 0
        self.input_size, self.alphabet = recognizer.input_size, recognizer.alphabet

    def __call__(self, crops):
        self.crops += len(crops)
        return self.recognizer(crops)


def test_each_frame_is_recognized_once_whatever_the_number_of_selectors(tracks, one_torch_thread):
    base = Pipeline.from_config(compose("eval", ["pipeline=lprnet_br", f"data={tracks}"]))
    counting = Counting(base.recognizer)
    pipelines = [Pipeline(base.detector, base.rectifier, counting, base.decoder, base.postfilters,
                          selector=build_component("selector", compose("eval", [f"selector={name}", "data=x"]).selector))
                 for name in SELECTORS]
    results = evaluate_many(pipelines, load_dataset(tracks), warmup=0, show_progress=False, plates_from="corners")
    assert counting.crops == 8  # 2 tracks x 4 frames, read once for four selectors (and for frame_acc)
    assert [r.metrics["calls"] for r in results] == [2, 2, 8, 8]
    first = results[0].predictions[0]
    assert first["recognized_frames"] == [1] and first["calls"] == 1 and first["frames"] == 4


def test_the_detector_on_the_frames(tracks, capsys, one_torch_thread):
    status, [m], _ = eval_lines(capsys, "pipeline=lprnet_br_mtcnn", f"data={tracks}", "selector=majority")
    assert status == 0 and m["selector"] == "majority" and "crops_from" not in m
    assert m["frames"] == 8 and 0 <= m["observed_frames"] <= 8 and m["ms_detect_per_frame"] > 0
    assert m["calls"] == m["observed_frames"]  # the vote reads every frame where the plate was found


def test_a_detection_off_the_labelled_plate_is_no_observation_of_the_vehicle(tracks, one_torch_thread):
    # A sure false detection in the corner of every frame; the plate itself is found in even frames only.
    dataset = load_dataset(tracks)
    plates = {str(s.path): s.plates[0].box for s in dataset.samples}

    def detect(frame):
        found = [Detection((0.0, 0.0, 40.0, 12.0), 0.99)]
        return found + [Detection(plates[str(frame.source)], 0.5)] if frame.index % 2 == 0 else found

    base = Pipeline.from_config(compose("eval", ["pipeline=lprnet_br", f"data={tracks}"]))
    pipeline = Pipeline(detect, base.rectifier, base.recognizer, base.decoder, base.postfilters,
                        selector=build_component("selector", compose("eval", ["selector=majority", "data=x"]).selector))
    [result] = evaluate_many([pipeline], dataset, warmup=0, show_progress=False)
    assert result.metrics["observed_frames"] == 4  # frames 2 and 4 of each track; iou_threshold 0.5 as for photos
    assert [p["recognized_frames"] for p in result.predictions] == [[2, 4], [2, 4]]


def test_bad_frames_and_labels_are_reported_and_skipped(tracks, tmp_path, capsys, one_torch_thread):
    data = shutil.copytree(tracks, tmp_path / "tracks")
    frame = data / "base" / "track0001" / "track0001[02].png"
    frame.unlink()
    make_unreadable(frame)
    (data / "base" / "track0002" / "track0002[03].txt").write_text("plate: ABC1234\nposition_plate: 1 2\n")
    status, lines, err = eval_lines(capsys, "pipeline=lprnet_br", f"data={data}", "crops_from=corners",
                                    "selectors=[first_frame,majority]")
    assert status == 1 and "Traceback" not in err and len(lines) == 2
    assert f"alprkit: failed: {frame}:" in err
    assert "alprkit: skipped label: " in err and "track0002[03].txt: position_plate" in err
    assert lines[0]["frames"] == 7 and lines[0]["label_problems"] == 1 and lines[0]["failed"] == 1
    assert lines[1]["observed_frames"] == 6  # the unreadable frame and the unlabelled one are not seen


@pytest.mark.parametrize("args, fragments", [
    (["selectors=[majority,nope]"], ["selectors", "unknown selector 'nope'"]),
    (["selectors=[majority]", "crops_from=middle"], ["crops_from='middle'", "box, corners"]),
])
def test_bad_video_eval_settings_are_one_line_errors(tracks, capsys, args, fragments):
    status, _, err = cli(capsys, "eval", "pipeline=lprnet_br", f"data={tracks}", *args)
    assert_one_line_error(status, err, *fragments)


def test_selectors_on_a_set_without_tracks_is_a_one_line_error(tmp_path, capsys):
    from helpers import write_crops

    crops = write_crops(tmp_path / "crops")
    status, _, err = cli(capsys, "eval", "pipeline=lprnet_cn", f"data={crops}", "selectors=all", "progress=false")
    assert_one_line_error(status, err, "selectors=", "not tracks")


# -- the annotated copy of a video ----------------------------------------------------------------------


@pytest.fixture
def plate_video(tracks, tmp_path):
    """8 frames of one synthetic plate filling the frame (a crops pipeline reads it as one vehicle)."""
    crop = cv2.imread(str(tracks / "base" / "track0001" / "track0001[04].png"))
    x1, y1, x2, y2 = (int(v) for v in load_dataset(tracks).tracks()["track0001"][-1].plates[0].box)
    plate = cv2.resize(crop[y1:y2, x1:x2], (188, 48))
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (188, 48))
    for _ in range(8):
        writer.write(plate)
    writer.release()
    return video, plate


def video_frames(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while (ok := cap.read())[0]:
        frames.append(ok[1])
    return frames


def test_run_writes_an_annotated_video_beside_one_line_per_vehicle(plate_video, tmp_path, capsys, one_torch_thread):
    video, plate = plate_video
    out = tmp_path / "out"
    status, stdout, err = cli(capsys, "run", "pipeline=lprnet_br", f"input={video}", f"output={out}", "progress=false")
    [vehicle] = json_lines(stdout)
    assert status == 0 and vehicle["track"] == 0 and vehicle["frames"] == list(range(8)) and "dropped" not in err
    [written] = out.iterdir()
    assert written.name == "clip.annotated.mp4"
    frames = video_frames(written)
    assert len(frames) == 8 and frames[0].shape == (48, 188, 3)
    assert np.abs(frames[0].astype(int) - plate).mean() > 5  # the box and its label are drawn on it
    assert np.abs(frames[0][1, 60:130].mean(axis=0) - (200, 60, 255)).max() < 40  # a vehicle's corners (BGR)


def test_a_dropped_track_is_no_line_but_is_noted_and_drawn_grey(plate_video, tmp_path, capsys, one_torch_thread):
    video, _ = plate_video
    out = tmp_path / "out"
    status, stdout, err = cli(capsys, "run", "pipeline=lprnet_br", f"input={video}", f"output={out}", "progress=false",
                              "tracker.min_frames=20")
    assert status == 0 and stdout.strip() == ""
    assert "alprkit: note: 1 track dropped as no vehicle (1 too short;" in err
    border = video_frames(out / "clip.annotated.mp4")[0][1, 60:130].mean(axis=0)  # BGR of the box's top edge
    assert np.abs(border - 150).max() < 30  # grey: a track that is no vehicle
