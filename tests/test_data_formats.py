"""Dataset format loaders and writers on small synthetic folders (no image is decoded)."""

import json
import os

import pytest

from alprkit.data.ccpd import CCPDLabel, ccpd_name, encode_ccpd_text, load_ccpd, parse_ccpd_name, write_ccpd_split_lists
from alprkit.data.crops import (
    load_crops_tsv,
    load_tao,
    write_crops_tsv,
    write_tao_characters,
    write_tao_label,
)
from alprkit.data.dataset import CROPS, SCENES, TRACKS, PlateLabel
from alprkit.data.formats import FORMATS, detect_format, load_dataset
from alprkit.data.jsonl import JsonlWriter, load_jsonl, scene_record
from alprkit.data.ufpr import load_ufpr, write_ufpr_frame
from alprkit.errors import ConfigError, InputError, LabelError

BLUE_NAME = "025-95_113-154&383_386&473-386&473_177&454_154&383_363&402-0_0_22_27_27_33_16-37-15.jpg"
GREEN_NAME = "004504310344827586-86_270-291&474_390&516-390&513_293&516_291&483_387&474-0_0_3_25_25_25_30_30-228-16.jpg"


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


# --- CCPD names -----------------------------------------------------------------------


def test_ccpd_blue_name_decodes_and_reorders_corners():
    label = parse_ccpd_name(BLUE_NAME)
    assert label.text == "皖AY339S"
    assert label.plate_type == "blue"
    assert label.area == "025" and label.tilt == (95, 113)
    assert label.box == (154, 383, 386, 473)
    # the name lists BR, BL, TL, TR; we keep TL, TR, BR, BL
    assert label.corners == ((154, 383), (363, 402), (386, 473), (177, 454))
    assert (label.brightness, label.blurriness) == (37, 15)


def test_ccpd_green_name_has_eight_characters():
    label = parse_ccpd_name(GREEN_NAME)
    assert label.text == "皖AD11166"
    assert label.plate_type == "green"
    assert label.indices == (0, 0, 3, 25, 25, 25, 30, 30)


@pytest.mark.parametrize("name", [BLUE_NAME, GREEN_NAME])
def test_ccpd_name_round_trips(name):
    assert ccpd_name(parse_ccpd_name(name)) == name


def test_ccpd_label_from_text_round_trips_through_the_name():
    corners = ((100.4, 200.0), (300.0, 210.0), (301.0, 260.0), (99.0, 250.0))
    label = CCPDLabel.from_text("京AD12345", (99, 200, 301, 260), corners, tilt=(80, 100))
    parsed = parse_ccpd_name(ccpd_name(label, suffix=".png"))
    assert parsed == label
    assert parsed.corners[0] == (100, 200) and parsed.plate_type == "green"
    assert label.area == "015"  # 202 * 60 / (720 * 1160) = 0.0145


def test_ccpd_no_character_index_adds_nothing():
    # province index 33 is "O": no province character (the text then fails no charset)
    name = BLUE_NAME.replace("-0_0_22_", "-33_0_22_")
    assert parse_ccpd_name(name).text == "AY339S"


@pytest.mark.parametrize(
    "name, message",
    [
        ("025-95_113-154&383_386&473-0_0_22_27_27_33_16-37-15.jpg", "not a CCPD file name"),
        (BLUE_NAME.replace("-0_0_22_", "-0_25_22_"), "past its list"),  # 25 alphabets entries
        ("holiday.jpg", "not a CCPD file name"),
    ],
)
def test_malformed_ccpd_name_names_the_file(name, message):
    with pytest.raises(LabelError, match=message) as info:
        parse_ccpd_name(f"/data/ccpd_base/{name}")
    assert name in str(info.value)


def test_ccpd_text_outside_the_lists_cannot_be_encoded():
    with pytest.raises(LabelError, match="'I' at position 2"):
        encode_ccpd_text("皖I12345")
    with pytest.raises(LabelError, match="7 or 8 characters"):
        encode_ccpd_text("皖A123")


# --- CCPD folders and splits ---------------------------------------------------------------


def _ccpd_name(text, x):
    corners = ((x, 400), (x + 100, 400), (x + 100, 440), (x, 440))
    return ccpd_name(CCPDLabel.from_text(text, (x, 400, x + 100, 440), corners))


