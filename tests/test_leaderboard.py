"""The leaderboard scores fitting pipelines, skips missing data, and writes its page from the results."""

import json

from helpers import run_alprkit, write_crops


def test_leaderboard_scores_fitting_pipelines_and_writes_its_page(tmp_path):
    crops = write_crops(tmp_path / "crops")
    out = tmp_path / "board"
    benchmarks = [f"+leaderboard.benchmarks.tiny={{data: {crops}, kind: crops, region: cn}}",
                  f"+leaderboard.benchmarks.us_only={{data: {crops}, kind: crops, region: us}}",
                  f"+leaderboard.benchmarks.gone={{data: {tmp_path / 'missing'}, kind: crops, region: cn}}",
                  "leaderboard.select=[tiny,us_only,gone]"]
    result = run_alprkit("leaderboard", "leaderboard.pipelines=[untrained]", *benchmarks, f"output={out}",
                         "progress=false", "warmup=0")
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert [(r["pipeline"], r["benchmark"], r["n"]) for r in results["rows"]] == [("untrained", "tiny", 8)]
    assert any("gone" in note for note in results["notes"])  # missing data is noted, not fatal
    page = (out / "README.md").read_text()
    assert "untrained" in page and "leaderboard.png" in page
    assert (out / "leaderboard.png").stat().st_size > 1000


def test_leaderboard_rejects_unknown_pipelines(tmp_path):
    result = run_alprkit("leaderboard", "leaderboard.pipelines=[nope]", f"output={tmp_path}")
    assert result.returncode == 2 and "unknown nope" in result.stderr
