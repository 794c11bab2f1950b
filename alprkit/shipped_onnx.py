"""ONNX files exported from a weights file and kept beside it: shipped weights run without PyTorch.

``alprkit export shipped=true`` writes ``<stem>.onnx`` beside each shipped
``<stem>.safetensors`` (``<stem>.<part>.onnx`` for each network of a detector), with
the sha256 of the weights file it was made from in its metadata; it reads its weights from
that file (:mod:`alprkit.onnx_external`). A file whose hash no longer matches was exported
before the weights were retrained: it is stale and not opened.

``backend=auto`` (the shipped configs' default) runs such a file on onnxruntime, which
needs no torch and was the fastest backend at batch 1 here (README, recognizer speed;
compiled bf16 is faster at batch 32 but compiles for tens of seconds), and eager torch otherwise.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .backends import BACKENDS, OnnxBackend
from .cpuinfo import cpu_has_amx
from .errors import ConfigError, InputError
from .extras import TRAIN_INSTALL
from .onnx_wire import external_data_files, file_metadata

REEXPORT = "alprkit export shipped=true"
WEIGHTS_SHA256 = "weights_sha256"  # metadata key: the weights file an ONNX file was exported from


def onnx_beside(weights_path, part: str | None = None) -> Path:
    """``lprnet_basic.cn.safetensors`` -> ``lprnet_basic.cn.onnx`` (``mtcnn.multi.pnet.onnx`` for part pnet)."""
    path = Path(weights_path)
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(f"{stem}.{part}.onnx" if part else f"{stem}.onnx")


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class BackendChoice:
    """The backend a component runs on and why (``alprkit bench`` prints both)."""

    backend: str  # torch, torch_bf16 or onnxruntime
    reason: str
    sessions: dict = field(default_factory=dict)  # part (None for one network) -> OnnxBackend of a shipped file


def choose_backend(requested: str, weights_path=None, parts=(None,), threads=None,
                   component: str = "component", time_on=None) -> BackendChoice:
    """What ``backend=requested`` means for a network with weights at ``weights_path``.

    ``auto`` and ``onnxruntime`` open the ONNX files beside the weights when all of them
    were made from these weights; otherwise ``auto`` falls back to torch and
    ``onnxruntime`` exports the torch network into the cache (both need the train extra).
    ``time_on``: {part: typical batch shape}, for the sessions to time their thread count on (OnnxBackend).
    """
    if requested not in BACKENDS:
        raise ConfigError(f"{component}: unknown backend {requested!r} (backends: {', '.join(BACKENDS)})")
    if requested in ("torch", "torch_bf16"):
        return BackendChoice(requested, f"backend={requested} was asked for")
    fallback = "torch" if requested == "auto" else "onnxruntime"
    if weights_path is None:
        return BackendChoice(fallback, "untrained network: no ONNX file; " + _fallback_words(fallback))
    files = {part: onnx_beside(weights_path, part) for part in parts}
    missing = [p.name for p in files.values() if not p.is_file()]
    if missing:
        return BackendChoice(fallback, f"no {missing[0]} beside {Path(weights_path).name} ({REEXPORT} writes it); "
                             + _fallback_words(fallback))
    digest = file_sha256(weights_path)
    # From the metadata alone: a stale file's external data may point past the end of retrained weights.
    stale = [path for path in files.values() if file_metadata(path).get(WEIGHTS_SHA256) != digest]
    if stale:
        # Retrained weights with the old export beside them: reading with the old network would be wrong.
        source = Path(weights_path).name
        if not _torch_installed():  # nothing to fall back on: name the wrong file, not the missing torch
            raise InputError(stale[0], f"exported from other weights than {source}: re-export it with {REEXPORT} "
                             f"(needs {TRAIN_INSTALL})")
        words = f"{stale[0].name} was exported from other weights than {source} (re-export: {REEXPORT})"
        print(f"alprkit: {words}; running the weights with torch instead", file=sys.stderr)
        return BackendChoice(fallback, f"{words}; " + _fallback_words(fallback))
    hashed = {Path(weights_path): digest}  # the files read their weights from it: not hashed again per file
    sessions = {part: open_onnx(path, threads, hashed, (time_on or {}).get(part)) for part, path in files.items()}
    names = ", ".join(p.name for p in files.values())
    why = ("auto: onnxruntime needs no torch and is the fastest at batch 1" + _amx_words() if requested == "auto"
           else "backend=onnxruntime")
    return BackendChoice("onnxruntime", f"{names}, exported from these weights ({why})", sessions)


def _amx_words() -> str:
    # Measured on a 2-core AMX Xeon (docs/bench.md): compiled bf16 read batches of 32 1.6x faster than
    # onnxruntime, but compiling took about 11 s per process, more than a whole crop eval, so auto stays.
    if not cpu_has_amx():
        return ""
    return ("; this CPU has AMX: backend=torch_bf16 reads large batches faster once compiled "
            "(about 11 s per process), for long batch jobs")


def open_onnx(path, threads=None, hashed=None, time_on=None) -> OnnxBackend:
    """An onnxruntime session of ``path``; a file onnxruntime cannot load is an InputError naming it.

    ``hashed``: {weights file: sha256} the caller has already computed, so a file is not hashed twice.
    """
    path = Path(path)
    for name in sorted(external_data_files(path)):  # a shipped file, reading its weights from the file beside it
        source = path.parent / name
        if not source.is_file():
            raise InputError(path, f"reads its weights from {name}, which is not beside it: keep the two together")
        digest = (hashed or {}).get(source) or file_sha256(source)
        if file_metadata(path).get(WEIGHTS_SHA256) != digest:  # its offsets may no longer fit
            raise InputError(path, f"exported from other weights than {name}: re-export it with {REEXPORT} "
                             f"(needs {TRAIN_INSTALL})")
    try:
        return OnnxBackend(path, threads, time_on)
    except ConfigError:  # a bad threads value, not a bad file
        raise
    except Exception as exc:  # onnxruntime's load errors share no public base class
        raise InputError(path, f"not a loadable ONNX file ({str(exc).splitlines()[0][:200]})") from None


def _torch_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("torch") is not None
    except ImportError:  # an import hook refusing it
        return False


def _fallback_words(backend: str) -> str:
    if backend == "torch":
        return f"eager torch ({TRAIN_INSTALL} if it is missing)"
    return f"onnxruntime on an export into the cache ({TRAIN_INSTALL} if torch is missing)"


def create_detector(detector_class, architecture: str, parts, networks_class, weights=None, pretrained=True,
                    default_weights=None, backend="auto", threads=None, time_on=None, **params):
    """A detector of several networks (``parts``) from its weights: the ONNX files beside them when
    ``backend`` chooses them (no torch), else the torch networks; untrained without weights.

    ``networks_class`` is a callable returning the torch module holding every part (imported only when
    torch runs); ``default_weights`` gives the shipped weights for ``pretrained``; ``time_on`` the
    typical batch shape of each part (:func:`choose_backend`).
    """
    from .registry import Weights

    if isinstance(weights, (str, Path)):
        weights = Weights(path=Path(weights))
    weights = weights or (default_weights() if pretrained and default_weights else None)
    path = Path(weights.path) if weights is not None else None
    choice = choose_backend(backend, path, parts, threads, component=f"detector {architecture}", time_on=time_on)
    settings = dict(backend=backend, threads=threads, backend_choice=choice, **params)
    if path is None:
        return detector_class(networks_class()(), **settings)
    load = lambda: load_detector_networks(path, architecture, networks_class)  # noqa: E731
    if choice.sessions:
        found = {s.metadata.get("architecture") for s in choice.sessions.values()}
        if found != {architecture}:
            raise ConfigError(f"{path}: ONNX files of {sorted(map(str, found))}, not of an {architecture} detector")
        return detector_class(runners=choice.sessions, load_networks=load, name=path.stem, **settings)
    return detector_class(load(), name=path.stem, **settings)


def load_detector_networks(path, architecture: str, networks_class):
    """The torch networks of a detector's weights file (fp16 on disk, fp32 in memory)."""
    from .weights import load_weights

    state, meta = load_weights(path)
    if meta.get("architecture") != architecture:
        raise ConfigError(f"{path}: weights of {meta.get('architecture')!r}, not of an {architecture} detector")
    networks = networks_class()(**meta.get("options", {}))
    networks.load_state_dict({k: v.float() for k, v in state.items()})
    return networks
