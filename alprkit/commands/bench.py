"""``alprkit bench``: plates/s at each batch size for every recognizer and backend.

The eager PyTorch fp32 backend (``torch``) is measured in the same run, and every
other backend is reported as a ratio to it.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict

from omegaconf import OmegaConf

from ..atomic import write_json_atomic
from ..bench import network_cost, run_bench
from ..errors import ConfigError
from ..metrics import format_table
from .. import plugins


# Table 4 of the LPRNet paper; the others have no paper figure.
PAPER_GFLOPS = {"lprnet_baseline": "0.71", "lprnet_basic": "0.34", "lprnet_reduced": "0.163"}


def main(cfg, words) -> int:
    backends = list(cfg.backends)
    if "torch" not in backends:
        backends.insert(0, "torch")  # the reference every ratio is taken against
    elif backends[0] != "torch":
        backends.remove("torch")
        backends.insert(0, "torch")
    batches = [int(b) for b in cfg.batches]
    if any(b < 1 for b in batches):
        raise ConfigError(f"bench batches must be >= 1, got {batches}")
    registry = plugins.registry()
    params = OmegaConf.to_container(cfg.params) if cfg.params else {}

    def create(name, backend):
        return registry.create("recognizer", name, backend=backend, threads=cfg.threads, **params)

    def show(cell):
        print(f"alprkit: {cell.recognizer} {cell.backend} batch {cell.batch}: {cell.plates_per_s:.0f} plates/s",
              file=sys.stderr)

    costs = []
    for name in cfg.recognizers:
        recognizer = create(name, "torch")
        params_m, gflops = network_cost(recognizer.network, recognizer.input_size)
        costs.append({"recognizer": name, "input": "x".join(map(str, recognizer.input_size)),
                      "params_m": f"{params_m:.3f}", "gflops": f"{gflops:.3f}",
                      "paper_gflops": PAPER_GFLOPS.get(name, "-")})
    print(format_table(costs, ["recognizer", "input", "params_m", "gflops", "paper_gflops"]))
    print()
    cells = run_bench(create, list(cfg.recognizers), backends, batches, float(cfg.seconds), int(cfg.warmup), show)
    rows = [{"recognizer": c.recognizer, "backend": c.backend, "batch": c.batch,
             "plates_per_s": f"{c.plates_per_s:.0f}", "ms_per_plate": c.ms_per_plate,
             "vs_eager_fp32": f"{c.vs_eager_fp32:.2f}x"} for c in cells]
    print(format_table(rows, ["recognizer", "backend", "batch", "plates_per_s", "ms_per_plate", "vs_eager_fp32"]))
    report = {"machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                          "threads": cfg.threads},
              "models": costs, "cells": [asdict(c) for c in cells]}
    if cfg.output:
        write_json_atomic(cfg.output, report)
    print(json.dumps(report))
    return 0