@pytest.fixture
def ccpd_tree(tmp_path):
    root = tmp_path / "CCPD2019"
    texts = {"ccpd_base": ["皖A12345", "皖B23456", "沪AD12345"], "ccpd_db": ["京C34567"], "ccpd_weather": ["粤Z45678"]}
    relative = {
        folder: [f"{folder}/{_ccpd_name(text, 100 + 10 * i)}" for i, text in enumerate(items)]
        for folder, items in texts.items()
    }
    for paths in relative.values():
        for p in paths:
            touch(root / p)
    touch(root / "ccpd_np" / "0001.jpg")
    write_ccpd_split_lists(root, {"train": relative["ccpd_base"][:2], "test": relative["ccpd_base"][2:]})
    return root, texts


def test_ccpd_tree_loads_recursively_with_split_names(ccpd_tree):
    root, texts = ccpd_tree
    ds = load_ccpd(root)
    assert ds.kind == SCENES and len(ds) == 6
    labelled = [s for s in ds if s.plates]
    assert sorted(s.text for s in labelled) == sorted(t for items in texts.values() for t in items)
    assert {s.extra["split"] for s in ds} == {"ccpd_base", "ccpd_db", "ccpd_weather", "ccpd_np"}
    no_plate = next(s for s in ds if not s.plates)
    assert no_plate.extra["split"] == "ccpd_np"
    first = labelled[0]
    assert first.region == "cn" and first.plates[0].box == (100.0, 400.0, 200.0, 440.0)
    assert first.plates[0].corners[1] == (200.0, 400.0)


@pytest.mark.parametrize("split, expected", [("db", ["京C34567"]), ("ccpd_db", ["京C34567"]), ("weather", ["粤Z45678"])])
def test_ccpd_split_selects_a_sub_folder(ccpd_tree, split, expected):
    ds = load_ccpd(ccpd_tree[0], split=split)
    assert [s.text for s in ds] == expected
    assert {s.extra["split"] for s in ds} == {f"ccpd_{split.removeprefix('ccpd_')}"}


def test_ccpd_split_list_file_wins(ccpd_tree):
    root, _ = ccpd_tree
    assert (root / "splits" / "train.txt").read_text(encoding="utf-8").count("\n") == 2
    assert [s.text for s in load_ccpd(root, split="train")] == ["皖A12345", "皖B23456"]
    assert [s.text for s in load_ccpd(root, split="test")] == ["沪AD12345"]


def test_unknown_ccpd_split_lists_the_available_ones(ccpd_tree):
    available = "ccpd_base, ccpd_db, ccpd_np, ccpd_weather, test, train"
    with pytest.raises(ConfigError, match=rf"'rotate'.*available: {available}"):
        load_ccpd(ccpd_tree[0], split="rotate")


def test_bad_ccpd_name_strict_raises_and_lenient_skips(ccpd_tree):
    root, _ = ccpd_tree
    touch(root / "ccpd_base" / "holiday.jpg")
    with pytest.raises(LabelError, match="holiday.jpg"):
        load_ccpd(root)
    ds = load_ccpd(root, strict=False)
    assert len(ds) == 6
    assert len(ds.problems) == 1 and "holiday.jpg" in ds.problems[0]


# --- crops: labels.tsv and TAO -------------------------------------------------------------------


def test_crops_tsv_round_trip(tmp_path):
    rows = [("a.jpg", "皖A512T3", "cn"), ("b.jpg", "ABC1234", "us"), ("c.jpg", "AYO9034", "br")]
    write_crops_tsv(tmp_path, rows)
    ds = load_crops_tsv(tmp_path)
    assert ds.kind == CROPS and ds.name == tmp_path.name
    assert [(s.path.name, s.text, s.region) for s in ds] == rows
    assert load_crops_tsv(tmp_path / "labels.tsv").samples == ds.samples


def test_crops_tsv_bad_label_strict_and_lenient(tmp_path):
    # I is not on Chinese plates
    write_crops_tsv(tmp_path, [("a.jpg", "皖A512T3", "cn"), ("b.jpg", "皖AI12T3", "cn"), ("c.jpg", "X", "mars")])
    with pytest.raises(LabelError, match=r"labels\.tsv:3: .*'I'"):
        load_crops_tsv(tmp_path)
    ds = load_crops_tsv(tmp_path, strict=False)
    assert [s.text for s in ds] == ["皖A512T3"]
    assert len(ds.problems) == 2 and "labels.tsv:4" in ds.problems[1] and "mars" in ds.problems[1]


