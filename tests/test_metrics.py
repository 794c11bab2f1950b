import math

import pytest

from alprkit import metrics
from alprkit.errors import AlprkitError, ConfigError
from alprkit.metrics import (
    LatencyMeter,
    corner_error,
    detection_ap,
    edit_distance,
    end_to_end,
    format_table,
    iou,
    recognition_metrics,
)

# ---------------------------------------------------------------------------
# Recognition


@pytest.mark.parametrize(
    "a, b, distance",
    [
        ("ABC123", "ABC123", 0),
        ("", "ABC", 3),
        ("ABC", "", 3),
        ("kitten", "sitting", 3),  # k->s, e->i, +g
        ("AB", "BA", 2),  # Levenshtein has no transposition: two substitutions
        ("flaw", "lawn", 2),  # -f, +n
        ("京A12345", "京A1234", 1),
    ],
)
def test_edit_distance(a, b, distance):
    assert edit_distance(a, b) == distance
    assert edit_distance(b, a) == distance


def test_recognition_metrics_hand_computed():
    pairs = [("ABC123", "ABC123"), ("ABC124", "ABC123"), ("AB123", "ABC123"), (None, "XYZ")]
    m = recognition_metrics(pairs)
    # edit distances: 0, 1 (4->3), 1 (C dropped), 3 (missing read = len("XYZ"))
    assert m["n"] == 4
    assert m["acc"] == pytest.approx(1 / 4)
    assert m["acc_1e"] == pytest.approx(3 / 4)
    assert m["acc_2e"] == pytest.approx(3 / 4)
    assert m["cer"] == pytest.approx((0 + 1 + 1 + 3) / (6 + 6 + 6 + 3))
    # first character: A=A, A=A, A=A, missing -> 3/4
    assert m["acc_pos1"] == pytest.approx(3 / 4)
    # positions 2..N:  BC123 vs BC123 5/5;  BC124 vs BC123 4/5;
    # B123_ vs BC123: B ok, 1/C 2/1 3/2 and the missing 6th wrong -> 1/5;  missing vs YZ 0/2
    assert m["acc_pos2n"] == pytest.approx((5 + 4 + 1 + 0) / (5 + 5 + 5 + 2))


def test_recognition_metrics_two_edits_and_positions():
    pairs = [("XBC123", "ABC123"), ("ABC1234", "ABC123"), ("AXC12", "ABC123")]
    m = recognition_metrics(pairs)
    # distances: 1 (X->A), 1 (extra 4), 2 (B->X and 3 dropped)
    assert (m["acc"], m["acc_1e"], m["acc_2e"]) == (0, pytest.approx(2 / 3), 1)
    # first character: X wrong, A right, A right
    assert m["acc_pos1"] == pytest.approx(2 / 3)
    # positions 2..6: all 5 right; all 5 right (the extra 7th is ignored); C12 right, X and missing wrong -> 3
    assert m["acc_pos2n"] == pytest.approx((5 + 5 + 3) / 15)
    assert m["cer"] == pytest.approx(4 / 18)


def test_fold_makes_characters_equal_on_both_sides():
    pairs = [("0B1", "OBI"), ("OBI", "0B1")]
    assert recognition_metrics(pairs)["acc"] == 0
    assert recognition_metrics(pairs, fold={"O": "0", "I": "1"})["acc"] == 1
    with pytest.raises(ConfigError, match="'OO'"):
        recognition_metrics(pairs, fold={"OO": "0"})


def test_recognition_metrics_edge_cases():
    empty = recognition_metrics([])
    assert empty["n"] == 0 and math.isnan(empty["acc"]) and math.isnan(empty["cer"])
    # one-character plates have no positions 2..N
    assert math.isnan(recognition_metrics([("A", "A")])["acc_pos2n"])
    with pytest.raises(AlprkitError, match="plate 1 has None"):
        recognition_metrics([("A", "A"), ("B", None)])


# ---------------------------------------------------------------------------
# IoU and detection AP


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
        ((0, 0, 10, 10), (5, 0, 15, 10), 50 / 150),  # overlap 5x10, union 100+100-50
        ((0, 0, 10, 10), (2, 2, 6, 6), 16 / 100),  # contained
        ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),  # touching edges
        ((0, 0, 10, 10), (30, 30, 40, 40), 0.0),
        ((5, 5, 5, 5), (5, 5, 5, 5), 0.0),  # empty boxes: no division by zero
    ],
)
def test_iou(a, b, expected):
    assert iou(a, b) == pytest.approx(expected)
    assert iou(b, a) == pytest.approx(expected)


