"""``alprkit bench``: plates/s at each batch size for every recognizer and backend, or of a pipeline's read.

The eager PyTorch fp32 backend (``torch``) is measured in the same run, and every
other backend is reported as a ratio to it; ``quality=[...]`` adds the quality networks of
stream selectors (EQ-LPR's ``eqlpr_p``, ``eqlpr_s``, ``eqlpr_e``: ms per crop). ``pipeline=NAME``
times that pipeline's whole read of a crop instead (network, recognizer, decoding and post-filters, the read).
Each figure is taken idle and with one core kept busy by a second process (``load``),
with the threads each load gets and why.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from contextlib import nullcontext
from dataclasses import asdict

from omegaconf import OmegaConf

from .. import plugins
from ..atomic import write_json_atomic
from ..batch import plural
from ..bench import LOADS, machine_load, network_cost, run_bench, runs_on, sample_frames, thread_choice, time_read
from ..config import config_float, config_int
from ..errors import ConfigError
from ..metrics import format_table
from ..threads import pinned

# Table 4 of the LPRNet paper; the others have no paper figure.
PAPER_GFLOPS = {"lprnet_baseline": "0.71", "lprnet_basic": "0.34", "lprnet_reduced": "0.163"}


def main(cfg, words) -> int:
    settings = _settings(cfg)
    if cfg.get("pipeline"):
        report = _bench_pipeline(cfg, settings)
    else:
        report = _bench_recognizers(cfg, settings)
        if cfg.get("quality"):
            report["quality"] = _bench_quality(cfg, settings)
    report["machine"] = {"cpus": os.cpu_count(), "usable_cores": len(_affinity()),
                         "processor": platform.processor() or platform.machine(), "threads": settings["threads"]}
    if cfg.output:
        write_json_atomic(cfg.output, report)
    print(json.dumps(report))
    return 0


def _settings(cfg) -> dict:
    batches = cfg.batches if OmegaConf.is_list(cfg.batches) else [cfg.batches]
    loads = list(cfg.load) if OmegaConf.is_list(cfg.load) else [cfg.load]
    for load in loads:
        if load not in LOADS:
            raise ConfigError(f"bench load must be a list of {', '.join(LOADS)}, got {load!r}")
    return {
        "batches": [config_int({"batches": b}, "batches", minimum=1) for b in batches],
        "loads": loads,
        "threads": config_int(cfg, "threads", minimum=1),
        "seconds": config_float(cfg, "seconds", minimum=0.0),
        "warmup": config_int(cfg, "warmup", minimum=0) or 0,
    }


def _under_loads(settings, measure) -> tuple[list, list]:
    """``measure(load)`` under each load, and what the default thread count was under it and why."""
    results, choices = [], []
    for load in settings["loads"]:
        with machine_load(load):
            if settings["threads"]:  # every backend gets it, as if each component's config said so
                held = pinned(settings["threads"], f"threads={settings['threads']} set in the bench config")
            else:
                thread_choice()  # measured again under this load
                held = nullcontext()
            with held:
                choice = thread_choice(refresh=False)
                choices.append({"load": load, "threads": choice.threads, "why": choice.reason})
                print(f"alprkit: bench {load}: {plural(choice.threads, 'thread')} ({choice.reason})", file=sys.stderr)
                results += measure(load)
    return results, choices


def _bench_recognizers(cfg, settings) -> dict:
    backends = list(cfg.backends)
    if "torch" not in backends:
        backends.insert(0, "torch")  # the reference every ratio is taken against
    elif backends[0] != "torch":
        backends.remove("torch")
        backends.insert(0, "torch")
    registry = plugins.registry()
    params = OmegaConf.to_container(cfg.params) if cfg.params else {}
    taken = {name: _taken(registry.get("recognizer", name), params) for name in cfg.recognizers}
    for name, keys in taken.items():
        if set(params) - keys:
            print(f"alprkit: bench: {name} takes no {', '.join(sorted(set(params) - keys))} (params)", file=sys.stderr)

    def create(name, backend):
        mine = {key: value for key, value in params.items() if key in taken[name]}
        return registry.create("recognizer", name, backend=backend, threads=settings["threads"], **mine)

    def show(cell):
        print(f"alprkit: {cell.load}: {cell.recognizer} {cell.backend} batch {cell.batch}: "
              f"{cell.plates_per_s:.0f} plates/s", file=sys.stderr)

    costs = []
    for name in cfg.recognizers:
        recognizer = create(name, "torch")
        params_m, gflops = network_cost(recognizer.network, recognizer.input_size)
        costs.append({"recognizer": name, "input": "x".join(map(str, recognizer.input_size)),
                      "params_m": f"{params_m:.3f}", "gflops": f"{gflops:.3f}",
                      "paper_gflops": PAPER_GFLOPS.get(name, "-")})
    print(format_table(costs, ["recognizer", "input", "params_m", "gflops", "paper_gflops"]))
    print()
    cells, choices = _under_loads(settings, lambda load: run_bench(
        create, list(cfg.recognizers), backends, settings["batches"], settings["seconds"], settings["warmup"], show,
        load))
    idle = {(c.recognizer, c.backend, c.batch): c.plates_per_s for c in cells if c.load == "idle"}
    rows = [{"load": c.load, "recognizer": c.recognizer, "backend": c.backend, "runs_on": c.runs_on,
             "threads": c.threads, "batch": c.batch, "plates_per_s": f"{c.plates_per_s:.0f}",
             "ms_per_plate": c.ms_per_plate, "vs_eager_fp32": f"{c.vs_eager_fp32:.2f}x",
             "vs_idle": _ratio(c.plates_per_s, idle.get((c.recognizer, c.backend, c.batch)), c.load)} for c in cells]
    _print_choices(choices)
    print(format_table(rows, ["load", "recognizer", "backend", "runs_on", "threads", "batch", "plates_per_s",
                              "ms_per_plate", "vs_eager_fp32", "vs_idle"]))
    return {"loads": choices, "models": costs, "cells": [asdict(c) for c in cells]}


def _bench_quality(cfg, settings) -> dict:
    """ms per crop of stream selectors' quality networks (EQ-LPR's P, S and E), as for the recognizers."""
    names = list(cfg.quality) if OmegaConf.is_list(cfg.quality) else [cfg.quality]
    registry = plugins.registry()
    backends = [b for b in cfg.backends if b != "torch_bf16"]  # compiling small nets per batch size is not worth it
    backends = ["torch", *[b for b in backends if b != "torch"]]

    def create(name, backend):
        selector = registry.create("selector", name, backend=backend, threads=settings["threads"])
        if not hasattr(selector, "scorer"):
            raise ConfigError(f"bench quality: selector {name!r} has no quality network")
        return selector.scorer

    costs = []
    for name in names:
        scorer = create(name, "torch")
        params_m, gflops = network_cost(scorer.network, scorer.input_size)
        costs.append({"quality": name, "input": "x".join(map(str, scorer.input_size)), "params_m": f"{params_m:.3f}",
                      "gflops": f"{gflops:.4f}", "trained": scorer.trained})
    print(format_table(costs, ["quality", "input", "params_m", "gflops", "trained"]))
    print()
    cells, _ = _under_loads(settings, lambda load: run_bench(create, names, backends, settings["batches"],
                                                             settings["seconds"], settings["warmup"], None, load))
    rows = [{"load": c.load, "quality": c.recognizer, "backend": c.backend, "runs_on": c.runs_on, "threads": c.threads,
             "batch": c.batch, "ms_per_crop": c.ms_per_plate, "vs_eager_fp32": f"{c.vs_eager_fp32:.2f}x"}
            for c in cells]
    print(format_table(rows, ["load", "quality", "backend", "runs_on", "threads", "batch", "ms_per_crop",
                              "vs_eager_fp32"]))
    return {"models": costs, "cells": [asdict(c) for c in cells]}


def _bench_pipeline(cfg, settings) -> dict:
    from ..pipeline import Pipeline

    name = cfg.pipeline.get("name") or "pipeline"
    frames = sample_frames(cfg.pipeline)
    backends = {}

    def measure(load):
        pipeline = Pipeline.from_config(cfg)  # built under this load: its threads are this load's
        backends[load] = runs_on(pipeline.recognizer)
        return time_read(pipeline, frames, settings["batches"], settings["seconds"], settings["warmup"], load)

    cells, choices = _under_loads(settings, measure)
    for choice in choices:
        choice["runs_on"], choice["recognizer_threads"], choice["backend_why"] = backends[choice["load"]]
    idle = {c.batch: c.plates_per_s for c in cells if c.load == "idle"}
    rows = [{"pipeline": c.pipeline, "load": c.load, "runs_on": c.runs_on, "threads": c.threads, "batch": c.batch,
             "network_ms": c.network_ms, "recognizer_ms": c.recognizer_ms, "decode_ms": c.decode_ms,
             "read_ms": c.read_ms, "plates_per_s": f"{c.plates_per_s:.0f}",
             "vs_idle": _ratio(c.plates_per_s, idle.get(c.batch), c.load)} for c in cells]
    _print_choices(choices)
    print(format_table(rows, ["pipeline", "load", "runs_on", "threads", "batch", "network_ms", "recognizer_ms",
                              "decode_ms", "read_ms", "plates_per_s", "vs_idle"]))
    return {"pipeline": name, "loads": choices, "reads": [asdict(c) for c in cells]}


def _taken(component, params) -> set:
    """The keys of ``params`` a recognizer's factory takes (``stn`` is LPRNet's, not the parallel STN's)."""
    import inspect

    try:
        accepted = inspect.signature(component.factory).parameters
    except (TypeError, ValueError):
        return set(params)
    if any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        return set(params)
    return set(params) & set(accepted)


def _print_choices(choices):
    for choice in choices:
        print(f"{choice['load']}: {plural(choice['threads'], 'thread')} by default ({choice['why']})")
        if choice.get("backend_why"):
            print(f"{choice['load']}: recognizer on {choice['runs_on']}, "
                  f"{plural(choice['recognizer_threads'] or 0, 'thread')} ({choice['backend_why']})")
    print()


def _ratio(rate, idle_rate, load):
    if load == "idle" or not idle_rate:
        return "-"
    return f"{rate / idle_rate:.2f}x"


def _affinity():
    try:
        return os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return range(os.cpu_count() or 1)
