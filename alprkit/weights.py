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


def safetensors_header(data: bytes) -> tuple[dict, int]:
    """A safetensors file's JSON header and where its tensor data starts (``data_offsets`` count from there)."""
    header_len = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + header_len]), 8 + header_len


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
        header, _ = safetensors_header(data)
    except (SafetensorError, ValueError, json.JSONDecodeError) as exc:
        raise InputError(path, f"not a safetensors weights file ({exc})") from None
    raw = header.get("__metadata__", {}) or {}
    try:
        metadata = {k: json.loads(v) for k, v in raw.items()}
    except json.JSONDecodeError as exc:
        raise InputError(path, f"corrupt weights metadata ({exc})") from None
    return tensors, metadata


def weights_mismatch(path, exc: BaseException, component: str) -> InputError:
    """The one-line InputError for a weights file a component could not be built from.

    A file from another tool has no alprkit metadata (a KeyError on ``architecture`` or
    ``alphabet``); one of another network lacks tensors or holds them in other shapes
    (PyTorch's multi-line ``load_state_dict`` RuntimeError, summarised here).
    """
    if isinstance(exc, KeyError):
        reason = f"has no alprkit metadata {exc.args[0]!r} (was it written by alprkit train?)"
    else:
        reason = _state_dict_summary(str(exc))
    return InputError(path, f"does not fit {component}: {reason}")


def _state_dict_summary(text: str) -> str:
    import re

    parts = []
    for label, pattern in (("missing tensors", r"Missing key\(s\) in state_dict: ([^\n]+)"),
                           ("unexpected tensors", r"Unexpected key\(s\) in state_dict: ([^\n]+)")):
        found = re.search(pattern, text)
        if found:
            names = [n.strip(' ."') for n in found.group(1).split(",")]
            parts.append(f"{label} {', '.join(names[:3])}{' ...' if len(names) > 3 else ''} ({len(names)})")
    shapes = re.findall(r"size mismatch for ([^:]+): copying a param with shape torch.Size\(\[([^\]]*)\]\) "
                        r"from checkpoint, the shape in current model is torch.Size\(\[([^\]]*)\]\)", text)
    if shapes:
        name, theirs, ours = shapes[0]
        more = f" and {len(shapes) - 1} more" if len(shapes) > 1 else ""
        parts.append(f"tensor {name} has shape [{theirs}], the network needs [{ours}]{more}")
    return "; ".join(parts) or text.strip().splitlines()[0]
