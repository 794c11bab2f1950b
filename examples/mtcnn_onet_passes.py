"""Why MTCNN runs O-Net more than once: its score on P-Net's boxes against the true boxes, colour and gray.

For each photo of a real set's fold 1 (default: the CCPD photos) and its gray copy (OpenCV's
``COLOR_BGR2GRAY``), prints the IoU with the true plate of P-Net's best proposal, O-Net's first-pass
score of that proposal and of the true box, and what the detector returns as configured (score, IoU);
then each proposal's scores over the configured passes, unfiltered, for photos and a synthetic street.
Then counts the synthetic empty streets in which the detector finds anything, with one pass and as
configured (the best of four passes). From a clone::

    python examples/mtcnn_onet_passes.py
    python examples/mtcnn_onet_passes.py --data ../shared/data/real/e2e_openalpr_us --pipeline lprnet_us_mtcnn
"""

from __future__ import annotations

import argparse
import sys

import cv2
import numpy as np

import alprkit
from alprkit.data.formats import load_dataset
from alprkit.data.splits import select_split
from alprkit.data.synth.background import street
from alprkit.data.synth.scenes import render_scene
from alprkit.errors import AlprkitError
from alprkit.imageio import read_image
from alprkit.metrics import iou_matrix
from alprkit.recognizers import crops_to_batch
from alprkit.types import Frame
from alprkit.working_image import working_image
from alprkit_mtcnn.detector import calibrate, sigmoid

ONE_PASS = ["detector.onet_passes=1", "detector.onet_threshold=0.3"]  # as shipped until 2026-12-03


def onet_outputs(detector, pixels, boxes) -> np.ndarray:
    return detector._run("onet", crops_to_batch(detector.onet_crops(Frame(pixels), boxes))).astype(np.float64)


def onet_scores(detector, pixels, boxes) -> np.ndarray:
    return sigmoid(onet_outputs(detector, pixels, boxes)[:, 0])


def chains(detector, pixels, proposals, truth) -> list[str]:
    """Each proposal's O-Net scores over ``onet_passes`` passes, each pass scoring the box the one
    before refined, and the box's IoU with the truth after each pass (no thresholds, no merging)."""
    boxes, rows = proposals.astype(np.float64), [[] for _ in proposals]
    for _ in range(detector.onet_passes):
        out = onet_outputs(detector, pixels, boxes)
        boxes = calibrate(boxes, out[:, 1:5])
        overlap = iou_matrix(boxes, truth).max(axis=1)
        for row, score, iou in zip(rows, sigmoid(out[:, 0]), overlap):
            row.append(f"{score:.3f} (IoU {iou:.2f})")
    return [", ".join(row) for row in rows]


def photo_rows(detector, samples):
    for sample in samples:
        truth = np.array([sample.plates[0].box], np.float64)
        colour = read_image(sample.path).pixels
        gray = np.repeat(cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
        for mode, pixels in (("colour", colour), ("gray", gray)):
            work = working_image(pixels, detector.working_size)
            proposals = detector.propose(work.pixels, working_scale=work.scale_y)[:, :4]
            true_box = truth * work.scale_x
            overlap = iou_matrix(proposals, true_box)[:, 0] if len(proposals) else np.zeros(0)
            best = int(overlap.argmax()) if len(proposals) else None
            pnet = f"{overlap[best]:.2f}, O-Net {onet_scores(detector, work.pixels, proposals[[best]])[0]:.3f}" \
                if best is not None else "none"
            found = [(round(d.score, 2), round(float(iou_matrix([d.box], truth)[0, 0]), 2))
                     for d in detector(Frame(pixels))]
            print(f"{sample.path.name[:16]} {mode:6s} best P-Net box IoU {pnet}; "
                  f"O-Net on the true box {onet_scores(detector, work.pixels, true_box)[0]:.3f}; found {found}")
            for chain in chains(detector, work.pixels, proposals, true_box):
                print(f"    passes: {chain}")


def street_chains(detector):
    """The chains of tests/test_detector_scale.py's synthetic US street (one plate, 49 px tall)."""
    sample = render_scene(np.random.default_rng(0), "us", size=(1280, 720), split="base", max_plates=2)
    work = working_image(sample.image, detector.working_size)
    truth = np.array([p.box for p in sample.plates]) * work.scale_x
    for chain in chains(detector, work.pixels, detector.propose(work.pixels, working_scale=work.scale_y)[:, :4], truth):
        print(f"synthetic street, passes: {chain}")


def empty_streets(pipeline, overrides, seeds=range(5, 25)) -> list:
    detector = alprkit.Reader(pipeline, "detector.min_plate_height=16", *overrides).pipeline.detector
    hits = []
    for seed in seeds:
        image = street(np.random.default_rng(seed), 960, 540, "us").clip(0, 255).astype(np.uint8)
        found = detector(Frame(image))
        if found:
            hits.append((seed, [round(d.score, 2) for d in found]))
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", default="lprnet_cn_mtcnn")
    parser.add_argument("--data", default="../shared/data/real/e2e_ccpd_cn")
    args = parser.parse_args()
    try:
        dataset = load_dataset(args.data, format="jsonl", strict=False)
        samples = [s for s in select_split(dataset.samples, {"folds": 2, "keep": 1}) if s.plates]
        detector = alprkit.Reader(args.pipeline).pipeline.detector
        photo_rows(detector, samples)
        street_chains(detector)
        for label, overrides in (("one pass at 0.3", ONE_PASS), ("as configured", [])):
            hits = empty_streets(args.pipeline, overrides)
            print(f"{label}: {len(hits)} of 20 empty streets with a detection {hits}")
    except AlprkitError as exc:  # a bad setting or file: one line, as the CLI says it
        sys.exit(f"mtcnn_onet_passes: {exc}")


if __name__ == "__main__":
    main()
