"""int8 against fp32 for a shipped LPRNet ONNX file: exact reads on the crops of fold 1, and speed.

onnxruntime's static quantization (QDQ, int8 weights per channel, uint8 activations, MinMax
calibration on the crops of fold 0) of the file as onnxruntime optimizes it at load; nodes whose
name holds one of ``--keep-float`` stay in float. Reads are greedy (the network as it is, no
template); speed is the network alone, batch 1 and 32, at 1 and 2 threads. From a clone::

    python examples/int8_lprnet.py                                    # every Conv, Gemm and MatMul
    python examples/int8_lprnet.py --keep-float /stn/,/context/      # the STN and global context in float
    python examples/int8_lprnet.py --keep-float /stn/,/context/,backbone.0.0,backbone.10.0
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime import quantization as q

from alprkit.backends import OnnxBackend
from alprkit.bench import seconds_per_call
from alprkit.recognizers import NetworkRecognizer, crops_to_batch
from alprkit.train.data import Split, load_crops
from alprkit.types import Crop, Detection
from alprkit_basics.ctc import GreedyDecoder


class FoldReader(q.CalibrationDataReader):
    def __init__(self, items, batch=16):
        self.batches = iter([{"image": crops_to_batch([i[0] for i in items[k:k + batch]])}
                             for k in range(0, len(items), batch)])

    def get_next(self):
        return next(self.batches, None)


def quantize(source: Path, target: Path, calibration, keep_float) -> None:
    optimized = target.with_name("fp32.onnx")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC  # batch norm folded
    options.optimized_model_filepath = str(optimized)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    import onnx

    names = [n.name for n in onnx.load(str(optimized)).graph.node if any(k in n.name for k in keep_float)]
    q.quantize_static(str(optimized), str(target), FoldReader(calibration), quant_format=q.QuantFormat.QDQ,
                      per_channel=True, weight_type=q.QuantType.QInt8, activation_type=q.QuantType.QUInt8,
                      op_types_to_quantize=["Conv", "MatMul", "Gemm"], nodes_to_exclude=names,
                      calibrate_method=q.CalibrationMethod.MinMax)


def reads(path: Path, meta: dict, items, threads=2) -> float:
    """Greedy exact reads of ``items``; ``meta``: the shipped file's (quantizing may drop metadata)."""
    recognizer = NetworkRecognizer(OnnxBackend(path, threads=threads), meta["alphabet"], meta["input_size"])
    decode = GreedyDecoder()
    whole = Detection((0.0, 0.0, 1.0, 1.0))
    scores = recognizer([Crop(pixels, whole) for pixels, _, _ in items])
    return float(np.mean([decode(s).text == text for s, (_, text, _) in zip(scores, items)]))


def ms_per_plate(path: Path, threads: int, batch: int, size, seconds=1.5) -> float:
    backend = OnnxBackend(path, threads=threads)
    images = np.random.default_rng(0).uniform(0, 255, (batch, 3, size[1], size[0])).astype(np.float32)
    return 1000 * seconds_per_call(lambda: backend(images), seconds, 20) / batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="plugins/alprkit_lprnet/weights/lprnet_basic.cn.onnx")
    parser.add_argument("--data", default="../shared/data/real/cn_crops_lprnet")
    parser.add_argument("--keep-float", default="", help="comma-separated parts of node names left in float")
    args = parser.parse_args()
    meta = OnnxBackend(args.model, threads=1).metadata
    size = tuple(meta["input_size"])
    fold0, _ = load_crops(args.data, size, split=Split(2, 0))
    fold1, _ = load_crops(args.data, size, split=Split(2, 1))
    with tempfile.TemporaryDirectory() as folder:
        int8 = Path(folder) / "int8.onnx"
        quantize(Path(args.model), int8, fold0, [k for k in args.keep_float.split(",") if k])
        for name, path in (("fp32", int8.with_name("fp32.onnx")), ("int8", int8)):
            speed = "  ".join(f"{t} thread(s) b1 {ms_per_plate(path, t, 1, size):.2f} b32 "
                              f"{ms_per_plate(path, t, 32, size):.2f} ms" for t in (1, 2))
            print(f"{name}: fold-1 greedy reads {reads(path, meta, fold1):.1%} of {len(fold1)};  {speed}")


if __name__ == "__main__":
    main()
