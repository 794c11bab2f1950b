"""Shipped ONNX files read their weights from the safetensors file beside them instead of holding a copy.

Each initializer whose bytes are, byte for byte, a tensor of the weights file (same dtype) becomes ONNX
external data: ``location`` the weights file's name, ``offset`` and ``length`` into it. onnxruntime reads
it from the model's folder at any offset (1.32 here: the safetensors offsets are not page-aligned).
Tensors with no identical copy (folded constants, reshaped copies) and those under ``min_bytes`` stay
embedded. The weights' sha256 in the file's metadata makes it stale once the weights change, so the
offsets are only followed into the very file they were taken from (:mod:`alprkit.shipped_onnx`).
"""

from __future__ import annotations

from pathlib import Path

from .atomic import write_bytes_atomic
from .errors import ConfigError, InputError
from .weights import safetensors_header

# safetensors dtype -> onnx.TensorProto data type
_DTYPES = {"F32": 1, "U8": 2, "I8": 3, "I16": 5, "I32": 6, "I64": 7, "BOOL": 9, "F16": 10, "F64": 11, "BF16": 16}


def read_weights_from_safetensors(onnx_path, weights_path, min_bytes: int = 1024) -> int:
    """Rewrite ``onnx_path`` (atomically) so that its initializers found in ``weights_path``, which must lie
    in the same folder, are read from there; returns how many bytes are no longer embedded."""
    import onnx
    from onnx.external_data_helper import set_external_data

    onnx_path, weights_path = Path(onnx_path), Path(weights_path)
    if onnx_path.parent.resolve() != weights_path.parent.resolve():  # onnxruntime looks beside the model only
        raise ConfigError(f"{onnx_path}: its external weights must lie beside it, not in {weights_path.parent}")
    ranges = _tensor_ranges(weights_path)
    model = onnx.load(onnx_path)  # embeds external data it already had: rewriting is idempotent
    moved = 0
    for tensor in model.graph.initializer:
        found = ranges.get((tensor.data_type, tensor.raw_data)) if len(tensor.raw_data) >= min_bytes else None
        if found is None:
            continue
        set_external_data(tensor, weights_path.name, offset=found[0], length=found[1])
        tensor.ClearField("raw_data")
        moved += found[1]
    write_bytes_atomic(onnx_path, model.SerializeToString())
    return moved


def _tensor_ranges(path: Path) -> dict[tuple[int, bytes], tuple[int, int]]:
    """(ONNX data type, raw bytes) -> (offset, length) in the file, for each tensor of a safetensors file."""
    data = path.read_bytes()
    try:
        header, start = safetensors_header(data)
        ranges = {}
        for name, info in header.items():
            if name == "__metadata__" or info["dtype"] not in _DTYPES:
                continue
            begin, end = (start + offset for offset in info["data_offsets"])
            if end > len(data):
                raise ValueError(f"tensor {name} ends past the file")
            ranges.setdefault((_DTYPES[info["dtype"]], data[begin:end]), (begin, end - begin))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(path, f"not a safetensors weights file ({exc})") from None
    return ranges
