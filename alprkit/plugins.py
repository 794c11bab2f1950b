"""Plugin discovery through the ``alprkit`` entry-point group.

Bundled plugins and third-party ``alprkit-*`` packages load the same way. Set
``ALPRKIT_PLUGINS=basics,lprnet`` to load exactly those plugins (an empty value loads
none), which keeps benchmark runs reproducible whatever else is installed. A plugin
that fails to import or to register is recorded in :attr:`PluginSet.failures` and
the others still load.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import pluggy

from . import hookspecs
from .registry import Provider, Registry

GROUP = "alprkit"
ENV_PLUGINS = "ALPRKIT_PLUGINS"

# hook name -> registry kind it fills
REGISTER_HOOKS = {
    "alprkit_register_detectors": "detector",
    "alprkit_register_rectifiers": "rectifier",
    "alprkit_register_recognizers": "recognizer",
    "alprkit_register_decoders": "decoder",
    "alprkit_register_postfilters": "postfilter",
    "alprkit_register_selectors": "selector",
    "alprkit_register_trackers": "tracker",
    "alprkit_register_datasets": "dataset",
}


@dataclass(frozen=True)
class PluginFailure:
    plugin: str
    error: str


@dataclass(frozen=True)
class PluginInfo:
    provider: Provider
    hooks: tuple[str, ...]


@dataclass
class PluginSet:
    registry: Registry
    plugins: list[PluginInfo] = field(default_factory=list)
    failures: list[PluginFailure] = field(default_factory=list)
    config_sources: list[str] = field(default_factory=list)


def _wanted_names():
    raw = os.environ.get(ENV_PLUGINS)
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _describe(exc):
    return f"{type(exc).__name__}: {exc}".strip().splitlines()[0]


def discover(extra_plugins=()) -> PluginSet:
    """Load every entry point of the group (or the exact set from ALPRKIT_PLUGINS).

    ``extra_plugins`` are ``(name, module_or_object)`` pairs registered as if they came
    from an entry point; tests use it to add plugins without installing a package.
    """
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    wanted = _wanted_names()
    result = PluginSet(registry=Registry())
    providers = {}

    for ep in sorted(entry_points(group=GROUP), key=lambda ep: ep.name):
        if wanted is not None and ep.name not in wanted:
            continue
        dist = getattr(ep, "dist", None)
        provider = Provider(
            plugin=ep.name,
            distribution=dist.name if dist else "",
            version=dist.version if dist else "",
        )
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # a broken plugin must not stop the others
            result.failures.append(PluginFailure(ep.name, _describe(exc)))
            continue
        providers[ep.name] = provider
    for name, plugin in extra_plugins:
        pm.register(plugin, name=name)
        providers[name] = Provider(plugin=name)
    if wanted is not None:
        for missing in sorted(wanted - set(providers) - {f.plugin for f in result.failures}):
            result.failures.append(PluginFailure(missing, f"not installed (named in {ENV_PLUGINS})"))

    pm.check_pending()
    for name, provider in providers.items():
        plugin = pm.get_plugin(name)
        hooks = tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or ()))
        try:
            _run_register_hooks(pm, plugin, provider, result)
        except Exception as exc:  # duplicates included: reported with both providers' names
            result.failures.append(PluginFailure(name, _describe(exc)))
            continue
        result.plugins.append(PluginInfo(provider=provider, hooks=hooks))
    return result


def _run_register_hooks(pm, plugin, provider, result):
    # Call each hook of this one plugin, so every registration is tagged with its provider.
    for hook_name, kind in REGISTER_HOOKS.items():
        for impl in _impls(pm, hook_name, plugin):

            def register(name, factory, *, _kind=kind, **options):
                result.registry.add(_kind, name, factory, provider, **options)

            _call(impl, register=register)
    for impl in _impls(pm, "alprkit_register_configs", plugin):
        _call(impl, register=result.config_sources.append)


def _impls(pm, hook_name, plugin):
    return [impl for impl in getattr(pm.hook, hook_name).get_hookimpls() if impl.plugin is plugin]


def _call(impl, **kwargs):
    # pluggy lets an implementation take fewer arguments than the spec offers.
    impl.function(**{name: kwargs[name] for name in impl.argnames if name in kwargs})


@functools.lru_cache(maxsize=1)
def default_plugins() -> PluginSet:
    """The process-wide plugin set, discovered once."""
    return discover()


def registry() -> Registry:
    return default_plugins().registry
