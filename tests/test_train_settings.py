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


class TrainerMade(Exception):
    """Raised where Lightning's Trainer would be made: the run stops there, its options kept."""


@pytest.fixture
def trainer_options(monkeypatch):
    """The options ``alprkit train`` gives Lightning's Trainer (the command stops with TrainerMade)."""
    pl = pytest.importorskip("pytorch_lightning")
    given = {}

    def trainer(**options):
        given.update(options)
        raise TrainerMade

    monkeypatch.setattr(pl, "Trainer", trainer)
    return given


def test_num_nodes_reaches_lightnings_trainer(capsys, trainer_options, tmp_path):
    with pytest.raises(TrainerMade):
        cli(capsys, "train", "train=smoke", "train.num_nodes=3", f"output={tmp_path}", "progress=false")
    assert trainer_options["num_nodes"] == 3 and trainer_options["devices"] == 1


@pytest.mark.parametrize("native, warned", [(False, True), (True, False)])
def test_bf16_on_a_cpu_that_emulates_it_is_kept_with_a_warning(capsys, monkeypatch, trainer_options, tmp_path,
                                                               native, warned):
    from alprkit.commands import train

    monkeypatch.setattr(train, "cpu_has_bf16", lambda: native)
    with pytest.raises(TrainerMade):
        cli(capsys, "train", "train=smoke", "train.precision=bf16-mixed", "train.accelerator=cpu",
            f"output={tmp_path}", "progress=false")
    assert trainer_options["precision"] == "bf16-mixed"  # the user's setting is kept either way
    err = capsys.readouterr().err
    assert ("no native bf16" in err and "train.precision=32-true" in err) is warned
