"""The pipelines an HTTP server reads with: loaded once at start, shared by every request.

The server's own pipeline (``pipeline=NAME`` and the command line's overrides) and the
ones listed in ``pipelines=`` are built before the port opens. A request may override the
keys of ``allow=`` (``decoder.beam_width=5``): that variant is composed and checked like a
command line, built reusing every component it shares with a loaded pipeline (a new
decoder, the same recognizer), and kept among the ``variants`` most recently used.
"""

from __future__ import annotations

import inspect
import re
import threading
from collections import OrderedDict

import numpy as np
from omegaconf import OmegaConf, open_dict

from .errors import AlprkitError, ConfigError
from .types import Crop, Detection, Frame

# A request's override value: a word or a number. Nothing Hydra would read as an interpolation
# (${oc.env:...} would show the server's environment), a sweep, a list or a quoted string.
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.+-]{1,100}")


class UnknownPipeline(AlprkitError):
    """A request named a pipeline this server does not serve."""


class OverrideNotAllowed(AlprkitError):
    """A request overrode a key outside the server's ``allow`` list."""


class ServedPipelines:
    def __init__(self, cfg, overrides=()):
        """Build the pipelines of a checked ``serve`` config; ``overrides`` are the command line's."""
        from .api import build_pipeline
        from .checks import checked_config

        self.allow = tuple(cfg.allow)
        self.threads = cfg.threads
        self.variants_kept = int(cfg.variants)
        self.default = str(cfg.pipeline.name)
        # name -> the overrides that compose it; a request's overrides are added to these.
        self._overrides = {self.default: list(overrides)}
        self._configs = {self.default: cfg}
        for name in cfg.pipelines:
            if name in self._overrides:
                continue
            # Loaded as shipped: the command line's component overrides are for the main pipeline.
            given = [f"pipeline={name}"]
            extra = checked_config("serve", given)
            self._overrides[extra.pipeline.name] = given
            self._configs[extra.pipeline.name] = extra
        if self.threads:
            import cv2

            cv2.setNumThreads(int(self.threads))
        self.loaded = {}
        self._variants: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        for name, config in self._configs.items():
            self.loaded[name] = build_pipeline(self._with_threads(config), reuse=self._parts())

    @property
    def names(self) -> list[str]:
        return list(self.loaded)

    def describe(self) -> list[dict]:
        """What ``GET /v1/pipelines`` lists: each pipeline's name, input kind, region and components."""
        described = []
        for name, cfg in self._configs.items():
            components = {kind: str(cfg[kind].name) for kind in ("detector", "rectifier", "recognizer", "decoder",
                                                                  "selector") if cfg.get(kind)}
            components["postfilter"] = [str(cfg.postfilter[k].name) for k in (cfg.get("postfilter") or {})]
            described.append({"name": name, "default": name == self.default, "input": cfg.pipeline.get("input"),
                              "region": cfg.pipeline.get("region"), "components": components})
        return described

    def get(self, name=None, overrides=None):
        """The pipeline for a request: a loaded one, or its variant with ``overrides`` ({key: value})."""
        name = self.default if name in (None, "") else name
        if name not in self.loaded:
            raise UnknownPipeline(f"unknown pipeline {name!r} (this server reads with: {', '.join(self.loaded)})")
        if not overrides:
            return self.loaded[name]
        for key, value in overrides.items():
            if key not in self.allow:
                allowed = ", ".join(self.allow) or "none"
                raise OverrideNotAllowed(f"override {key!r} is not allowed on this server (allowed: {allowed})")
            if not isinstance(value, str) or not _PLAIN_VALUE.fullmatch(value):
                raise ConfigError(f"{key}={value!r}: a request's value must be a plain word or number")
        key = (name, tuple(sorted(overrides.items())))
        with self._lock:  # one build at a time; the loaded pipelines are read without it
            if key in self._variants:
                self._variants.move_to_end(key)
                return self._variants[key]
            pipeline = self._build_variant(name, [f"{k}={v}" for k, v in sorted(overrides.items())])
            self._variants[key] = pipeline
            while len(self._variants) > self.variants_kept:
                self._variants.popitem(last=False)
            return pipeline

    def warm_up(self) -> None:
        """Run every loaded pipeline once, so the first request does not pay for lazy set-up."""
        for pipeline in self.loaded.values():
            width, height = pipeline.recognizer.input_size
            pipeline.observe(Frame(np.full((240, 320, 3), 127, np.uint8), source="<warm-up>"))
            blank = np.full((height, width, 3), 127, np.uint8)
            pipeline.recognize_crops([Crop(blank, Detection((0, 0, width, height)))])

    def _build_variant(self, name, overrides):
        from .api import build_pipeline
        from .checks import checked_config

        cfg = checked_config("serve", [*self._overrides[name], *overrides])
        return build_pipeline(self._with_threads(cfg), reuse=self._parts())

    def _parts(self) -> dict:
        parts = {}
        for pipeline in [*self.loaded.values(), *self._variants.values()]:
            parts.update(pipeline.parts)
        return parts

    def _with_threads(self, cfg):
        """``cfg`` with ``threads`` given to every component that takes it and does not set it itself."""
        if not self.threads:
            return cfg
        from . import plugins
        from .checks import component_nodes

        cfg = OmegaConf.create(OmegaConf.to_container(cfg))  # the caller's config stays as it was
        registry = plugins.registry()
        for _, kind, node in component_nodes(cfg):
            factory = registry.get(kind, str(node.name)).factory
            try:
                takes_threads = "threads" in inspect.signature(factory).parameters
            except (TypeError, ValueError):
                takes_threads = False
            if takes_threads and node.get("threads") is None:
                with open_dict(node):
                    node.threads = int(self.threads)
        return cfg
