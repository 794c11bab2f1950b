"""On-the-fly training streams and the ``alprkit synth`` command."""

import numpy as np
import pytest
from torch.utils.data import DataLoader

from alprkit.cli import main as cli_main
from alprkit.commands.synth import main as synth_main
from alprkit.config import compose
from alprkit.data.dataset import PlateLabel
from alprkit.data.formats import load_dataset
from alprkit.data.regions import REGIONS
from alprkit.data.synth.streams import SyntheticCrops, SyntheticScenes
from alprkit.errors import ConfigError
from alprkit.imageio import read_image


def test_crop_stream_items_and_given_texts():
    stream = SyntheticCrops(regions={"cn": 0.5, "us": 0.5}, size=(96, 48), seed=1, length=6)
    items = list(stream)
    assert len(items) == 6 and {i["region"] for i in items} <= {"cn", "us"}
    for item in items:
        assert item["image"].shape == (48, 96, 3) and item["image"].dtype == np.uint8
        assert REGIONS[item["region"]].matches(item["text"])
    again = stream.render(3)
    assert again["text"] == items[3]["text"] and np.array_equal(again["image"], items[3]["image"])
    given = stream.render(0, text="ABC1234", region="br")
    assert given["text"] == "ABC1234" and given["region"] == "br"


def test_dataloader_workers_split_the_stream_without_repeats():
    stream = SyntheticCrops(regions={"cn": 1.0}, seed=2, length=8)
    single = sorted(item["text"] for item in stream)
    loader = DataLoader(stream, batch_size=None, num_workers=2)
    assert sorted(item["text"] for item in loader) == single
    assert len(set(single)) == 8


def test_scene_stream_yields_plate_labels():
    (item,) = list(SyntheticScenes(regions={"eu": 1.0}, size=(320, 240), seed=3, length=1))
    assert item["image"].shape == (240, 320, 3) and item["region"] == "eu"
    assert item["plates"] and all(isinstance(p, PlateLabel) and p.corners for p in item["plates"])


def test_streams_reject_bad_settings():
    with pytest.raises(ConfigError, match="unknown region 'zz'"):
        SyntheticCrops(regions={"zz": 1.0})
    with pytest.raises(ConfigError, match="unknown split"):
        SyntheticScenes(split="sideways")
    with pytest.raises(TypeError, match="endless"):
        len(SyntheticCrops())


def test_synth_command_writes_a_loadable_folder_and_a_preview(tmp_path, capsys):
    out = tmp_path / "crops"
    cfg = compose("synth", [f"out={out}", "format=crops_tsv", "regions=[cn,eu]", "splits=[base,rotate]", "count=2",
                            "progress=false"])
    assert synth_main(cfg, []) == 0
    assert len(load_dataset(out)) == 4 and "wrote 4 images" in capsys.readouterr().out
    sheet = tmp_path / "sheet.png"
    cfg = compose("synth", [f"out={sheet}", "regions={us: 1.0}", "splits=[base,weather]", "preview.crops=2",
                            "preview.scenes=1"])
    assert synth_main(cfg, ["preview"]) == 0
    pixels = read_image(sheet).pixels
    assert pixels.shape[1] >= 2 * 160 and pixels.shape[0] > 2 * 80 + 128  # two split columns: 2 crops, a scene


@pytest.mark.parametrize("args,message", [
    (["format=crops_tsv", "regions=atlantis"], "unknown region 'atlantis'"),
    (["format=crops_tsv", "count=0"], "count=0"),
    (["format=crops_tsv", "size=[94]"], "size="),
    (["format=jsonl", "size=[20,20]"], r"size=\[20, 20\]"),
    (["format=crops_tsv", "workers=0"], "workers=0"),
])  # fmt: skip
def test_synth_command_errors_are_one_line(tmp_path, capsys, args, message):
    assert cli_main(["synth", f"out={tmp_path / 'x'}", "progress=false", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("alprkit: error:") and len(err.splitlines()) == 1
    assert __import__("re").search(message, err), err


def test_synth_command_refuses_missing_or_existing_output(tmp_path):
    with pytest.raises(ConfigError, match="out= is required"):
        synth_main(compose("synth", []), [])
    with pytest.raises(ConfigError, match="already exists"):
        synth_main(compose("synth", [f"out={tmp_path}"]), [])
    with pytest.raises(ConfigError, match="a preview is a .png file"):
        synth_main(compose("synth", [f"out={tmp_path / 'sheet.jpg'}"]), ["preview"])
    with pytest.raises(ConfigError, match="unknown synth words"):
        synth_main(compose("synth", [f"out={tmp_path / 'x'}"]), ["previwe"])
