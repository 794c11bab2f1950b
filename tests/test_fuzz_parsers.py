"""Property-based fuzzing of every parser of user input: no crash but alprkit's own one-line errors.

The budget is set by the environment, so that CI stays fast and a long run needs no edit:

- ``ALPRKIT_FUZZ_EXAMPLES`` (default 30): examples per parser per pass;
- ``ALPRKIT_FUZZ_SECONDS`` (default 0, one pass): keep running passes, each with new random
  examples, until this many seconds have passed for each parser. The issue's budget is
  ``ALPRKIT_FUZZ_SECONDS=60 pytest tests/test_fuzz_parsers.py``.

An exception that is not an :class:`AlprkitError` (the CLI prints those on one line) fails
the test, and Hypothesis shrinks it to the smallest input that raises it.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from alprkit.data.ccpd import PROVINCES, ccpd_name, encode_ccpd_text, parse_ccpd_name
from alprkit.data.crops import load_crops_tsv, load_tao
from alprkit.data.jsonl import load_jsonl
from alprkit.data.ufpr import load_ufpr
from alprkit.errors import AlprkitError

EXAMPLES = int(os.environ.get("ALPRKIT_FUZZ_EXAMPLES", 30))
SECONDS = float(os.environ.get("ALPRKIT_FUZZ_SECONDS", 0))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.filter_too_much])


def budget(test):
    """Run a Hypothesis test once, or pass after pass until ``ALPRKIT_FUZZ_SECONDS`` are spent."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        end = time.monotonic() + SECONDS
        passes = 0
        while True:
            test(*args, **kwargs)
            passes += 1
            if time.monotonic() >= end:
                break
        if SECONDS:
            print(f"{test.__name__}: {passes} passes of {EXAMPLES} examples in {SECONDS:g} s, no crash")

    return run


def only_own_errors(call):
    try:
        return call()
    except AlprkitError as exc:
        assert "\n" not in str(exc), str(exc)  # printed as one line
        return None


