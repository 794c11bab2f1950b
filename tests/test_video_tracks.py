"""UFPR-ALPR-style tracks: synthetic ones whose quality changes over the track, and reading track folders."""

import numpy as np
import pytest

from alprkit.data.formats import detect_format, load_dataset
from alprkit.data.synth.datasets import SynthJob, generate
from alprkit.data.ufpr import write_ufpr_frame
from alprkit.degrade import STRENGTHS
from alprkit.errors import ConfigError, LabelError


@pytest.fixture(scope="module")
def tracks(tmp_path_factory):
    """Two br tracks of 4 small PNG frames each, as UFPR-ALPR ships them."""
    out = tmp_path_factory.mktemp("synth") / "tracks"
    return generate(SynthJob(out, "ufpr", regions={"br": 1.0}, count=2, frames=4, size=(320, 180), seed=7,
                             degrade=0.9, degrade_share=1.0, frame_format="png"))


def test_synthetic_tracks_are_ufpr_folders_with_their_quality_per_frame(tracks):
    frames = sorted((tracks / "base" / "track0001").glob("*.png"))
    assert [f.name for f in frames] == [f"track0001[{i:02d}].png" for i in range(1, 5)]
    assert detect_format(tracks) == "ufpr"
    dataset = load_dataset(tracks)
    assert dataset.kind == "tracks" and [len(t) for t in dataset.tracks().values()] == [4, 4]
    for samples in dataset.tracks().values():
        assert len({s.text for s in samples}) == 1 and all(s.region == "br" for s in samples)
        levels = np.array([[s.extra["degradation"][name] for name in STRENGTHS] for s in samples])
        assert levels.min() >= 0 and levels.max() <= 0.9 and levels.std(axis=0).max() > 0  # it changes over the track


def test_no_degradation_when_asked(tmp_path):
    out = generate(SynthJob(tmp_path / "clean", "ufpr", regions={"us": 1.0}, count=1, frames=2, size=(320, 180),
                            degrade=0.0))
    dataset = load_dataset(out)
    assert all(set(s.extra["degradation"].values()) == {0.0} for s in dataset)
    assert {p.suffix for p in (out / "base" / "track0001").iterdir()} == {".jpg", ".txt"}


@pytest.mark.parametrize("bad, fragment", [({"degrade": 1.5}, "degrade=1.5"), ({"degrade_share": -0.1}, "degrade_share"),
                                           ({"frame_format": "gif"}, "frame_format='gif'")])
def test_bad_track_settings_are_one_line_errors(tmp_path, bad, fragment):
    with pytest.raises(ConfigError) as error:
        SynthJob(tmp_path / "x", "ufpr", **bad)
    assert fragment in str(error.value) and "\n" not in str(error.value)
