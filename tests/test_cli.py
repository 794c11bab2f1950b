"""The ``alprkit`` command as a user meets it: a fresh process, its exit status, stdout and stderr."""

import json

import numpy as np
import pytest
import yaml
from helpers import assert_one_line_error, run_alprkit, write_rgb
from omegaconf import OmegaConf

from alprkit import plugins
from alprkit.errors import ConfigError
from alprkit.pipeline import build_component
from alprkit.registry import KINDS


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return write_rgb(tmp_path_factory.mktemp("cli") / "plate.png", np.full((24, 94, 3), 200, np.uint8))


def test_usage_lists_the_commands():
    result = run_alprkit(script=True)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: alprkit COMMAND")
    assert all(f"  {command} " in result.stdout for command in ("run", "eval", "train", "plugins"))


def test_unknown_command():
    result = run_alprkit("frobnicate", "x=1", script=True)
    assert_one_line_error(result.returncode, result.stderr, "unknown command 'frobnicate'", "run, eval")
    assert result.stdout == ""


def test_bad_override_key_is_one_line_naming_the_key():
    result = run_alprkit("run", "pipeline=untrained", "decoder.beam_widht=3")
    assert_one_line_error(result.returncode, result.stderr, "'decoder.beam_widht'")


def test_unknown_group_option_lists_the_available_ones():
    result = run_alprkit("run", "decoder=nope")
    assert_one_line_error(result.returncode, result.stderr, "unknown decoder 'nope'", "beam", "greedy")


def test_unknown_component_name_lists_the_registered_ones_with_a_hint(image):
    result = run_alprkit("run", "pipeline=untrained", "detector.name=whole_imag", f"input={image}")
    assert_one_line_error(result.returncode, result.stderr, "unknown detector 'whole_imag'",
                          "did you mean 'whole_image'?", "available: crop, ", "whole_image)")


def test_bad_value_is_one_line_naming_the_parameter(image):
    result = run_alprkit("run", "pipeline=untrained", "decoder=beam", "decoder.beam_width=-3", f"input={image}")
    assert_one_line_error(result.returncode, result.stderr, "beam_width", "-3")
    assert result.stdout == ""


def test_unknown_parameter_names_the_component_and_key(image):
    result = run_alprkit("run", "pipeline=untrained", "+rectifier.marginn=0.1", f"input={image}")
    assert_one_line_error(result.returncode, result.stderr, "rectifier 'identity'", "marginn")


@pytest.mark.parametrize("kind, node", [
    ("decoder", {"name": "greedy", "top_n": "abc"}),
    ("decoder", {"name": "beam", "prune": "abc"}),
    ("rectifier", {"name": "identity", "margin": "abc"}),
], ids=["greedy.top_n", "beam.prune", "identity.margin"])
def test_value_of_the_wrong_type_is_a_config_error(kind, node):
    with pytest.raises(ConfigError, match="abc"):
        build_component(kind, OmegaConf.create(node))


def test_cfg_prints_the_composed_yaml():
    result = run_alprkit("run", "pipeline=untrained", "decoder=beam", "decoder.top_n=3", "--cfg", script=True)
    assert result.returncode == 0, result.stderr
    cfg = yaml.safe_load(result.stdout)
    assert cfg["decoder"] == {"name": "beam", "beam_width": 10, "top_n": 3, "prune": 1.0e-4}
    assert cfg["recognizer"]["name"] == "lprnet_basic" and cfg["pipeline"]["name"] == "untrained"
    assert list(cfg["postfilter"]) == ["passthrough"]


def test_plugins_lists_every_kind_with_provider_and_version():
    result = run_alprkit("plugins", script=True)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    registry = plugins.default_plugins().registry
    for kind in KINDS:
        assert f"{kind}s:" in lines
        section = lines[lines.index(f"{kind}s:") + 1:]
        section = section[:section.index("")] if "" in section else section
        for component in registry.components(kind):
            [line] = [line for line in section if line.strip().startswith(f"{component.name} ")]
            assert f"{component.provider.plugin} {component.provider.version}" in line
    assert any(line.split() == ["basics", "alprkit", plugins.default_plugins().plugins[0].provider.version]
               for line in lines)


def check_json_listing(text):
    listing = json.loads(text)
    assert set(listing["components"]) == set(KINDS)
    registry = plugins.default_plugins().registry
    for kind in KINDS:
        assert [c["name"] for c in listing["components"][kind]] == registry.names(kind)
        for entry in listing["components"][kind]:
            component = registry.get(kind, entry["name"])
            assert (entry["plugin"], entry["distribution"], entry["version"]) == (
                component.provider.plugin, component.provider.distribution, component.provider.version)
            assert entry["aliases"] == list(component.aliases)
    assert listing["failures"] == []
    assert {"basics", "lprnet"} <= {p["name"] for p in listing["plugins"]}


def test_plugins_json_word():
    result = run_alprkit("plugins", "json")
    assert result.returncode == 0
    check_json_listing(result.stdout)


def test_plugins_json_flag():
    result = run_alprkit("plugins", "--json", script=True)
    assert result.returncode == 0
    check_json_listing(result.stdout)
