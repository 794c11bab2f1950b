"""Combinations of components: what each stage may be, and which combinations fit a benchmark.

Every stage's choices come from the registry and the config groups: an option is
what a user writes (``recognizer=lprnet_cn``, ``decoder=beam``), resolved to its
component node (``{name: lprnet_basic.cn, backend: ...}``). ``auto`` offers every
option of a group: its YAML configs and every registered component and weights tag
without one, third-party plugins' included. Detectors and recognizers without weights
read nothing and are left out unless asked for (``leaderboard.untrained``).

A combination fits a benchmark when its detector reads the benchmark's kind (a crop
reader such as ``whole_image`` for crops, a plate finder for photos and video) and its
recognizer reads the benchmark's region. A named pipeline config is a shortcut for
one combination.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Optional

from omegaconf import DictConfig, ListConfig, OmegaConf

from ..config import COMPONENT_GROUPS, component_params, group_options, group_yaml, postfilter_nodes
from ..data.dataset import CROPS, TRACKS
from ..errors import AlprkitError, ConfigError
from .benchmarks import DETECTION

# The tracker is no axis: a benchmark's tracks come from its labels, so no row would use it.
AXES = tuple(g for g in COMPONENT_GROUPS if g != "tracker")  # detector ... postfilter, selector
LEARNED = ("detector", "recognizer")  # kinds whose components read nothing without weights


@dataclass(frozen=True)
class Choice:
    """One option of one stage: its name as the user writes it and its component node."""

    kind: str
    option: str
    spec: str  # the node as sorted JSON (hashable; two equal specs build the same component)

    @classmethod
    def of(cls, kind, option, node) -> "Choice":
        return cls(kind, option, json.dumps(node, sort_keys=True, default=str))

    @property
    def node(self) -> dict:
        return json.loads(self.spec)

    @property
    def name(self) -> str:
        return self.node["name"]


@dataclass(frozen=True)
class Combination:
    """Components for every stage a benchmark kind uses (a detection row has a detector only)."""

    detector: Choice
    rectifier: Optional[Choice] = None
    recognizer: Optional[Choice] = None
    decoder: Optional[Choice] = None
    postfilters: tuple = ()
    selector: Optional[Choice] = None

    def stages(self) -> dict:
        """kind -> Choice (or the tuple of post-filters) for the stages this combination has."""
        out = {"detector": self.detector, "rectifier": self.rectifier, "recognizer": self.recognizer,
               "decoder": self.decoder, "postfilter": self.postfilters or None, "selector": self.selector}
        return {kind: value for kind, value in out.items() if value}

    def config(self) -> DictConfig:
        """The pipeline config of this combination, as ``Pipeline.from_config`` reads it."""
        cfg = {kind: choice.node for kind, choice in self.stages().items() if kind != "postfilter"}
        cfg["postfilter"] = {choice.option: choice.node for choice in self.postfilters}
        return OmegaConf.create(cfg)

    def components(self) -> dict:
        """kind -> registry name (the post-filters as a list, in chain order)."""
        return {kind: [c.name for c in value] if kind == "postfilter" else value.name
                for kind, value in self.stages().items()}

    def options(self) -> dict:
        """kind -> config option (``recognizer: lprnet_cn``; the post-filters as a list)."""
        return {kind: [c.option for c in value] if kind == "postfilter" else value.option
                for kind, value in self.stages().items()}

    def nodes(self) -> dict:
        return {kind: [c.node for c in value] if kind == "postfilter" else value.node
                for kind, value in self.stages().items()}

    def label(self) -> str:
        parts = []
        for kind, value in self.options().items():
            parts.append("+".join(value) if kind == "postfilter" else value)
        return " / ".join(parts)

    def without_selector(self) -> "Combination":
        return Combination(self.detector, self.rectifier, self.recognizer, self.decoder, self.postfilters)


class Options:
    """What each stage may be: YAML configs of its group and registered components."""

    def __init__(self, registry):
        self.registry = registry
        self._auto = {}

    def choice(self, kind: str, option: str, key: str) -> Choice:
        """The option as the user writes it; ``key`` names the setting in errors."""
        if not isinstance(option, str) or not option:
            raise ConfigError(f"{key}: {option!r} is not a {kind} name")
        node = group_yaml(kind, option)
        if node is None:
            try:
                self.registry.get(kind, option)  # an unknown name lists the registered ones
            except AlprkitError as exc:
                raise ConfigError(f"{key}: {exc}") from None
            node = {"name": option}
        elif kind == "postfilter":  # post-filter files hold {option: node}: a chain's entries are keyed
            node = next(iter(node.values()))
        return Choice.of(kind, option, node)

    def auto(self, kind: str, untrained: bool) -> list[Choice]:
        """Every distinct option of ``kind``: YAML configs, then registered names and tags none covers."""
        if (kind, untrained) not in self._auto:
            self._auto[kind, untrained] = self._enumerate(kind, untrained)
        return self._auto[kind, untrained]

    def _enumerate(self, kind, untrained):
        choices = [self.choice(kind, option, kind) for option in group_options(kind)
                   if group_yaml(kind, option) is not None]
        covered = {c.name for c in choices}
        for component in self.registry.components(kind):
            for name in (component.name, *(f"{component.name}.{tag}" for tag in sorted(component.weights))):
                if name not in covered:
                    choices.append(Choice.of(kind, name, {"name": name}))
                    covered.add(name)
        seen, unique = set(), []
        for choice in choices:
            if choice.spec not in seen and (untrained or self.trained(choice)):
                seen.add(choice.spec)
                unique.append(choice)
        return unique

    def trained(self, choice: Choice) -> bool:
        """Whether a detector, recognizer or learned selector has weights (a tag or a file), or needs none."""
        node = choice.node
        base, _, tag = node["name"].partition(".")
        component = self.registry.get(choice.kind, base)
        # Other kinds learn nothing, but for selectors over a quality network (EQ-LPR: needs_weights=True).
        if choice.kind not in LEARNED and not component.extra.get("needs_weights"):
            return True
        if node.get("weights"):
            return True
        if tag:  # a config naming weights not shipped yet (parallel_stn.cn before its training) reads nothing
            return tag in component.weights
        return component.extra.get("needs_weights", True) is False

    def option_for(self, kind: str, node: dict) -> str:
        """The option whose node this is (``lprnet_cn`` for ``{name: lprnet_basic.cn, ...}``), else its name."""
        spec = Choice.of(kind, "", node).spec
        return next((c.option for c in self.auto(kind, untrained=True) if c.spec == spec), node["name"])

    def reads_crops(self, choice: Choice) -> bool:
        """A detector whose input is an already cut-out plate (registered with ``reads="crops"``)."""
        return self.registry.get("detector", choice.name).extra.get("reads") == CROPS


def axis_choices(options: Options, board, kind: str) -> list:
    """The values an axis takes: every fitting option (``vary``), or its ``fixed`` one.

    A value is a Choice, or for ``postfilter`` a tuple of them (a chain).
    """
    varied = list(board.vary)
    if kind not in varied:
        value = board.fixed.get(kind)
        if value is None:
            raise ConfigError(f"leaderboard.fixed.{kind} is needed: {kind} is not in leaderboard.vary")
        return [_value(options, kind, value, f"leaderboard.fixed.{kind}")]
    given = board.options.get(kind, "auto") if board.get("options") else "auto"
    if given == "auto":
        if kind == "postfilter":
            return [(c,) for c in options.auto(kind, board.untrained)]
        return options.auto(kind, board.untrained)
    if not isinstance(given, ListConfig) or not len(given):
        raise ConfigError(f"leaderboard.options.{kind} must be auto or a non-empty list of {kind} names, got {given!r}")
    return [_value(options, kind, v, f"leaderboard.options.{kind}[{i}]") for i, v in enumerate(given)]


def _value(options, kind, value, key):
    if kind != "postfilter":
        return options.choice(kind, value, key)
    chain = [value] if isinstance(value, str) else list(value) if isinstance(value, ListConfig) else None
    if not chain:
        raise ConfigError(f"{key} must be a post-filter name or a list of them (a chain), got {value!r}")
    if len(set(chain)) != len(chain):
        raise ConfigError(f"{key}: a chain names each post-filter once, got {list(chain)}")
    return tuple(options.choice(kind, name, key) for name in chain)


def validate_vary(board):
    vary = board.vary
    if not isinstance(vary, ListConfig) or not all(isinstance(v, str) for v in vary):
        raise ConfigError(f"leaderboard.vary must be a list of stages ({', '.join(AXES)}), got {vary!r}")
    unknown = sorted(set(vary) - set(AXES))
    if unknown:
        raise ConfigError(f"leaderboard.vary: unknown stage {unknown[0]!r} (stages: {', '.join(AXES)})")
    for key in board.get("options") or {}:
        if key not in AXES:
            raise ConfigError(f"leaderboard.options.{key}: unknown stage (stages: {', '.join(AXES)})")
    for key in board.get("fixed") or {}:
        if key not in AXES:
            raise ConfigError(f"leaderboard.fixed.{key}: unknown stage (stages: {', '.join(AXES)})")


def crop_readers(options: Options, board, axes: dict) -> list[Choice]:
    """The detectors of crop sets: the varied ones that read crops, or (detector fixed to a plate
    finder for photos and video) every crop reader there is."""
    readers = [d for d in axes["detector"] if options.reads_crops(d)]
    if readers or "detector" in board.vary:
        return readers
    return [d for d in options.auto("detector", board.untrained) if options.reads_crops(d)]


def enumerate_for(kind: str, axes: dict, options: Options, readers: list, crop_rectifier: Choice) -> list:
    """Every combination of the axes' values that fits a benchmark kind (regions are checked later)."""
    finders = [d for d in axes["detector"] if not options.reads_crops(d)]
    if kind == DETECTION:
        return [Combination(d) for d in finders]
    if kind == CROPS:  # a crop is read whole: no plate to find, no geometry to correct
        detectors, rectifiers = readers, [crop_rectifier]
    else:
        detectors, rectifiers = finders, axes["rectifier"]
    selectors = axes["selector"] if kind == TRACKS else [None]
    return [Combination(d, r, rec, dec, chain, sel) for d, r, rec, dec, chain, sel in
            itertools.product(detectors, rectifiers, axes["recognizer"], axes["decoder"], axes["postfilter"],
                              selectors)]


def from_pipeline_config(cfg, options: Options) -> Combination:
    """The combination a composed pipeline config names (its selector included)."""
    def choice(kind, node):
        component, params = component_params(node)
        node = {"name": component, **params}
        return Choice.of(kind, options.option_for(kind, node), node)

    chain = tuple(Choice.of("postfilter", key, dict(OmegaConf.to_container(node, resolve=True)))
                  for key, node in zip(cfg.postfilter or {}, postfilter_nodes(cfg)))
    return Combination(choice("detector", cfg.detector), choice("rectifier", cfg.rectifier),
                       choice("recognizer", cfg.recognizer), choice("decoder", cfg.decoder), chain,
                       choice("selector", cfg.selector) if cfg.get("selector") else None)


def same_components(a: Combination, b: Combination) -> bool:
    """Equal nodes at every stage (the options' names may differ: a pipeline names its own)."""
    return a.nodes() == b.nodes()
