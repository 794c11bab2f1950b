"""Video: the IoU tracker that forms plate streams, and the selectors that pick one read per stream."""

import numpy as np
import pytest
from helpers import FakeRecognizer, observation

from alprkit import plugins
from alprkit.pipeline import Pipeline
from alprkit.tracking import IouTracker
from alprkit.types import Crop, Detection, Frame, PlateStream, Recognition

registry = plugins.registry()


def stream(reads, track_id=4):
    """A stream of one observation per frame, and a recognize() that reads ``reads[frame]``."""
    observations = tuple(observation(frame, (10 + frame, 10, 60 + frame, 30)) for frame in sorted(reads))
    called = []

    def recognize(obs):
        called.append(obs.frame)
        value = reads[obs.frame]
        if value is None or isinstance(value, Recognition):
            return value
        text, probs = value
        return Recognition(text, tuple(probs), float(np.prod(probs)), region="us")

    return PlateStream(track_id, observations), recognize, called


def sure(text, p=0.9):
    return text, [p] * len(text)


@pytest.mark.parametrize("name, frame", [("first_frame", 2), ("last_frame", 7)])
def test_single_frame_selectors_recognize_only_their_frame(name, frame):
    plates, recognize, called = stream({2: sure("AAA111"), 5: sure("BBB222"), 7: sure("CCC333")})
    result = registry.create("selector", name)(plates, recognize)
    assert called == [frame] and result.recognized_frames == (frame,)
    assert result.recognition.text == {2: "AAA111", 7: "CCC333"}[frame]
    assert (result.track_id, result.frame) == (4, frame)
    assert result.detection == plates.observations[[2, 5, 7].index(frame)].detection


def test_single_frame_selector_with_a_dropped_read_gives_an_empty_text():
    plates, recognize, _ = stream({0: None, 1: sure("AAA111")})
    assert registry.create("selector", "first_frame")(plates, recognize).recognition.text == ""


def majority(reads):
    plates, recognize, called = stream(reads)
    return registry.create("selector", "majority")(plates, recognize), called


def test_majority_outvotes_a_minority_misread():
    result, called = majority({0: sure("ABC123", 0.8), 1: sure("ABC128", 0.95), 2: sure("ABC123", 0.7),
                               3: sure("ABC12", 0.99), 4: sure("ABC123", 0.6)})
    assert result.recognition.text == "ABC123"
    assert called == [0, 1, 2, 3, 4] and result.recognized_frames == (0, 1, 2, 3, 4)
    assert result.frame == 0  # the most confident frame that read the voted string
    last_share = (0.8 + 0.7 + 0.6) / (0.8 + 0.95 + 0.7 + 0.6)
    assert result.recognition.char_probs[-1] == pytest.approx(last_share)
    assert result.recognition.char_probs[0] == pytest.approx(1.0)


def test_majority_weighs_votes_by_character_probability():
    # Two unsure reads of "8" lose to one sure read of "3" at the last position.
    result, _ = majority({0: ("ABC128", [0.9] * 5 + [0.3]), 1: ("ABC128", [0.9] * 5 + [0.3]),
                          2: ("ABC123", [0.9] * 5 + [0.9])})
    assert result.recognition.text == "ABC123" and result.frame == 2


def test_majority_builds_a_string_no_single_frame_read():
    result, _ = majority({0: sure("XBC123"), 1: sure("AYC123"), 2: sure("ABZ123")})
    assert result.recognition.text == "ABC123"
    assert result.frame == 2  # no frame agrees: the last read's frame
    assert result.detection.box == (12.0, 10.0, 62.0, 30.0)


def test_majority_ignores_dropped_and_empty_reads():
    result, _ = majority({0: None, 1: sure(""), 2: sure("ABC123"), 3: None})
    assert result.recognition.text == "ABC123" and result.frame == 2
    assert result.recognition.confidence == pytest.approx(0.25)  # one voter out of four frames
    nothing, _ = majority({0: None, 1: None})
    assert nothing.recognition.text == "" and nothing.frame == 1 and nothing.recognized_frames == (0, 1)


