"""The default thread count: from the free cores, shared among alprkit processes; a config's threads wins."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from alprkit import threads
from alprkit.errors import ConfigError
from alprkit.threads import choose, pinned, resolve


@pytest.fixture
def machine(monkeypatch):
    """A machine of ``cores`` cores where other processes keep ``busy`` of them busy and ``peers`` alprkit runs."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)

    def make(cores, busy=0.0, peers=0, quota=None):
        monkeypatch.setattr(threads, "_allowed_cpus", lambda: list(range(cores)))
        monkeypatch.setattr(threads, "_quota_cores", lambda: quota)
        monkeypatch.setattr(threads, "_other_load", lambda cpus: (busy, peers))
        return choose(refresh=True)

    yield make
    choose(refresh=True)


@pytest.mark.parametrize("cores, busy, peers, quota, expected", [
    (2, 0.02, 0, None, 2),  # idle: every core
    (2, 1.0, 0, None, 1),  # one core kept busy by another process: one thread, not two fighting for one core
    (2, 0.35, 0, None, 1),  # a third of a core taken is enough to make a second thread wait
    (2, 2.0, 0, None, 1),  # never fewer than one
    (2, 0.0, 1, None, 1),  # two alprkit processes on two cores: one each
    (16, 0.1, 2, None, 5),  # three of them on 16 cores
    (16, 3.2, 0, None, 13),  # 3 cores and a fifth of one
    (16, 3.4, 0, None, 12),
    (64, 0.0, 0, 4, 4),  # a cgroup quota of 4 cores on a 64-core host
    (1, 0.0, 0, None, 1),
])
def test_threads_from_the_free_cores(machine, cores, busy, peers, quota, expected):
    choice = machine(cores, busy, peers, quota)
    assert choice.threads == expected
    assert str(min(cores, quota or cores)) in choice.reason
    assert (f"shared by {peers + 1} alprkit processes" in choice.reason) == (peers > 0 and cores > 1)


def test_the_choice_is_kept_until_refreshed(machine, monkeypatch):
    first = machine(2, 0.0)
    monkeypatch.setattr(threads, "_other_load", lambda cpus: (1.0, 0))
    assert choose() is first and choose().threads == 2
    assert choose(refresh=True).threads == 1


def test_omp_num_threads_in_the_environment_is_taken_as_it_is(machine, monkeypatch):
    machine(8, 0.0)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    choice = choose(refresh=True)
    assert (choice.threads, choice.reason) == (3, "OMP_NUM_THREADS=3 in the environment")


def test_a_config_value_wins_and_bad_ones_name_the_key():
    assert resolve(3) == (3, "threads=3 set in the config")
    assert resolve(2.0)[0] == 2
    with pinned(4, "pinned for this test"):
        assert resolve(None) == (4, "pinned for this test")
    for bad in (0, -1, 1.5, "two", True, float("inf")):
        with pytest.raises(ConfigError, match=r"^threads must be a whole number >= 1"):
            resolve(bad)


def test_measures_the_load_of_this_machine():
    cpus = threads._allowed_cpus()
    busy, _ = threads._other_load(cpus)
    assert busy is None or 0.0 <= busy <= len(cpus) + 0.5  # no /proc/stat: load unknown


def test_finds_other_alprkit_processes_not_itself():
    assert os.getpid() in threads._ancestors()
    peer = subprocess.Popen(["alprkit", "-c", "import time; time.sleep(30)"], executable=sys.executable)
    try:
        for _ in range(50):  # the new process's command line appears once it has started
            if peer.pid in threads._alprkit_peers():
                break
            time.sleep(0.05)
        assert peer.pid in threads._alprkit_peers()
        assert threads._process_jiffies(peer.pid) is not None
    finally:
        peer.kill()
        peer.wait()
    assert threads._is_alprkit(["/venv/bin/python", "/venv/bin/alprkit", "eval", "data=x"])
    assert threads._is_alprkit(["python", "-m", "alprkit.cli", "bench"])
    assert not threads._is_alprkit(["python", "-m", "pytest", "tests/test_alprkit.py"])
    assert not threads._is_alprkit([])


