"""Throughput of ``alprkit serve`` under concurrent clients against ``alprkit run`` on the same images.

    python -m alprkit.serve_bench --pipeline lprnet_cn --images 2000 --clients 8
    python -m alprkit.serve_bench --pipeline lprnet_cn --data ../shared/data/real/cn_crops_lprnet

The images (the pipeline's built-in samples, or ``--data``, repeated to ``--images``) are
copied to a temporary folder. ``alprkit run`` reads the folder, and a folder of one of them:
the difference of the two wall times is the time of ``images - 1`` reads without start-up.
Run's JSON lines are the expected answers. Then ``alprkit serve`` is started and, after a
warm-up, every image is posted once by ``--clients`` threads (kept-alive connections, half
of them multipart uploads); any failed request or answer other than run's fails the bench.
Prints one JSON line (requests/s of both, their ratio, p50/p95 latency); exit status 1 on
any failed or wrong answer. Measure on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from .imageio import list_images
from .serve_client import Sample, ServerProcess, load_test, post_image

SAMPLES = Path(__file__).resolve().parent / "samples"


def copies(sources, count: int, folder: Path) -> list[Path]:
    """``count`` files in ``folder`` cycling through ``sources``, in the order ``run`` lists them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        source = sources[i % len(sources)]
        path = folder / f"{i:06d}{source.suffix.lower()}"
        shutil.copyfile(source, path)
        paths.append(path)
    return paths


def timed_run(pipeline: str, folder: Path, extra) -> tuple[float, dict]:
    """(seconds, source -> texts in order) of ``alprkit run`` over ``folder``."""
    command = [sys.executable, "-m", "alprkit.cli", "run", f"pipeline={pipeline}", f"input={folder}",
               "progress=false", *extra]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"alprkit run failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    texts = defaultdict(list)
    for line in result.stdout.splitlines():
        record = json.loads(line)
        texts[record["source"]].append(record["text"])
    return seconds, texts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alprkit.serve_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipeline", default="lprnet_cn")
    parser.add_argument("--data", type=Path, help="a folder of images (default: the pipeline's built-in samples)")
    parser.add_argument("--images", type=int, default=2000, help="images read by each (default 2000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients (default 8)")
    parser.add_argument("--serve", nargs="*", default=[], metavar="KEY=VALUE", help="more alprkit serve settings")
    parser.add_argument("--run", nargs="*", default=[], metavar="KEY=VALUE",
                        help="settings for both run and serve (recognizer.backend=onnxruntime ...)")
    args = parser.parse_args(argv)
    if args.images < 2 or args.clients < 1:
        parser.error("--images must be at least 2 and --clients at least 1")
    sources = list_images(args.data) if args.data else list_images(SAMPLES / _sample_folder(args.pipeline))
    if not sources:
        parser.error(f"no images in {args.data}")

    with tempfile.TemporaryDirectory(prefix="alprkit-serve-bench-") as tmp:
        paths = copies(sources, args.images, Path(tmp) / "images")
        copies(sources, 1, Path(tmp) / "one")
        one_s, _ = timed_run(args.pipeline, Path(tmp) / "one", args.run)
        all_s, texts = timed_run(args.pipeline, Path(tmp) / "images", args.run)
        run_per_s = (args.images - 1) / max(all_s - one_s, 1e-9)
        samples = [Sample(p.name, p.read_bytes(), tuple(texts.get(str(p), ()))) for p in paths]

        with ServerProcess(f"pipeline={args.pipeline}", *args.run, *args.serve) as server:
            for sample in samples[: 2 * args.clients]:  # warm-up: first-call set-up of every layer
                post_image(server.url, sample.data)
            report = load_test(server.url, samples, requests=len(samples), clients=args.clients)

    result = {"pipeline": args.pipeline, "images": args.images, "clients": args.clients,
              "run": {"seconds": round(all_s, 2), "one_image_seconds": round(one_s, 2),
                      "images_per_s": round(run_per_s, 1)},
              "serve": report.to_json(), "serve_over_run": round(report.throughput / run_per_s, 3)}
    print(json.dumps(result), flush=True)
    for line in (report.failures + report.wrong)[:10]:
        print(f"  {line}", file=sys.stderr)
    return 1 if report.failures or report.wrong else 0


def _sample_folder(pipeline: str) -> str:
    from .config import compose

    return str(compose("run", [f"pipeline={pipeline}"]).pipeline.get("sample", "crops_cn"))


if __name__ == "__main__":
    sys.exit(main())
