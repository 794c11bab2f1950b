"""Hydra composition of the shipped configs plus every plugin's config sources.

Each CLI command has a primary config ``alprkit/conf/<command>.yaml``. Component
groups (``detector/``, ``recognizer/`` ...) hold nodes of the form
``{name: <registry name>, <param>: <value> ...}``; a component that a plugin
registered without shipping a YAML file is still selectable as ``detector=<name>``.
"""

from __future__ import annotations

import re

from omegaconf import DictConfig, OmegaConf

from . import plugins
from .errors import ConfigError

COMPONENT_GROUPS = ("detector", "rectifier", "recognizer", "decoder", "postfilter", "selector")


def compose(command: str, overrides=()) -> DictConfig:
    """Compose ``conf/<command>.yaml`` with Hydra overrides; any failure is a one-line ConfigError."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    plugin_set = plugins.default_plugins()
    _store_registered_components(plugin_set.registry, ["pkg://alprkit.conf", *plugin_set.config_sources])
    overrides = list(overrides)
    if plugin_set.config_sources:
        overrides.append(f"hydra.searchpath=[{','.join(plugin_set.config_sources)}]")
    try:
        with initialize_config_module("alprkit.conf", version_base=None):
            return hydra_compose(config_name=command, overrides=overrides)
    except Exception as exc:  # Hydra raises several unrelated types for user mistakes
        raise ConfigError(_one_line(exc)) from None


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
        for name in registry.names(group):
            if (group, name) in _stored or _has_yaml(sources, f"{group}/{name}.yaml"):
                continue
            node = {name: {"name": name}} if group == "postfilter" else {"name": name}
            store.store(group=group, name=name, node=node)
            _stored.add((group, name))


def _has_yaml(sources, relative) -> bool:
    from importlib.resources import files
    from pathlib import Path

    for source in sources:
        scheme, _, location = source.partition("://")
        try:
            if scheme == "pkg" and files(location).joinpath(relative).is_file():
                return True
        except ModuleNotFoundError:
            continue
        if scheme == "file" and (Path(location) / relative).is_file():
            return True
    return False


def _one_line(exc) -> str:
    text = str(exc).strip()
    missing = re.search(r"Could not find '([^/']+)/([^']+)'", text)
    if missing:
        group, option = missing.groups()
        options = re.findall(r"^\t(\S+)$", text, flags=re.M)
        return f"unknown {group} {option!r} (available: {', '.join(sorted(set(options))) or 'none'})"
    key = re.search(r"Could not override '([^']+)'", text)
    if key:
        return f"unknown config key {key.group(1)!r} (prefix it with '+' to add a new key)"
    first = text.splitlines()[0] if text else type(exc).__name__
    return first
