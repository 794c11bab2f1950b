"""Shipped ONNX files read their weights from the safetensors file beside them and read as an embedded copy does."""

import shutil

import numpy as np
import pytest

from alprkit.errors import InputError
from alprkit.onnx_wire import external_data_files, file_metadata
from alprkit.shipped_onnx import WEIGHTS_SHA256, choose_backend, file_sha256, onnx_beside, open_onnx
from alprkit_lprnet import WEIGHTS

SOURCE = WEIGHTS / "lprnet_basic.us.safetensors"
CROPS = np.random.default_rng(0).random((3, 3, 24, 94), dtype=np.float32) * 255  # its input size: 94x24


@pytest.fixture
def weights(tmp_path):
    """A copy of a shipped weights file with its ONNX file beside it."""
    for path in (SOURCE, onnx_beside(SOURCE)):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path / SOURCE.name


def test_the_shipped_file_reads_the_weights_beside_it_as_an_embedded_export_does(weights, tmp_path):
    onnx = pytest.importorskip("onnx")
    from alprkit.onnx_external import read_weights_from_safetensors

    shipped = onnx_beside(weights)
    assert external_data_files(shipped) == {weights.name}
    assert shipped.stat().st_size < weights.stat().st_size / 10  # the weights are not stored twice
    embedded = tmp_path / "embedded" / shipped.name
    embedded.parent.mkdir()
    embedded.write_bytes(onnx.load(shipped).SerializeToString())  # onnx.load reads the external data in
    assert not external_data_files(embedded)
    assert np.array_equal(open_onnx(shipped)(CROPS), open_onnx(embedded)(CROPS))
    # Rewriting the embedded export beside the weights gives the shipped file again, byte for byte.
    shutil.copy(weights, embedded.parent / weights.name)
    assert read_weights_from_safetensors(embedded, embedded.parent / weights.name) > 0.95 * weights.stat().st_size
    assert embedded.read_bytes() == shipped.read_bytes()


def test_metadata_is_read_without_opening_the_weights(weights):
    assert file_metadata(onnx_beside(weights))[WEIGHTS_SHA256] == file_sha256(weights)
    assert file_metadata(onnx_beside(weights))["alphabet"] == open_onnx(onnx_beside(weights)).metadata["alphabet"]


def test_retrained_weights_shorter_than_the_offsets_fall_back_to_torch(weights, capsys):
    weights.write_bytes(weights.read_bytes()[:-4096])  # the last tensors' offsets now point past the end
    choice = choose_backend("auto", weights)
    assert choice.backend == "torch" and not choice.sessions
    assert "exported from other weights" in capsys.readouterr().err
    with pytest.raises(InputError, match=r"lprnet_basic\.us\.onnx.*exported from other weights.*export shipped=true"):
        open_onnx(onnx_beside(weights))


def test_an_onnx_file_copied_without_its_weights_is_an_error_naming_both(weights):
    weights.unlink()
    with pytest.raises(InputError, match=r"lprnet_basic\.us\.onnx.*lprnet_basic\.us\.safetensors.*not beside it"):
        open_onnx(onnx_beside(weights))


@pytest.mark.parametrize("content", [b"", b"\x0f\xff\xff", b"not an onnx file at all", b"\x3a\x90\x01short"])
def test_a_file_that_is_no_onnx_is_one_error_naming_it(tmp_path, content):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(content)
    with pytest.raises(InputError, match=r"bad\.onnx.*not a loadable ONNX file") as caught:
        file_metadata(bad)
    assert len(str(caught.value).splitlines()) == 1
