"""Weight files: safetensors with JSON metadata, never pickles.

The metadata records everything needed to rebuild the network (architecture,
alphabet, options), so a weights file is self-describing.
"""

from __future__ import annotations

import json
from pathlib import Path

from .atomic import write_bytes_atomic
from .errors import InputError


def save_weights(path, state_dict, metadata: dict) -> Path:
    """Write ``state_dict`` and ``metadata`` (any JSON values) atomically."""
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    blob = save(tensors, metadata={k: json.dumps(v, ensure_ascii=False) for k, v in metadata.items()})
    write_bytes_atomic(path, blob)
    return Path(path)


def load_weights(path) -> tuple[dict, dict]:
    """Return (state_dict, metadata); a missing or corrupt file is an InputError naming it."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "weights file not found")
    data = path.read_bytes()
    try:
        tensors = load(data)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + header_len])
    except (SafetensorError, ValueError, json.JSONDecodeError) as exc:
        raise InputError(path, f"not a safetensors weights file ({exc})") from None
    raw = header.get("__metadata__", {}) or {}
    try:
        metadata = {k: json.loads(v) for k, v in raw.items()}
    except json.JSONDecodeError as exc:
        raise InputError(path, f"corrupt weights metadata ({exc})") from None
    return tensors, metadata
