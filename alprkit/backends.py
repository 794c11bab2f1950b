"""Run a network on a float32 NCHW batch: eager PyTorch or onnxruntime.

Both take the same input (RGB in [0, 255]) and return the same logits, so a
component switches backend with one config value (``backend=onnxruntime``). A
network with several outputs (logits and region logits) gives a tuple of arrays.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import weakref
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .threads import may_time as may_time_threads
from .threads import resolve as resolve_threads

# auto: the shipped ONNX file on onnxruntime when there is one made from the weights, else torch.
BACKENDS = ("auto", "torch", "torch_bf16", "onnxruntime")


def cache_dir() -> Path:
    """Where exported ONNX files are kept (``ALPRKIT_CACHE`` overrides)."""
    root = os.environ.get("ALPRKIT_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "alprkit"
    return Path(root)


def _numpy(outputs):
    """A tensor, or a tuple of them, as float32 arrays."""
    if isinstance(outputs, (tuple, list)):
        return tuple(o.float().numpy() for o in outputs)
    return outputs.float().numpy()


def _first_rows(outputs, n):
    return tuple(o[:n] for o in outputs) if isinstance(outputs, tuple) else outputs[:n]


class TorchBackend:
    def __init__(self, network, threads=None):
        import torch

        self.network = network.eval()
        # threads=None: chosen from the cores free now (alprkit.threads), not one per core.
        self.threads, self.threads_reason = resolve_threads(threads)
        torch.set_num_threads(self.threads)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return _numpy(self.network(torch.from_numpy(batch)))


class CompiledBf16Backend:
    """torch.compile with frozen weights and bf16 autocast: oneDNN runs the convolutions on AMX.

    Each batch size compiles once (tens of seconds), so batches are padded up to
    one of a few bucket sizes; the padding rows are dropped from the output.
    """

    BUCKETS = (1, 8, 32, 64)

    def __init__(self, network, threads=None):
        import torch
        import torch._inductor.config as inductor

        self.threads, self.threads_reason = resolve_threads(threads)
        torch.set_num_threads(self.threads)
        inductor.freezing = True  # constant-fold weights into the graph (inference only)
        self.network = network.eval()
        self.compiled = torch.compile(self.network, dynamic=False)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        n = batch.shape[0]
        size = next((b for b in self.BUCKETS if b >= n), n)
        if size > n:
            batch = np.concatenate([batch, np.zeros((size - n, *batch.shape[1:]), dtype=batch.dtype)])
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return _first_rows(_numpy(self.compiled(torch.from_numpy(batch))), n)


_LIVE_SESSIONS: "weakref.WeakSet[OnnxBackend]" = weakref.WeakSet()  # this process's onnxruntime backends


class OnnxBackend:
    """An onnxruntime session of one file.

    Spinning: onnxruntime's idle pool threads spin for a while after each run, waiting for more work.
    That helps one network run back to back (a crop reader: 1.66 against 2.40 ms per plate at batch 1,
    2-core EPYC), but where several networks take turns in one process (a photo pipeline's detector
    parts and recognizer) each one's spinning threads take the cores the next one needs: MTCNN + LPRNet
    took 27.5 ms per US photo at 2 threads spinning, 14.3 ms not; rpn_rcnn + LPRNet 74 against 30 ms.
    So a session spins only while it is the one network of its process; a detector's (``time_on``) never
    does, and a spinning one stops (its session is opened again) once a second one is made.

    ``time_on``: the (N, C, H, W) batch this network typically runs (a detector's, one image at a time).
    When the thread count was left to the default and is above 1, one thread is timed against it on such
    a batch and the faster is kept.
    """

    def __init__(self, path, threads=None, time_on=None):
        self.path = Path(path)
        self.threads, self.threads_reason = resolve_threads(threads)
        self._spin = time_on is None and len(_LIVE_SESSIONS) == 0
        for other in list(_LIVE_SESSIONS):
            other._stop_spinning()
        _LIVE_SESSIONS.add(self)
        self.session = self._open(self.threads)
        self.input_name = self.session.get_inputs()[0].name
        self.metadata = onnx_metadata(self.session)
        if time_on is not None and may_time_threads(threads):
            self._keep_the_faster(tuple(int(v) for v in time_on))

    def _open(self, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1  # sequential execution: operators never run side by side
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not self._spin:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def _stop_spinning(self) -> None:
        if self._spin:
            self._spin = False
            if self.threads > 1:  # one thread has no pool to spin
                self.session = self._open(self.threads)

    def _keep_the_faster(self, shape, runs: int = 3) -> None:
        batch = np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32)
        single = self._open(1)
        timed = {self.threads: self.session, 1: single}
        best = {n: float("inf") for n in timed}
        for _ in range(runs + 1):  # the first run of each warms it up; interleaved, so a load spike hits both
            for n, session in timed.items():
                start = time.perf_counter()
                session.run(None, {self.input_name: batch})
                best[n] = min(best[n], time.perf_counter() - start)
        many = self.threads
        faster = 1 if best[1] < best[many] else many
        self.threads_reason += (f"; on a {'x'.join(map(str, shape))} batch {best[1] * 1e3:.2f} ms at 1 thread, "
                                f"{best[many] * 1e3:.2f} ms at {many}: {faster} kept")
        self.threads, self.session = faster, timed[faster]

    def __call__(self, batch: np.ndarray):
        outputs = self.session.run(None, {self.input_name: batch})
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


def export_onnx(network, input_size, path, opset: int = 17, dynamic_size: bool = False, metadata=None,
                output_names=None) -> Path:
    """Export ``network`` with a dynamic batch axis (and height and width with ``dynamic_size``,
    for a fully convolutional network); written atomically.

    The outputs are named ``logits`` (and ``region`` for a network with a region head), or ``output_names``.
    ``metadata`` (any JSON values) goes into the file's ``metadata_props``. Weights that
    fp16 holds exactly (all of them for fp16-trained weights) are stored as fp16 with a
    Cast to float, which onnxruntime folds when it loads the file: half the size, same results.
    """
    import io

    import onnx
    import torch

    from .atomic import write_bytes_atomic

    w, h = input_size
    network = network.eval()
    example = torch.rand(2, 3, h, w) * 255
    with torch.no_grad():
        probe = network(example)
    names = ["logits", "region"][: len(probe)] if isinstance(probe, tuple) else ["logits"]
    names = list(output_names) if output_names else names
    free = {0: "batch", 2: "height", 3: "width"} if dynamic_size else {0: "batch"}
    buffer = io.BytesIO()
    # The TorchScript-based exporter is several times faster than dynamo here and handles
    # every network of the bundled plugins. PRESERVE (the network is in eval mode) keeps
    # the weights as they were trained: EVAL would fold batch norm into the convolutions
    # in fp32, which fp16 no longer holds exactly; onnxruntime fuses them at load instead.
    torch.onnx.export(
        network, (example,), buffer, input_names=["image"], output_names=names, opset_version=opset,
        dynamic_axes={"image": free, **{name: free for name in names}}, dynamo=False,
        training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
    )
    model = onnx.load_from_string(buffer.getvalue())
    _store_exact_fp16(model)
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value, ensure_ascii=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, model.SerializeToString())
    return path


def _store_exact_fp16(model) -> None:
    """Replace each float32 initializer that fp16 represents exactly by an fp16 one and a Cast."""
    import onnx
    from onnx import numpy_helper

    graph = model.graph
    casts = []
    for index, init in enumerate(graph.initializer):
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(init)
        half = values.astype(np.float16)
        if values.size < 2 or not np.array_equal(half.astype(np.float32), values):
            continue
        name = init.name
        graph.initializer[index].CopyFrom(numpy_helper.from_array(half, f"{name}.fp16"))
        casts.append(onnx.helper.make_node("Cast", [f"{name}.fp16"], [name], to=onnx.TensorProto.FLOAT,
                                           name=f"{name}.to_float"))
    # Casts first: the nodes stay in topological order.
    nodes = [*casts, *graph.node]
    del graph.node[:]
    graph.node.extend(nodes)


def onnx_metadata(session) -> dict:
    """An onnxruntime session's ``metadata_props``, JSON values decoded (other text kept as it is)."""
    return decode_metadata(session.get_modelmeta().custom_metadata_map)


def decode_metadata(props) -> dict:
    decoded = {}
    for key, value in props.items():
        try:
            decoded[key] = json.loads(value)
        except ValueError:
            decoded[key] = value
    return decoded


def network_fingerprint(network) -> str:
    """A hash of a network's weights: exported files are cached under it."""
    digest = hashlib.sha256()
    for name, tensor in sorted(network.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def make_backend(kind: str, network, input_size, name: str, threads=None, dynamic_size: bool = False,
                 time_on=None):
    """The backend ``kind`` for ``network``; onnxruntime exports once and reuses the file
    (and with ``time_on``, a typical batch shape, times 1 thread against the default: :class:`OnnxBackend`).

    ``auto`` is eager torch here: a network with an ONNX file made from its weights runs that
    file instead (:mod:`alprkit.shipped_onnx`), and exporting one on the fly costs seconds.
    """
    if kind in ("auto", "torch"):
        return TorchBackend(network, threads)
    if kind == "torch_bf16":
        return CompiledBf16Backend(network, threads)
    if kind == "onnxruntime":
        path = cache_dir() / "onnx" / f"{name}-{network_fingerprint(network)}.onnx"
        if not path.exists():
            export_onnx(network, input_size, path, dynamic_size=dynamic_size)
        return OnnxBackend(path, threads, time_on)
    raise ConfigError(f"unknown backend {kind!r} (backends: {', '.join(BACKENDS)})")