# -- tracker -------------------------------------------------------------------------------------


def moving_plates(frames):
    """Two plates per frame: one moving right along the top, one moving left along the bottom."""
    return {f: [observation(f, (10 + 6 * f, 10, 70 + 6 * f, 30)),
                observation(f, (300 - 6 * f, 200, 360 - 6 * f, 220))] for f in frames}


def test_tracker_splits_two_moving_plates_into_two_streams():
    tracker = IouTracker()
    seen = moving_plates(range(8))
    for frame, observations in seen.items():
        assert tracker.update(frame, observations) == []
    streams = sorted(tracker.finish(), key=lambda s: s.track_id)
    assert [s.track_id for s in streams] == [0, 1]
    assert [s.frames for s in streams] == [tuple(range(8))] * 2
    assert [o.detection for o in streams[0].observations] == [obs[0].detection for obs in seen.values()]
    assert [o.detection for o in streams[1].observations] == [obs[1].detection for obs in seen.values()]
    assert tracker.finish() == []


def test_tracker_ends_a_stream_after_max_gap():
    tracker = IouTracker(max_gap=2)
    plate = (10, 10, 70, 30)
    tracker.update(0, [observation(0, plate)])
    tracker.update(1, [observation(1, plate)])
    assert tracker.update(2, []) == [] and tracker.update(3, []) == []  # gaps of 1 and 2 frames
    [ended] = tracker.update(4, [])
    assert (ended.track_id, ended.frames) == (0, (0, 1))
    tracker.update(5, [observation(5, plate)])  # the same place again: a new vehicle
    [later] = tracker.finish()
    assert (later.track_id, later.frames) == (1, (5,))


def test_tracker_does_not_link_boxes_that_do_not_overlap():
    tracker = IouTracker(min_iou=0.1)
    tracker.update(0, [observation(0, (0, 0, 50, 20))])
    tracker.update(1, [observation(1, (200, 0, 250, 20))])  # a jump: another plate
    assert sorted(s.frames for s in tracker.finish()) == [(0,), (1,)]


# -- pipeline over video ---------------------------------------------------------------------------


class BoxReader:
    """Detector and rectifier for a scripted scene: known boxes per frame, each crop encoding its plate's text."""

    def __init__(self, recognizer, script):
        self.recognizer, self.script = recognizer, script  # frame -> [(box, text)]

    def detect(self, frame):
        return [Detection(box) for box, _ in self.script[frame.index]]

    def rectify(self, frame, detection, size):
        [text] = [t for box, t in self.script[frame.index] if box == detection.box]
        return Crop(self.recognizer.encode(text), detection)


def test_read_video_gives_one_result_per_vehicle():
    recognizer = FakeRecognizer()
    script = {f: [((10.0 + 6 * f, 10.0, 70.0 + 6 * f, 30.0), "AB12" if f != 3 else "AB18"),
                  ((300.0 - 6 * f, 200.0, 360.0 - 6 * f, 220.0), "CD34")] for f in range(6)}
    script.update({f: [] for f in range(6, 14)})  # both leave; the streams end after max_gap frames
    reader = BoxReader(recognizer, script)
    pipeline = Pipeline(reader.detect, reader.rectify, recognizer, registry.create("decoder", "greedy"),
                        selector=registry.create("selector", "majority"))
    frames = (Frame(np.zeros((240, 400, 3), np.uint8), "clip.avi", f) for f in sorted(script))
    results = list(pipeline.read_video(frames))
    assert sorted((r.recognition.text, r.recognized_frames) for r in results) == [
        ("AB12", tuple(range(6))), ("CD34", tuple(range(6)))]
    assert len({r.track_id for r in results}) == 2
    record = results[0].to_json("clip.avi")
    assert record["source"] == "clip.avi" and record["frames"] == list(range(6)) and record["box"] is not None