def test_crops_tsv_needs_its_header(tmp_path):
    (tmp_path / "labels.tsv").write_text("a.jpg\tABC123\tus\n", encoding="utf-8")
    with pytest.raises(InputError, match="header"):
        load_crops_tsv(tmp_path)


def test_tao_round_trip(tmp_path):
    labels = {"p1.jpg": "AB12CD", "p2.png": "ZZ9"}
    for name, text in labels.items():
        touch(tmp_path / "image" / name)
        write_tao_label(tmp_path, name, text)
    write_tao_characters(tmp_path, "ABCDZ0123456789")
    assert (tmp_path / "characters_list.txt").read_text(encoding="utf-8").splitlines()[:2] == ["A", "B"]
    ds = load_tao(tmp_path, region="eu")
    assert ds.kind == CROPS
    assert [(s.path.name, s.text, s.region) for s in ds] == [(n, t, "eu") for n, t in labels.items()]


def test_tao_images_and_labels_side_by_side(tmp_path):
    touch(tmp_path / "p1.jpg")
    (tmp_path / "p1.txt").write_text("AB12\n", encoding="utf-8")
    write_tao_characters(tmp_path, "AB12")
    ds = load_tao(tmp_path)
    assert [(s.path.name, s.text, s.region) for s in ds] == [("p1.jpg", "AB12", None)]


def test_tao_label_outside_characters_list_names_the_label_file(tmp_path):
    touch(tmp_path / "image" / "p1.jpg")
    touch(tmp_path / "image" / "p2.jpg")
    write_tao_label(tmp_path, "p1.jpg", "AB12")
    write_tao_label(tmp_path, "p2.jpg", "AB1Q")
    write_tao_characters(tmp_path, "AB12")
    with pytest.raises(LabelError, match=r"p2\.txt: .*'Q'"):
        load_tao(tmp_path)
    ds = load_tao(tmp_path, strict=False)
    assert [s.text for s in ds] == ["AB12"] and "p2.txt" in ds.problems[0]


def test_tao_without_characters_list_needs_a_region(tmp_path):
    touch(tmp_path / "image" / "p1.jpg")
    write_tao_label(tmp_path, "p1.jpg", "皖A12345")
    with pytest.raises(InputError, match="characters_list.txt"):
        load_tao(tmp_path)
    assert load_tao(tmp_path, region="cn").samples[0].text == "皖A12345"


def test_tao_image_without_label(tmp_path):
    touch(tmp_path / "image" / "p1.jpg")
    (tmp_path / "label").mkdir()
    write_tao_characters(tmp_path, "AB")
    with pytest.raises(LabelError, match=r"p1\.txt: missing"):
        load_tao(tmp_path)


# --- UFPR tracks ----------------------------------------------------------------------------


def _write_track(root, split, track, text, frames, region=None):
    for frame in frames:
        stem = f"{track}[{frame:02d}]"
        touch(root / split / track / f"{stem}.png")
        x = 100 + frame
        write_ufpr_frame(
            root / split / track / f"{stem}.txt",
            text,
            (x, 200, x + 80, 230),
            ((x, 200), (x + 80, 201), (x + 80, 230), (x, 229)) if frame % 2 else None,
            (x - 50, 100, x + 150, 300),
            region,
            camera="GoPro Hero4 Silver",
            vehicle={"type": "car", "make": "Renault"},
            char_boxes=[(x + 2, 202, x + 10, 228)],
        )


