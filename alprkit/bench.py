"""Recognizer throughput: plates/s per recognizer, backend and batch size, against eager fp32.

Each cell times whole recognizer calls (pre-processing, network, softmax) on random
crops after warm-up; compilation and export happen before timing starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .types import Crop, Detection

_BOX = Detection((0.0, 0.0, 1.0, 1.0))


@dataclass(frozen=True)
class Cell:
    recognizer: str
    backend: str
    batch: int
    plates_per_s: float
    ms_per_plate: float
    vs_eager_fp32: float = float("nan")


def network_cost(network, input_size) -> tuple[float, float]:
    """(million parameters, GFLOPs per plate) of a torch network, counted by torch's FLOP counter."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    w, h = input_size
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        network.eval()(torch.zeros(1, 3, h, w))
    return sum(p.numel() for p in network.parameters()) / 1e6, counter.get_total_flops() / 1e9


def time_recognizer(recognizer, batch: int, seconds: float, warmup: int, seed=0) -> float:
    """Plates per second of ``recognizer`` on batches of ``batch`` random crops."""
    w, h = recognizer.input_size
    rng = np.random.default_rng(seed)
    crops = [Crop(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8), _BOX) for _ in range(batch)]
    for _ in range(warmup):
        recognizer(crops)
    calls, start = 0, time.perf_counter()
    while calls < 5 or time.perf_counter() - start < seconds:
        recognizer(crops)
        calls += 1
    return calls * batch / (time.perf_counter() - start)


def run_bench(create, recognizers, backends, batches, seconds=2.0, warmup=5, on_cell=None) -> list[Cell]:
    """Time every recognizer x backend x batch; ``create(name, backend)`` builds a recognizer."""
    cells = []
    for name in recognizers:
        eager = {}
        for backend in backends:
            recognizer = create(name, backend)
            for batch in batches:
                rate = time_recognizer(recognizer, batch, seconds, warmup)
                if backend == "torch":
                    eager[batch] = rate
                cell = Cell(name, backend, batch, rate, 1000.0 / rate, rate / eager[batch] if batch in eager else float("nan"))
                cells.append(cell)
                if on_cell:
                    on_cell(cell)
    return cells