def test_detection_ap_hand_computed():
    ground_truth = [("A", (0, 0, 10, 10)), ("A", (20, 0, 30, 10)), ("B", (0, 0, 10, 10))]
    detections = [
        ("A", (0, 0, 10, 10), 0.9),  # IoU 1 with A's first box
        ("B", (0, 0, 10, 7.5), 0.8),  # IoU 75/100 = 0.75 with B's box
        ("A", (0, 0, 10, 10), 0.7),  # duplicate: A's first box is taken, IoU 0 with the second
        ("A", (20, 0, 30, 6.5), 0.6),  # IoU 65/100 = 0.65 with A's second box
    ]
    r = detection_ap(detections, ground_truth)
    # t=0.5, 0.6: TP TP FP TP -> precision 1, 1, 2/3, 3/4 at recall 1/3, 2/3, 2/3, 1
    #   interpolated area: 1/3*1 + 1/3*1 + 1/3*3/4 = 11/12
    # t=0.7: TP TP FP FP -> recall reaches 2/3 at precision 1: area 2/3
    # t=0.8, 0.9: TP FP FP FP -> area 1/3
    assert r["ap50"] == pytest.approx(11 / 12)
    assert r["ap60"] == pytest.approx(11 / 12)
    assert r["ap70"] == pytest.approx(2 / 3)
    assert r["ap80"] == pytest.approx(1 / 3)
    assert r["ap90"] == pytest.approx(1 / 3)
    assert r["ap_mean"] == pytest.approx((11 / 12 * 2 + 2 / 3 + 1 / 3 * 2) / 5)
    assert [r[f"recall{k}"] for k in (50, 60, 70, 80, 90)] == pytest.approx([1, 1, 2 / 3, 1 / 3, 1 / 3])
    assert r["recall_mean"] == pytest.approx((1 + 1 + 2 / 3 + 1 / 3 + 1 / 3) / 5)


def test_detection_ap_interpolates_precision():
    ground_truth = [("A", (0, 0, 10, 10)), ("A", (20, 0, 30, 10)), ("A", (40, 0, 50, 10))]
    detections = [
        ("A", (0, 0, 10, 10), 0.9),
        ("A", (100, 100, 110, 110), 0.8),  # false positive
        ("A", (20, 0, 30, 10), 0.7),
        ("A", (40, 0, 50, 10), 0.6),
    ]
    # TP FP TP TP: precision 1, 1/2, 2/3, 3/4 at recall 1/3, 1/3, 2/3, 1. Interpolated, the
    # precision at recall 2/3 is the best at recall >= 2/3, i.e. 3/4 (not 2/3):
    #   1/3*1 + 1/3*3/4 + 1/3*3/4 = 5/6
    assert detection_ap(detections, ground_truth, thresholds=(0.5,))["ap50"] == pytest.approx(5 / 6)


def test_detection_matches_best_unmatched_truth():
    # Two overlapping truths. The second detection overlaps the first truth at IoU 90/110
    # and the second at 70/130 = 0.54; the first truth is taken already, so it takes the
    # second one instead of becoming a false positive (as VOC's matching would make it).
    ground_truth = [("A", (0, 0, 10, 10)), ("A", (4, 0, 14, 10))]
    detections = [("A", (0, 0, 10, 10), 0.9), ("A", (1, 0, 11, 10), 0.8)]
    r = detection_ap(detections, ground_truth, thresholds=(0.5, 0.6))
    assert r["ap50"] == pytest.approx(1.0) and r["recall50"] == pytest.approx(1.0)
    # at 0.6 the second truth is out of reach: TP FP -> area 1/2 * 1
    assert r["ap60"] == pytest.approx(0.5) and r["recall60"] == pytest.approx(0.5)


