"""The bad-input corpus of issue 11: every rough edge a new user hit, as alprkit must answer it.

Each case asserts the exit status, that no traceback is printed, that the message names
the file or key, and, for batches, that the other items are still processed. Bad items
share one batch run where they can (a run costs a pipeline build), and everything runs
in this process through ``alprkit.cli.main``.
"""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import cv2
import numpy as np
import pytest
from corpus import (BAD_CCPD_NAMES, GOOD_CCPD_NAME, gbk, jsonl_line, write_bad_images, write_bad_videos,
                    write_jsonl_scenes, write_odd_images, write_weights_files)
from helpers import (CN_PLATES, assert_one_line_error, cli, json_lines, plate_image, write_crops, write_rgb,
                     write_scenes)

from alprkit.imageio import read_image

pytestmark = pytest.mark.usefixtures("one_torch_thread")
from helpers import one_torch_thread  # noqa: E402,F401  (the fixture above)

UNTRAINED = ("pipeline=untrained", "progress=false")
SHIPPED_US = Path(__file__).resolve().parents[1] / "plugins/alprkit_lprnet/weights/lprnet_basic.us.safetensors"


def no_traceback(err):
    assert "Traceback" not in err and "Error:" not in err.replace("alprkit: error:", ""), err


# -- a folder run over every kind of broken image ------------------------------------------------

BAD_NAMES = ["empty.jpg", "random.jpg", "random.png", "truncated.jpg", "truncated.png", "notes.jpg", "page.png",
             "header_only.jpg", "one_pixel.png", "line.png", "loop.jpg", "dangling.png", "unreadable.png"]
ODD_NAMES = ["gray.png", "gray.jpg", "deep16.png", "rgba.png", "cmyk.jpg", "palette.png", "rotated.jpg",
             "png_named.jpg", "UPPER.JPG", "皖A12345.png", "with space (1).png"]


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    """One ``alprkit run`` over a folder of bad, odd and same-named images, writing annotated copies."""
    root = tmp_path_factory.mktemp("corpus")
    folder = root / "photos"
    bad = write_bad_images(folder / "bad")
    odd = write_odd_images(folder / "odd")
    for sub in ("a", "b"):  # same file name in two sub-folders, and beside it another suffix
        write_rgb(folder / sub / "car.jpg", plate_image(seed=1))
    write_rgb(folder / "a" / "car.png", plate_image(seed=2))
    out = root / "annotated"
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        from alprkit.cli import main

        status = main(["run", *UNTRAINED, f"input={folder}", f"output={out}"])
    stdout, stderr = stdout.getvalue(), stderr.getvalue()
    assert set(bad) == set(BAD_NAMES) and set(odd) == set(ODD_NAMES)
    return status, stdout, stderr, out, bad, odd


def test_folder_run_exits_1_without_a_traceback(folder_run):
    status, _, err, *_ = folder_run
    assert status == 1
    no_traceback(err)
    assert f"alprkit: {len(ODD_NAMES) + 3} images read" in err


@pytest.mark.parametrize("name", BAD_NAMES)
def test_folder_run_names_each_bad_image_with_its_reason(folder_run, name):
    _, _, err, _, bad, _ = folder_run
    [line] = [line for line in err.splitlines() if line.startswith("  failed: ") and f"/bad/{name}: " in line]
    assert bad[name] in line.lower(), line


@pytest.mark.parametrize("name", ODD_NAMES)
def test_folder_run_reads_each_odd_but_valid_image(folder_run, name):
    *_, out, _, _ = folder_run
    assert not any(name in line for line in folder_run[2].splitlines() if "failed" in line)
    stem = Path(name).stem
    assert (out / "odd" / f"{stem}.annotated.jpg").is_file() or (out / "odd" / f"{name}.annotated.jpg").is_file()


def test_same_file_names_in_sub_folders_keep_one_output_each(folder_run):
    *_, out, _, _ = folder_run
    assert (out / "a" / "car.jpg.annotated.jpg").is_file() and (out / "a" / "car.png.annotated.jpg").is_file()
    assert (out / "b" / "car.annotated.jpg").is_file()
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) == len(ODD_NAMES) + 3 and not [p for p in written if p.name.endswith(".tmp")]


