"""Every shipped config composes, and every config group option composes with each command using it.

Options are found by listing the YAML files of alprkit/conf and of each plugin's
config source, so a new file is covered without touching this test.
"""

import functools
import importlib
from pathlib import Path

import pytest
from helpers import one_torch_thread  # noqa: F401 (a fixture)
from omegaconf import OmegaConf

from alprkit import plugins
from alprkit.config import COMPONENT_GROUPS, compose, postfilter_nodes
from alprkit.errors import ConfigError, UnknownComponentError
from alprkit.pipeline import Pipeline, build_component

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CORE_SOURCE = "pkg://alprkit.conf"


def source_folder(source: str) -> Path:
    scheme, _, location = source.partition("://")
    assert scheme == "pkg", f"config source {source!r}: only pkg:// sources are listed here"
    return Path(importlib.import_module(location).__file__).parent


CONF = source_folder(CORE_SOURCE)
COMMANDS = sorted(p.stem for p in CONF.glob("*.yaml") if p.name != "components.yaml")


def group_options():
    """(source, group, option) of every YAML file inside a group folder of every config source."""
    for source in [CORE_SOURCE, *plugins.default_plugins().config_sources]:
        root = source_folder(source)
        for path in sorted(root.rglob("*.yaml")):
            if path.parent != root:
                yield source, path.parent.relative_to(root).as_posix(), path.stem


OPTIONS = list(group_options())


def override(group, option):
    return f"{group}=[{option}]" if group == "postfilter" else f"{group}={option}"


@functools.lru_cache(maxsize=None)
def required(command) -> tuple[str, ...]:
    """Dummy values for the command's own top-level ``???`` keys: what its user must give (``data=``, ``out=``)."""
    return tuple(f"{key}=x" for key in sorted(OmegaConf.missing_keys(compose(command))) if "." not in key)


@pytest.fixture(scope="module")
def defaults():
    return {command: compose(command, required(command)) for command in COMMANDS}


def commands_using(defaults, group):
    return [command for command, cfg in defaults.items() if group.split("/")[0] in cfg]


def components_chosen_by(group):
    if group == "pipeline":
        return COMPONENT_GROUPS
    return [group] if group in COMPONENT_GROUPS else []


def selected_nodes(cfg, group):
    return postfilter_nodes(cfg) if group == "postfilter" else [cfg[group]]


def test_command_configs_are_found():
    assert {"run", "eval", "train"} <= set(COMMANDS)
    assert {"detector", "rectifier", "recognizer", "decoder", "postfilter", "selector", "pipeline", "dataset",
            "train"} <= {group for _, group, _ in OPTIONS}


@pytest.mark.parametrize("command", COMMANDS)
def test_command_config_composes_with_its_defaults(defaults, command):
    cfg = defaults[command]
    assert OmegaConf.missing_keys(cfg) == set(), f"{command}: a default leaves values to fill"
    for group in COMPONENT_GROUPS:
        for node in selected_nodes(cfg, group) if group in cfg else []:
            plugins.registry().get(group, node.name.partition(".")[0])


@pytest.mark.parametrize("source, group, option", OPTIONS, ids=[f"{g}={o}" for _, g, o in OPTIONS])
def test_group_option_composes_with_every_command_using_it(defaults, source, group, option):
    users = commands_using(defaults, group)
    assert users, f"{source}: no command config has a {group!r} key, so {group}/{option}.yaml is never used"
    for command in users:
        cfg = compose(command, [*required(command), override(group, option)])
        if group == "pipeline":
            assert cfg.pipeline.name == option, f"{group}/{option}.yaml names itself {cfg.pipeline.name!r}"
        assert cfg[group.split("/")[0]], f"{command} {override(group, option)} gives an empty {group!r}"
        for component_group in components_chosen_by(group):
            for node in selected_nodes(cfg, component_group) if component_group in cfg else []:
                # The name must be registered; a weight tag may name weights not shipped yet.
                plugins.registry().get(component_group, node.name.partition(".")[0])


def missing_weights(error):
    return isinstance(error, UnknownComponentError) and "has no weights" in str(error)


BUILDABLE = [(g, o) for _, g, o in OPTIONS if g in COMPONENT_GROUPS or g == "pipeline"]


@pytest.mark.parametrize("group, option", BUILDABLE, ids=[f"{g}={o}" for g, o in BUILDABLE])
def test_component_and_pipeline_options_build(group, option):
    """The parameters a YAML file gives are the ones its factory takes."""
    cfg = compose("run", [override(group, option)])
    try:
        if group == "pipeline":
            Pipeline.from_config(cfg)
        else:
            for node in selected_nodes(cfg, group):
                build_component(group, node)
    except UnknownComponentError as error:
        if not missing_weights(error):
            raise
        pytest.skip(f"shipped weights not there yet: {error}")


@pytest.mark.parametrize("group", COMPONENT_GROUPS)
def test_every_registered_component_is_selectable(group):
    """A component registered without a YAML file is still ``group=name``.

    A YAML file may pick the component's shipped weights (``name.tag``).
    """
    for name in plugins.registry().names(group):
        cfg = compose("run", [override(group, name)])
        assert [node.name.split(".")[0] for node in selected_nodes(cfg, group)] == [name]


@pytest.mark.parametrize("group, alias", [(group, alias) for group in COMPONENT_GROUPS
                                          for component in plugins.registry().components(group)
                                          for alias in component.aliases])
def test_every_alias_is_selectable(group, alias):
    compose("run", [override(group, alias)])


def test_postfilter_chain_keeps_its_order():
    cfg = compose("run", ["postfilter=[template,charset,passthrough]"])
    assert [node.name for node in postfilter_nodes(cfg)] == ["template", "charset", "passthrough"]


@pytest.mark.parametrize("overrides, fragment", [
    (["decoder=nope"], "unknown decoder 'nope' (available: beam, beam_ctc, greedy, greedy_ctc"),
    (["nosuchkey=1"], "unknown config key 'nosuchkey'"),
    (["decoder.beam_widht=3"], "decoder.beam_widht"),
    (["postfilter=[template,nope]"], "unknown postfilter 'nope' (available: charset, "),
])
def test_composition_mistakes_are_one_line_config_errors(overrides, fragment):
    with pytest.raises(ConfigError) as error:
        compose("run", overrides)
    assert fragment in str(error.value) and "\n" not in str(error.value)
