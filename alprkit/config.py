"""Hydra composition of the shipped configs plus every plugin's config sources.

Each CLI command has a primary config ``alprkit/conf/<command>.yaml``. Component
groups (``detector/``, ``recognizer/`` ...) hold nodes of the form
``{name: <registry name>, <param>: <value> ...}``; a component that a plugin
registered without shipping a YAML file is still selectable as ``detector=<name>``.
"""

from __future__ import annotations

import re
import threading

from omegaconf import DictConfig, OmegaConf

from . import plugins
from .errors import AlprkitError, ConfigError

COMPONENT_GROUPS = ("detector", "rectifier", "recognizer", "decoder", "postfilter", "selector", "tracker")

# Hydra keeps its search path in one process-wide object: two threads composing at once
# (a server building a request's pipeline, API readers made in threads) would trample it.
_COMPOSE_LOCK = threading.Lock()


def compose(command: str, overrides=()) -> DictConfig:
    """Compose ``conf/<command>.yaml`` with Hydra overrides; any failure is a one-line ConfigError."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    plugin_set = plugins.default_plugins()
    sources = _sources(plugin_set)
    overrides = list(overrides)
    if plugin_set.config_sources:
        overrides.append(f"hydra.searchpath=[{','.join(plugin_set.config_sources)}]")
    try:
        with _COMPOSE_LOCK:
            _store_registered_components(plugin_set.registry, sources)
            with initialize_config_module("alprkit.conf", version_base=None):
                return hydra_compose(config_name=command, overrides=overrides)
    except Exception as exc:  # Hydra raises several unrelated types for user mistakes
        raise ConfigError(_one_line(exc, lambda group: _group_options(group, sources, plugin_set.registry))) from None


def omegaconf_error(exc) -> ConfigError:
    """A missing or mistyped config value met while reading the config, as one line naming the key."""
    key = getattr(exc, "full_key", None)
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ConfigError(f"config {key!r}: {first}" if key else first)


def group_options(group: str) -> list[str]:
    """What ``group=NAME`` accepts (``pipeline``, ``recognizer`` ...): YAML files and registered components."""
    plugin_set = plugins.default_plugins()
    return _group_options(group, _sources(plugin_set), plugin_set.registry)


def group_yaml(group: str, option: str):
    """The node of ``group/option.yaml`` in the shipped or a plugin's configs (a dict), or None.

    Component configs are plain nodes (no defaults list), so reading the file gives what
    composing ``group=option`` would, without a Hydra compose per option.
    """
    plugin_set = plugins.default_plugins()
    for folder in _source_dirs(_sources(plugin_set)):
        path = folder.joinpath(group, f"{option}.yaml")
        if path.is_file():
            return OmegaConf.to_container(OmegaConf.create(path.read_text(encoding="utf-8")), resolve=True)
    return None


def chosen_components(group: str, value, key: str) -> tuple[list[tuple[str, dict]], list[str]]:
    """``key=[a,b]`` (or one name, or ``all``: every registered component of ``group``) as
    (option, component node) pairs, a YAML file's node or else the registered name's; and, for
    ``all``, why any was left out (its config names weights that are not there)."""
    registry = plugins.registry()
    if value == "all":
        options = [c.name for c in registry.in_registration_order(group)]
    elif isinstance(value, str) and value:
        options = [value]
    elif OmegaConf.is_list(value) or isinstance(value, (list, tuple)):
        options = [str(v) for v in value]
    else:
        options = []
    if not options:
        raise ConfigError(f"{key} must name {group}s ({key}=[a,b]) or be {key}=all, got {value!r}")
    chosen, left_out = [], []
    for option in options:
        node = group_yaml(group, option) or {"name": option}
        try:
            registry.get(group, str(node.get("name")))  # an unknown name or weights tag lists the known ones
        except AlprkitError as exc:
            if value != "all":
                raise ConfigError(f"{key}: {exc}") from None
            left_out.append(f"{key}=all: {option} left out ({exc})")
            continue
        chosen.append((option, node))
    return chosen, left_out


def _sources(plugin_set) -> list[str]:
    return ["pkg://alprkit.conf", *plugin_set.config_sources]


def _config_number(cfg, key, name, convert, what):
    """``convert(cfg[key])`` (None stays None); a bool or a value ``convert`` refuses is a ConfigError."""
    value = cfg.get(key)
    if value is None:
        return None, None
    try:
        if isinstance(value, bool):
            raise ValueError
        return convert(value), value
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{name} must be {what}, got {value!r}") from None


def _whole(value) -> int:
    number = int(value)
    if number != float(value):
        raise ValueError
    return number


def _finite(value) -> float:
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError
    return number


def config_int(cfg, key: str, minimum: int | None = None, name: str | None = None):
    """``cfg[key]`` as an int (None stays None); a wrong value is a ConfigError naming the key.

    ``name`` is the key as the user writes it (``video.step`` for ``cfg.video``'s ``step``).
    """
    name = name or key
    number, _ = _config_number(cfg, key, name, _whole, "a whole number")
    if number is not None and minimum is not None and number < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {number}")
    return number


def config_float(cfg, key: str, minimum: float | None = None, name: str | None = None, above: bool = False):
    """``cfg[key]`` as a finite float (None stays None); ``above`` makes ``minimum`` exclusive."""
    name = name or key
    number, value = _config_number(cfg, key, name, _finite, "a number")
    if number is not None and minimum is not None and (number <= minimum if above else number < minimum):
        raise ConfigError(f"{name} must be {'>' if above else '>='} {minimum:g}, got {value!r}")
    return number


def component_params(node) -> tuple[str, dict]:
    """Split a component node into its registry name and its parameters."""
    if node is None or "name" not in node:
        raise ConfigError(f"component config {node!r} has no 'name' key")
    params = OmegaConf.to_container(node, resolve=True)
    return params.pop("name"), params


def postfilter_nodes(cfg) -> list:
    """The post-filter chain in order (``postfilter=[template,charset]``; absent means none)."""
    chain = cfg.get("postfilter") or {}
    return [chain[key] for key in chain]


_stored: set = set()


def _store_registered_components(registry, sources):
    # Only for components without a YAML file: Hydra would take a stored node of the
    # same name as a schema for the file.
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for group in COMPONENT_GROUPS:
        for component in registry.components(group):
            for option in (component.name, *component.aliases):
                if (group, option) in _stored or _has_yaml(sources, f"{group}/{option}.yaml"):
                    continue
                node = {"name": component.name}
                store.store(group=group, name=option, node={option: node} if group == "postfilter" else node)
                _stored.add((group, option))


def _source_dirs(sources):
    from importlib.resources import files
    from pathlib import Path

    for source in sources:
        scheme, _, location = source.partition("://")
        if scheme == "file":
            yield Path(location)
        elif scheme == "pkg":
            try:
                yield files(location)
            except ModuleNotFoundError:
                continue


def _has_yaml(sources, relative) -> bool:
    return any(folder.joinpath(relative).is_file() for folder in _source_dirs(sources))


def _group_options(group, sources, registry) -> list[str]:
    """Every option of a config group: YAML files in any source, and registered components."""
    options = set()
    for folder in _source_dirs(sources):
        path = folder.joinpath(group)
        if path.is_dir():
            options.update(p.name[: -len(".yaml")] for p in path.iterdir() if p.name.endswith(".yaml"))
    if group in COMPONENT_GROUPS:
        for component in registry.components(group):
            options.update((component.name, *component.aliases))
    return sorted(options)


def _one_line(exc, group_options) -> str:
    text = str(exc).strip()
    missing = re.search(r"Could not (?:find|load) '([^/']+)/([^']+)'", text)
    if missing:
        group, option = missing.groups()
        return f"unknown {group} {option!r} (available: {', '.join(group_options(group)) or 'none'})"
    key = re.search(r"Could not override '([^']+)'", text)
    if key:
        return f"unknown config key {key.group(1)!r} (prefix it with '+' to add a new key)"
    key = re.search(r"An item is already at '([^']+)'", text)
    if key:
        return f"{key.group(1)} is already a setting: set it without the '+' ({key.group(1)}=...)"
    first = text.splitlines()[0] if text else type(exc).__name__
    return first
