"""Time the beam search against the old one on the same scores, in one process (not a test).

    OMP_NUM_THREADS=1 .venv/bin/python tests/time_beam_search.py [CROPS_FOLDER] [PIPELINE]

The pipeline's recognizer (default ``lprnet_cn``) scores the crops of the folder (default: the
real cn crops beside the checkout, else the built-in samples); both decoders, then the template
filter, decode every score in turn, rounds interleaved, and the fastest round of each counts
(CPU time of this thread, so another process on the machine changes the ratio little). Prints
ms per plate and the ratio as one JSON line. Figures to quote come from an idle machine.
"""

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ctc_reference import ReferenceBeamSearch  # noqa: E402

from alprkit.config import compose  # noqa: E402
from alprkit.imageio import list_images, read_image  # noqa: E402
from alprkit.pipeline import Pipeline  # noqa: E402


def main(argv):
    real = HERE.parents[1] / "shared" / "data" / "real" / "cn_crops_lprnet"
    folder = Path(argv[0]) if argv else real if real.is_dir() else HERE.parent / "alprkit" / "samples" / "crops_cn"
    name = argv[1] if len(argv) > 1 else "lprnet_cn"
    pipeline = Pipeline.from_config(compose("run", [f"pipeline={name}"]))
    observations = [o for path in list_images(folder)[:300] for o in pipeline.observe(read_image(path))]
    scores = pipeline.recognizer([o.crop for o in observations])
    new = pipeline.decoder
    old = ReferenceBeamSearch(beam_width=new.beam_width, top_n=new.top_n, prune=new.prune)
    filters = pipeline.postfilters
    best = {}
    for _ in range(5):
        for label, decoder in (("old", old), ("new", new)):
            start = time.thread_time()
            reads = [decoder(s) for s in scores]
            decoded = time.thread_time()
            for postfilter in filters:
                reads = [postfilter(r) if r is not None else None for r in reads]
            done = time.thread_time()
            best[label] = min(best.get(label, float("inf")), decoded - start)
            best[f"{label}_with_filters"] = min(best.get(f"{label}_with_filters", float("inf")), done - start)
    plates = len(scores)
    figures = {key: round(value * 1000 / plates, 4) for key, value in best.items()}
    print(json.dumps({"pipeline": name, "crops": str(folder), "plates": plates, "ms_per_plate": figures,
                      "ratio": round(best["old"] / best["new"], 2),
                      "ratio_with_filters": round(best["old_with_filters"] / best["new_with_filters"], 2)}))


if __name__ == "__main__":
    main(sys.argv[1:])
