"""``alprkit leaderboard -m``: Hydra's multirun on its launchers, every job's rows merged into one cache.

joblib runs the shards as local processes; submitit's local executor makes the same submission
as its SLURM executor, without a cluster. Each board is two rows in two passes (one per
recognizer), so two shards each score one.
"""

import os

import pytest
from helpers import run_alprkit, write_crops

from alprkit.leaderboard.report import read_results

pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="the cluster extra is not installed")
pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="the cluster extra is not installed")


def two_row_board(root):
    crops = write_crops(root / "crops")
    return [f"+leaderboard.benchmarks.tiny={{data: '{crops}', kind: crops, region: cn}}", "leaderboard.select=[tiny]",
            "leaderboard.options.recognizer=[lprnet_cn,lprnet_global]", "leaderboard.options.decoder=[greedy]",
            "leaderboard.options.postfilter=[[template]]", "leaderboard.pipelines=[]", f"output={root / 'board'}",
            f"cache={root / 'cache'}", "progress=false", "warmup=0"]


def rows_of(root):
    return read_results(root / "board")


def usable_cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def test_joblib_shards_score_into_one_cache_with_the_cores_split(tmp_path):
    result = run_alprkit("leaderboard", "-m", "shards=2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                         *two_row_board(tmp_path), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    said = result.stdout + result.stderr  # Hydra logs its jobs on stdout
    assert "shard=0" in said and "shard=1" in said
    rows = rows_of(tmp_path)
    assert sorted(r["options"]["recognizer"] for r in rows) == ["lprnet_cn", "lprnet_global"]
    assert all(r["status"] == "ok" and r["provenance"]["rows_in_pass"] == 1 for r in rows)
    assert {r["provenance"]["threads"] for r in rows} == {max(1, usable_cores() // 2)}  # two jobs at once
    assert (tmp_path / "board" / "README.md").is_file()  # written once the jobs were done
    # The jobs' rows are in the shared cache: a plain run finds them all.
    again = run_alprkit("leaderboard", *two_row_board(tmp_path), timeout=600)
    assert again.returncode == 0 and " 0 scored now" in again.stderr, again.stderr[-2000:]


def test_a_slurm_submission_runs_on_submitits_local_executor(tmp_path):
    result = run_alprkit("leaderboard", "-m", "shards=2", "hydra/launcher=submitit_local",
                         "hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=10", *two_row_board(tmp_path),
                         timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    [sweep] = (tmp_path / "board" / "multirun").iterdir()
    jobs = [p for p in (sweep / ".submitit").iterdir() if p.name != "%j"]
    assert len(jobs) == 2 and all(list(job.glob("*_result.pkl")) for job in jobs)
    rows = rows_of(tmp_path)
    assert len(rows) == 2 and all(r["status"] == "ok" for r in rows)
    assert {r["provenance"]["threads"] for r in rows} == {1}  # cpus_per_task


def test_a_hydra_sweep_of_a_setting_fills_one_board(tmp_path):
    board = [s for s in two_row_board(tmp_path) if not s.startswith("leaderboard.options.decoder")]
    result = run_alprkit("leaderboard", "-m", "leaderboard.options.decoder=[greedy],[beam]", *board, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Launching 2 jobs locally" in result.stdout + result.stderr
    rows = rows_of(tmp_path)  # the board of the settings without the sweep: every decoder
    assert sorted((r["options"]["recognizer"], r["options"]["decoder"]) for r in rows) == [
        ("lprnet_cn", "beam"), ("lprnet_cn", "greedy"), ("lprnet_global", "beam"), ("lprnet_global", "greedy")]


def test_a_bad_setting_stops_the_multirun_before_any_job(tmp_path):
    result = run_alprkit("leaderboard", "-m", "shards=2", "warmup=-1", *two_row_board(tmp_path)[:-1], timeout=300)
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1].startswith("alprkit: error: warmup")
    assert not (tmp_path / "board" / "multirun").exists()
