"""Throughput: plates/s per recognizer, backend and batch size, and the whole read of a pipeline.

Each recognizer cell times whole recognizer calls (pre-processing, network, softmax) on
random crops after warm-up; compilation and export happen before timing starts. A pipeline
read (:func:`time_read`) times, on its sample images, the network alone, the recognizer, the
decoder with the post-filters, and the whole read of each crop (detection and rectification
included). Every figure can be taken on the idle machine and with one core kept busy by a
spinning process (:func:`machine_load`); components are built again under each load, so the
thread count they choose (:mod:`alprkit.threads`) is the one that load gets.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .errors import ConfigError
from .types import Crop, Detection

_BOX = Detection((0.0, 0.0, 1.0, 1.0))
SAMPLES = Path(__file__).resolve().parent / "samples"
LOADS = ("idle", "one_core_busy")
NAN = float("nan")


@dataclass(frozen=True)
class Cell:
    recognizer: str
    backend: str
    batch: int
    plates_per_s: float
    ms_per_plate: float
    vs_eager_fp32: float = NAN
    load: str = "idle"
    threads: Optional[int] = None
    runs_on: str = ""  # the backend that ran: auto resolves to onnxruntime or torch


@dataclass(frozen=True)
class ReadCell:
    """One pipeline at one batch size and load; times are per plate, in milliseconds."""

    pipeline: str
    load: str
    batch: int
    threads: Optional[int]
    runs_on: str
    network_ms: float  # the backend on the batch alone
    recognizer_ms: float  # crops to scores: pre-processing, network, softmax (and region masks)
    decode_ms: float  # the decoder and post-filters on those scores
    read_ms: float  # the whole read: detection and rectification too
    plates_per_s: float  # of the whole read


# -- machine load ------------------------------------------------------------------------------

_SPIN = """
import os
parent = os.getppid()
while os.getppid() == parent:  # stops by itself if bench dies
    for _ in range(100000):
        pass
"""


@contextmanager
def machine_load(load: str):
    """``idle``: nothing; ``one_core_busy``: a second process spins on one core until the block ends."""
    if load not in LOADS:
        raise ConfigError(f"bench load must be one of {', '.join(LOADS)}, got {load!r}")
    if load == "idle":
        yield None
        return
    spinner = subprocess.Popen([sys.executable, "-c", _SPIN])
    try:
        time.sleep(0.3)  # started and spinning before anything is measured
        yield spinner
    finally:
        spinner.terminate()
        spinner.wait(timeout=10)


def thread_choice(refresh: bool = True):
    """The default threads under the current load (measured again: the load just changed)."""
    from .threads import choose

    return choose(refresh=refresh)


# -- recognizers -------------------------------------------------------------------------------


def network_cost(network, input_size) -> tuple[float, float]:
    """(million parameters, GFLOPs per plate) of a torch network, counted by torch's FLOP counter."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    w, h = input_size
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        network.eval()(torch.zeros(1, 3, h, w))
    return sum(p.numel() for p in network.parameters()) / 1e6, counter.get_total_flops() / 1e9


def seconds_per_call(fn, seconds: float, warmup: int) -> float:
    """Mean wall time of ``fn()`` over at least ``seconds`` (and 5 calls), after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    calls, start = 0, time.perf_counter()
    while calls < 5 or time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return (time.perf_counter() - start) / calls


def time_recognizer(recognizer, batch: int, seconds: float, warmup: int, seed=0) -> float:
    """Plates per second of ``recognizer`` on batches of ``batch`` random crops."""
    w, h = recognizer.input_size
    rng = np.random.default_rng(seed)
    crops = [Crop(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8), _BOX) for _ in range(batch)]
    return batch / seconds_per_call(lambda: recognizer(crops), seconds, warmup)


def runs_on(component) -> tuple[str, Optional[int], str]:
    """(backend that runs, its threads, why that backend) of a built recognizer, as far as it tells."""
    backend = getattr(component, "backend", None)
    choice = getattr(component, "backend_choice", None)
    name = choice.backend if choice is not None else type(backend).__name__ if backend is not None else "-"
    return name, getattr(backend, "threads", None), choice.reason if choice is not None else ""


def run_bench(create, recognizers, backends, batches, seconds=2.0, warmup=5, on_cell=None, load="idle") -> list[Cell]:
    """Time every recognizer x backend x batch; ``create(name, backend)`` builds a recognizer."""
    cells = []
    for name in recognizers:
        eager = {}
        for backend in backends:
            recognizer = create(name, backend)
            ran, threads, _ = runs_on(recognizer)
            for batch in batches:
                rate = time_recognizer(recognizer, batch, seconds, warmup)
                if backend == "torch":
                    eager[batch] = rate
                cell = Cell(name, backend, batch, rate, 1000.0 / rate, rate / eager[batch] if batch in eager else NAN,
                            load, threads, ran)
                cells.append(cell)
                if on_cell:
                    on_cell(cell)
    return cells


# -- pipelines ---------------------------------------------------------------------------------


def sample_frames(pipeline_cfg) -> list:
    """The pipeline's built-in sample images (``pipeline.sample``), as ``alprkit run`` reads them."""
    from .imageio import list_images, read_image

    folder = SAMPLES / str(pipeline_cfg.get("sample") or "crops_cn")
    frames = [read_image(path) for path in list_images(folder)]
    if not frames:
        raise ConfigError(f"pipeline.sample {folder.name!r}: no sample images in {folder}")
    return frames


def time_read(pipeline, frames, batches, seconds: float, warmup: int, load: str = "idle") -> list[ReadCell]:
    """Per batch size: ms per plate of the network, the recognizer, decoding and the whole read."""
    from .recognizers import crops_to_batch

    recognizer = pipeline.recognizer
    ran, threads, _ = runs_on(recognizer)
    backend = getattr(recognizer, "backend", None)
    cells = []
    for batch in batches:
        items = [frames[i % len(frames)] for i in range(batch)]
        observations = [o for frame in items for o in pipeline.observe(frame)]
        plates = len(observations)
        if not plates:
            raise ConfigError(f"pipeline {pipeline.name!r} finds no plate in its sample images")
        crops = [o.crop for o in observations]
        scores = recognizer(crops)

        def per_plate(fn):
            return seconds_per_call(fn, seconds, warmup) * 1000.0 / plates

        network = NAN
        if callable(backend) and len(crops) <= getattr(recognizer, "max_batch", len(crops)):
            tensor = crops_to_batch([c.pixels for c in crops])
            network = per_plate(lambda: backend(tensor))
        recognize = per_plate(lambda: recognizer(crops))
        decode = per_plate(lambda: [pipeline.finish(s) for s in scores])
        read = per_plate(lambda: pipeline.recognize([o for frame in items for o in pipeline.observe(frame)]))
        cells.append(ReadCell(pipeline.name, load, batch, threads, ran, network, recognize, decode, read,
                              1000.0 / read if read > 0 else math.inf))
    return cells
