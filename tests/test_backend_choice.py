"""backend=auto: the ONNX file beside the weights when it was made from them, torch otherwise, and why."""

import shutil

import pytest

from alprkit.errors import ConfigError, InputError
from alprkit.shipped_onnx import REEXPORT, choose_backend, onnx_beside
from alprkit_lprnet import WEIGHTS


@pytest.fixture
def weights(tmp_path):
    """A copy of a shipped weights file with its ONNX file beside it."""
    source = WEIGHTS / "lprnet_basic.us.safetensors"
    shutil.copy(source, tmp_path / source.name)
    shutil.copy(onnx_beside(source), tmp_path / onnx_beside(source).name)
    return tmp_path / source.name


def test_onnx_files_made_from_the_weights_run_on_onnxruntime(weights):
    choice = choose_backend("auto", weights)
    assert choice.backend == "onnxruntime" and set(choice.sessions) == {None}
    assert "lprnet_basic.us.onnx" in choice.reason and "auto" in choice.reason
    assert choose_backend("onnxruntime", weights).sessions


@pytest.mark.parametrize("amx", [True, False])
def test_auto_says_when_bf16_on_amx_would_read_large_batches_faster(weights, monkeypatch, amx):
    from alprkit import shipped_onnx

    monkeypatch.setattr(shipped_onnx, "cpu_has_amx", lambda: amx)
    choice = choose_backend("auto", weights)
    assert choice.backend == "onnxruntime"  # the hint never changes the choice
    assert ("backend=torch_bf16" in choice.reason) == amx


def test_asked_for_torch_gets_torch_and_an_untrained_network_too(weights):
    assert choose_backend("torch", weights) == choose_backend("torch", None)
    assert choose_backend("torch", weights).backend == "torch" and not choose_backend("torch", weights).sessions
    untrained = choose_backend("auto", None)
    assert untrained.backend == "torch" and "untrained" in untrained.reason


def test_weights_without_an_onnx_file_run_on_torch_saying_how_to_make_one(weights):
    onnx_beside(weights).unlink()
    choice = choose_backend("auto", weights)
    assert choice.backend == "torch" and REEXPORT in choice.reason


def test_retrained_weights_do_not_run_the_stale_onnx_file(weights, capsys):
    weights.write_bytes(weights.read_bytes() + b" ")  # other weights: another sha256
    choice = choose_backend("auto", weights)
    assert choice.backend == "torch" and not choice.sessions
    err = capsys.readouterr().err
    assert "exported from other weights" in err and REEXPORT in err and len(err.strip().splitlines()) == 1


def test_a_stale_onnx_file_without_torch_is_an_error_naming_it(weights, monkeypatch):
    from alprkit import shipped_onnx

    monkeypatch.setattr(shipped_onnx, "_torch_installed", lambda: False)
    weights.write_bytes(weights.read_bytes() + b" ")
    with pytest.raises(InputError, match=r"lprnet_basic\.us\.onnx.*exported from other weights.*export shipped=true"):
        choose_backend("auto", weights)


def test_an_unknown_backend_is_a_config_error_listing_them():
    with pytest.raises(ConfigError, match="tensorrt.*auto, torch"):
        choose_backend("tensorrt", None, component="recognizer x")
