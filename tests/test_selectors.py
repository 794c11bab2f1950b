"""Video: the selectors that pick one read per stream (trackers: tests/test_trackers.py)."""

import numpy as np
import pytest
from helpers import FakeRecognizer, observation

from alprkit import plugins
from alprkit.pipeline import Pipeline
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


def test_best_confidence_keeps_the_surest_single_read():
    plates, recognize, called = stream({0: sure("ABC123", 0.8), 1: sure("ABC128", 0.97), 2: sure("ABC123", 0.9),
                                        3: None, 4: sure("", 0.99)})
    result = registry.create("selector", "best_confidence")(plates, recognize)
    assert result.recognition.text == "ABC128" and result.frame == 1  # one sure misread beats two agreeing reads
    assert called == [0, 1, 2, 3, 4] and result.recognized_frames == (0, 1, 2, 3, 4)
    assert result.detection == plates.observations[1].detection


def test_best_confidence_with_nothing_read():
    plates, recognize, _ = stream({0: None, 1: sure("")})
    result = registry.create("selector", "best_confidence")(plates, recognize)
    assert result.recognition.text == "" and result.recognized_frames == (0, 1)


@pytest.mark.parametrize("name", ["first_frame", "last_frame", "majority", "best_confidence"])
def test_recognized_frames_are_exactly_the_frames_recognized(name):
    plates, recognize, called = stream({f: sure("AB12") for f in range(6)})
    result = registry.create("selector", name)(plates, recognize)
    assert sorted(result.recognized_frames) == sorted(set(called))


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