def test_detections_in_images_without_truth_are_false_positives():
    ground_truth = [("A", (0, 0, 10, 10))]
    detections = [("C", (0, 0, 10, 10), 0.95), ("A", (0, 0, 10, 10), 0.5)]
    r = detection_ap(detections, ground_truth, thresholds=(0.5,))
    # FP then TP: precision 0, 1/2 at recall 0, 1 -> area 1 * 1/2
    assert r["ap50"] == pytest.approx(0.5) and r["recall50"] == 1


def test_detection_ap_without_detections_or_truths():
    assert detection_ap([], [("A", (0, 0, 1, 1))], thresholds=(0.5,)) == {
        "ap50": 0.0, "recall50": 0.0, "ap_mean": 0.0, "recall_mean": 0.0
    }
    assert all(math.isnan(v) for v in detection_ap([("A", (0, 0, 1, 1), 1.0)], []).values())


@pytest.mark.parametrize("thresholds", [(), (0.0,), (1.5,), (0.5, 0.501)])
def test_detection_ap_rejects_bad_thresholds(thresholds):
    with pytest.raises(ConfigError):
        detection_ap([], [], thresholds=thresholds)


def _quad(x1, y1, x2, y2):
    return [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]


def test_corner_error_hand_computed():
    ground_truth = [
        ("A", (0, 0, 100, 40), _quad(0, 0, 100, 40)),
        ("A", (300, 0, 400, 40), None),  # found, but no corners to compare
        ("B", (0, 0, 100, 40), _quad(0, 0, 100, 40)),
        ("C", (0, 0, 100, 40), _quad(0, 0, 100, 40)),  # found only at IoU 0.25: not counted
    ]
    detections = [
        ("A", (3, 4, 103, 44), _quad(3, 4, 103, 44)),  # every corner 5 px off (3-4-5)
        ("A", (300, 0, 400, 40), _quad(0, 0, 1, 1)),
        ("B", (0, 0, 100, 40), [(0, 0), (100, 0), (100, 40), (0, 50)]),  # one corner 10 px off: 2.5 on average
        ("C", (0, 0, 100, 10), _quad(0, 0, 100, 40)),
    ]
    assert corner_error(detections, ground_truth) == {"corner_error_px": pytest.approx(3.75), "corner_plates": 2}


def test_corner_error_without_matched_corners_is_nan():
    result = corner_error([], [("A", (0, 0, 10, 4), _quad(0, 0, 10, 4))])
    assert math.isnan(result["corner_error_px"]) and result["corner_plates"] == 0


# ---------------------------------------------------------------------------
# End to end


def test_end_to_end_matching():
    plate = (0, 0, 100, 50)
    ground_truth = [
        (1, plate, "ABC123"),
        (2, plate, "XYZ789"),
        (3, plate, "DEF456"),
        (4, plate, "GHI000"),
        (5, plate, "JKL111"),
    ]
    reads = [
        (1, plate, "ABC128"),  # right box, wrong text: found, not read (1 edit)
        (2, (200, 0, 300, 50), "XYZ789"),  # wrong box, right text: missing read (6 edits)
        (3, (2, 0, 100, 50), "DEF456"),  # IoU 0.98, right text: read
        (4, (0, 0, 100, 40), "GHI00"),  # two detections on one plate: IoU 0.8 ...
        (4, plate, "GHI000"),  # ... and IoU 1, which wins: read
        (5, plate, "JKL117"),  # best IoU first even when its text is wrong: not read (1 edit)
        (5, (0, 0, 100, 40), "JKL111"),
    ]
    r = end_to_end(reads, ground_truth)
    assert (r["n"], r["found"], r["extra_reads"]) == (5, 4, 3)
    assert r["acc"] == pytest.approx(2 / 5)
    assert r["acc_1e"] == pytest.approx(4 / 5)  # edits 1, 6, 0, 0, 1
    assert r["acc_2e"] == pytest.approx(4 / 5)
    assert r["cer"] == pytest.approx((1 + 6 + 0 + 0 + 1) / 30)


def test_end_to_end_uses_each_read_once():
    # One read over two side-by-side plates goes to the one it overlaps more.
    ground_truth = [(1, (0, 0, 10, 10), "AAA"), (1, (10, 0, 20, 10), "BBB")]
    reads = [(1, (3, 0, 13, 10), "AAA")]  # IoU 7/13 with the first plate, 3/17 with the second
    r = end_to_end(reads, ground_truth, iou_threshold=0.1)
    assert (r["found"], r["extra_reads"], r["acc"]) == (1, 0, 0.5)


