"""How many threads a compute backend runs with when the config leaves ``threads`` unset.

Torch and onnxruntime default to one thread per core. Where another process keeps a core
busy, that oversubscribes the machine: a thread pool waits at every operator for its slowest
thread, the one sharing the busy core. Eager torch fell from 105 to 2 plates/s on a 2-core
machine with one core taken. So the default is chosen when a backend is built, from

- the cores this process may run on (its CPU affinity, and a cgroup CPU quota if lower),
- less the cores other processes keep busy (``/proc/stat`` over 0.1 s; a core counts as
  taken from 30% use, since a thread pool waits on its slowest thread),
- shared among the alprkit processes running on them at the same time,

and never below one thread. ``OMP_NUM_THREADS`` in the environment is taken as it is. The
choice is made once per process and kept (:func:`choose` with ``refresh`` measures again);
``threads=N`` in a config always wins (:func:`resolve`).
"""

from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

from .errors import ConfigError

SAMPLE_SECONDS = 0.1
TAKEN_FROM = 0.3  # of a core used by other processes: that core is not free


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    reason: str  # one line, for bench and provenance: what the choice was made from
    cores: int = 0  # cores this process may use
    busy: Optional[float] = None  # cores other processes kept busy while it was measured
    workers: int = 1  # alprkit processes sharing the cores, this one included
    measured: bool = False  # chosen from the cores alone, not set (pinned, OMP_NUM_THREADS): a backend may time it


_chosen: Optional[ThreadChoice] = None


def default_threads() -> int:
    """The thread count a backend uses when its config says ``threads: null``."""
    return choose().threads


def choose(refresh: bool = False) -> ThreadChoice:
    """The default for this process: measured on first use (0.1 s), then kept unless ``refresh``."""
    global _chosen
    if _chosen is None or refresh:
        _chosen = _measure()
    return _chosen


@contextmanager
def pinned(threads: int, reason: str):
    """Within the block the default is ``threads`` (tests; a caller that has measured for itself)."""
    global _chosen
    before, _chosen = _chosen, ThreadChoice(int(threads), reason)
    try:
        yield _chosen
    finally:
        _chosen = before


def resolve(threads) -> tuple[int, str]:
    """``(threads, why)`` for a backend given its config's ``threads`` (None: the default)."""
    if threads is None:
        choice = choose()
        return choice.threads, choice.reason
    return _checked(threads)


def may_time(threads) -> bool:
    """Whether a backend built with ``threads`` may time fewer threads against the default and keep the
    faster: only when nothing set the count (config, OMP_NUM_THREADS, a pinned block) and it is above 1."""
    if threads is not None:
        return False
    choice = choose()
    return choice.measured and choice.threads > 1


def _checked(threads) -> tuple[int, str]:
    if isinstance(threads, bool) or not _whole(threads) or int(threads) < 1:
        raise ConfigError(f"threads must be a whole number >= 1 (or null: chosen from the free cores), got {threads!r}")
    return int(threads), f"threads={int(threads)} set in the config"


def _whole(value) -> bool:
    try:
        return float(value) == int(value)
    except (TypeError, ValueError, OverflowError):
        return False


def _measure() -> ThreadChoice:
    cpus = _allowed_cpus()
    cores = min(len(cpus), _quota_cores() or len(cpus))
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env:
        try:
            return ThreadChoice(max(1, int(env)), f"OMP_NUM_THREADS={env} in the environment", cores)
        except ValueError:
            pass  # torch ignores a malformed value too; choose as if unset
    if cores <= 1:
        return ThreadChoice(1, "1 core available", cores)
    busy, peers = _other_load(cpus)
    workers = 1 + peers
    taken = 0 if busy is None else max(0, math.ceil(busy - TAKEN_FROM))
    free = max(1, cores - taken)
    threads = max(1, min(free, cores // workers))
    if busy is None:
        why = f"{cores} cores, load unknown (no /proc/stat)"
    else:
        why = f"{free} of {cores} cores free (other processes kept {busy:.2f} cores busy over {SAMPLE_SECONDS:g} s)"
    if workers > 1:
        why += f", shared by {workers} alprkit processes"
    return ThreadChoice(threads, why, cores, busy, workers, measured=True)


def _allowed_cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def _quota_cores() -> Optional[int]:
    """Cores a cgroup CPU quota allows (v2 ``cpu.max``, v1 ``cfs_quota_us``), or None."""
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()[:2]
    except (OSError, ValueError):
        try:
            quota = open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read().strip()
            period = open("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read().strip()
        except OSError:
            return None
    try:
        if quota == "max" or int(quota) <= 0:
            return None
        return max(1, math.ceil(int(quota) / int(period)))
    except ValueError:
        return None


def _other_load(cpus) -> tuple[Optional[float], int]:
    """(Cores other processes kept busy on ``cpus``, other alprkit processes using CPU) over the sample."""
    before = _cpu_jiffies(cpus)
    if before is None:
        return _loadavg_busy(), 0
    peers = _alprkit_peers()
    peer_before = {pid: _process_jiffies(pid) for pid in peers}
    own_before, start = _own_seconds(), time.monotonic()
    time.sleep(SAMPLE_SECONDS)
    after = _cpu_jiffies(cpus)
    own, elapsed = _own_seconds() - own_before, time.monotonic() - start
    if after is None or after[1] <= before[1]:
        return None, 0
    busy = (after[0] - before[0]) / (after[1] - before[1]) * len(cpus) - own / elapsed
    active = sum(1 for pid, jiffies in peer_before.items()
                 if jiffies is not None and (_process_jiffies(pid) or 0) > jiffies)
    return max(0.0, busy), active


def _cpu_jiffies(cpus) -> Optional[tuple[int, int]]:
    """(busy, total) jiffies of ``cpus`` from ``/proc/stat``."""
    wanted = {f"cpu{c}" for c in cpus}
    busy = total = 0
    try:
        with open("/proc/stat") as f:
            for line in f:
                name, *fields = line.split()
                if name not in wanted:
                    continue
                values = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
                total += sum(values)
                busy += sum(values) - values[3] - values[4]
    except (OSError, ValueError, IndexError):
        return None
    return (busy, total) if total else None


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _loadavg_busy() -> Optional[float]:
    """Without /proc/stat: the 1-minute load less this process's own run queue entry."""
    try:
        return max(0.0, os.getloadavg()[0] - 1.0)
    except (AttributeError, OSError):
        return None


def _alprkit_peers() -> list[int]:
    """Other alprkit processes (``alprkit ...`` or ``python -m alprkit...``), not this one nor its ancestors."""
    mine = _ancestors()
    peers = []
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []
    for pid in pids:
        if pid in mine:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if _is_alprkit([a.decode("utf-8", "replace") for a in argv if a]):
            peers.append(pid)
    return peers


def _is_alprkit(argv) -> bool:
    if not argv:
        return False
    names = [os.path.basename(a) for a in argv[:2]]
    if "alprkit" in names:  # the script, or python running the script
        return True
    return len(argv) >= 3 and argv[1] == "-m" and argv[2].split(".")[0] == "alprkit"


def _ancestors() -> set[int]:
    pid, seen = os.getpid(), set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        pid = _parent(pid)
    return seen


def _parent(pid) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _process_jiffies(pid) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, ValueError, IndexError):
        return None
