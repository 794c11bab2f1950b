"""Folds: by plate text, and for sets without text by dashcam event or file name."""

from pathlib import Path

from alprkit.data.dataset import PlateLabel, Sample
from alprkit.data.formats import load_dataset
from alprkit.data.splits import EVENT_GAP_S, select_folds, split_keys, text_fold, video_time


def frame(name, **extra):
    return Sample(Path(f"/data/{name}.jpg"), (PlateLabel(box=(0, 0, 10, 4)),), extra=extra)


def test_text_samples_keep_their_text_fold():
    samples = [Sample(Path(f"/data/{i}.jpg"), (PlateLabel(text=t, box=(0, 0, 10, 4)),)) for i, t in
               enumerate(["AB123", "CD456", "EF789", "GH012", "JK345", "LM678"])]
    for keep in (0, 1):
        assert select_folds(samples, 2, keep) == [s for s in samples if text_fold(s.text, 2) == keep]


def test_frames_less_than_the_gap_apart_chain_into_one_event():
    # v1: 0, 15, 30 chain (each < 20 s after the one before); 60 starts a new event; v2 at 15 is another video.
    samples = [frame("v1_t0030"), frame("v1_t0000"), frame("v2_t0015"), frame("v1_t0015"), frame("v1_t0060")]
    keys = split_keys(samples)
    assert keys[0] == keys[1] == keys[3] == "event:v1@0"
    assert keys[2] == "event:v2@15" and keys[4] == "event:v1@60"
    assert EVENT_GAP_S == 20


def test_label_keys_name_the_video_and_time_before_the_file_name():
    assert video_time(frame("x", video="ride.mp4", time_s=12)) == ("ride.mp4", 12.0)
    assert video_time(frame("ride_t0012")) == ("ride", 12.0)
    assert video_time(frame("Cars12")) is None


def test_an_event_falls_wholly_in_one_fold_and_other_text_less_images_by_file_name():
    samples = [frame(f"v{v}_t{t:04d}") for v in range(6) for t in range(0, 100, 10)] + [frame("Cars1"), frame("x")]
    folds = [select_folds(samples, 2, k) for k in (0, 1)]
    assert sorted(map(id, folds[0] + folds[1])) == sorted(map(id, samples))  # each sample in exactly one fold
    for fold in folds:
        videos = {s.path.stem.split("_")[0] for s in fold if "_t" in s.path.stem}
        assert all(sum(s.path.stem.startswith(v + "_") for s in fold) == 10 for v in videos)
    assert split_keys([frame("Cars1")]) == ["file:Cars1.jpg"]


def test_the_dashcam_set_splits_with_no_close_frames_across_the_folds(real_data):
    samples = load_dataset(real_data / "det_romania_dashcam").samples
    folds = [select_folds(samples, 2, k) for k in (0, 1)]
    assert len(folds[0]) + len(folds[1]) == len(samples) and all(len(f) >= len(samples) // 4 for f in folds)
    times = [[video_time(s) for s in fold] for fold in folds]
    assert all(v0 != v1 or abs(t0 - t1) >= EVENT_GAP_S for v0, t0 in times[0] for v1, t1 in times[1])
