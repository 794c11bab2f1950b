"""The R-CNN's patch size and the RPN's stride and anchors (seed 002, section 2 and 4.1).

Kept apart from the networks so that the detector reads plates from the shipped ONNX
files without importing torch.
"""

RCNN_SIZE = (120, 48)  # (w, h) of an R-CNN patch (Table 2)
FEATURE_STRIDE = 8
ANCHOR_AREAS = (600, 1200, 1800, 2800, 8100)  # pixels of the RPN's input (section 4.1)
ANCHOR_RATIOS = (1 / 2, 1 / 2.7, 1 / 3.5)  # height / width
