"""Where a row's numbers come from: its components' providers, versions and weights, and the machine.

A component's identity (provider, version, weights hash) is part of a row's cache key:
new weights or a new plugin version are scored again. The machine, its load and the
threads are recorded beside the numbers (latency depends on them) but are not part
of the key: the same combination on the same data reads the same plates anywhere.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from ..cpuinfo import cpuinfo_field
from ..errors import ConfigError
from ..registry import Weights, resolve_weights


@lru_cache(maxsize=None)
def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def component_identity(registry, kind: str, node: dict) -> dict:
    """Provider, distribution, version and weights (file name and SHA-256) of one component node."""
    name = node["name"]
    component = registry.get(kind, name)
    provider = component.provider
    identity = {"name": component.name, "plugin": provider.plugin, "distribution": provider.distribution,
                "version": provider.version}
    _, _, tag = name.partition(".")
    try:
        weights = resolve_weights(component, tag, node.get("weights"))
    except Exception as exc:  # a missing weights file: the row fails when it is built, with this reason
        identity["weights_error"] = str(exc).splitlines()[0]
        return identity
    if isinstance(weights, Weights):
        path = Path(weights.path)
        identity.update(weights=path.name, weights_sha256=file_sha256(str(path.resolve())))
    return identity


def runtime(component, node: dict) -> dict:
    """The backend and threads a built component runs with (what it reports, else what it was given)."""
    choice = getattr(component, "backend_choice", None)
    backend = getattr(choice, "backend", None) or getattr(component, "backend", None) or node.get("backend")
    threads = getattr(component, "threads", None) or node.get("threads")
    return {k: v for k, v in {"backend": backend if isinstance(backend, str) else None,
                              "threads": threads if isinstance(threads, int) else None}.items() if v is not None}


@lru_cache(maxsize=1)
def machine() -> dict:
    """CPU model, cores (all, and usable by this process), host, Python and platform."""
    model = cpuinfo_field("model name") or platform.processor() or ""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": model, "cores": os.cpu_count(), "cores_usable": usable, "host": platform.node(),
            "python": sys.version.split()[0], "platform": platform.platform()}


def load_average() -> list:
    """The 1, 5 and 15 minute load averages (empty where the system has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return []


def thread_provenance() -> dict:
    """The threads components built now get (alprkit.threads' choice, and why), and torch's where loaded."""
    out = {}
    try:
        from ..threads import choose
    except ImportError:  # an older alprkit: the components choose for themselves
        out["threads"] = None
    else:
        choice = choose()
        out.update(threads=choice.threads, threads_reason=choice.reason)
    torch = sys.modules.get("torch")  # never imported just to ask
    if torch is not None:
        out["torch_threads"] = torch.get_num_threads()
    return out


@contextmanager
def threads_pinned(threads):
    """Within the block components built with ``threads: null`` get ``threads`` (None: their own choice)."""
    if threads is None:
        yield
        return
    try:
        from ..threads import pinned
    except ImportError:
        raise ConfigError("threads= needs alprkit.threads, which this install lacks") from None
    with pinned(int(threads), f"threads={int(threads)} set for the leaderboard"):
        yield