def test_ufpr_round_trip(tmp_path):
    _write_track(tmp_path, "training", "track0002", "AYH0744", [3, 1, 2, 10])
    _write_track(tmp_path, "testing", "track0001", "ABC1D23", [1, 2])
    _write_track(tmp_path, "testing", "track0003", "BA123CD", [1], region="eu")
    content = (tmp_path / "training" / "track0002" / "track0002[01].txt").read_text(encoding="utf-8")
    assert "plate: AYH-0744\n" in content and "\tmake: Renault\n" in content
    assert "plate: ABC1D23\n" in (tmp_path / "testing" / "track0001" / "track0001[01].txt").read_text(encoding="utf-8")

    ds = load_ufpr(tmp_path)
    assert ds.kind == TRACKS and len(ds) == 7 and not ds.problems
    tracks = ds.tracks()
    assert list(tracks) == ["track0001", "track0002", "track0003"]
    frames = tracks["track0002"]
    assert [s.frame for s in frames] == [1, 2, 3, 10]
    first = frames[0]
    assert first.text == "AYH0744" and first.region == "br" and first.extra["split"] == "training"
    assert first.plates[0].box == (101.0, 200.0, 181.0, 230.0)
    assert first.plates[0].corners == ((101.0, 200.0), (181.0, 201.0), (181.0, 230.0), (101.0, 229.0))
    assert frames[1].plates[0].corners is None
    assert first.plates[0].extra["chars"] == ((103.0, 202.0, 111.0, 228.0),)
    assert first.extra["vehicle"] == {"box": (51.0, 100.0, 251.0, 300.0), "type": "car", "make": "Renault"}
    assert first.extra["camera"] == "GoPro Hero4 Silver"
    assert tracks["track0003"][0].region == "eu"  # the file's region line wins


def test_ufpr_region_argument_and_bad_labels(tmp_path):
    _write_track(tmp_path, "", "track0001", "AB123CD", [1, 2])
    assert {s.region for s in load_ufpr(tmp_path, region="eu")} == {"eu"}
    (tmp_path / "track0001" / "track0001[02].txt").write_text("plate: AB-12\nposition_plate: 1 2 3\n", encoding="utf-8")
    touch(tmp_path / "track0001" / "track0001[03].png")  # no label file
    with pytest.raises(LabelError, match=r"track0001\[02\]\.txt: position_plate"):
        load_ufpr(tmp_path)
    ds = load_ufpr(tmp_path, strict=False)
    assert [s.frame for s in ds] == [1]
    assert len(ds.problems) == 2 and "missing" in ds.problems[1]


def test_ufpr_plate_outside_charset(tmp_path):
    _write_track(tmp_path, "", "track0001", "ÄBC1234", [1])
    with pytest.raises(LabelError, match=r"track0001\[01\]\.txt: .*br charset"):
        load_ufpr(tmp_path)


# --- JSONL ----------------------------------------------------------------------------------


def _plates():
    return [
        PlateLabel(
            text="AYO9034", box=(528, 412, 690.25, 464), corners=((528, 412), (690, 413), (690, 464), (528, 463))
        ),
        PlateLabel(text=None, box=(10, 20, 30, 40), extra={"label_note": "occluded"}),
    ]


def test_jsonl_round_trip(tmp_path):
    with JsonlWriter(tmp_path / "annotations.jsonl") as writer:
        writer.write(scene_record("a.jpg", 1280, 720, _plates(), region="br", source="synthetic"))
        writer.write(scene_record("b.jpg", 640, 480, [], region="br"))
    ds = load_jsonl(tmp_path)
    assert ds.kind == SCENES and [s.path.name for s in ds] == ["a.jpg", "b.jpg"]
    a = ds.samples[0]
    assert a.region == "br" and a.extra == {"width": 1280, "height": 720, "source": "synthetic"}
    assert a.plates[0].text == "AYO9034" and a.plates[0].box == (528.0, 412.0, 690.25, 464.0)
    assert a.plates[0].corners[1] == (690.0, 413.0)
    assert a.plates[1].text is None and a.plates[1].corners is None
    assert a.plates[1].extra == {"label_note": "occluded"}
    assert ds.samples[1].plates == ()


