"""The shared real evaluation sets load as they are (skipped where the data is absent)."""

import pytest

from alprkit.data.dataset import CROPS, SCENES
from alprkit.data.formats import detect_format, load_dataset

# folder: (format, kind, region, images, plates, labelled with text)
REAL_SETS = {
    "cn_crops_lprnet": ("crops_tsv", CROPS, "cn", 569, 569, True),
    "us_crops_openalpr": ("crops_tsv", CROPS, "us", 431, 431, True),
    "e2e_openalpr_us": ("jsonl", SCENES, "us", 126, 126, True),
    "e2e_openalpr_eu": ("jsonl", SCENES, "eu", 62, 62, True),
    "e2e_openalpr_br": ("jsonl", SCENES, "br", 65, 65, True),
    "e2e_ccpd_cn": ("jsonl", SCENES, "cn", 15, 15, True),
    "det_romania_dashcam": ("jsonl", SCENES, "eu", 76, 90, False),
}


@pytest.mark.parametrize("folder", REAL_SETS)
def test_real_set_loads_with_expected_counts(real_data, folder):
    fmt, kind, region, images, plates, has_text = REAL_SETS[folder]
    path = real_data / folder
    assert detect_format(path) == fmt
    ds = load_dataset(path)
    assert ds.kind == kind and not ds.problems
    assert len(ds) == images
    assert sum(len(s.plates) for s in ds) == plates
    assert {s.region for s in ds} == {region}
    assert all(s.path.is_file() for s in ds)
    assert all((p.text is not None) == has_text for s in ds for p in s.plates)
    if kind == SCENES:
        for s in ds:
            for p in s.plates:
                x1, y1, x2, y2 = p.box
                assert 0 <= x1 < x2 <= s.extra["width"] and 0 <= y1 < y2 <= s.extra["height"]


def test_ccpd_file_names_agree_with_the_annotations(real_data):
    path = real_data / "e2e_ccpd_cn"
    from_names = {s.path.name: s for s in load_dataset(path, format="ccpd")}
    from_jsonl = {s.path.name: s for s in load_dataset(path, format="jsonl")}
    assert from_names.keys() == from_jsonl.keys() and len(from_names) == 15
    for name, annotated in from_jsonl.items():
        decoded = from_names[name]
        assert decoded.plates[0].text == annotated.plates[0].text
        assert decoded.plates[0].box == annotated.plates[0].box
        assert decoded.plates[0].corners == annotated.plates[0].corners
        meta, expected = decoded.extra["ccpd"], annotated.extra["ccpd"]
        assert {**meta, "tilt": list(meta["tilt"]), "indices": list(meta["indices"]), "plate_type": None} == {
            **expected,
            "plate_type": None,
        }
        assert expected["plate_type"].startswith(meta["plate_type"])  # "green (new-energy, 8 chars)"
    assert sum(s.extra["ccpd"]["plate_type"] == "green" for s in from_names.values()) == 3
