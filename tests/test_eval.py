"""``alprkit eval`` on generated crops and scenes folders, and the metrics evaluate() computes."""

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import CN_PLATES, FakeRecognizer, cli, write_crops, write_rgb, write_scenes
from helpers import one_torch_thread  # noqa: F401 (a fixture)

from alprkit import plugins
from alprkit.data.crops import write_crops_tsv
from alprkit.data.formats import load_dataset
from alprkit.data.splits import text_fold
from alprkit.evaluate import evaluate
from alprkit.pipeline import Pipeline
from alprkit.types import Detection

pytestmark = pytest.mark.usefixtures("one_torch_thread")

EVAL = ("eval", "pipeline=untrained", "progress=false", "warmup=1")
RECOGNITION_KEYS = {"n", "acc", "acc_1e", "acc_2e", "cer", "ms_per_plate_p50", "ms_per_image_p50"}


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    return write_crops(tmp_path_factory.mktemp("crops"))


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    return write_scenes(tmp_path_factory.mktemp("scenes"))


def run_eval(capsys, *args):
    status, out, err = cli(capsys, *EVAL, *args)
    lines = out.strip().splitlines()
    return status, lines, json.loads(lines[-1]), err


def test_eval_on_crops_prints_a_table_then_json(crops, capsys):
    status, lines, metrics, err = run_eval(capsys, f"data={crops}")
    assert status == 0, err
    header = lines[0].split()
    assert header[0] == "pipeline" and {"acc", "acc_1e", "acc_2e", "cer"} <= set(header)
    assert lines[-2].split()[:2] == ["untrained", str(len(CN_PLATES))]  # the table's row
    assert RECOGNITION_KEYS <= set(metrics)
    assert (metrics["n"], metrics["format"], metrics["pipeline"], metrics["failed"]) == (
        len(CN_PLATES), "crops_tsv", "untrained", 0)
    assert all(0.0 <= metrics[k] <= 1.0 for k in ("acc", "acc_1e", "acc_2e")) and metrics["cer"] >= 0
    assert metrics["ms_per_plate_p50"] > 0 and metrics["ms_recognition_p50"] > 0


def test_eval_on_scenes_scores_detection(scenes, capsys):
    status, lines, metrics, err = run_eval(capsys, f"data={scenes}")
    assert status == 0, err
    assert {"ap50", "ap60", "ap70", "ap80", "ap90", "ap_mean", "acc", "cer"} <= set(metrics)
    assert metrics["format"] == "jsonl" and metrics["n"] == 4
    assert {"ap50", "recall50", "corner_error_px"} <= set(lines[0].split())
    # The whole-image detector's box covers far more than the plate: nothing is found at IoU 0.5.
    assert metrics["ap50"] == 0.0 and metrics["found"] == 0


def test_eval_split_keeps_the_plates_of_the_chosen_folds(crops, capsys):
    expected = sum(text_fold(text, 2) == 0 for text in CN_PLATES)
    assert 0 < expected < len(CN_PLATES)
    _, _, metrics, _ = run_eval(capsys, f"data={crops}", "split={folds:2,keep:[0]}")
    assert metrics["n"] == expected


def test_eval_split_with_one_fold_as_documented(crops, capsys):
    _, _, metrics, _ = run_eval(capsys, f"data={crops}", "split={folds:2,keep:0}")
    assert metrics["n"] == sum(text_fold(text, 2) == 0 for text in CN_PLATES)


def test_eval_limit(crops, capsys):
    _, _, metrics, _ = run_eval(capsys, f"data={crops}", "limit=3")
    assert metrics["n"] == 3


def test_eval_bad_limit_is_a_one_line_error(crops, capsys):
    status, out, err = cli(capsys, *EVAL, f"data={crops}", "limit=abc")
    assert status == 2 and "limit" in err


def test_eval_writes_predictions(crops, tmp_path, capsys):
    output = tmp_path / "predictions.jsonl"
    run_eval(capsys, f"data={crops}", f"output={output}")
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [(r["file"], r["truth"]) for r in records] == [(f"crop{i:03d}.png", t) for i, t in enumerate(CN_PLATES)]
    assert all(isinstance(r["text"], str) for r in records)
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.jsonl"]


