"""Accuracy against latency per benchmark part, with its Pareto front numbered and keyed beside the axes.

Labels never sit on the points: the front's points carry a number, and the key to
the right of the plot names each one, so a crowded front stays readable. A plot is
drawn again only when its rows changed (a digest beside it says which it shows).
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

from ..atomic import atomic_write, write_json_atomic
from .columns import latency_key, pareto, score_key, short_label, value, varied_stages

KEY_LINES = 24  # front entries keyed at most; the page's table lists them all


def slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def plot_all(groups: dict, folder: Path) -> dict:
    """Draw a plot per part (name -> (kind, records)); returns name -> file relative to ``folder``."""
    digests_path = folder / "plots" / "digests.json"
    try:
        digests = json.loads(digests_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        digests = {}
    written = {}
    for name, (kind, records) in groups.items():
        points = [r for r in records if value(r, score_key(kind)) is not None and value(r, latency_key(kind))]
        if not points:
            continue
        relative = f"plots/{slug(name)}.png"
        digest = _digest(name, kind, points)
        if digests.get(relative) != digest or not (folder / relative).is_file():
            draw(name, kind, points, folder / relative)
            digests[relative] = digest
        written[name] = relative
    write_json_atomic(digests_path, digests)
    return written


def _digest(name, kind, points) -> str:
    shown = [(r.get("key"), value(r, score_key(kind)), value(r, latency_key(kind)), r.get("label")) for r in points]
    return hashlib.sha256(json.dumps([name, kind, shown], default=str).encode()).hexdigest()


def draw(name: str, kind: str, records: list, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    score, latency = score_key(kind), latency_key(kind)
    front = pareto(records, kind)
    stages = varied_stages(records)
    fig = plt.figure(figsize=(12, 5.5), dpi=100)
    ax = fig.add_axes([0.06, 0.11, 0.46, 0.8])
    rest = [r for r in records if r not in front]
    ax.scatter([value(r, latency) for r in rest], [100 * value(r, score) for r in rest], s=18, color="0.7",
               label=f"other combinations ({len(rest)})", zorder=2)
    xs, ys = [value(r, latency) for r in front], [100 * value(r, score) for r in front]
    ax.step(xs, ys, where="post", color="tab:blue", alpha=0.5, zorder=3)
    ax.scatter(xs, ys, s=40, color="tab:blue", label=f"Pareto front ({len(front)})", zorder=4)
    for number, (x, y) in enumerate(zip(xs, ys), start=1):
        if number <= KEY_LINES:
            ax.annotate(str(number), (x, y), xytext=(4, -11 if number % 2 else 5), textcoords="offset points",
                        fontsize=8, color="tab:blue", zorder=5)
    if max(xs + [value(r, latency) for r in rest]) > 5 * min(xs + [value(r, latency) for r in rest]):
        from matplotlib.ticker import FuncFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 100, not 10^2
        # Between powers of ten only 2 and 5 are labelled: 20, 50, 200 ... never crowd each other.
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "25" else ""))
    per = {"crops": "plate", "tracks": "track (all its frames)"}.get(kind, "image")
    ax.set_xlabel(f"ms per {per} (median)")
    ax.set_ylabel("exact plate reads (%)" if score == "acc" else "AP at IoU 0.5 (%)")
    ax.set_title(f"{name} ({kind})", fontsize=11)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    header = " / ".join(stages) if stages else "combination"
    lines = textwrap.wrap(f"Pareto front: {header}", 76, subsequent_indent="    ")
    for number, record in enumerate(front[:KEY_LINES], start=1):
        lines.append(f"{number:>2}  {short_label(record, stages)[:76]}")
    if len(front) > KEY_LINES:
        lines.append(f"... {len(front) - KEY_LINES} more in the table")
    fig.text(0.55, 0.91, "\n".join(lines), fontsize=7.5, family="monospace", va="top")
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