def test_no_read_without_text_is_printed(folder_run):
    assert all(read["text"] for read in json_lines(folder_run[1]))


@pytest.mark.parametrize("name, shape", [("gray.png", (24, 94)), ("cmyk.jpg", (24, 94)), ("rotated.jpg", (94, 24)),
                                         ("deep16.png", (24, 94)), ("palette.png", (24, 94))])
def test_odd_images_read_as_three_channel_rgb(tmp_path, name, shape):
    write_odd_images(tmp_path)
    pixels = read_image(tmp_path / name).pixels
    assert pixels.shape == (*shape, 3) and pixels.dtype == np.uint8
    if name.startswith("gray"):
        assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()


def test_a_12000x9000_photo_reads(tmp_path):
    path = tmp_path / "huge.png"
    assert cv2.imwrite(str(path), np.full((9000, 12000), 90, np.uint8))
    assert read_image(path).pixels.shape == (9000, 12000, 3)


# -- one input, one line ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    crops = write_crops(root / "crops")
    videos = write_bad_videos(root / "videos")
    weights = write_weights_files(root / "weights")
    (root / "a_file.txt").write_text("x")
    write_rgb(root / "皖A016E2.jpg", plate_image(seed=5))
    jpeg = cv2.imencode(".jpg", plate_image(seed=9))[1].tobytes()
    (root / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    return {"root": root, "crops": crops, "videos": videos, "weights": weights}


def _w(files, name):
    return files["root"] / "weights" / name


# (id, command arguments given the files, fragments the one error line must hold)
ONE_LINE_ERRORS = [
    ("missing input", lambda f: ["run", *UNTRAINED, "input=/no/such/car.jpg"], ["/no/such/car.jpg", "no such"]),
    ("bare missing path", lambda f: ["run", *UNTRAINED, "car.jpg"], ["car.jpg", "no such"]),
    ("two bare paths", lambda f: ["run", *UNTRAINED, "a.jpg", "b.jpg"], ["one input", "a.jpg b.jpg"]),
    ("bare path and input=", lambda f: ["run", *UNTRAINED, "a.jpg", "input=b.jpg"], ["'a.jpg'", "input="]),
    ("unknown option", lambda f: ["run", "--verbose"], ["'--verbose'", "--help"]),
    ("output is a file", lambda f: ["run", *UNTRAINED, f"input={f['crops']}", f"output={f['root'] / 'a_file.txt'}"],
     ["output=", "a_file.txt", "is a file"]),
    ("output cannot be made", lambda f: ["run", *UNTRAINED, f"input={f['crops']}", "output=/proc/alprkit/out"],
     ["output=/proc/alprkit/out", "cannot create"]),
    ("video.step=0", lambda f: ["run", *UNTRAINED, "video.step=0"], ["video.step", ">= 1"]),
    ("video.step=abc", lambda f: ["run", *UNTRAINED, "video.step=abc"], ["video.step", "'abc'"]),
    ("pipeline.region=xx", lambda f: ["run", "pipeline.region=xx"], ["pipeline.region"]),
    ("pipeline.region=us", lambda f: ["run", "pipeline=lprnet_cn", "pipeline.region=us"], ["pipeline.region"]),
    ("recognizer.region=xx", lambda f: ["run", *UNTRAINED, "recognizer.region=xx"], ["recognizer.region", "'xx'"]),
    ("unknown recognizer", lambda f: ["run", "recognizer.name=lprnet_basik"], ["lprnet_basik", "lprnet_basic"]),
    ("unknown weight tag", lambda f: ["run", "recognizer.name=lprnet_basic.xx"], ["'xx'", "cn"]),
    ("unknown parameter", lambda f: ["run", *UNTRAINED, "+decoder.beam=3"], ["decoder 'greedy'", "'beam'"]),
    ("weights do not exist", lambda f: ["eval", "pipeline=lprnet_cn", "+recognizer.weights=/does/not/exist.safetensors",
                                        f"data={f['crops']}"], ["recognizer.weights", "/does/not/exist.safetensors"]),
    ("weights are a folder", lambda f: ["run", "+recognizer.weights=" + str(_w(f, "a_folder.safetensors"))],
     ["recognizer.weights", "not a file"]),
    ("detector weights missing", lambda f: ["run", "pipeline=lprnet_us_mtcnn", "+detector.weights=/x.safetensors"],
     ["detector.weights", "/x.safetensors"]),
    ("eval without data", lambda f: ["eval", *UNTRAINED], ["data="]),
    ("eval data missing", lambda f: ["eval", *UNTRAINED, "data=/no/such/set"], ["data=/no/such/set"]),
    ("eval limit=0", lambda f: ["eval", *UNTRAINED, f"data={f['crops']}", "limit=0"], ["limit", ">= 1"]),
    ("eval iou=2", lambda f: ["eval", *UNTRAINED, f"data={f['crops']}", "iou=2"], ["iou", "2"]),
    ("eval iou=high", lambda f: ["eval", *UNTRAINED, f"data={f['crops']}", "iou=high"], ["iou", "'high'"]),
    ("eval split.keep=5", lambda f: ["eval", *UNTRAINED, f"data={f['crops']}", "split={folds:2,keep:5}"],
     ["split.keep"]),
    ("eval split.folds=x", lambda f: ["eval", *UNTRAINED, f"data={f['crops']}", "split={folds:x,keep:0}"],
     ["split.folds", "'x'"]),
    ("eval output is a folder", lambda f: ["eval", *UNTRAINED, f"data={f['crops']}", f"output={f['root']}"],
     ["output=", "is a folder"]),
    ("eval format unknown", lambda f: ["eval", *UNTRAINED, f"data={f['crops']}", "format=csv"], ["'csv'", "crops_tsv"]),
    ("eval of a folder of no format", lambda f: ["eval", *UNTRAINED, f"data={f['root'] / 'weights'}"],
     ["weights", "unrecognised dataset format"]),
    ("train.lr=fast", lambda f: ["train", "train=smoke", "train.lr=fast"], ["train.lr", "'fast'"]),
    ("train.lr=0", lambda f: ["train", "train=smoke", "train.lr=0"], ["train.lr", "> 0"]),
    ("train.steps=0", lambda f: ["train", "train=smoke", "train.steps=0"], ["train.steps", ">= 1"]),
    ("train.batch_size=big", lambda f: ["train", "train=smoke", "train.batch_size=big"], ["train.batch_size"]),
    ("train.workers=-1", lambda f: ["train", "train=smoke", "train.workers=-1"], ["train.workers"]),
    ("train.lr_drops=[2]", lambda f: ["train", "train=smoke", "train.lr_drops=[2]"], ["train.lr_drops[0]"]),
    ("train.gray=2", lambda f: ["train", "train=smoke", "train.gray=2"], ["train.gray", "0..1"]),
    ("train.init missing", lambda f: ["train", "train=smoke", "train.init=/no/init.safetensors"],
     ["train.init", "/no/init.safetensors"]),
    ("train.resume missing", lambda f: ["train", "train=smoke", "train.resume=/no/last.ckpt"],
     ["train.resume", "/no/last.ckpt"]),
    ("train unknown word", lambda f: ["train", "train=smoke", "go"], ["'go'"]),
    ("single truncated image", lambda f: ["run", *UNTRAINED, f"input={f['root'] / 'truncated.jpg'}"],
     ["truncated.jpg", "truncated"]),
    *[(f"video {name}", (lambda name: lambda f: ["run", *UNTRAINED, f"input={f['root'] / 'videos' / name}"])(name),
       [name, reason]) for name, reason in
      {"empty.mp4": "empty file", "random.avi": "video", "notes.mp4": "video", "header_only.avi": "video"}.items()],
    *[(f"weights {name}", (lambda name: lambda f: ["run", "pipeline=lprnet_cn",
                                                   f"+recognizer.weights={_w(f, name)}", f"input={f['crops']}"])(name),
       [name, reason]) for name, reason in
      {"no_metadata.safetensors": "no alprkit metadata", "missing_tensor.safetensors": "missing tensors",
       "wrong_shape.safetensors": "has shape [3, 3]", "random.safetensors": "not a safetensors",
       "empty.safetensors": "not a safetensors", "model.pt": "not a safetensors"}.items()],
    ("detector weights of a recognizer", lambda f: ["run", "pipeline=lprnet_us_mtcnn",
                                                    f"+detector.weights={SHIPPED_US}", f"input={f['crops']}"],
     ["lprnet_basic.us.safetensors", "not of an mtcnn detector"]),
]


@pytest.mark.parametrize("case", ONE_LINE_ERRORS, ids=[c[0] for c in ONE_LINE_ERRORS])
def test_one_line_error(files, capsys, case):
    _, arguments, fragments = case
    status, out, err = cli(capsys, *arguments(files))
    assert_one_line_error(status, err, *fragments)
    assert out == ""


def test_user_weights_win_over_the_tag_of_the_name(capsys):
    from alprkit.config import compose
    from alprkit.pipeline import Pipeline

    cfg = compose("run", ["pipeline=lprnet_cn", f"+recognizer.weights={SHIPPED_US}"])
    recognizer = Pipeline.from_config(cfg).recognizer
    assert recognizer.region == "us" and "皖" not in recognizer.alphabet


def test_non_ascii_path_works_unquoted(files, capsys):
    path = files["root"] / "皖A016E2.jpg"
    for arguments in ([f"input={path}"], [str(path)]):
        status, out, err = cli(capsys, "run", *UNTRAINED, *arguments)
        assert status == 0, err
        no_traceback(err)
        assert "alprkit: 1 image read" in err


def test_help_after_a_command_prints_its_usage(capsys):
    for command in ("run", "eval", "train"):
        status, out, err = cli(capsys, command, "--help")
        assert status == 0 and out.startswith(f"usage: alprkit {command}") and err == ""
    assert "[INPUT]" in cli(capsys, "run", "-h")[1]


def test_a_crops_pipeline_on_a_whole_photo_prints_no_empty_plate(tmp_path, capsys):
    gradient = np.linspace(40, 220, 640, dtype=np.uint8)[None, :, None].repeat(480, 0).repeat(3, 2)
    photo = write_rgb(tmp_path / "street.jpg", gradient)
    status, out, err = cli(capsys, "run", "pipeline=lprnet_cn", f"input={photo}")
    assert status == 0 and '"text": ""' not in out
    assert "pipeline=lprnet_cn_mtcnn" in err and "street.jpg" in err


# -- data sets: labels in other encodings, broken lines, malformed names ---------------------------

EVAL = ("eval", *UNTRAINED, "warmup=0")


def test_gbk_labels_tsv_is_one_line_in_eval_and_train(tmp_path, capsys):
    crops = write_crops(tmp_path / "crops")
    tsv = crops / "labels.tsv"
    tsv.write_bytes(gbk(tsv.read_text(encoding="utf-8")))
    assert_one_line_error(*cli(capsys, *EVAL, f"data={crops}")[::2], "labels.tsv", "not UTF-8", "line 2")
    status, out, err = cli(capsys, "train", "train=smoke", "dataset=crops", f"dataset.path={crops}",
                           f"output={tmp_path / 'run'}", "progress=false")
    assert_one_line_error(status, err, "labels.tsv", "not UTF-8")


def test_eval_of_a_folder_without_a_usable_item_is_an_error(tmp_path, capsys):
    crops = write_crops(tmp_path / "crops")
    for image in crops.glob("*.png"):
        image.write_bytes(b"")
    status, out, err = cli(capsys, *EVAL, f"data={crops}")
    assert status == 2 and "Traceback" not in err and out == ""
    assert err.strip().splitlines()[-1].startswith(f"alprkit: error: {crops}: none of its 8 items could be read")
    assert sum("empty file" in line for line in err.splitlines()) == 8


def test_eval_whose_split_keeps_nothing_is_an_error(tmp_path, capsys):
    crops = write_crops(tmp_path / "crops", texts=CN_PLATES[:1])
    status, _, err = cli(capsys, *EVAL, f"data={crops}", "split={folds:1000,keep:999}")
    assert status == 2 and "no labelled item selected by split=" in err


@pytest.fixture(scope="module")
def broken_sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("sets")
    scenes = write_scenes(root / "jsonl")
    good = (scenes / "annotations.jsonl").read_text(encoding="utf-8").splitlines()
    jsonl_bad = write_jsonl_scenes(scenes, good)
    ccpd = root / "ccpd" / "ccpd_base"
    write_rgb(ccpd / GOOD_CCPD_NAME, np.full((48, 120, 3), 90, np.uint8))
    for name in BAD_CCPD_NAMES:
        write_rgb(ccpd / name, np.full((48, 120, 3), 90, np.uint8))
    tao = root / "tao"
    write_crops(tao / "image_src", texts=CN_PLATES[:3])
    (tao / "image").mkdir()
    (tao / "label").mkdir()
    for i, text in enumerate(CN_PLATES[:3]):
        shutil.copy(tao / "image_src" / f"crop{i:03d}.png", tao / "image" / f"crop{i:03d}.png")
        (tao / "label" / f"crop{i:03d}.txt").write_bytes(gbk(text) if i == 1 else text.encode())
    shutil.rmtree(tao / "image_src")
    (tao / "characters_list.txt").write_text("".join(f"{c}\n" for c in sorted(set("".join(CN_PLATES)))),
                                             encoding="utf-8")
    return {"jsonl": (scenes, jsonl_bad), "ccpd": root / "ccpd", "tao": tao}


def test_broken_jsonl_lines_are_skipped_and_named(broken_sets, capsys):
    scenes, bad = broken_sets["jsonl"]
    status, out, err = cli(capsys, *EVAL, f"data={scenes}")
    assert status == 0, err
    no_traceback(err)
    assert json.loads(out.splitlines()[-1])["n"] == 4
    skipped = [line for line in err.splitlines() if line.startswith("alprkit: skipped label: ")]
    for lineno, reason in bad.items():
        [line] = [line for line in skipped if f"annotations.jsonl:{lineno}: " in line]
        assert reason in line, line


def test_malformed_ccpd_names_are_skipped_and_named(broken_sets, capsys):
    status, out, err = cli(capsys, *EVAL, f"data={broken_sets['ccpd']}", "format=ccpd")
    assert status == 0, err
    no_traceback(err)
    assert json.loads(out.splitlines()[-1])["label_problems"] == len(BAD_CCPD_NAMES)
    for name, reason in BAD_CCPD_NAMES.items():
        [line] = [line for line in err.splitlines() if name in line]
        assert reason in line, line


def test_tao_label_in_another_encoding_is_skipped_and_named(broken_sets, capsys):
    status, out, err = cli(capsys, *EVAL, f"data={broken_sets['tao']}")
    assert status == 0, err
    assert json.loads(out.splitlines()[-1])["n"] == 2
    [line] = [line for line in err.splitlines() if "crop001.txt" in line]
    assert "not UTF-8" in line


def test_training_us_crops_with_the_default_recognizer_names_recognizer_region(tmp_path, capsys):
    crops = write_crops(tmp_path / "us", texts=("IOU1234", "OIL5678"), region="us")
    status, _, err = cli(capsys, "train", "train=smoke", "dataset=crops", f"dataset.path={crops}",
                         f"output={tmp_path / 'run'}", "progress=false")
    assert_one_line_error(status, err, "outside the recognizer's alphabet", "recognizer.region=us")
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_value_with_a_newline_is_named_on_one_line():
    # Found by tests/test_fuzz_parsers.py::test_config_values: `data=` holding a newline.
    from alprkit.checks import check_config
    from alprkit.cli import split_arguments
    from alprkit.config import compose
    from alprkit.errors import ConfigError

    _, _, overrides = split_arguments("eval", ["pipeline=untrained", "data=\n"])
    with pytest.raises(ConfigError) as caught:
        check_config("eval", compose("eval", overrides), overrides)
    assert str(caught.value) == "data=\\n: no such file or folder"