@pytest.fixture(scope="module")
def crops_with_bad_items(tmp_path_factory):
    folder = write_crops(tmp_path_factory.mktemp("bad_crops"))
    png = (folder / "crop002.png").read_bytes()
    (folder / "crop002.png").write_bytes(png[: len(png) // 2])
    with (folder / "labels.tsv").open("a", encoding="utf-8") as tsv:
        tsv.write("ghost.png\t皖A54321\tcn\n")  # listed, but there is no such image
        tsv.write("crop000.png\t皖AI2345\tcn\n")  # I is not a Chinese plate letter
    return folder


def test_eval_reports_bad_items_and_goes_on(crops_with_bad_items, capsys):
    status, _, metrics, err = run_eval(capsys, f"data={crops_with_bad_items}")
    assert status == 1 and "Traceback" not in err
    assert (metrics["n"], metrics["failed"], metrics["label_problems"]) == (len(CN_PLATES) - 1, 2, 1)
    lines = err.splitlines()
    assert f"alprkit: failed: {crops_with_bad_items / 'crop002.png'}: truncated PNG file" in lines
    assert f"alprkit: failed: {crops_with_bad_items / 'ghost.png'}: no such file" in lines
    [skipped] = [line for line in lines if line.startswith("alprkit: skipped label: ")]
    assert "labels.tsv:11" in skipped and "'I'" in skipped


# -- the metrics of evaluate(), with reads known in advance ------------------------------------------


def test_evaluate_scores_the_reads_against_the_labels(tmp_path):
    recognizer = FakeRecognizer(region="us")
    truths = ["AB12", "CD34", "EF56", "GH78"]
    reads = ["AB12", "CD34", "EF56", "GH79"]  # one substitution in the last plate
    rows = []
    for i, (truth, read) in enumerate(zip(truths, reads)):
        write_rgb(tmp_path / f"{i}.png", recognizer.encode(read))
        rows.append((f"{i}.png", truth, "us"))
    write_crops_tsv(tmp_path, rows)
    registry = plugins.registry()
    pipeline = Pipeline(registry.create("detector", "whole_image"), registry.create("rectifier", "identity"),
                        recognizer, registry.create("decoder", "greedy"))
    result = evaluate(pipeline, load_dataset(tmp_path), warmup=0, show_progress=False)
    m = result.metrics
    assert (m["n"], m["acc"], m["acc_1e"], m["acc_2e"]) == (4, 0.75, 1.0, 1.0)
    assert m["cer"] == pytest.approx(1 / 16)
    assert m["acc_pos1"] == 1.0 and m["acc_pos2n"] == pytest.approx(11 / 12)
    assert [p["text"] for p in result.predictions] == reads
    assert np.isfinite(m["ms_per_plate_p50"]) and result.failures == []


def test_evaluate_scores_the_corners_of_the_plates_found(tmp_path):
    # Two photos: a plate with corners found with every corner 5 px off, a box-only plate found exactly.
    quad = [[20, 30], [114, 30], [114, 54], [20, 54]]
    for name in ("a.png", "b.png"):
        write_rgb(tmp_path / name, np.zeros((120, 160, 3), np.uint8))  # FakeRecognizer reads it as blanks
    rows = [{"file": "a.png", "region": "cn", "plates": [{"text": None, "box": [20, 30, 114, 54], "corners": quad}]},
            {"file": "b.png", "region": "cn", "plates": [{"text": None, "box": [20, 30, 114, 54], "corners": None}]}]
    (tmp_path / "annotations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    found = {"a.png": Detection((23, 34, 117, 58), 0.9, tuple((x + 3, y + 4) for x, y in quad)),
             "b.png": Detection((20, 30, 114, 54), 0.8)}
    registry = plugins.registry()
    pipeline = Pipeline(lambda frame: [found[Path(frame.source).name]], registry.create("rectifier", "identity"),
                        FakeRecognizer(), registry.create("decoder", "greedy"))
    m = evaluate(pipeline, load_dataset(tmp_path), warmup=0, show_progress=False).metrics
    assert (m["corner_error_px"], m["corner_plates"], m["recall50"]) == (pytest.approx(5.0), 1, 1.0)
