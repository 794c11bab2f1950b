"""Evaluation metrics: plate reading, plate detection, end to end, latency.

Recognition follows the "ALPR in the wild" tables (seed 002): exact-plate accuracy (Acc),
accuracy within one or two character edits (Acc@1e, Acc@2e), per-position accuracy of the
first character (Acc@1: ``acc_pos1``) and of the rest (Acc@2-7, here 2..N: ``acc_pos2n``),
and the character error rate. Detection is AP at several IoU
thresholds, with the mean corner error of the plates found; end to end asks whether each
true plate was both found and read.

Every rate is a float in [0, 1] (NaN where it is undefined, e.g. nothing to score);
rounding happens only in :func:`format_table`.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from time import perf_counter
from typing import Hashable, Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np

from .errors import AlprkitError, ConfigError
from .types import Box

DEFAULT_IOU_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)

# ---------------------------------------------------------------------------
# Recognition


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions each cost 1."""
    if len(a) < len(b):
        a, b = b, a  # keep the row as short as the shorter string
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _fold_table(fold: Optional[Mapping[str, str]]) -> dict:
    if not fold:
        return {}
    for key in fold:
        if not isinstance(key, str) or len(key) != 1:
            raise ConfigError(f"fold: key {key!r} must be a single character")
    return str.maketrans(dict(fold))


def recognition_metrics(
    pairs: Iterable[tuple[Optional[str], str]], fold: Optional[Mapping[str, str]] = None
) -> dict:
    """Score (predicted, true) plate strings.

    A prediction of ``None`` (no plate found) scores as an empty read: wrong, with
    ``len(true)`` edits. ``fold`` maps characters that count as equal (``{"O": "0"}``)
    and is applied to both sides. Per-position accuracy compares position by position;
    ``acc_pos2n`` pools every position 2..N of every plate (so equals the mean of the
    per-position accuracies when all plates have the same length).
    """
    table = _fold_table(fold)
    n = exact = within_1 = within_2 = first_right = rest_right = rest_total = edits = chars = 0
    for index, (predicted, true) in enumerate(pairs):
        if not true:
            raise AlprkitError(
                f"recognition metrics need a true text for every plate; plate {index} has {true!r} "
                "(a detection-only label set?)"
            )
        true = true.translate(table)
        predicted = (predicted or "").translate(table)
        distance = edit_distance(predicted, true)
        n += 1
        exact += predicted == true
        within_1 += distance <= 1
        within_2 += distance <= 2
        first_right += predicted[:1] == true[0]
        # zip stops at the shorter string: positions the prediction lacks count wrong.
        rest_right += sum(p == t for p, t in zip(predicted[1:], true[1:]))
        rest_total += len(true) - 1
        edits += distance
        chars += len(true)
    return {
        "n": n,
        "acc": _ratio(exact, n),
        "acc_1e": _ratio(within_1, n),
        "acc_2e": _ratio(within_2, n),
        "acc_pos1": _ratio(first_right, n),
        "acc_pos2n": _ratio(rest_right, rest_total),
        "cer": _ratio(edits, chars),
    }


# Look-alike character groups a plate reader confuses; a substitution inside one group is counted there.
CONFUSABLE = {"0_O_D_Q": set("0ODQ"), "8_B": set("8B"), "1_I_L_T": set("1ILT"), "2_Z": set("2Z"), "5_S": set("5S")}


def error_breakdown(pairs: Iterable[tuple[Optional[str], str]]) -> dict:
    """Misread plates by kind of error (a plate may count under several).

    ``missing_chars`` / ``extra_chars``: the read is shorter / longer than the plate.
    Reads of the right length count each wrong position: ``province`` (a wrong first
    character where the plate's is a Chinese one), a look-alike group of
    :data:`CONFUSABLE`, or ``other``. ``misread`` is the number of wrong plates.
    """
    counts = {"misread": 0, "missing_chars": 0, "extra_chars": 0, "province": 0, **{k: 0 for k in CONFUSABLE},
              "other": 0}
    for predicted, true in pairs:
        predicted = predicted or ""
        if predicted == true:
            continue
        counts["misread"] += 1
        if len(predicted) != len(true):
            counts["missing_chars" if len(predicted) < len(true) else "extra_chars"] += 1
            continue
        kinds = set()
        for index, (p, t) in enumerate(zip(predicted, true)):
            if p == t:
                continue
            if index == 0 and not t.isascii():
                kinds.add("province")
                continue
            kinds.add(next((name for name, group in CONFUSABLE.items() if {p, t} <= group), "other"))
        for kind in kinds:
            counts[kind] += 1
    return counts


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else math.nan


