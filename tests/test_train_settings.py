"""Train settings: every key is one a trainer reads, and train.num_nodes reaches Lightning.

A key no trainer reads (``+train.num_nodez=2``) would be dropped silently, so it is a one-line
error naming the known settings; ``train.num_nodes`` (Lightning's multi-node DDP) is one of them.
"""

import pytest
from helpers import assert_one_line_error, cli


@pytest.mark.parametrize("settings, fragments", [
    (["+train.num_nodez=2"], ["train.num_nodez is not a train setting", "num_nodes"]),
    (["+train.num_nodes=2"], ["train.num_nodes is already a setting", "without the '+'"]),
    (["train.num_nodes=0"], ["train.num_nodes", ">= 1"]),
    (["train.num_nodes=2", "detector=mtcnn", "dataset=scenes_cn"], ["train.num_nodes=2", "one machine"]),
])
def test_train_settings_no_trainer_reads_are_one_line_errors(capsys, settings, fragments):
    status, _, err = cli(capsys, "train", "train=smoke", *settings)
    assert_one_line_error(status, err, *fragments)


def test_num_nodes_reaches_lightnings_trainer(capsys, monkeypatch, tmp_path):
    pl = pytest.importorskip("pytorch_lightning")
    given = {}

    class Stop(Exception):
        pass

    def trainer(**options):
        given.update(options)
        raise Stop

    monkeypatch.setattr(pl, "Trainer", trainer)
    with pytest.raises(Stop):
        cli(capsys, "train", "train=smoke", "train.num_nodes=3", f"output={tmp_path}", "progress=false")
    assert given["num_nodes"] == 3 and given["devices"] == 1


@pytest.mark.parametrize("native, warned", [(False, True), (True, False)])
def test_bf16_on_a_cpu_that_emulates_it_is_kept_with_a_warning(capsys, monkeypatch, tmp_path, native, warned):
    pl = pytest.importorskip("pytorch_lightning")
    from alprkit.commands import train

    given = {}

    class Stop(Exception):
        pass

    def trainer(**options):
        given.update(options)
        raise Stop

    monkeypatch.setattr(pl, "Trainer", trainer)
    monkeypatch.setattr(train, "cpu_has_bf16", lambda: native)
    with pytest.raises(Stop):
        cli(capsys, "train", "train=smoke", "train.precision=bf16-mixed", "train.accelerator=cpu",
            f"output={tmp_path}", "progress=false")
    assert given["precision"] == "bf16-mixed"  # the user's setting is kept either way
    err = capsys.readouterr().err
    assert ("no native bf16" in err and "train.precision=32-true" in err) is warned
