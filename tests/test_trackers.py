"""Trackers as components: linking plates over frames, crossing and occlusion, and dropping what is no vehicle."""

import sys

import numpy as np
import pytest
from helpers import FakeRecognizer, observation

from alprkit import plugins
from alprkit.checks import checked_config
from alprkit.config import compose
from alprkit.errors import ConfigError
from alprkit.pipeline import Pipeline, build_component
from alprkit.types import Crop, Detection, Frame, PlateObservation

registry = plugins.registry()
TRACKERS = registry.names("tracker")


def make(name, **params):
    return registry.create("tracker", name, **params)


def run(tracker, seen):
    """Feed ``{frame: [observation, ...]}`` frame by frame; every stream, sorted by its first frame."""
    streams = []
    for frame in range(max(seen) + 1):
        streams += tracker.update(frame, seen.get(frame, []))
    return sorted(streams + tracker.finish(), key=lambda s: (s.frames[0], s.observations[0].detection.box))


def xs(stream):
    return [o.detection.box[0] for o in stream.observations]


def test_trackers_are_a_config_group_and_the_pipeline_makes_one_per_video():
    assert {"iou", "kalman"} <= set(TRACKERS)
    assert type(build_component("tracker", compose("run").tracker)).__name__ == "KalmanTracker"  # the default
    pipeline = Pipeline.from_config(compose("run", ["pipeline=untrained", "tracker=iou", "tracker.min_frames=2"]))
    tracker = pipeline.new_tracker()
    assert type(tracker).__name__ == "IouTracker" and tracker.min_frames == 2
    assert pipeline.new_tracker() is not tracker


@pytest.mark.parametrize("override, fragment", [
    ("tracker.min_frames=0", "tracker.min_frames=0"),
    ("tracker.min_iou=1.5", "tracker.min_iou=1.5"),
    ("tracker.min_confidence=-1", "tracker.min_confidence=-1"),
    ("+tracker.speed=3", "speed"),
])
def test_a_bad_tracker_setting_is_a_one_line_error_before_any_model_loads(override, fragment):
    with pytest.raises(ConfigError) as error:
        checked_config("run", ["pipeline=untrained", override])
    assert fragment in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("name", TRACKERS)
def test_two_plates_moving_apart_make_two_streams(name):
    seen = {f: [observation(f, (10 + 6 * f, 10, 70 + 6 * f, 30)), observation(f, (300 - 6 * f, 200, 360 - 6 * f, 220))]
            for f in range(8)}
    first, second = run(make(name), seen)
    assert first.frames == second.frames == tuple(range(8)) and first.track_id != second.track_id
    assert xs(first) == [10 + 6 * f for f in range(8)] and xs(second) == [300 - 6 * f for f in range(8)]


@pytest.mark.parametrize("name", TRACKERS)
def test_a_stream_ends_after_max_gap_and_a_jump_is_another_plate(name):
    tracker = make(name, max_gap=2, min_frames=1)
    plate = (10, 10, 70, 30)
    tracker.update(0, [observation(0, plate)])
    tracker.update(1, [observation(1, plate)])
    assert tracker.update(2, []) == [] and tracker.update(3, []) == []  # gaps of 1 and 2 frames
    [ended] = tracker.update(4, [])
    assert ended.frames == (0, 1)
    tracker.update(5, [observation(5, plate)])
    tracker.update(6, [observation(6, (300, 200, 360, 220))])  # no overlap: another plate
    assert sorted(s.frames for s in tracker.finish()) == [(5,), (6,)]


@pytest.mark.parametrize("name", TRACKERS)
def test_max_gap_counts_processed_frames_not_video_frames(name):
    # video.step=10: the tracker sees frames 0, 10, 20, ...; one missed detection is one processed frame.
    tracker = make(name, min_frames=1)  # max_gap=5, the default
    plate = (10, 10, 70, 30)
    for frame in (0, 10):
        assert tracker.update(frame, [observation(frame, plate)]) == []
    assert tracker.update(20, []) == []  # missed once: the track goes on
    assert tracker.update(30, [observation(30, plate)]) == []
    for frame in range(40, 90, 10):
        assert tracker.update(frame, []) == []  # 5 processed frames unseen: still open
    [ended] = tracker.update(90, [])  # the sixth ends it
    assert ended.frames == (0, 10, 30)


def crossing():
    """Two plates crossing each other at one height: one moving right, one left, 8 px per frame."""
    return {f: [observation(f, (10 + 8 * f, 100, 70 + 8 * f, 120)), observation(f, (246 - 8 * f, 100, 306 - 8 * f, 120))]
            for f in range(30)}


def test_kalman_keeps_crossing_plates_apart():
    streams = run(make("kalman"), crossing())
    assert len(streams) == 2 and [len(s.observations) for s in streams] == [30, 30]
    right, left = sorted(streams, key=lambda s: xs(s)[0])
    assert xs(right) == [10 + 8 * f for f in range(30)]  # each stream follows one plate through the crossing
    assert xs(left) == [246 - 8 * f for f in range(30)]