# ---------------------------------------------------------------------------
# Boxes


def _as_boxes(boxes) -> np.ndarray:
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def iou_matrix(boxes_a, boxes_b) -> np.ndarray:
    """IoU of every box of ``boxes_a`` (n, 4) with every box of ``boxes_b`` (m, 4): shape (n, m).

    Boxes are (x1, y1, x2, y2) in continuous pixel coordinates (width = x2 - x1).
    """
    a, b = _as_boxes(boxes_a), _as_boxes(boxes_b)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    intersection = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - intersection
    # Two empty boxes have a zero union: they do not overlap.
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)


def iou(box_a: Box, box_b: Box) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    return float(iou_matrix(box_a, box_b)[0, 0])


def _boxes_by_image(items: Iterable[tuple]) -> dict[Hashable, list[int]]:
    """Indices of ``items`` grouped by their first field, the image id."""
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        groups[item[0]].append(index)
    return groups


# ---------------------------------------------------------------------------
# Detection


def _threshold_suffix(threshold: float) -> str:
    return str(int(round(threshold * 100)))


def _check_thresholds(thresholds: Sequence[float]) -> tuple[float, ...]:
    thresholds = tuple(float(t) for t in thresholds)
    if not thresholds:
        raise ConfigError("iou thresholds: give at least one")
    for t in thresholds:
        if not 0 < t <= 1:
            raise ConfigError(f"iou threshold {t} must be in (0, 1]")
    suffixes = [_threshold_suffix(t) for t in thresholds]
    if len(set(suffixes)) != len(suffixes):
        raise ConfigError(f"iou thresholds {thresholds} must differ in their first two decimals")
    return thresholds


def _average_precision(is_true_positive: np.ndarray, n_truths: int) -> float:
    """All-point interpolated area under the precision/recall curve (VOC2010 onwards)."""
    true_positives = np.cumsum(is_true_positive)
    false_positives = np.cumsum(~is_true_positive)
    recall = true_positives / n_truths
    precision = true_positives / np.maximum(true_positives + false_positives, 1)
    recall = np.concatenate(([0.0], recall, [1.0]))
    precision = np.concatenate(([0.0], precision, [0.0]))
    # Interpolate: precision at recall r is the best precision at any recall >= r.
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))


def detection_ap(
    detections: Sequence[tuple[Hashable, Box, float]],
    ground_truth: Sequence[tuple[Hashable, Box]],
    thresholds: Sequence[float] = DEFAULT_IOU_THRESHOLDS,
) -> dict:
    """AP and recall of scored detections against true boxes at each IoU threshold.

    Detections of the whole set are taken by descending score (ties keep input order);
    each matches the still unmatched true box of its image with the highest IoU, if that
    IoU reaches the threshold, and is a false positive otherwise. Keys: ``ap50``,
    ``recall50``, ... per threshold, ``ap_mean`` and ``recall_mean``; NaN without truths.
    """
    thresholds = _check_thresholds(thresholds)
    truths_by_image = {
        image: _as_boxes([ground_truth[i][1] for i in indices])
        for image, indices in _boxes_by_image(ground_truth).items()
    }
    no_truths = _as_boxes([])
    order = sorted(range(len(detections)), key=lambda i: -float(detections[i][2]))
    # Each detection's IoU with its image's truths, shared by all thresholds.
    overlaps = [
        iou_matrix(detections[i][1], truths_by_image.get(detections[i][0], no_truths))[0] for i in order
    ]
    n_truths = len(ground_truth)
    result = {}
    for t in thresholds:
        matched = {image: np.zeros(len(boxes), dtype=bool) for image, boxes in truths_by_image.items()}
        is_true_positive = np.zeros(len(order), dtype=bool)
        for rank, (i, overlap) in enumerate(zip(order, overlaps)):
            if not overlap.size:
                continue
            image_matched = matched[detections[i][0]]
            candidates = np.where(image_matched, -1.0, overlap)
            best = int(np.argmax(candidates))
            if candidates[best] >= t:
                image_matched[best] = True
                is_true_positive[rank] = True
        suffix = _threshold_suffix(t)
        result[f"ap{suffix}"] = _average_precision(is_true_positive, n_truths) if n_truths else math.nan
        result[f"recall{suffix}"] = _ratio(int(is_true_positive.sum()), n_truths)
    result["ap_mean"] = float(np.mean([result[f"ap{_threshold_suffix(t)}"] for t in thresholds]))
    result["recall_mean"] = float(np.mean([result[f"recall{_threshold_suffix(t)}"] for t in thresholds]))
    return result


