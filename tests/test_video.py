import struct

import cv2
import numpy as np
import pytest

from alprkit.errors import ConfigError, InputError
from alprkit.types import Frame
from alprkit.video import BadFrame, is_video, iter_video, video_info

FRAMES, WIDTH, HEIGHT, FPS = 20, 64, 48, 10


def label(frame: Frame) -> int:
    """The number a test video's frame shows: its blue level is 12 * number (red is 255 throughout)."""
    return int(round(frame.pixels[..., 2].mean() / 12))


@pytest.fixture
def avi(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for i in range(FRAMES):
        writer.write(np.full((HEIGHT, WIDTH, 3), (12 * i, 0, 255), np.uint8))  # BGR
    writer.release()
    return path


def frame_chunks(data: bytes) -> list[int]:
    """Offsets of the frame chunks ('00dc': fourcc, size, JPEG data) in an AVI's movi list."""
    offsets, pos, end = [], data.index(b"movi") + 4, data.index(b"idx1")
    while pos < end:
        fourcc, size = struct.unpack_from("<4sI", data, pos)
        if fourcc == b"00dc":
            offsets.append(pos)
        pos += 8 + size + (size & 1)
    assert len(offsets) == FRAMES
    return offsets


def damage(path, edit) -> None:
    data = bytearray(path.read_bytes())
    edit(data, frame_chunks(bytes(data)))
    path.write_bytes(bytes(data))


def break_jpeg_header(data: bytearray, chunk: int) -> None:
    """Overwrite the frame's start-of-frame segment (size, components) with garbage."""
    sof = data.index(b"\xff\xc0", chunk)
    data[sof + 2 : sof + 19] = b"\xab" * 17


def summary(items) -> list:
    return [("bad", x.index) if isinstance(x, BadFrame) else (x.index, label(x)) for x in items]


def test_clean_video(avi):
    items = list(iter_video(avi))
    assert summary(items) == [(i, i) for i in range(FRAMES)]
    first = items[0]
    assert first.source == str(avi) and first.pixels.shape == (HEIGHT, WIDTH, 3) and first.pixels.dtype == np.uint8
    assert first.pixels[..., 0].mean() > 245  # red stays red: BGR was turned into RGB


def test_video_info(avi):
    info = video_info(avi)
    assert (info.fps, info.frame_count, info.width, info.height) == (FPS, FRAMES, WIDTH, HEIGHT)


def test_step_and_max_frames(avi):
    assert [f.index for f in iter_video(avi, step=3)] == [0, 3, 6, 9, 12, 15, 18]
    assert [f.index for f in iter_video(avi, step=3, max_frames=4)] == [0, 3, 6, 9]
    assert list(iter_video(avi, max_frames=0)) == []


@pytest.mark.parametrize("kwargs", [{"step": 0}, {"max_frames": -1}])
def test_bad_step_or_limit(avi, kwargs):
    with pytest.raises(ConfigError):
        iter_video(avi, **kwargs)


def test_non_ascii_file_name(avi):
    renamed = avi.rename(avi.with_name("皖A512T3_行车记录.avi"))
    assert len(list(iter_video(renamed))) == FRAMES


def test_is_video():
    assert is_video("a/b.MP4") and is_video("x.mkv") and is_video("y.mpeg")
    assert not is_video("x.jpg") and not is_video("mp4")


def test_missing_empty_folder_and_non_video(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "notes.avi").write_text("not a video\n")
    (tmp_path / "folder.mp4").mkdir()
    for name, reason in [
        ("nope.mp4", "no such file"),
        ("empty.mp4", "empty file"),
        ("notes.avi", "not a readable video"),
        ("folder.mp4", "is a directory"),
    ]:
        with pytest.raises(InputError, match=reason) as info:
            iter_video(tmp_path / name)  # raised at the call, before iterating
        assert info.value.path == str(tmp_path / name)
    with pytest.raises(InputError, match="not a readable video"):
        video_info(tmp_path / "notes.avi")


def test_a_frame_with_broken_jpeg_data_is_a_bad_frame(avi):
    damage(avi, lambda data, chunks: break_jpeg_header(data, chunks[7]))
    items = list(iter_video(avi))
    assert summary(items) == [(i, i) for i in range(7)] + [("bad", 7)] + [(i, i) for i in range(8, FRAMES)]
    assert "unreadable" in items[7].reason


def test_a_bad_frame_off_the_step_grid_is_not_reported(avi):
    damage(avi, lambda data, chunks: break_jpeg_header(data, chunks[7]))
    assert summary(iter_video(avi, step=2)) == [(i, i) for i in range(0, FRAMES, 2)]


def test_a_run_of_broken_frames(avi):
    def edit(data, chunks):
        for chunk in chunks[5:9]:
            break_jpeg_header(data, chunk)

    damage(avi, edit)
    expected = [(i, i) for i in range(5)] + [("bad", i) for i in range(5, 9)] + [(i, i) for i in range(9, FRAMES)]
    assert summary(iter_video(avi)) == expected


def test_a_destroyed_chunk_header_loses_the_frame_silently(avi):
    # OpenCV's AVI demuxer resyncs on the next chunk without an error: later frames come one
    # number early, and the shortfall against the header's count is reported at the end.
    def edit(data, chunks):
        data[chunks[7] : chunks[7] + 16] = bytes(16)

    damage(avi, edit)
    items = list(iter_video(avi))
    assert [x.index for x in items] == list(range(FRAMES))
    assert summary(items[:7]) == [(i, i) for i in range(7)]
    assert label(items[-2]) == FRAMES - 1  # the last frame was still read
    assert isinstance(items[-1], BadFrame) and "missing" in items[-1].reason


def test_bytes_overwritten_in_the_middle_of_the_file(avi):
    data = bytearray(avi.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff" * 64
    avi.write_bytes(bytes(data))
    items = list(iter_video(avi))
    assert [x.index for x in items] == list(range(FRAMES))
    frames = [x for x in items if isinstance(x, Frame)]
    assert len(frames) >= FRAMES - 3 and label(frames[-1]) == FRAMES - 1


def test_a_cut_off_file_reports_the_missing_frames(avi):
    data = avi.read_bytes()
    avi.write_bytes(data[: frame_chunks(data)[14] + 100])  # frame 14 is cut in the middle
    items = list(iter_video(avi))
    assert summary(items[:14]) == [(i, i) for i in range(14)]
    assert [(x.index, type(x)) for x in items[14:]] == [(i, BadFrame) for i in range(14, FRAMES)]


def test_a_video_with_no_readable_frame(avi):
    def edit(data, chunks):
        for chunk in chunks:
            break_jpeg_header(data, chunk)

    damage(avi, edit)
    with pytest.raises(InputError, match="no readable frames"):
        list(iter_video(avi))
