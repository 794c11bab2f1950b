"""The leaderboard scores every combination of the varied stages, caches each row, and writes its board.

One small board (generated crops, photos and boxes, two synthetic video tracks) is scored once per
module; the tests read its rows, rerun it, and break it in the ways a user would.
"""

import json
import os
import re

import pytest
from helpers import assert_one_line_error, cli, plugin_env, run_alprkit, write_crops, write_scenes

from alprkit.data.crops import write_crops_tsv
from alprkit.leaderboard.report import read_results

BUNDLED_SELECTORS = ("first_frame", "last_frame", "majority", "best_confidence")  # plugins may add more


def tiny_board(root, *extra):
    """Settings of a small board over generated data: crops, photos, boxes only and two video tracks."""
    crops = write_crops(root / "crops")
    scenes = write_scenes(root / "scenes")
    return [
        f"+leaderboard.benchmarks.tiny_crops={{data: '{crops}', kind: crops, region: cn}}",
        f"+leaderboard.benchmarks.tiny_photos={{data: '{scenes}', kind: scenes, region: cn}}",
        f"+leaderboard.benchmarks.tiny_boxes={{data: '{scenes}', kind: detection}}",
        "+leaderboard.benchmarks.tiny_tracks={synth: {format: ufpr, regions: cn, count: 2, frames: 3, size: [320, 192],"
        " seed: 3}, kind: tracks, region: cn}",
        "leaderboard.select=[tiny_crops,tiny_photos,tiny_boxes,tiny_tracks]",
        "leaderboard.options.recognizer=[lprnet_cn,lprnet_global]",
        "leaderboard.options.detector=[whole_image,mtcnn]",
        "leaderboard.options.rectifier=[perspective]",
        "leaderboard.pipelines=[lprnet_cn]",
        f"output={root / 'board'}", f"cache={root / 'cache'}", "progress=false", "warmup=0", *extra,
    ]


def rows_of(folder):
    return read_results(folder)


def scored_now(result) -> int:
    return int(re.search(r"(\d+) scored now", result.stderr).group(1))


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    root = tmp_path_factory.mktemp("board")
    settings = tiny_board(root)
    result = run_alprkit("leaderboard", *settings, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return root, settings, result


def test_every_combination_of_the_varied_stages_is_a_row(board):
    root, _, result = board
    rows = rows_of(root / "board")
    by_kind = {}
    for row in rows:
        by_kind.setdefault(row["kind"], []).append(row)
    # crops: 2 recognizers x 2 decoders x 3 post-filters (passthrough, template, charset), read whole
    crops = {(r["options"]["recognizer"], r["options"]["decoder"], r["options"]["postfilter"][0])
             for r in by_kind["crops"]}
    assert len(by_kind["crops"]) == len(crops) == 12
    assert {r["components"]["detector"] for r in by_kind["crops"]} == {"whole_image"}
    assert {d for _, d, _ in crops} == {"greedy", "beam"} and {p for _, _, p in crops} == {"passthrough", "template",
                                                                                           "charset"}
    assert len(by_kind["scenes"]) == 12 and {r["components"]["detector"] for r in by_kind["scenes"]} == {"mtcnn.multi"}
    selectors = {r["components"]["selector"] for r in by_kind["tracks"]}  # every selector on video (with weights)
    assert len(by_kind["tracks"]) == 12 * len(selectors) and set(BUNDLED_SELECTORS) <= selectors
    [boxes] = by_kind["detection"]  # the detector alone
    assert set(boxes["components"]) == {"detector"} and boxes["metrics"]["ap50"] is not None
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows if r["status"] != "ok"]
    # The named pipeline is one of the combinations, not a row of its own.
    [named] = [r for r in rows if r["pipeline"] == "lprnet_cn"]
    assert named["options"] == {"detector": "whole_image", "rectifier": "identity", "recognizer": "lprnet_cn",
                                "decoder": "beam", "postfilter": ["template"]}
    assert "0 failed" in result.stderr


