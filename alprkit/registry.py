"""Name -> factory tables, one per component kind.

Plugins fill the registry through the ``register`` callbacks of their hooks; the
registry owns duplicate detection, aliases, weight tags (``lprnet_basic.cn``) and
records which plugin and distribution provided each entry.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import ConfigError, DuplicateComponentError, InputError, UnknownComponentError

KINDS = ("detector", "rectifier", "recognizer", "decoder", "postfilter", "selector", "tracker", "dataset")


@dataclass(frozen=True)
class Weights:
    """A set of trained weights shipped for a component, selected as ``name.tag``."""

    path: Path
    card: Path | None = None
    description: str = ""


def shipped_weights(folder: Path, name: str) -> dict[str, Weights]:
    """The weights a plugin ships in ``folder``: ``<name>.<tag>.safetensors`` (with the model
    card ``<name>.<tag>.md`` beside it), by tag."""
    found = {}
    for path in sorted(Path(folder).glob(f"{name}.*.safetensors")):
        card = path.with_suffix(".md")
        found[path.name[len(name) + 1 : -len(".safetensors")]] = Weights(path, card if card.exists() else None)
    return found


def resolve_weights(component, tag: str, given) -> Weights | None:
    """The weights a component is built with; the one place every kind's weights are chosen.

    Weights the user names (``+recognizer.weights=run/x.safetensors``) win over the tag of
    the name (``lprnet_basic.cn``): dropping them silently would score the shipped model
    while the user believes it scored theirs. A named file must exist.
    """
    if isinstance(given, Weights):
        return given
    if isinstance(given, (str, Path)) and str(given):
        path = Path(given)
        if not path.is_file():
            raise InputError(path, f"{component.kind} weights file not found" if not path.exists()
                             else f"{component.kind} weights must be a file")
        return Weights(path)
    if given not in (None, ""):
        raise ConfigError(f"{component.kind}.weights must be a file path, got {given!r}")
    return component.weights[tag] if tag else None


@dataclass(frozen=True)
class Provider:
    """Who registered a component: the plugin (entry-point name) and its distribution."""

    plugin: str
    distribution: str = ""
    version: str = ""

    def __str__(self):
        dist = f"{self.distribution} {self.version}".strip()
        return f"{self.plugin} ({dist})" if dist and dist != self.plugin else self.plugin


@dataclass(frozen=True)
class Component:
    kind: str
    name: str
    factory: Callable[..., Any]
    provider: Provider
    aliases: tuple[str, ...] = ()
    weights: Mapping[str, Weights] = field(default_factory=dict)
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


class Registry:
    def __init__(self):
        self._entries: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}
        self._aliases: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}

    def add(self, kind, name, factory, provider, *, aliases=(), weights=None, description=None, **extra):
        """Record one component; a name or alias already taken is an error naming both providers."""
        table = self._table(kind)
        if "." in name:
            raise ValueError(f"{kind} name {name!r} from {provider}: '.' is reserved for weight tags")
        for key in (name, *aliases):
            taken = table.get(key) or table.get(self._aliases[kind].get(key, ""))
            if taken is not None:
                raise DuplicateComponentError(
                    f"{kind} {key!r} is registered twice: by {taken.provider} and by {provider}"
                )
        doc = description if description is not None else (getattr(factory, "__doc__", "") or "")
        table[name] = Component(
            kind=kind,
            name=name,
            factory=factory,
            provider=provider,
            aliases=tuple(aliases),
            weights=dict(weights or {}),
            description=doc.strip().splitlines()[0] if doc.strip() else "",
            extra=extra,
        )
        for alias in aliases:
            self._aliases[kind][alias] = name

    def names(self, kind) -> list[str]:
        return sorted(self._table(kind))

    def in_registration_order(self, kind) -> list[Component]:
        """Components of ``kind`` in the order plugins registered them (format sniffing needs it)."""
        return list(self._table(kind).values())

    def components(self, kind=None) -> list[Component]:
        kinds = KINDS if kind is None else (kind,)
        return [self._entries[k][n] for k in kinds for n in sorted(self._entries[k])]

    def get(self, kind, name) -> Component:
        """The component registered as ``name`` (or an alias of it); ``name.tag`` selects weights."""
        base, _, _tag = name.partition(".")
        table = self._table(kind)
        key = self._aliases[kind].get(base, base)
        if key not in table:
            raise UnknownComponentError(self._unknown_message(kind, base))
        component = table[key]
        if _tag and _tag not in component.weights:
            tags = ", ".join(sorted(component.weights)) or "none"
            raise UnknownComponentError(f"{kind} {key!r} has no weights {_tag!r} (available: {tags})")
        return component

    def create(self, kind, name, **params):
        """Build a component, its ``weights`` resolved by :func:`resolve_weights`."""
        component = self.get(kind, name)
        _, _, tag = name.partition(".")
        weights = resolve_weights(component, tag, params.get("weights"))
        if weights is not None:
            params["weights"] = weights
        try:
            return component.factory(**params)
        except ImportError as exc:  # torch and the like come with the train extra
            from .extras import missing_train_module, train_extra_error

            module = missing_train_module(exc)
            if module is None:
                raise
            how = f" (backend={params['backend']})" if params.get("backend") not in (None, "auto") else ""
            raise train_extra_error(f"{kind} {name!r}{how}", module) from None

    def _table(self, kind):
        if kind not in self._entries:
            raise UnknownComponentError(f"unknown component kind {kind!r} (kinds: {', '.join(KINDS)})")
        return self._entries[kind]

    def _unknown_message(self, kind, name):
        known = sorted({*self._entries[kind], *self._aliases[kind]})
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown {kind} {name!r}{hint} (available: {', '.join(known) or 'none'})"