def test_jsonl_writer_append_drops_an_unfinished_last_line(tmp_path):
    path = tmp_path / "annotations.jsonl"
    with JsonlWriter(path) as writer:
        writer.write(scene_record("a.jpg", 10, 10, [], region="us"))
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"file": "b.jpg", "wid')  # what a killed run leaves behind
    with JsonlWriter(path, append=True) as writer:
        writer.write(scene_record("c.jpg", 10, 10, [], region="us"))
    assert [s.path.name for s in load_jsonl(path)] == ["a.jpg", "c.jpg"]


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ('{"file": "b.jpg", "plates": [', "not valid JSON"),
        ('["b.jpg"]', "JSON object"),
        ('{"plates": []}', "no \"file\" key"),
        ('{"file": "b.jpg", "region": "us", "plates": [{"text": "AB", "box": [1, 2, 3]}]}', "box"),
        ('{"file": "b.jpg", "region": "us", "plates": [{"text": "AB", "corners": [[1, 2]]}]}', "corners"),
        ('{"file": "b.jpg", "plates": [{"text": "AB"}]}', "no region"),
        ('{"file": "b.jpg", "region": "cn", "plates": [{"text": "京I12345"}]}', "cn charset"),
    ],
)
def test_malformed_jsonl_line_names_file_and_line(tmp_path, bad_line, message):
    path = tmp_path / "annotations.jsonl"
    good = json.dumps(scene_record("a.jpg", 10, 10, [PlateLabel(text="AB12", box=(1, 2, 3, 4))], region="us"))
    path.write_text(f"{good}\n\n{bad_line}\n{good}\n", encoding="utf-8")
    with pytest.raises(LabelError, match=rf"annotations\.jsonl:3: .*{message}"):
        load_jsonl(path)
    ds = load_jsonl(path, strict=False)
    assert len(ds) == 2 and len(ds.problems) == 1 and ":3:" in ds.problems[0]


# --- atomic writes ------------------------------------------------------------------------------


def test_interrupted_writer_keeps_the_old_file(tmp_path, monkeypatch):
    write_crops_tsv(tmp_path, [("a.jpg", "AB12", "us")])
    old = (tmp_path / "labels.tsv").read_text(encoding="utf-8")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_crops_tsv(tmp_path, [("b.jpg", "CD34", "us")])
    assert (tmp_path / "labels.tsv").read_text(encoding="utf-8") == old
    assert [p.name for p in tmp_path.iterdir()] == ["labels.tsv"]  # no temporary file left


# --- recognition and dispatch --------------------------------------------------------------------


@pytest.fixture
def one_of_each(tmp_path, ccpd_tree):
    folders = {name: tmp_path / name for name in ("jsonl", "crops_tsv", "tao", "ufpr")}
    with JsonlWriter(folders["jsonl"] / "annotations.jsonl") as writer:
        writer.write(scene_record("a.jpg", 10, 10, [], region="us"))
    write_crops_tsv(folders["crops_tsv"], [("a.jpg", "AB12", "us")])
    touch(folders["tao"] / "image" / "a.jpg")
    write_tao_label(folders["tao"], "a.jpg", "AB12")
    write_tao_characters(folders["tao"], "AB12")
    _write_track(folders["ufpr"], "validation", "track0001", "AYH0744", [1])
    folders["ccpd"] = ccpd_tree[0]
    return folders


def test_detect_format_recognises_each_format(one_of_each):
    assert {name: detect_format(path) for name, path in one_of_each.items()} == {name: name for name in one_of_each}
    assert set(one_of_each) == set(FORMATS)
    assert detect_format(one_of_each["jsonl"] / "annotations.jsonl") == "jsonl"
    assert detect_format(one_of_each["ccpd"] / "ccpd_db") == "ccpd"


def test_load_dataset_dispatches(one_of_each):
    kinds = {name: load_dataset(path).kind for name, path in one_of_each.items()}
    assert kinds == {"jsonl": SCENES, "crops_tsv": CROPS, "tao": CROPS, "ufpr": TRACKS, "ccpd": SCENES}
    assert [s.text for s in load_dataset(one_of_each["ccpd"], split="db")] == ["京C34567"]
    assert len(load_dataset(one_of_each["ccpd"] / "ccpd_db", format="ccpd")) == 1


def test_unrecognised_or_missing_path_lists_known_formats(tmp_path):
    touch(tmp_path / "holiday.jpg")
    (tmp_path / "notes.txt").write_text("nothing here", encoding="utf-8")
    for path in (tmp_path, tmp_path / "nowhere"):
        with pytest.raises(InputError, match="known formats: jsonl, crops_tsv, tao, ufpr, ccpd") as info:
            load_dataset(path)
        assert str(path) in str(info.value)


def test_load_dataset_rejects_unknown_format_and_options(one_of_each):
    with pytest.raises(ConfigError, match="unknown dataset format 'voc'"):
        load_dataset(one_of_each["jsonl"], format="voc")
    with pytest.raises(ConfigError, match="has no option split .*options: region, strict"):
        load_dataset(one_of_each["jsonl"], split="db")