def test_every_row_carries_its_provenance(board):
    rows = rows_of(board[0] / "board")
    for row in rows:
        provenance = row["provenance"]
        machine = provenance["machine"]
        assert machine["cpu"] and machine["cores"] >= 1 and machine["cores_usable"] >= 1
        assert len(provenance["load_average"]["start"]) == 3 and len(provenance["load_average"]["end"]) == 3
        assert "threads" in provenance
        detector = provenance["components"]["detector"]
        assert detector["plugin"] and detector["version"]
        if row["kind"] != "detection":
            recognizer = provenance["components"]["recognizer"]
            assert re.fullmatch(r"[0-9a-f]{64}", recognizer["weights_sha256"]), recognizer
            assert recognizer["backend"] in ("torch", "onnxruntime", "torch_bf16")
            assert provenance["components"]["decoder"]["plugin"] == "basics"
        assert re.fullmatch(r"[0-9a-f]{64}", row["benchmark_hash"]) and re.fullmatch(r"[0-9a-f]{64}", row["key"])


def test_the_board_is_written_from_the_rows(board):
    folder = board[0] / "board"
    for page in ("README.md", "crops.md", "photos.md", "tracks.md", "detection.md", "index.html"):
        assert (folder / page).is_file(), page
    crops_page = (folder / "crops.md").read_text(encoding="utf-8")
    assert "## tiny_crops" in crops_page and "plots/tiny_crops.png" in crops_page
    assert "| front | recognizer | decoder | postfilter | pipeline |" in crops_page
    assert (folder / "plots" / "tiny_crops.png").stat().st_size > 5000
    html = (folder / "index.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S).group(1))
    assert len(data["rows"]) == len(rows_of(folder))


def test_a_rerun_scores_only_what_is_missing(board):
    root, settings, _ = board
    again = run_alprkit("leaderboard", *settings, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert scored_now(again) == 0
    rows = rows_of(root / "board")
    gone = [r for r in rows if r["kind"] == "crops"][:2]
    for row in gone:
        (root / "cache" / "rows" / row["key"][:2] / f"{row['key']}.json").unlink()
    resumed = run_alprkit("leaderboard", *settings, timeout=600)
    assert resumed.returncode == 0 and scored_now(resumed) == 2, resumed.stderr[-2000:]
    assert {r["key"] for r in rows_of(root / "board")} == {r["key"] for r in rows}


def test_publishing_is_an_explicit_choice_and_replaces_the_old_board(board, tmp_path):
    root, settings, _ = board
    target = tmp_path / "leaderboard"
    (target / "plots").mkdir(parents=True)
    stale_files = ("results.json", "results.jsonl", "leaderboard.png", "plots/gone.png")  # earlier boards' files
    for stale in stale_files:
        (target / stale).write_text("old")
    result = run_alprkit("leaderboard", *settings, "publish=true", f"publish_dir={target}", timeout=600)
    assert result.returncode == 0 and scored_now(result) == 0, result.stderr[-2000:]
    assert rows_of(target) == rows_of(root / "board")
    assert (target / "index.html").is_file() and (target / "plots" / "tiny_crops.png").is_file()
    assert not any((target / stale).exists() for stale in stale_files)


def test_the_rows_file_is_compressed_and_the_same_rows_give_the_same_bytes(tmp_path):
    from alprkit.leaderboard.report import RESULTS, write_results

    rows = [{"key": f"k{i}", "label": "whole_image / identity / lprnet_cn", "metrics": {"acc": 0.5}}
            for i in range(200)]
    write_results(tmp_path / "a", rows)
    write_results(tmp_path / "b", rows)
    written = (tmp_path / "a" / RESULTS).read_bytes()
    assert written == (tmp_path / "b" / RESULTS).read_bytes()  # no time stamp: a republished board diffs clean
    assert len(written) < len(json.dumps(rows)) // 10
    assert read_results(tmp_path / "a") == rows


def test_changed_data_is_scored_again(tmp_path):
    settings = tiny_board(tmp_path, "leaderboard.select=[tiny_crops]", "leaderboard.options.recognizer=[lprnet_cn]",
                          "leaderboard.options.decoder=[greedy]", "leaderboard.pipelines=[]")
    first = run_alprkit("leaderboard", *settings, timeout=600)
    assert first.returncode == 0 and scored_now(first) == 3, first.stderr[-2000:]
    write_crops_tsv(tmp_path / "crops", [("crop000.png", "京B67890", "cn")])  # a relabelled set is another set
    second = run_alprkit("leaderboard", *settings, timeout=600)
    assert second.returncode == 0 and scored_now(second) == 3, second.stderr[-2000:]
    assert {r["metrics"]["n"] for r in rows_of(tmp_path / "board")} == {1}


PLUGIN = '''
from alprkit.hookspecs import hookimpl


class Upper:
    """Keeps every read (a third-party post-filter)."""

    def __call__(self, recognition):
        return recognition


class Explodes:
    """Fails on every read."""

    def __call__(self, recognition):
        raise RuntimeError("this filter always fails\\nsecond line")


@hookimpl
def alprkit_register_postfilters(register):
    register("upper", Upper)
    register("explodes", Explodes)
'''


@pytest.fixture(scope="module")
def third_party(tmp_path_factory):
    """An installed third-party plugin (two post-filters), for PYTHONPATH."""
    root = tmp_path_factory.mktemp("site")
    (root / "alprkit_lbtest.py").write_text(PLUGIN)
    dist = root / "alprkit_lbtest-2.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: alprkit-lbtest\nVersion: 2.0\n")
    (dist / "entry_points.txt").write_text("[alprkit]\nlbtest = alprkit_lbtest\n")
    return root


def test_third_party_components_are_combined_and_a_failing_one_is_recorded(tmp_path, third_party):
    settings = tiny_board(tmp_path, "leaderboard.select=[tiny_crops]", "leaderboard.options.recognizer=[lprnet_cn]",
                          "leaderboard.options.decoder=[greedy]", "leaderboard.pipelines=[]")
    result = run_alprkit("leaderboard", *settings, env=plugin_env(pythonpath=third_party), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {r["options"]["postfilter"][0]: r for r in rows_of(tmp_path / "board")}
    assert set(rows) == {"passthrough", "template", "charset", "upper", "explodes"}
    assert rows["upper"]["status"] == "ok"
    assert rows["upper"]["provenance"]["components"]["postfilter"][0]["distribution"] == "alprkit-lbtest"
    assert rows["explodes"]["status"] == "error"
    assert rows["explodes"]["error"] == "RuntimeError: this filter always fails"
    assert all(rows[name]["status"] == "ok" for name in ("passthrough", "template", "charset"))
    assert "1 failed" in result.stderr
    assert "explodes" in (tmp_path / "board" / "crops.md").read_text(encoding="utf-8")


def test_the_default_output_is_outside_the_repository(tmp_path):
    env = plugin_env()
    env["ALPRKIT_CACHE"] = str(tmp_path / "cache")
    crops = write_crops(tmp_path / "crops")
    result = run_alprkit("leaderboard", f"+leaderboard.benchmarks.tiny={{data: '{crops}', kind: crops, region: cn}}",
                         "leaderboard.select=[tiny]", "leaderboard.options.recognizer=[lprnet_cn]",
                         "leaderboard.vary=[recognizer]", "leaderboard.pipelines=[]", "progress=false",
                         env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    board = tmp_path / "cache" / "leaderboard" / "boards" / "default"
    [row] = rows_of(board)
    assert row["options"]["decoder"] == "beam" and row["options"]["postfilter"] == ["template"]  # the fixed stages
    assert str(board / "README.md") in result.stderr


@pytest.mark.parametrize("setting, fragments", [
    ("leaderboard.vary=[decoderz]", ["leaderboard.vary", "decoderz"]),
    ("leaderboard.options.decoder=[nope]", ["leaderboard.options.decoder[0]", "nope", "greedy"]),
    ("leaderboard.options.postfilter=[[template,template]]", ["leaderboard.options.postfilter[0]", "once"]),
    ("+leaderboard.benchmarks.bad={data: x, kind: movies}", ["leaderboard.benchmarks.bad.kind", "movies"]),
    ("+leaderboard.benchmarks.bad={data: x, kind: crops, colour: red}", ["leaderboard.benchmarks.bad.colour"]),
    ("leaderboard.select=[nope]", ["leaderboard.select", "nope"]),
    ("shard=2", ["shard", "shards"]),
    ("threads=0", ["threads"]),
    ("warmup=-1", ["warmup"]),
    ("retry_failed=maybe", ["retry_failed"]),
])
def test_bad_settings_are_one_line_errors(capsys, tmp_path, setting, fragments):
    status, _, err = cli(capsys, "leaderboard", setting, f"output={tmp_path / 'out'}", f"cache={tmp_path / 'c'}",
                         "plan=true")
    assert_one_line_error(status, err, *fragments)


def test_words_and_multirun_of_other_commands_are_refused(capsys, tmp_path):
    status, _, err = cli(capsys, "leaderboard", "everything", f"output={tmp_path}")
    assert_one_line_error(status, err, "key=value")
    status, _, err = cli(capsys, "eval", "-m", "data=x")
    assert_one_line_error(status, err, "-m", "leaderboard")


def test_the_bundled_boards_plan_every_real_and_synthetic_set(capsys, real_data, tmp_path):
    """The default board names every real set of ../shared and the synthetic ones (plan only: nothing scored)."""
    from alprkit.config import compose
    from alprkit.leaderboard import runner

    cfg = compose("leaderboard", [f"cache={tmp_path}"])
    folders = {os.path.basename(str(node.data)) for node in cfg.leaderboard.benchmarks.values() if node.get("data")}
    assert folders == {p.name for p in real_data.iterdir() if p.is_dir()}
    kinds = {node.kind for node in cfg.leaderboard.benchmarks.values()}
    assert kinds == {"crops", "scenes", "tracks", "detection"}
    synth_regions = {(node.kind, node.synth.regions) for node in cfg.leaderboard.benchmarks.values()
                     if node.get("synth")}
    assert {r for k, r in synth_regions if k == "tracks"} == {"cn", "us", "eu", "br"}
    assert {r for k, r in synth_regions if k == "crops"} == {"cn", "us", "eu", "br"}
    assert [b.name for b in runner.selected_benchmarks(cfg.leaderboard)] == list(cfg.leaderboard.benchmarks)


def test_the_quick_board_varies_several_stages_and_records_provenance(tmp_path):
    """leaderboard=quick, as CI runs it: small synthetic sets made on the spot (and real cn crops if there)."""
    result = run_alprkit("leaderboard", "leaderboard=quick", f"output={tmp_path / 'board'}", f"cache={tmp_path / 'c'}",
                         "progress=false", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = rows_of(tmp_path / "board")
    assert {r["kind"] for r in rows} == {"crops", "scenes", "tracks"}
    for part in {r["benchmark"] for r in rows}:
        mine = [r for r in rows if r["benchmark"] == part]
        assert {r["options"]["decoder"] for r in mine} == {"greedy", "beam"}, part
        assert len({r["options"]["postfilter"][0] for r in mine}) == 2 and len({r["options"]["recognizer"]
                                                                               for r in mine}) >= 2
    assert set(BUNDLED_SELECTORS) <= {r["options"]["selector"] for r in rows if r["kind"] == "tracks"}
    assert all(r["status"] == "ok" and r["provenance"]["machine"]["cpu"] for r in rows)
    assert all(r["metrics"]["n"] > 0 for r in rows)


def test_shards_keep_their_passes_while_other_jobs_finish(tmp_path):
    """A job's share is dealt over every planned pass: a pass another job has scored shifts nothing."""
    from types import SimpleNamespace

    from alprkit.leaderboard.combinations import Choice
    from alprkit.leaderboard.runner import Row, units
    from alprkit.leaderboard.store import RowStore

    crops = SimpleNamespace(name="tiny", kind="crops")
    reader = Choice.of("detector", "whole_image", {"name": "whole_image"})
    rows = [Row(crops, SimpleNamespace(detector=reader, recognizer=Choice.of("recognizer", name, {"name": name})),
                (), key, {}) for name, key in (("a", "1" * 64), ("b", "2" * 64))]
    store = RowStore(tmp_path)
    assert [u.rows[0].key for u in units(rows, store, False, 1, 2)] == ["2" * 64]
    store.put({"key": "1" * 64, "status": "ok"})  # shard 0 is done
    assert [u.rows[0].key for u in units(rows, store, False, 1, 2)] == ["2" * 64]
    assert units(rows, store, False, 0, 2) == []
    store.put({"key": "2" * 64, "status": "error"})
    assert units(rows, store, False, 1, 2) == [] and len(units(rows, store, True, 1, 2)) == 1  # retry_failed
