"""Synthetic folders in every real format load through the core's loaders, reproducibly."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from alprkit.data.formats import detect_format, load_dataset
from alprkit.data.synth import datasets
from alprkit.data.synth.datasets import SynthJob, generate
from alprkit.errors import ConfigError
from alprkit.imageio import read_image


def _digest(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_ccpd_splits_load_with_their_labels(tmp_path):
    out = generate(SynthJob(tmp_path / "ccpd", "ccpd", splits=("base", "tilt"), count=3, seed=1, size=(360, 580)))
    assert detect_format(out) == "ccpd"
    everything = load_dataset(out)
    assert len(everything) == 6 and not everything.problems
    tilt = load_dataset(out, split="tilt")
    assert len(tilt) == 3 and {s.extra["split"] for s in tilt} == {"ccpd_tilt"}
    for sample in everything:
        (plate,) = sample.plates
        assert len(plate.text) in (7, 8) and plate.region == "cn"
        image = read_image(sample.path).pixels
        assert image.shape == (580, 360, 3)
        x0, y0, x1, y1 = plate.box
        assert 0 <= x0 < x1 <= 360 and 0 <= y0 < y1 <= 580
        for x, y in plate.corners:  # CCPD rounds corners to pixels; they stay on the box
            assert x0 - 1 <= x <= x1 + 1 and y0 - 1 <= y <= y1 + 1
    assert (out / "synth.json").is_file() and not list(tmp_path.glob(".*partial"))


def test_jsonl_crops_tao_and_ufpr_round_trip(tmp_path):
    scenes = generate(SynthJob(tmp_path / "s", "jsonl", regions={"us": 1, "eu": 1}, splits=("base",), count=3,
                               size=(320, 200), max_plates=3))
    crops = generate(SynthJob(tmp_path / "c", "crops_tsv", regions={"cn": 1, "br": 1}, splits=("blur", "db"), count=4))
    tao = generate(SynthJob(tmp_path / "t", "tao", regions={"us": 1.0}, count=3, size=(96, 48)))
    tracks = generate(SynthJob(tmp_path / "u", "ufpr", regions={"br": 1.0}, count=2, frames=3, size=(320, 180)))
    for folder, fmt, kind, n in ((scenes, "jsonl", "scenes", 3), (crops, "crops_tsv", "crops", 8),
                                 (tao, "tao", "crops", 3), (tracks, "ufpr", "tracks", 6)):
        data = load_dataset(folder)
        assert detect_format(folder) == fmt and data.kind == kind and len(data) == n and not data.problems
    s = load_dataset(scenes).samples[0]
    assert s.region in ("us", "eu") and s.extra["split"] == "base" and s.plates[0].corners is not None
    assert read_image(s.path).pixels.shape == (200, 320, 3)
    c = load_dataset(crops)
    assert {x.path.parent.name for x in c} == {"blur", "db"}
    assert read_image(c.samples[0].path).pixels.shape == (24, 94, 3)
    assert read_image(load_dataset(tao).samples[0].path).pixels.shape == (48, 96, 3)
    u = load_dataset(tracks)
    assert [len(v) for v in u.tracks().values()] == [3, 3]
    assert all(len(x.plates[0].extra["chars"]) == 7 for x in u)


def test_same_seed_same_bytes_with_any_number_of_workers(tmp_path):
    job = dict(format="crops_tsv", regions={"cn": 0.5, "us": 0.5}, splits=("mix",), count=6, seed=3)
    a = generate(SynthJob(tmp_path / "a", **job))
    b = generate(SynthJob(tmp_path / "b", **job), workers=2)
    assert _digest(a) == _digest(b)
    c = generate(SynthJob(tmp_path / "c", **{**job, "seed": 4}))
    assert _digest(a) != _digest(c)


@pytest.mark.parametrize("changes,message", [
    ({"regions": {"mars": 1.0}}, "unknown region 'mars'"),
    ({"regions": {"cn": 0}}, r"regions.cn=0"),
    ({"regions": {"us": 1.0}}, "format=ccpd holds Chinese plates only"),
    ({"count": 0}, "count=0"),
    ({"frames": -1}, "frames=-1"),
    ({"size": (4, 3000)}, r"size=\[4, 3000\]"),
    ({"splits": ("base", "sunny")}, "unknown split 'sunny'"),
    ({"format": "voc"}, "format='voc'"),
    ({"max_plates": 2}, "exactly one plate"),
    ({"quality": 0}, "quality=0"),
])  # fmt: skip
def test_bad_configuration_is_a_clear_error(tmp_path, changes, message):
    with pytest.raises(ConfigError, match=message):
        SynthJob(**{"out": tmp_path / "x", "format": "ccpd", **changes})


def test_existing_output_and_bad_worker_counts_are_refused(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(ConfigError, match="already exists"):
        generate(SynthJob(tmp_path / "taken", "crops_tsv", count=1))
    with pytest.raises(ConfigError, match="workers=0"):
        generate(SynthJob(tmp_path / "new", "crops_tsv", count=1), workers=0)


def test_an_interrupted_run_leaves_nothing_named_as_complete(tmp_path, monkeypatch):
    calls = []

    def failing(job, root, split, index):
        calls.append(index)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(job, root, split, index)

    real = datasets.ITEM_WRITERS["crops_tsv"]
    monkeypatch.setitem(datasets.ITEM_WRITERS, "crops_tsv", failing)
    job = SynthJob(tmp_path / "out", "crops_tsv", count=5)
    with pytest.raises(KeyboardInterrupt):
        generate(job)
    assert not (tmp_path / "out").exists()
    partial = tmp_path / ".out.partial"
    assert not (partial / "labels.tsv").exists() and not list(partial.rglob("*.tmp"))
    monkeypatch.setitem(datasets.ITEM_WRITERS, "crops_tsv", real)
    assert len(load_dataset(generate(job))) == 5  # a rerun replaces the stale partial folder
    (tmp_path / ".foreign.partial").mkdir()
    with pytest.raises(ConfigError, match="not made by alprkit synth"):
        generate(SynthJob(tmp_path / "foreign", "crops_tsv", count=1))


def test_ccpd_names_hold_the_rendered_plate(tmp_path):
    out = generate(SynthJob(tmp_path / "c", "ccpd", count=2, size=(360, 580), seed=5))
    for sample in load_dataset(out):
        image = read_image(sample.path).pixels.astype(int)
        x0, y0, x1, y1 = (int(v) for v in sample.plates[0].box)
        plate = image[y0:y1, x0:x1]
        above, below = image[max(0, y0 - 40) : y0, x0:x1], image[y1 : y1 + 40, x0:x1]
        around = np.concatenate([above.reshape(-1, 3), below.reshape(-1, 3)])
        # a Chinese plate is strongly blue, green or yellow; the car and street around it are not
        chroma = lambda px: (px.max(axis=-1) - px.min(axis=-1)).mean()  # noqa: E731
        assert chroma(plate) > chroma(around)