# ---------------------------------------------------------------------------
# Latency


def test_latency_meter_drops_warmup_and_takes_percentiles():
    meter = LatencyMeter(warmup=2)
    meter.add(1.0)  # warm-up calls are slow and must not count
    meter.add(0.5)
    for ms in range(1, 11):
        meter.add(ms / 1000)
    s = meter.summary()
    assert s["calls"] == 10 and s["items"] == 10
    # 1..10 ms, linear interpolation: p50 between 5 and 6; p95 at 0.95*9 = 8.55 -> 9 + 0.55
    assert s["p50_ms"] == pytest.approx(5.5)
    assert s["p95_ms"] == pytest.approx(9.55)
    assert s["mean_ms"] == pytest.approx(5.5)


def test_latency_meter_per_item():
    meter = LatencyMeter(item="plate")
    meter.add(0.004, items=2)  # 2 ms per plate
    meter.add(0.009, items=3)  # 3 ms per plate
    meter.add(0.003, items=0)  # an image without plates: counts per call only
    s = meter.summary()
    assert (s["calls"], s["plates"]) == (3, 5)
    # per call: 3, 4, 9 ms -> p50 4; p95 at 0.95*2 = 1.9 -> 4 + 0.9*5
    assert s["p50_ms"] == pytest.approx(4) and s["p95_ms"] == pytest.approx(8.5)
    assert s["mean_ms"] == pytest.approx(16 / 3)
    # per plate: 2, 3 ms -> p50 2.5, p95 2.95; mean (4 + 9) ms / 5 plates
    assert s["p50_ms_per_plate"] == pytest.approx(2.5)
    assert s["p95_ms_per_plate"] == pytest.approx(2.95)
    assert s["mean_ms_per_plate"] == pytest.approx(13 / 5)


def test_latency_meter_measure(monkeypatch):
    ticks = iter([10.0, 10.25, 20.0, 20.5])
    monkeypatch.setattr(metrics, "perf_counter", lambda: next(ticks))
    meter = LatencyMeter()
    with meter.measure() as m:
        m.items = 5  # known only after the call, e.g. plates found
    with pytest.raises(RuntimeError):
        with meter.measure():
            raise RuntimeError("a failed call is not timed")
    s = meter.summary()
    assert (s["calls"], s["items"]) == (1, 5)
    assert s["mean_ms"] == pytest.approx(250) and s["mean_ms_per_item"] == pytest.approx(50)


def test_latency_meter_empty_and_bad_warmup():
    s = LatencyMeter(warmup=3).summary()
    assert s["calls"] == 0 and math.isnan(s["p50_ms"]) and math.isnan(s["mean_ms_per_item"])
    with pytest.raises(ConfigError, match="-1"):
        LatencyMeter(warmup=-1)


# ---------------------------------------------------------------------------
# Tables


def test_format_table():
    rows = [
        {"model": "lprnet", "n": 200, "acc": 0.97354, "acc_1e": 1.0, "cer": 0.012345, "p50_ms": 3.456},
        {"model": "crnn_long_name", "n": 50, "acc": 0.5, "cer": math.nan, "p50_ms": 12.0},
    ]
    table = format_table(rows, ["model", "n", "acc", "acc_1e", "cer", "p50_ms"])
    assert table.splitlines() == [
        "model             n     acc   acc_1e     cer  p50_ms",
        "--------------  ---  ------  -------  ------  ------",
        "lprnet          200  97.35%  100.00%  0.0123    3.46",
        "crnn_long_name   50  50.00%        -       -   12.00",
    ]


@pytest.mark.parametrize(
    "key, value, shown",
    [
        ("ap50", 0.91666, "91.67%"),
        ("recall_mean", 2 / 3, "66.67%"),
        ("e2e_acc", 0.25, "25.00%"),
        ("mean_ms_per_plate", 1.234, "1.23"),
        ("apparent", 0.5, "0.5"),  # not an AP key despite the prefix
        ("model", "lprnet", "lprnet"),
        ("calls", 7, "7"),
        ("acc", None, "-"),
    ],
)
def test_format_value(key, value, shown):
    assert metrics.format_value(key, value) == shown
