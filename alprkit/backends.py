"""Run a network on a float32 NCHW batch: eager PyTorch or onnxruntime.

Both take the same input (RGB in [0, 255]) and return the same logits, so a
component switches backend with one config value (``backend=onnxruntime``). A
network with several outputs (logits and region logits) gives a tuple of arrays.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from .errors import ConfigError

BACKENDS = ("torch", "torch_bf16", "onnxruntime")


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
        if threads:
            torch.set_num_threads(int(threads))

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

        if threads:
            torch.set_num_threads(int(threads))
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


class OnnxBackend:
    def __init__(self, path, threads=None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray):
        outputs = self.session.run(None, {self.input_name: batch})
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


def export_onnx(network, input_size, path, opset: int = 17) -> Path:
    """Export ``network`` with a dynamic batch axis; written atomically.

    The outputs are named ``logits`` (and ``region`` for a network with a region head).
    """
    import torch

    from .atomic import atomic_write

    w, h = input_size
    network = network.eval()
    example = torch.rand(2, 3, h, w) * 255
    with torch.no_grad():
        probe = network(example)
    names = ["logits", "region"][: len(probe)] if isinstance(probe, tuple) else ["logits"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as f:
        # The TorchScript-based exporter is several times faster than dynamo here and
        # handles every network of the bundled plugins.
        torch.onnx.export(
            network, (example,), f, input_names=["image"], output_names=names, opset_version=opset,
            dynamic_axes={"image": {0: "batch"}, **{name: {0: "batch"} for name in names}}, dynamo=False,
        )
    return path


def network_fingerprint(network) -> str:
    """A hash of a network's weights: exported files are cached under it."""
    digest = hashlib.sha256()
    for name, tensor in sorted(network.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def make_backend(kind: str, network, input_size, name: str, threads=None):
    """The backend ``kind`` for ``network``; onnxruntime exports once and reuses the file."""
    if kind == "torch":
        return TorchBackend(network, threads)
    if kind == "torch_bf16":
        return CompiledBf16Backend(network, threads)
    if kind == "onnxruntime":
        path = cache_dir() / "onnx" / f"{name}-{network_fingerprint(network)}.onnx"
        if not path.exists():
            export_onnx(network, input_size, path)
        return OnnxBackend(path, threads)
    raise ConfigError(f"unknown backend {kind!r} (backends: {', '.join(BACKENDS)})")
