"""Each shipped weights file has ONNX files beside it that were made from it and read as it does.

A retrained model whose ONNX files were not re-exported fails here: rerun
``alprkit export shipped=true`` (it rewrites and checks them all).
"""

import pytest

pytest.importorskip("torch")

from helpers import one_torch_thread  # noqa: E402, F401 (a fixture)

from alprkit import plugins  # noqa: E402
from alprkit.export import check_shipped, shipped_weights  # noqa: E402
from alprkit.shipped_onnx import REEXPORT, WEIGHTS_SHA256, file_sha256, onnx_beside, open_onnx  # noqa: E402

SHIPPED = shipped_weights(plugins.registry())


def _files(item):
    """``<stem>.onnx`` for a recognizer, ``<stem>.<part>.onnx`` for each network of a detector."""
    stem = onnx_beside(item.path).name[: -len(".onnx")]
    return sorted(item.path.parent.glob(f"{stem}.onnx")) + sorted(item.path.parent.glob(f"{stem}.*.onnx"))


def test_every_bundled_component_with_weights_ships_some():
    assert {item.name for item in SHIPPED} >= {"lprnet_basic.cn", "lprnet_basic.global", "mtcnn.multi",
                                                "rpn_rcnn.multi"}


@pytest.mark.parametrize("item", SHIPPED, ids=lambda item: item.name)
def test_onnx_files_were_exported_from_the_weights_beside_them(item):
    digest = file_sha256(item.path)
    assert _files(item), f"no ONNX file beside {item.path.name}: {REEXPORT}"
    for path in _files(item):
        assert open_onnx(path).metadata.get(WEIGHTS_SHA256) == digest, \
            f"{path.name} was exported from other weights than {item.path.name} (retrained?): {REEXPORT}"


@pytest.mark.parametrize("item", SHIPPED, ids=lambda item: item.name)
def test_onnx_files_read_as_the_torch_weights_do(item, one_torch_thread):
    report = check_shipped(plugins.registry(), item)
    assert report["ok"], report


def test_all_shipped_weights_stay_small():
    total = sum(p.stat().st_size for item in SHIPPED for p in [item.path, *_files(item)] if p.exists())
    assert total < 40e6, f"shipped weights and ONNX files take {total / 1e6:.1f} MB"