def corner_error(
    detections: Sequence[tuple[Hashable, Box, Sequence]],
    ground_truth: Sequence[tuple[Hashable, Box, Optional[Sequence]]],
    iou_threshold: float = 0.5,
) -> dict:
    """How far found corners lie from the labelled ones, in pixels.

    Detections and truths are (image id, box, four corners TL, TR, BR, BL; a truth's may be
    None). Every true plate is matched to a detection as :func:`match_reads` does; over the
    matched plates with labelled corners, ``corner_error_px`` is the mean of their four
    corner distances, averaged over plates (NaN where there is none), and ``corner_plates``
    counts them.
    """
    matches = match_reads(detections, ground_truth, iou_threshold)
    errors = [
        float(np.linalg.norm(np.asarray(detections[m][2], float) - np.asarray(truth[2], float), axis=1).mean())
        for m, truth in zip(matches, ground_truth)
        if m is not None and truth[2] is not None
    ]
    return {"corner_error_px": float(np.mean(errors)) if errors else math.nan, "corner_plates": len(errors)}


# ---------------------------------------------------------------------------
# End to end


def match_reads(
    reads: Sequence[tuple[Hashable, Box, Optional[str]]],
    ground_truth: Sequence[tuple[Hashable, Box, str]],
    iou_threshold: float = 0.5,
) -> list[Optional[int]]:
    """For each true plate, the index of the read matched to it, or None.

    Within an image, (read, plate) pairs overlapping at IoU >= threshold are taken by
    descending IoU; each read and each plate is used at most once.
    """
    (iou_threshold,) = _check_thresholds([iou_threshold])
    reads_by_image = _boxes_by_image(reads)
    matches: list[Optional[int]] = [None] * len(ground_truth)
    for image, truth_indices in _boxes_by_image(ground_truth).items():
        read_indices = reads_by_image.get(image, [])
        read_boxes = [reads[r][1] for r in read_indices]
        overlaps = iou_matrix(read_boxes, [ground_truth[t][1] for t in truth_indices])
        rows, cols = np.nonzero(overlaps >= iou_threshold)
        used_reads = set()
        for k in np.argsort(-overlaps[rows, cols], kind="stable"):
            read, truth = read_indices[rows[k]], truth_indices[cols[k]]
            if read not in used_reads and matches[truth] is None:
                used_reads.add(read)
                matches[truth] = read
    return matches


def end_to_end(
    reads: Sequence[tuple[Hashable, Box, Optional[str]]],
    ground_truth: Sequence[tuple[Hashable, Box, str]],
    iou_threshold: float = 0.5,
    fold: Optional[Mapping[str, str]] = None,
) -> dict:
    """Plates both found and read: reads and truths are (image id, box, text).

    ``acc`` is plates read exactly / all true plates; ``acc_1e``, ``acc_2e``, ``acc_pos1``
    (seed 002's Acc@1), ``acc_pos2n`` (its Acc@2-7) and ``cer`` score each plate's matched
    read, an unmatched plate counting as a missing read.
    Also ``n`` (true plates), ``found`` (plates with a matched read) and ``extra_reads``
    (reads matched to no plate).
    """
    matches = match_reads(reads, ground_truth, iou_threshold)
    pairs = [(None if m is None else reads[m][2], truth[2]) for m, truth in zip(matches, ground_truth)]
    scores = recognition_metrics(pairs, fold)
    found = sum(m is not None for m in matches)
    return {
        "n": scores["n"],
        "found": found,
        "extra_reads": len(reads) - found,
        **{key: scores[key] for key in ("acc", "acc_1e", "acc_2e", "acc_pos1", "acc_pos2n", "cer")},
    }


