import json
import os
import stat

import numpy as np
import pytest

from alprkit.atomic import atomic_write, write_bytes_atomic, write_json_atomic, write_text_atomic


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_text_is_written_and_no_temp_file_is_left(tmp_path):
    target = tmp_path / "out.txt"
    write_text_atomic(target, "hello\n")
    assert target.read_text(encoding="utf-8") == "hello\n"
    assert leftovers(tmp_path) == []


def test_exception_mid_write_keeps_the_old_content(tmp_path):
    target = tmp_path / "results.jsonl"
    target.write_text("old results\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="crash"):
        with atomic_write(target) as f:
            f.write("half of the new res")
            raise RuntimeError("crash")
    assert target.read_text(encoding="utf-8") == "old results\n"
    assert leftovers(tmp_path) == []


def test_exception_before_the_first_write_creates_nothing(tmp_path):
    target = tmp_path / "never.txt"
    with pytest.raises(KeyError):
        with atomic_write(target):
            raise KeyError("x")
    assert list(tmp_path.iterdir()) == []


def test_replacing_an_existing_file(tmp_path):
    target = tmp_path / "ckpt.bin"
    write_bytes_atomic(target, b"one")
    write_bytes_atomic(target, b"two")
    assert target.read_bytes() == b"two"


def test_bytes_accepts_any_buffer(tmp_path):
    data = np.arange(10, dtype=np.uint8)
    write_bytes_atomic(tmp_path / "a.bin", data)
    assert (tmp_path / "a.bin").read_bytes() == data.tobytes()


def test_json_keeps_non_ascii_plate_text_readable(tmp_path):
    target = tmp_path / "plates.json"
    write_json_atomic(target, {"text": "皖A512T3", "score": 0.5})
    raw = target.read_text(encoding="utf-8")
    assert "皖A512T3" in raw and raw.endswith("\n")
    assert json.loads(raw) == {"text": "皖A512T3", "score": 0.5}


def test_missing_parent_folders_are_created(tmp_path):
    target = tmp_path / "runs" / "today" / "out.txt"
    write_text_atomic(target, "x")
    assert target.read_text() == "x"


def test_permissions_follow_the_umask_like_a_plain_open(tmp_path):
    umask = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_a_failing_rename_removes_the_temp_file(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("keep")
    with pytest.raises(OSError):
        write_text_atomic(target, "x")
    assert leftovers(tmp_path) == []
    assert (target / "inside").read_text() == "keep"


def test_only_write_modes_are_accepted(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with atomic_write(tmp_path / "a.txt", mode="a"):
            pass


def test_atomic_path_keeps_the_suffix_and_replaces_only_on_success(tmp_path):
    from alprkit.atomic import atomic_path, is_temporary, remove_stale_temporaries

    target = tmp_path / "clip.annotated.mp4"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".mp4" and is_temporary(tmp)
        tmp.write_bytes(b"video")
        assert not target.exists()
    assert target.read_bytes() == b"video" and [p.name for p in tmp_path.iterdir()] == [target.name]
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    assert target.read_bytes() == b"video" and [p.name for p in tmp_path.iterdir()] == [target.name]
    (tmp_path / ".clip.annotated.mp4.0123abcd.tmp.mp4").write_bytes(b"left by a kill")
    assert remove_stale_temporaries(tmp_path) == 1 and target.exists()
