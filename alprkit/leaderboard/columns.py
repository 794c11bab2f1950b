"""What each benchmark kind is scored by: its table columns, its accuracy and its latency figure."""

from __future__ import annotations

from ..metrics import format_value

KIND_TITLES = {"crops": "Plate crops", "scenes": "Photos (end to end)", "tracks": "Video tracks (one read per vehicle)",
               "detection": "Detection only (boxes, no text)"}
KIND_COLUMNS = {
    "crops": ["n", "acc", "acc_1e", "acc_2e", "cer", "region_acc", "ms_per_plate_p50"],
    "scenes": ["n", "acc", "acc_1e", "cer", "ap50", "ap_mean", "recall50", "corner_error_px", "ms_per_image_p50"],
    "tracks": ["n", "acc", "acc_1e", "cer", "frame_acc", "calls_per_frame", "ms_per_frame", "ms_per_image_p50"],
    "detection": ["boxes", "ap50", "ap_mean", "recall50", "corner_error_px", "ms_per_image_p50"],
}
STAGES = ("detector", "rectifier", "recognizer", "decoder", "postfilter", "selector")


def score_key(kind: str) -> str:
    """The accuracy a row is ranked by: exact reads, or AP50 where there is no text."""
    return "ap50" if kind == "detection" else "acc"


def latency_key(kind: str) -> str:
    """Milliseconds per plate for crops; per image (per track for tracks) elsewhere."""
    return "ms_per_plate_p50" if kind == "crops" else "ms_per_image_p50"


def value(record: dict, key: str):
    number = (record.get("metrics") or {}).get(key)
    return number if isinstance(number, (int, float)) and number == number else None


def shown(key: str, number) -> str:
    return format_value(key, number)


def option_text(record: dict, stage: str) -> str:
    option = (record.get("options") or {}).get(stage)
    if option is None:
        return "-"
    return "+".join(option) if isinstance(option, list) else str(option)


def varied_stages(records: list) -> list:
    """The stages whose option differs between the records (the ones a table needs to show)."""
    return [s for s in STAGES if len({option_text(r, s) for r in records}) > 1]


def fixed_stages(records: list) -> dict:
    """stage -> option for the stages all records share."""
    varied = set(varied_stages(records))
    first = records[0] if records else {}
    return {s: option_text(first, s) for s in STAGES if s not in varied and option_text(first, s) != "-"}


def pareto(records: list, kind: str) -> list:
    """The records no other beats on both accuracy and latency, fastest first."""
    score, latency = score_key(kind), latency_key(kind)
    points = sorted((r for r in records if value(r, score) is not None and value(r, latency) is not None),
                    key=lambda r: (value(r, latency), -value(r, score)))
    front, best = [], float("-inf")
    for record in points:
        if value(record, score) > best:
            front.append(record)
            best = value(record, score)
    return front


def short_label(record: dict, stages: list) -> str:
    return " / ".join(option_text(record, s) for s in stages) or option_text(record, "recognizer")