# ---------------------------------------------------------------------------
# Latency


@dataclass
class Measurement:
    """What a ``measure()`` block yields: set ``items`` once the count is known."""

    items: int = 1


class LatencyMeter:
    """Durations of repeated calls, each covering some number of items.

    The first ``warmup`` records are dropped (lazy initialisation, caches, JIT).
    ``summary()`` reports milliseconds per call and per ``item`` (e.g. ``item="plate"``
    gives ``p50_ms_per_plate``); per-item figures cover the calls that had items.
    ``clock`` is the time source of ``measure()``: a pipeline that replays stage outputs
    another pipeline computed (the leaderboard's) has a clock that adds their recorded time.
    """

    def __init__(self, warmup: int = 0, item: str = "item", clock=None):
        if not isinstance(warmup, int) or warmup < 0:
            raise ConfigError(f"latency warmup {warmup!r} must be a whole number >= 0")
        self.warmup = warmup
        self.item = item
        self.clock = clock
        self._seen = 0
        self._seconds: list[float] = []
        self._items: list[int] = []

    def add(self, seconds: float, items: int = 1) -> None:
        if seconds < 0 or items < 0:
            raise ValueError(f"a duration ({seconds}) and an item count ({items}) cannot be negative")
        self._seen += 1
        if self._seen > self.warmup:
            self._seconds.append(float(seconds))
            self._items.append(int(items))

    @contextmanager
    def measure(self, items: int = 1) -> Iterator[Measurement]:
        """Time the block; a block that raises is not recorded (its time means nothing)."""
        measurement = Measurement(items)
        clock = self.clock or perf_counter
        start = clock()
        yield measurement
        self.add(clock() - start, measurement.items)

    def summary(self) -> dict:
        seconds = np.asarray(self._seconds)
        items = np.asarray(self._items)
        with_items = items > 0
        return {
            "calls": len(seconds),
            f"{self.item}s": int(items.sum()),
            **_millisecond_stats(seconds, seconds.sum(), len(seconds), ""),
            # The per-item mean is total time over total items, so calls with more items weigh more.
            **_millisecond_stats(
                seconds[with_items] / items[with_items],
                seconds[with_items].sum(),
                items.sum(),
                f"_per_{self.item}",
            ),
        }


def _millisecond_stats(per_unit: np.ndarray, total_seconds: float, units: int, suffix: str) -> dict:
    p50, p95 = 1000 * np.percentile(per_unit, [50, 95]) if per_unit.size else (math.nan, math.nan)
    return {
        f"p50_ms{suffix}": float(p50),
        f"p95_ms{suffix}": float(p95),
        f"mean_ms{suffix}": 1000 * _ratio(float(total_seconds), int(units)),
    }


# ---------------------------------------------------------------------------
# Tables

_PERCENT_KEY = re.compile(r"(^|_)(acc|ap|recall)(\d|_|$)")
_CER_KEY = re.compile(r"(^|_)cer(_|$)")
_MS_KEY = re.compile(r"(^|_)ms(_|$)")


def format_value(key: str, value) -> str:
    """A value as a table shows it: rates as percentages, cer to 4 decimals, ms to 2."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if not isinstance(value, (float, np.floating)):
        return str(value)
    if _PERCENT_KEY.search(key):
        return f"{100 * value:.2f}%"
    if _CER_KEY.search(key):
        return f"{value:.4f}"
    if _MS_KEY.search(key):
        return f"{value:.2f}"
    return f"{value:.4g}"


def format_table(rows: Sequence[Mapping], columns: Sequence[str]) -> str:
    """A fixed-width text table: text columns left-aligned, numbers right-aligned, '-' where missing."""
    cells = [[format_value(c, row.get(c)) for c in columns] for row in rows]
    numeric = [
        all(isinstance(row.get(c), (int, float, np.number)) or row.get(c) is None for row in rows)
        for c in columns
    ]
    widths = [max([len(c)] + [len(line[k]) for line in cells]) for k, c in enumerate(columns)]

    def line(values):
        padded = (v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric))
        return "  ".join(padded).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(values) for values in cells])
