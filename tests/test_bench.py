"""``alprkit bench``: the spinning second process, a pipeline's read figures, loads and bad settings.

No figure is checked for speed (that is what bench is for); only that each is measured,
per load, with the threads that load got.
"""

import json
import math
import time

import pytest
from helpers import assert_one_line_error, one_torch_thread, run_alprkit  # noqa: F401 (a fixture)

from alprkit import threads
from alprkit.bench import machine_load, sample_frames, time_read
from alprkit.config import compose
from alprkit.errors import ConfigError
from alprkit.pipeline import Pipeline


def test_one_core_busy_spins_a_second_process_until_the_block_ends():
    with machine_load("one_core_busy") as spinner:
        before = threads._process_jiffies(spinner.pid)
        time.sleep(0.3)
        assert spinner.poll() is None
        assert threads._process_jiffies(spinner.pid) > before  # it uses CPU: it spins
    assert spinner.poll() is not None  # stopped
    with machine_load("idle") as nothing:
        assert nothing is None
    with pytest.raises(ConfigError, match="load must be one of idle, one_core_busy"):
        with machine_load("busy"):
            pass


def test_a_pipeline_read_is_timed_in_its_parts(one_torch_thread):
    cfg = compose("bench", ["pipeline=lprnet_cn"])
    pipeline = Pipeline.from_config(cfg)
    cells = time_read(pipeline, sample_frames(cfg.pipeline), [1, 3], seconds=0.0, warmup=0)
    assert [(c.pipeline, c.batch, c.load, c.threads) for c in cells] == [("lprnet_cn", 1, "idle", 1),
                                                                        ("lprnet_cn", 3, "idle", 1)]
    for cell in cells:
        for value in (cell.network_ms, cell.recognizer_ms, cell.decode_ms, cell.read_ms):
            assert math.isfinite(value) and value > 0
        assert cell.plates_per_s == pytest.approx(1000.0 / cell.read_ms)
        assert cell.runs_on in ("onnxruntime", "torch")


def test_bench_pipeline_reports_each_load_with_its_threads_and_backend():
    result = run_alprkit("bench", "pipeline=lprnet_cn", "batches=[1,2]", "seconds=0", "warmup=0",
                         "load=[idle,one_core_busy]", timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert [(r["load"], r["batch"]) for r in report["reads"]] == [("idle", 1), ("idle", 2), ("one_core_busy", 1),
                                                                 ("one_core_busy", 2)]
    loads = {entry["load"]: entry for entry in report["loads"]}
    # OMP_NUM_THREADS=1 (the tests' environment) is what both loads get, and bench says so.
    assert {entry["threads"] for entry in loads.values()} == {1}
    assert loads["idle"]["why"] == "OMP_NUM_THREADS=1 in the environment"
    assert loads["idle"]["runs_on"] in ("onnxruntime", "torch") and loads["idle"]["backend_why"]
    assert "one_core_busy: 1 thread by default (OMP_NUM_THREADS=1 in the environment)" in result.stdout
    assert "vs_idle" in result.stdout and "decode_ms" in result.stdout


def test_bench_recognizers_under_both_loads():
    pytest.importorskip("torch")
    result = run_alprkit("bench", "recognizers=[lprnet_reduced]", "backends=[torch]", "batches=[1]", "seconds=0",
                         "warmup=0", "load=[idle,one_core_busy]", "params={stn: false}", timeout=300)
    assert result.returncode == 0, result.stderr
    cells = json.loads(result.stdout.splitlines()[-1])["cells"]
    assert [(c["load"], c["backend"], c["runs_on"], c["threads"]) for c in cells] == [
        ("idle", "torch", "torch", 1), ("one_core_busy", "torch", "torch", 1)]


@pytest.mark.parametrize("setting, fragment", [
    ("load=[sometimes]", "bench load must be a list of idle, one_core_busy, got 'sometimes'"),
    ("batches=[0]", "batches must be >= 1, got 0"),
    ("threads=0", "threads must be >= 1, got 0"),
    ("seconds=-1", "seconds must be >= 0"),
])
def test_bad_bench_settings_are_one_line_naming_the_key(setting, fragment):
    result = run_alprkit("bench", "pipeline=lprnet_cn", setting)
    assert_one_line_error(result.returncode, result.stderr, fragment)