def test_backends_run_with_the_chosen_threads():
    import onnxruntime  # noqa: F401 (the shipped recognizers' backend)

    from alprkit.backends import OnnxBackend
    from helpers import REPO

    path = REPO / "plugins" / "alprkit_lprnet" / "weights" / "lprnet_basic.cn.onnx"
    with pinned(1, "one thread, pinned"):
        backend = OnnxBackend(path)
    assert (backend.threads, backend.threads_reason) == (1, "one thread, pinned")
    assert OnnxBackend(path, threads=2).threads == 2
    with pytest.raises(ConfigError, match="threads"):
        OnnxBackend(path, threads=0)


def test_a_detector_session_times_one_thread_against_the_default_only_when_nothing_set_it(machine, monkeypatch):
    pytest.importorskip("onnxruntime")
    import alprkit_mtcnn
    from alprkit_mtcnn.detector import TYPICAL_BATCHES

    from alprkit.backends import OnnxBackend

    onet = alprkit_mtcnn.default_weights().path.with_suffix(".onet.onnx")
    machine(2, 0.0)  # measured: two free cores
    timed = OnnxBackend(onet, time_on=TYPICAL_BATCHES["onet"])
    assert timed.threads in (1, 2) and f"{timed.threads} kept" in timed.threads_reason
    assert "ms at 1 thread" in timed.threads_reason and timed(np.zeros((3, 3, 24, 94), np.float32)) is not None
    # Set by the config, a pinned block or the environment: used as it is, never timed.
    assert "kept" not in OnnxBackend(onet, threads=2, time_on=TYPICAL_BATCHES["onet"]).threads_reason
    with pinned(2, "pinned"):
        assert OnnxBackend(onet, time_on=TYPICAL_BATCHES["onet"]).threads_reason == "pinned"
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    choose(refresh=True)
    assert "kept" not in OnnxBackend(onet, time_on=TYPICAL_BATCHES["onet"]).threads_reason


def test_a_session_spins_only_while_it_is_the_one_network_of_the_process():
    pytest.importorskip("onnxruntime")
    import gc

    import alprkit_mtcnn
    from alprkit_mtcnn.detector import TYPICAL_BATCHES

    from alprkit import backends
    from helpers import REPO

    gc.collect()
    if len(backends._LIVE_SESSIONS):
        pytest.skip("other onnxruntime sessions are alive in this test process")
    crops = backends.OnnxBackend(REPO / "plugins" / "alprkit_lprnet" / "weights" / "lprnet_basic.cn.onnx", threads=2)
    assert crops._spin  # a crop reader alone: its threads may spin between runs
    onet = alprkit_mtcnn.default_weights().path.with_suffix(".onet.onnx")
    detector = backends.OnnxBackend(onet, threads=2, time_on=TYPICAL_BATCHES["onet"])
    assert not detector._spin and not crops._spin  # a photo pipeline's networks take turns: none spins
    assert crops(np.zeros((1, 3, 24, 94), np.float32)) is not None  # the reopened session still reads
    del crops, detector
    gc.collect()
    assert len(backends._LIVE_SESSIONS) == 0


def test_torch_backend_sets_torchs_threads():
    torch = pytest.importorskip("torch")
    from alprkit.backends import TorchBackend

    before = torch.get_num_threads()
    try:
        backend = TorchBackend(torch.nn.Identity(), threads=1)
        assert torch.get_num_threads() == 1 and backend.threads_reason == "threads=1 set in the config"
        with pinned(2, "pinned"):
            TorchBackend(torch.nn.Identity())
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_a_bad_threads_value_in_a_pipeline_is_one_line_naming_it():
    from alprkit.config import compose
    from alprkit.pipeline import Pipeline

    cfg = compose("eval", ["pipeline=lprnet_cn", "data=x", "+recognizer.threads=0"])
    with pytest.raises(ConfigError, match=r"threads must be a whole number >= 1.*got 0"):
        Pipeline.from_config(cfg)