def test_kalman_needs_no_scipy(monkeypatch):
    # SciPy is no base dependency (about 140 MB): the Hungarian assignment is alprkit.assignment.
    for name in ("scipy", "scipy.optimize"):
        monkeypatch.setitem(sys.modules, name, None)  # importing it now fails
    assert [len(s.observations) for s in run(make("kalman"), crossing())] == [30, 30]


def test_iou_swaps_crossing_plates():
    # Why the Kalman tracker exists: by overlap alone, each track takes the other plate at the crossing.
    streams = run(make("iou"), crossing())
    assert not any(xs(s) == [10 + 8 * f for f in range(30)] for s in streams)


def occluded():
    """A fast plate (10 px per frame, 60 px wide) hidden behind a pillar for frames 10-14."""
    return {f: [observation(f, (10 + 10 * f, 50, 70 + 10 * f, 70))] for f in range(25) if not 10 <= f <= 14}


def test_kalman_finds_a_plate_again_after_an_occlusion():
    [stream] = run(make("kalman", max_gap=6), occluded())
    assert stream.frames == tuple(f for f in range(25) if not 10 <= f <= 14)


def test_iou_loses_a_plate_behind_an_occlusion():
    streams = run(make("iou", max_gap=6), occluded())
    assert [s.frames[0] for s in streams] == [0, 15]  # its last box is 60 px behind: another vehicle


@pytest.mark.parametrize("name", TRACKERS)
def test_short_and_unsure_tracks_are_dropped_with_a_reason(name):
    tracker = make(name, min_frames=5, min_score=0.5)
    real = {f: observation(f, (10 + 4 * f, 10, 70 + 4 * f, 30)) for f in range(20)}
    flicker = {f: observation(f, (300, 200, 340, 210)) for f in (6, 7, 8)}  # a sign caught for 3 frames
    faint = {f: PlateObservation(f, Detection((150, 100, 200, 115), score=0.3), real[f].crop) for f in range(20)}
    seen = {f: [o for o in (real.get(f), flicker.get(f), faint.get(f)) if o] for f in range(20)}
    [vehicle] = run(tracker, seen)
    assert vehicle.frames == tuple(range(20))
    reasons = sorted(d.reason for d in tracker.dropped)
    assert len(reasons) == 2 and reasons[0].startswith("too short (3 frames, tracker.min_frames=5)")
    assert reasons[1].startswith("unsure detector (best score 0.30, tracker.min_score=0.5)")


class Scripted:
    """Detector and rectifier of a scripted video: boxes per frame, each crop encoding the text it reads as."""

    def __init__(self, recognizer, script):
        self.recognizer, self.script = recognizer, script  # frame -> [(box, text)]

    def detect(self, frame):
        return [Detection(box) for box, _ in self.script.get(frame.index, [])]

    def rectify(self, frame, detection, size):
        [text] = [t for box, t in self.script[frame.index] if box == detection.box]
        return Crop(self.recognizer.encode(text), detection)


def read_video(script, frames, **tracker):
    recognizer = FakeRecognizer()
    reader = Scripted(recognizer, script)
    pipeline = Pipeline(reader.detect, reader.rectify, recognizer, registry.create("decoder", "greedy"),
                        selector=registry.create("selector", "majority"),
                        tracker=lambda: registry.create("tracker", "kalman", **tracker))
    dropped, drawn = [], []
    video = (Frame(np.zeros((240, 400, 3), np.uint8), "clip.avi", f) for f in range(frames))
    results = list(pipeline.read_video(video, on_frame=lambda frame, current: drawn.append((frame.index, current)),
                                       on_dropped=dropped.append))
    return results, dropped, drawn


def test_a_sign_read_surely_for_a_few_frames_is_no_vehicle():
    # The "ONE WAY" sign read 0NEVNAY at confidence 1.0: the recognizer's confidence cannot drop it,
    # the shortness of its track does.
    car = {f: [((10.0 + 5 * f, 10.0, 70.0 + 5 * f, 30.0), "AB12")] for f in range(15)}
    for f in (4, 5, 6):
        car[f].append(((300.0, 150.0, 360.0, 170.0), "0EEAA"))
    results, dropped, drawn = read_video(car, 15)
    assert [r.recognition.text for r in results] == ["AB12"]
    assert [d.reason.split(" (")[0] for d in dropped] == ["too short"]
    assert [len(current) for _, current in drawn] == [1, 1, 1, 1, 2, 2, 2] + [1] * 8
    assert results[0].reads and all(r.text == "AB12" for _, r in results[0].reads)


def test_a_track_never_read_confidently_is_dropped():
    script = {f: [((10.0 + 5 * f, 10.0, 70.0 + 5 * f, 30.0), "AB12")] for f in range(10)}
    results, dropped, _ = read_video(script, 10, min_confidence=0.9)  # FakeRecognizer's reads are ~0.8
    assert results == [] and [d.reason for d in dropped] == ["never read confidently (tracker.min_confidence=0.9)"]
    kept, _, _ = read_video(script, 10, min_confidence=0.5)
    assert [r.recognition.text for r in kept] == ["AB12"]
