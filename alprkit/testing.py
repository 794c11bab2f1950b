"""Contract checks for components, shipped for plugin authors.

``check_component(kind, component)`` raises AssertionError with a message naming
what broke. alprkit's own test suite runs it over every registered component, so a
plugin's components are checked as soon as the plugin is installed::

    from alprkit.testing import check_component
    check_component("detector", MyDetector())
"""

from __future__ import annotations

import numpy as np

from .types import (
    Candidate,
    CharScores,
    Crop,
    Detection,
    Frame,
    PlateObservation,
    PlateStream,
    Recognition,
    StreamResult,
)


def sample_frame(width=320, height=240, seed=0) -> Frame:
    """A frame with a bright plate-like rectangle on a textured background."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(40, 120, size=(height, width, 3), dtype=np.uint8)
    pixels[100:140, 100:220] = 230
    pixels[110:130, 110:210:12] = 20
    return Frame(pixels, source="contract.png")


PLATE = Detection(box=(100.0, 100.0, 220.0, 140.0), score=0.9,
                  corners=((100.0, 100.0), (220.0, 102.0), (219.0, 140.0), (101.0, 138.0)))


def check_detector(detector):
    frame = sample_frame()
    found = detector(frame)
    assert isinstance(found, list), f"detector returned {type(found).__name__}, not a list"
    for d in found:
        assert isinstance(d, Detection), f"detector returned {type(d).__name__}, not a Detection"
        x1, y1, x2, y2 = d.box
        assert x2 > x1 and y2 > y1, f"detector box {d.box} is empty or inverted"
        assert 0.0 <= d.score <= 1.0, f"detector score {d.score} outside [0, 1]"
        if d.corners is not None:
            assert len(d.corners) == 4 and all(len(p) == 2 for p in d.corners), "corners must be four (x, y)"


def check_rectifier(rectifier):
    crop = rectifier(sample_frame(), PLATE, (94, 24))
    assert isinstance(crop, Crop), f"rectifier returned {type(crop).__name__}, not a Crop"
    assert crop.pixels.shape == (24, 94, 3), f"rectifier crop has shape {crop.pixels.shape}, wanted (24, 94, 3)"
    assert crop.pixels.dtype == np.uint8, f"rectifier crop has dtype {crop.pixels.dtype}, wanted uint8"
    assert crop.transform.shape == (3, 3), "rectifier transform must be a 3x3 matrix"


def check_recognizer(recognizer):
    w, h = recognizer.input_size
    alphabet = recognizer.alphabet
    rng = np.random.default_rng(1)
    crops = [Crop(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8), PLATE) for _ in range(3)]
    batch = recognizer(crops)
    assert len(batch) == 3, f"recognizer returned {len(batch)} results for 3 crops"
    for scores in batch:
        assert isinstance(scores, CharScores), f"recognizer returned {type(scores).__name__}, not CharScores"
        assert scores.probs.ndim == 2 and scores.probs.shape[1] == len(alphabet), (
            f"probs shape {scores.probs.shape} does not match an alphabet of {len(alphabet)}"
        )
        assert np.allclose(scores.probs.sum(axis=1), 1.0, atol=1e-3), "probability rows must sum to 1"
    alone = recognizer(crops[:1])[0]
    assert np.allclose(alone.probs, batch[0].probs, atol=1e-4), "a crop's scores depend on the rest of its batch"


def check_decoder(decoder):
    alphabet = ("", "A", "B", "1")
    path = [1, 1, 0, 2, 0, 3, 3]  # "AB1" with a repeat and blanks
    probs = np.full((len(path), len(alphabet)), 0.02)
    for t, c in enumerate(path):
        probs[t, c] = 0.94
    probs = (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)  # as recognizers give them
    recognition = decoder(CharScores(probs, alphabet, blank=0, region="us"))
    assert isinstance(recognition, Recognition), f"decoder returned {type(recognition).__name__}"
    assert recognition.text == "AB1", f"decoder read {recognition.text!r} from an unambiguous 'AB1'"
    scores = [c.score for c in recognition.candidates]
    assert scores == sorted(scores, reverse=True), "decoder candidates must be sorted best first"
    assert 0.0 <= recognition.confidence <= 1.0, f"confidence {recognition.confidence} outside [0, 1]"
    numbers = [recognition.confidence, *recognition.char_probs, *scores]
    assert all(type(x) is float for x in numbers), "scores must be Python floats (they are written as JSON)"
    # Per-position scores (a parallel-STN recognizer): one row per slot, "" = no character in the last slot.
    rows = np.full((4, len(alphabet)), 0.02)
    for t, c in enumerate([1, 1, 3, 0]):
        rows[t, c] = 0.94
    rows = (rows / rows.sum(axis=1, keepdims=True)).astype(np.float32)
    recognition = decoder(CharScores(rows, alphabet, blank=None, region="us"))
    assert recognition.text == "AA1", f"decoder read {recognition.text!r} from per-position 'AA1' + no character"
    assert len(recognition.char_probs) in (0, 3), "per-position char_probs must have one entry per character read"


def check_postfilter(postfilter):
    recognition = Recognition("7ABC123", (0.9,) * 7, 0.5, (Candidate("7ABC123", 0.5), Candidate("7A8C123", 0.2)),
                              region="us")
    out = postfilter(recognition)
    assert out is None or isinstance(out, Recognition), f"post-filter returned {type(out).__name__}"


def check_selector(selector):
    frame = sample_frame()
    observations = tuple(PlateObservation(i, PLATE, Crop(frame.pixels[100:124, 100:194], PLATE)) for i in range(4))
    reads = {0: "ABC123", 1: "ABC128", 2: "ABC123", 3: "ABC123"}
    called = []

    def recognize(observation):
        called.append(observation.frame)
        text = reads[observation.frame]
        return Recognition(text, (0.9,) * len(text), 0.6, (Candidate(text, 0.6),), region="us")

    result = selector(PlateStream(7, observations), recognize)
    assert isinstance(result, StreamResult), f"selector returned {type(result).__name__}"
    assert result.track_id == 7, "selector must keep the stream's track id"
    assert result.frame in reads, f"selector chose frame {result.frame}, not one of the stream's"
    assert set(result.recognized_frames) == set(called), (
        f"recognized_frames {sorted(result.recognized_frames)} must be the frames recognized, {sorted(set(called))}")


def check_tracker(tracker):
    """Two plates moving apart over 8 frames: two streams of 8 frames each, ids kept, nothing left after finish."""
    frame = sample_frame()
    crop = Crop(frame.pixels[100:124, 100:194], PLATE)

    def seen(i, x, y):
        detection = Detection((x + 3.0 * i, y, x + 3.0 * i + 60, y + 20), score=0.9)
        return PlateObservation(i, detection, crop)

    ended = []
    for i in range(8):
        ended += tracker.update(i, [seen(i, 10, 10), seen(i, 200, 150)])
        current = tracker.current()
        assert len(current) == 2 and len({track for track, _ in current}) == 2, (
            f"current() after frame {i} must give the two plates with two track ids, got {current}")
    ended += tracker.finish()
    assert all(isinstance(s, PlateStream) for s in ended), "update and finish must return PlateStreams"
    assert sorted(len(s.observations) for s in ended) == [8, 8], (
        f"two plates seen in 8 frames must make two streams of 8, got {[s.frames for s in ended]}")
    for stream in ended:
        xs = [o.detection.box[0] for o in stream.observations]
        assert xs == sorted(xs) and xs[-1] - xs[0] == 21.0, "a stream must follow one plate"
    assert tracker.finish() == [], "finish must leave no open track"


CHECKS = {
    "detector": check_detector,
    "rectifier": check_rectifier,
    "recognizer": check_recognizer,
    "decoder": check_decoder,
    "postfilter": check_postfilter,
    "selector": check_selector,
    "tracker": check_tracker,
}


def check_component(kind: str, component) -> None:
    CHECKS[kind](component)