@pytest.fixture
def scratch():
    folder = Path(tempfile.mkdtemp(prefix="alprkit-fuzz-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def fresh(folder: Path) -> Path:
    """An empty sub-folder for one example (examples must not see each other's files)."""
    shutil.rmtree(folder / "x", ignore_errors=True)
    (folder / "x").mkdir()
    return folder / "x"


def text_or_bytes():
    """File contents: arbitrary text, text with the format's own separators, or raw bytes."""
    return st.one_of(st.text(max_size=300), st.binary(max_size=300),
                     st.lists(st.text(alphabet=st.sampled_from("\t\n:,&-_ []{}\"'0123456789AB皖京\r\ufeff "),
                                      max_size=40), max_size=8).map("\n".join))


def write(path: Path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")


# -- CCPD file names -------------------------------------------------------------------------------

numbers = st.lists(st.integers(0, 1200).map(str), min_size=1, max_size=9)
near_ccpd = st.builds(
    lambda parts, seps, suffix: "".join(p + s for p, s in zip(parts, seps)) + suffix,
    st.lists(numbers.map("_".join) | numbers.map("&".join) | st.text(max_size=4), min_size=1, max_size=9),
    st.lists(st.sampled_from(["-", "_", "&", ""]), min_size=9, max_size=9),
    st.sampled_from([".jpg", ".png", "", ".JPG"]),
)


@budget
@SETTINGS
@given(st.one_of(st.text(max_size=200), near_ccpd))
@example("\n")  # found by the 60 s run: a newline in a file name made the error two lines
def test_ccpd_file_names(name):
    only_own_errors(lambda: parse_ccpd_name(name))


@budget
@SETTINGS
@given(st.text(alphabet=st.sampled_from([*PROVINCES, *"ABCDEFGHJKLMNOPQRSTUVWXYZ0123456789IO"]), max_size=10))
def test_ccpd_plate_texts_round_trip(text):
    indices = only_own_errors(lambda: encode_ccpd_text(text))
    if indices is None:
        return
    from alprkit.data.ccpd import CCPDLabel

    label = CCPDLabel.from_text(text, (10, 10, 104, 34), ((10, 10), (104, 10), (104, 34), (10, 34)))
    parsed = only_own_errors(lambda: parse_ccpd_name(ccpd_name(label)))
    assert parsed is None or parsed.text == text


# -- labels.tsv, TAO, UFPR tracks, annotations.jsonl ----------------------------------------------


@budget
@SETTINGS
@given(content=text_or_bytes(), strict=st.booleans())
def test_labels_tsv(scratch, content, strict):
    folder = fresh(scratch)
    write(folder / "labels.tsv", content if not isinstance(content, str) else "file\ttext\tregion\n" + content)
    only_own_errors(lambda: load_crops_tsv(folder, strict=strict))
    write(folder / "labels.tsv", content)
    only_own_errors(lambda: load_crops_tsv(folder, region="cn", strict=strict))


@budget
@SETTINGS
@given(characters=text_or_bytes(), label=text_or_bytes(), layout=st.booleans())
def test_tao_label_files(scratch, characters, label, layout):
    folder = fresh(scratch)
    images, labels = (folder / "image", folder / "label") if layout else (folder, folder)
    write(images / "a.png", b"\x89PNG")  # never read: only the labels are parsed
    write(labels / "a.txt", label)
    write(folder / "characters_list.txt", characters)
    only_own_errors(lambda: load_tao(folder))
    (folder / "characters_list.txt").unlink()
    only_own_errors(lambda: load_tao(folder, region="us"))


ufpr_lines = st.lists(st.one_of(
    st.sampled_from(["plate: ABC-1234", "position_plate: 1 2 3 4", "\tchar 1: 1 2 3 4", "corners: 1,2 3,4 5,6 7,8",
                     "region: br", "region: xx", "position_vehicle: 1 2 3", "camera: x", "plate:", "\t", "nokey",
                     "degradation: motion=0.2 jpeg=0.5", "degradation: motion= =1 x"]),
    st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(["plate", "position_plate", "corners", "region",
                                                          "position_vehicle", "\tchar 1", "\ttype", "degradation"]),
              st.text(max_size=30)),
    st.text(max_size=30),
), max_size=10).map("\n".join)


@budget
@SETTINGS
@given(content=st.one_of(ufpr_lines, text_or_bytes()), strict=st.booleans())
def test_ufpr_track_files(scratch, content, strict):
    folder = fresh(scratch)
    write(folder / "track0001" / "track0001[01].png", b"\x89PNG")
    write(folder / "track0001" / "track0001[01].txt", content)
    only_own_errors(lambda: load_ufpr(folder, strict=strict))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=20,
)
plate_objects = st.fixed_dictionaries({}, optional={"text": json_values | st.sampled_from(["皖A12345", "ABC1234"]),
                                                    "box": json_values | st.lists(st.integers(-5, 50), max_size=5),
                                                    "corners": json_values})
records = st.fixed_dictionaries({}, optional={"file": json_values | st.just("a.jpg"),
                                              "region": json_values | st.sampled_from(["cn", "us", "xx"]),
                                              "plates": json_values | st.lists(plate_objects, max_size=3)})


@budget
@SETTINGS
@given(lines=st.lists(st.one_of(records.map(lambda r: json.dumps(r, allow_nan=True)), st.text(max_size=60)),
                      max_size=6), raw=st.binary(max_size=100), strict=st.booleans())
def test_annotations_jsonl(scratch, lines, raw, strict):
    folder = fresh(scratch)
    write(folder / "annotations.jsonl", "\n".join(lines))
    only_own_errors(lambda: load_jsonl(folder, strict=strict))
    write(folder / "annotations.jsonl", raw)
    only_own_errors(lambda: load_jsonl(folder, region="cn", strict=strict))


# -- config values ---------------------------------------------------------------------------------

CONFIG_KEYS = {
    "run": ["input", "output", "video.step", "decoder.top_n", "rectifier.margin", "recognizer.region",
            "pipeline.region", "+recognizer.weights", "detector.name", "postfilter"],
    "eval": ["data", "limit", "warmup", "iou", "split", "format", "fold", "output", "decoder"],
    "train": ["train.lr", "train.steps", "train.batch_size", "train.lr_drops", "train.init", "train.resume",
              "train.workers", "train.weight_decay"],
}
values = st.one_of(st.text(max_size=20), st.integers().map(str), st.floats().map(str),
                   st.sampled_from(["null", "[]", "{}", "[1,2]", "{folds:2,keep:1}", "${x}", "'", "a,b", "-1", "0",
                                    "true", "皖A016E2.jpg", "../", "/proc/x", "greedy", "nope", "1e-3"]))


@budget
@settings(SETTINGS, max_examples=max(1, EXAMPLES // 3))  # a Hydra composition per example: slower
@given(command=st.sampled_from(sorted(CONFIG_KEYS)), data=st.data())
def test_config_values(command, data):
    from omegaconf.errors import OmegaConfBaseException

    from alprkit.checks import check_config
    from alprkit.cli import split_arguments
    from alprkit.config import compose
    from alprkit.pipeline import build_component

    pairs = data.draw(st.lists(st.tuples(st.sampled_from(CONFIG_KEYS[command]), values), min_size=1, max_size=3))
    arguments = ["pipeline=untrained"] if command != "train" else ["train=smoke"]
    arguments += [f"{key}={value}" for key, value in pairs]

    def parse():
        _, _, overrides = split_arguments(command, arguments)
        cfg = compose(command, overrides)
        check_config(command, cfg, overrides)
        for kind in ("decoder", "rectifier", "detector"):  # cheap to build: no network
            if cfg.get(kind) is not None:
                build_component(kind, cfg[kind])

    try:
        only_own_errors(parse)
    except OmegaConfBaseException:  # the CLI prints these as one line naming the key
        pass
