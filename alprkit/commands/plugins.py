"""``alprkit plugins``: what is installed, by whom, and what failed to load."""

from __future__ import annotations

import json

from .. import plugins
from ..registry import KINDS


def main(words) -> int:
    plugin_set = plugins.default_plugins()
    if "--json" in words or "json" in words:
        print(json.dumps(as_dict(plugin_set), ensure_ascii=False, indent=2))
    else:
        print(render(plugin_set))
    return 1 if plugin_set.failures else 0


def as_dict(plugin_set) -> dict:
    registry = plugin_set.registry
    return {
        "plugins": [
            {"name": p.provider.plugin, "distribution": p.provider.distribution, "version": p.provider.version,
             "hooks": list(p.hooks)}
            for p in plugin_set.plugins
        ],
        "components": {
            kind: [
                {"name": c.name, "aliases": list(c.aliases), "weights": sorted(c.weights), "plugin": c.provider.plugin,
                 "distribution": c.provider.distribution, "version": c.provider.version, "description": c.description}
                for c in registry.components(kind)
            ]
            for kind in KINDS
        },
        "failures": [{"plugin": f.plugin, "error": f.error} for f in plugin_set.failures],
    }


def render(plugin_set) -> str:
    lines = ["plugins:"]
    for p in plugin_set.plugins:
        lines.append(f"  {p.provider.plugin:<16} {p.provider.distribution} {p.provider.version}")
    for kind in KINDS:
        components = plugin_set.registry.components(kind)
        lines.append(f"\n{kind}s:")
        if not components:
            lines.append("  (none)")
        for c in components:
            name = c.name + (f" ({', '.join(c.aliases)})" if c.aliases else "")
            weights = f" [weights: {', '.join(sorted(c.weights))}]" if c.weights else ""
            provider = f"{c.provider.plugin} {c.provider.version}".strip()
            lines.append(f"  {name:<32} {provider:<22} {c.description}{weights}")
    if plugin_set.failures:
        lines.append("\nfailed to load:")
        lines.extend(f"  {f.plugin}: {f.error}" for f in plugin_set.failures)
    return "\n".join(lines)
