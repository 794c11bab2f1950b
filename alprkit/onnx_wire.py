"""What an ONNX file says about itself, read from its protobuf bytes without onnx or onnxruntime.

A shipped ONNX file reads its weights from the safetensors file beside it (:mod:`alprkit.onnx_external`).
Whether it was made from those weights (the sha256 in its metadata) must be known before onnxruntime
opens it: after retraining, its offsets may point past the end of the new weights file.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from .errors import InputError

# Field numbers in onnx.proto: ModelProto.graph, .metadata_props; GraphProto.initializer; TensorProto.external_data.
_GRAPH, _METADATA, _INITIALIZER, _EXTERNAL_DATA = 7, 14, 5, 13


def file_metadata(path) -> dict:
    """The file's ``metadata_props``, JSON values decoded (as :func:`alprkit.backends.onnx_metadata`)."""
    from .backends import decode_metadata

    with _bad_file(path):
        fields = _model_fields(path)
        return decode_metadata(dict(_entry(value) for number, value in fields if number == _METADATA))


def external_data_files(path) -> set[str]:
    """The names of the files the initializers' external data lie in (relative to the file's folder)."""
    found = set()
    with _bad_file(path):
        for graph in (value for number, value in _model_fields(path) if number == _GRAPH):
            for tensor in (value for number, value in _fields(graph) if number == _INITIALIZER):
                for entry in (value for number, value in _fields(tensor) if number == _EXTERNAL_DATA):
                    key, value = _entry(entry)
                    if key == "location":
                        found.add(value)
    return found


@contextmanager
def _bad_file(path):
    try:
        yield
    except (ValueError, IndexError) as exc:  # UnicodeDecodeError is a ValueError
        raise InputError(path, f"not a loadable ONNX file ({str(exc)[:120] or 'truncated'})") from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None


def _model_fields(path) -> list[tuple[int, memoryview]]:
    fields = list(_fields(memoryview(Path(path).read_bytes())))
    if not any(number == _GRAPH for number, _ in fields):
        raise ValueError("no graph")
    return fields


def _entry(data: memoryview) -> tuple[str, str]:
    """A StringStringEntryProto: (key, value)."""
    parts = {number: bytes(value).decode("utf-8") for number, value in _fields(data)}
    return parts.get(1, ""), parts.get(2, "")


def _fields(data: memoryview):
    """(field number, bytes) of each length-delimited field of one message; numeric fields are skipped."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        kind = key & 7
        if kind == 0:
            _, pos = _varint(data, pos)
        elif kind in (1, 5):
            pos += 8 if kind == 1 else 4
        elif kind == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated")
            yield key >> 3, data[pos : pos + length]
            pos += length
        else:
            raise ValueError(f"protobuf wire type {kind}")
    if pos > len(data):
        raise ValueError("truncated")


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7
