"""Where MTCNN's time goes on real photos: P-Net over the pyramid against O-Net on the proposals.

Times ``MtcnnDetector.propose`` and ``refine`` of a photo pipeline's detector separately on the
photos of a folder (median ms after 5 warm-up images), and counts the proposals O-Net receives.
From a clone, on an otherwise idle machine::

    python examples/time_mtcnn_stages.py                        # max_proposals as configured (32)
    python examples/time_mtcnn_stages.py --max-proposals 8
    python examples/time_mtcnn_stages.py --onet-passes 1 --onet-threshold 0.3   # one O-Net pass, as before
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import alprkit
from alprkit.errors import AlprkitError
from alprkit.imageio import list_images, read_image
from alprkit.types import Frame
from alprkit.working_image import working_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", default="lprnet_us_mtcnn")
    parser.add_argument("--data", default="../shared/data/real/e2e_openalpr_us")
    parser.add_argument("--images", type=int, default=40, help="photos timed (each twice)")
    parser.add_argument("--max-proposals", type=int, default=None)
    parser.add_argument("--onet-passes", type=int, default=None)
    parser.add_argument("--onet-pass-threshold", type=float, default=None)
    parser.add_argument("--onet-threshold", type=float, default=None)
    args = parser.parse_args()

    given = {"max_proposals": args.max_proposals, "onet_passes": args.onet_passes,
             "onet_pass_threshold": args.onet_pass_threshold, "onet_threshold": args.onet_threshold}
    overrides = [f"detector.{key}={value}" for key, value in given.items() if value is not None]
    try:
        detector = alprkit.Reader(args.pipeline, *overrides).pipeline.detector
        frames = [read_image(path) for path in list_images(Path(args.data))[: args.images]]
    except AlprkitError as exc:  # a bad setting or image: one line, as the CLI says it
        sys.exit(f"time_mtcnn_stages: {exc}")
    propose, refine, proposals = [], [], []
    for i, frame in enumerate(frames * 2):
        work = working_image(frame.pixels, detector.working_size)
        start = time.perf_counter()
        found = detector.propose(work.pixels, working_scale=work.scale_y)
        middle = time.perf_counter()
        detector.refine(Frame(work.pixels), found)
        end = time.perf_counter()
        if i >= 5:  # warm-up
            propose.append(middle - start)
            refine.append(end - middle)
            proposals.append(len(found))
    print(f"max_proposals={detector.max_proposals}, onet_passes={detector.onet_passes}: "
          f"P-Net (propose) {1e3 * statistics.median(propose):.2f} ms, "
          f"O-Net (refine) {1e3 * statistics.median(refine):.2f} ms per photo (median); "
          f"{statistics.mean(proposals):.1f} proposals per photo")


if __name__ == "__main__":
    main()
