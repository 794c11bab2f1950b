"""The window, stride and crop size P-Net and O-Net are built for.

Kept apart from the networks so that the detector reads plates from the shipped ONNX
files without importing torch.
"""

PNET_WINDOW = (30, 12)  # (w, h) of the window one output cell sees: plate height 12 px at a pyramid level
PNET_STRIDE = (4, 2)  # (x, y) pixels of a level between neighbouring cells
ONET_SIZE = (94, 24)  # (w, h) of an O-Net crop, as LPRNet's input (seed 003)
