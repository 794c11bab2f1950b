"""``alprkit leaderboard -m``: Hydra's multirun on any launcher, every job scoring into the same row cache.

Jobs are Hydra's own (its sweep syntax, its launchers): the basic launcher runs them one
after another, ``hydra/launcher=joblib`` in parallel processes, ``hydra/launcher=submitit_slurm``
as a SLURM array (``submitit_local`` runs the same submission here, without a cluster).
``shards=N`` alone sweeps ``shard=0..N-1``: each job scores its share of the rows still
missing. Jobs write rows only; when they are done this process writes the board from the
cache, which then holds every job's rows.

A job's threads: ``threads=`` where given, else the cores split between the jobs that run
at once (joblib's ``n_jobs``, submitit's ``cpus_per_task``), so parallel jobs never fight
over the cores.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager

from ..errors import AlprkitError, ConfigError

_COMMAND = "alprkit leaderboard"


def launch(overrides: list, command: str) -> int:
    """Run the sweep, then write the board; the return value is the exit status."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from .. import plugins
    from ..checks import check_config
    from ..config import compose
    from . import benchmarks as bm
    from . import board

    parser = OverridesParser.create()
    try:
        parsed = parser.parse_overrides(overrides)
    except Exception as exc:  # Hydra's grammar errors share no useful base class
        raise ConfigError(f"multirun overrides: {str(exc).splitlines()[0]}") from None
    keys = {o.key_or_group for o in parsed}
    # The board's own settings, the sweeps and Hydra's settings left out: checked here, before any job starts.
    plain = [o.input_line for o in parsed if not o.is_sweep_override() and not o.key_or_group.startswith("hydra")]
    base = compose("leaderboard", plain)
    check_config("leaderboard", base, plain)
    board.check(base)
    extra = []
    shards = base.shards
    if shards > 1 and "shard" not in keys:
        extra.append(f"shard=range(0,{shards})")
    if "hydra.sweep.dir" not in keys:
        extra.append(f"hydra.sweep.dir={board.output_folder(base) / 'multirun' / time.strftime('%Y%m%d-%H%M%S')}")
    sources = plugins.default_plugins().config_sources
    if sources:
        extra.append(f"hydra.searchpath=[{','.join(sources)}]")
    cache = board.cache_folder(base) / "benchmarks"
    for benchmark in board.runner.selected_benchmarks(base.leaderboard):
        bm.folder(benchmark, cache, base.progress)  # made once here, not by every job at once
    with _argv(["-m", *overrides, *extra]):
        _hydra_main()
    summary = board.run(base.copy(), command, compute=False)
    print(f"leaderboard: {summary.rows} rows, {summary.failed} failed, {summary.missing} not scored"
          f"{' (see the jobs logs in the sweep folder)' if summary.missing else ''}; "
          f"the board: {summary.output / 'README.md'}", file=sys.stderr)
    return 1 if summary.missing else 0


def job(cfg) -> dict:
    """One job of the sweep: score its share of the missing rows into the cache (no board written)."""
    from ..checks import check_config
    from . import board

    try:
        if cfg.get("threads") is None:
            cfg.threads = job_threads()
        check_config("leaderboard", cfg)
        summary = board.run(cfg, _COMMAND, write_board=False)
    except AlprkitError as exc:  # reported on one line, as the command would; the board lists what is missing
        print(f"alprkit: error: {exc}", file=sys.stderr)
        return {"error": str(exc)}
    return {"scored": summary.scored, "missing": summary.missing}


def job_threads():
    """The cores this job may use: split between the jobs its launcher runs at once."""
    from hydra.core.hydra_config import HydraConfig

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        launcher = HydraConfig.get().launcher
    except ValueError:  # not inside a Hydra job
        return None
    target = str(launcher.get("_target_", ""))
    if "joblib" in target:
        n_jobs = launcher.get("n_jobs") or -1
        parallel = cores + 1 + n_jobs if n_jobs < 0 else n_jobs  # joblib: -1 is every core, -2 all but one
        return max(1, cores // max(1, parallel))
    if "submitit" in target:
        return launcher.get("cpus_per_task") or 1
    return None  # the basic launcher runs one job at a time


def _hydra_main():
    import hydra

    main = hydra.main(version_base=None, config_path="pkg://alprkit.conf", config_name="leaderboard")(job)
    try:
        main()
    except SystemExit as exc:  # Hydra exits on an error it has printed
        if exc.code not in (0, None):
            raise ConfigError("the multirun stopped: see Hydra's message above") from None


@contextmanager
def _argv(arguments):
    saved = sys.argv
    sys.argv = [_COMMAND, *arguments]
    try:
        yield
    finally:
        sys.argv = saved
