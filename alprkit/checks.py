"""Checks of a whole composed config, run before any model loads.

A mistake in a key, a value or a path must be reported at once, not after seconds of
building networks (or, worse, after a training run has started). Every check raises a
one-line :class:`ConfigError` naming the key as the user writes it; what a component
does with its own parameters stays the component's business (``build_component``).
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from .config import COMPONENT_GROUPS, compose, config_float, config_int
from .errors import ConfigError

# Keys that describe a pipeline (which leaderboard benchmarks it is scored on), not what it does.
DESCRIPTIVE_PIPELINE_KEYS = ("pipeline.region", "pipeline.input")


def checked_config(command: str, overrides=()) -> DictConfig:
    """``conf/<command>.yaml`` composed with ``overrides`` and checked whole: what the CLI does before it runs."""
    cfg = compose(command, overrides)
    check_config(command, cfg, overrides)
    return cfg


def check_config(command: str, cfg: DictConfig, overrides=()) -> None:
    """Raise a ConfigError for the first mistake in ``cfg``; ``overrides`` are the user's ``key=value``s."""
    _check_overrides(overrides)
    _check_components(cfg)
    if cfg.get("pipeline") is not None and cfg.pipeline.get("region"):
        _check_regions(cfg.pipeline.region, "pipeline.region")
    check = _COMMAND_CHECKS.get(command)
    if check is not None:
        check(cfg)


def _check_overrides(overrides):
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        if key in DESCRIPTIVE_PIPELINE_KEYS:
            raise ConfigError(
                f"{key} describes the pipeline for the leaderboard and changes nothing it reads; choose a "
                "pipeline made for the plates (pipeline=lprnet_us ...) or, for an untrained recognizer, "
                "recognizer.region=")


def _check_regions(value, key):
    from .data.regions import region_codes

    try:
        region_codes(str(value))
    except ConfigError as exc:
        raise ConfigError(f"{key}={value!r}: {exc}") from None


def component_nodes(cfg):
    """(key as the user writes it, kind, node) of every component in the config."""
    for group in COMPONENT_GROUPS:
        node = cfg.get(group)
        if node is None:
            continue
        if group == "postfilter":
            for name in node:
                yield f"postfilter.{name}", group, node[name]
        else:
            yield group, group, node


def _check_components(cfg):
    from . import plugins
    from .pipeline import build_component, check_params

    registry = plugins.registry()
    for key, kind, node in component_nodes(cfg):
        if not isinstance(node, DictConfig) or "name" not in node:
            raise ConfigError(f"{key} must be a component config with a 'name' key, got {node!r}")
        component = registry.get(kind, str(node.name))  # an unknown name lists the registered ones
        params = {k: v for k, v in node.items() if k != "name"}
        check_params(kind, component, params)
        weights = node.get("weights")
        if weights is not None:
            _check_file(f"{key}.weights", weights, "weights file")
        if kind == "recognizer" and node.get("region"):
            _check_regions(node.region, f"{key}.region")
        if kind == "tracker":  # model-free and cheap: building it checks its values now
            build_component(kind, node, registry)


def _check_file(key, value, what):
    if not isinstance(value, (str, Path)) or not str(value):
        raise ConfigError(f"{key} must be a file path, got {value!r}")
    path = Path(value)
    if not path.exists():
        raise ConfigError(f"{key}={value}: no such {what}")
    if not path.is_file():
        raise ConfigError(f"{key}={value}: not a file")


def _check_exists(key, value):
    if not Path(str(value)).exists():
        raise ConfigError(f"{key}={value}: no such file or folder")


def _output_folder(key, value, what="the annotated images"):
    """An output folder: an existing file there, or a folder that cannot be made, is a mistake now."""
    path = Path(str(value))
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{key}={value}: is a file; {key} names a folder for {what}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{key}={value}: cannot create the folder ({exc.strerror or exc})") from None


def _output_file(key, value):
    path = Path(str(value))
    if path.is_dir():
        raise ConfigError(f"{key}={value}: is a folder; {key} names the file to write")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{key}={value}: cannot create {parent} ({exc.strerror or exc})") from None


def _required(cfg, key, usage):
    if OmegaConf.is_missing(cfg, key) or cfg.get(key) in (None, ""):
        raise ConfigError(f"{key}= is required ({usage})")


def _check_run(cfg):
    if cfg.get("input"):
        _check_exists("input", cfg.input)
    if cfg.get("output"):
        _output_folder("output", cfg.output)
    config_int(cfg.video, "step", minimum=1, name="video.step")


def _check_eval(cfg):
    _required(cfg, "data", "alprkit eval pipeline=NAME data=PATH")
    _check_exists("data", cfg.data)
    config_int(cfg, "limit", minimum=1)
    config_int(cfg, "warmup", minimum=0)
    _check_iou(cfg)
    _check_split(cfg)
    if cfg.get("output"):
        _output_file("output", cfg.output)
    _check_eval_video(cfg)


def _check_split(cfg):
    if cfg.get("split"):
        split = cfg.split
        if not isinstance(split, DictConfig):
            raise ConfigError(f"split must be {{folds: N, keep: K}}, got {split!r}")
        folds = config_int(split, "folds", minimum=1, name="split.folds")
        keep = split.get("keep")
        for k in (OmegaConf.to_object(keep) if OmegaConf.is_list(keep) else [keep]):
            number = config_int({"keep": k}, "keep", minimum=0, name="split.keep")
            if number is None or (folds and number >= folds):
                raise ConfigError(f"split.keep must name folds 0..{(folds or 2) - 1}, got {keep!r}")


def _check_mine(cfg):
    usage = "alprkit mine detector=NAME data=PATH output=DIR"
    _required(cfg, "data", usage)
    _check_exists("data", cfg.data)
    _required(cfg, "output", usage)
    _output_folder("output", cfg.output, "the mined negatives")
    _check_split(cfg)
    config_int(cfg, "limit", minimum=1)
    _check_iou(cfg, required=True)


def _check_iou(cfg, required=False):
    iou = config_float(cfg, "iou", minimum=0.0, above=True)
    if (iou is None and required) or (iou is not None and iou > 1):
        raise ConfigError(f"iou must be a number above 0 and at most 1, got {cfg.get('iou')!r}")


def _check_eval_video(cfg):
    """crops_from's value, and every selector of ``selectors=`` (tracks: several selectors in one pass)."""
    from . import plugins
    from .config import chosen_components
    from .data.cutouts import CUT_BY
    from .pipeline import check_params

    if cfg.get("crops_from") and cfg.crops_from not in CUT_BY:
        raise ConfigError(f"crops_from={cfg.crops_from!r} is not one of {', '.join(CUT_BY)}")
    if cfg.get("selectors"):
        for _, node in chosen_components("selector", cfg.selectors, "selectors")[0]:
            params = {k: v for k, v in node.items() if k != "name"}
            check_params("selector", plugins.registry().get("selector", str(node["name"])), params)


# Train settings read only when given (+train.stages=[onet]: the detector stages to train).
OPTIONAL_TRAIN_KEYS = ("stages",)


def _check_train(cfg):
    t = cfg.train
    _check_train_keys(t)
    if cfg.get("detector") and config_int(t, "num_nodes", minimum=1, name="train.num_nodes") not in (None, 1):
        raise ConfigError(f"train.num_nodes={t.num_nodes}: detector training runs on one machine (train.devices "
                          "GPUs); several machines (num_nodes) are for recognizer training")
    for key in ("steps", "batch_size", "val_every", "num_nodes"):
        config_int(t, key, minimum=1, name=f"train.{key}")
    config_int(t, "workers", minimum=0, name="train.workers")
    config_float(t, "lr", minimum=0.0, above=True, name="train.lr")
    for key in ("weight_decay", "grad_noise", "distill_weight"):
        config_float(t, key, minimum=0.0, name=f"train.{key}")
    gray = config_float(t, "gray", minimum=0.0, name="train.gray")
    if gray is not None and gray > 1:
        raise ConfigError(f"train.gray is a probability (0..1), got {gray!r}")
    drops = t.get("lr_drops")
    if drops is not None:
        if not OmegaConf.is_list(drops):
            raise ConfigError(f"train.lr_drops must be a list of fractions of train.steps, got {drops!r}")
        for i, _ in enumerate(drops):
            value = config_float(drops, i, minimum=0.0, name=f"train.lr_drops[{i}]")
            if value is not None and value > 1:
                raise ConfigError(f"train.lr_drops[{i}] must be a fraction of train.steps (0..1), got {value!r}")
    _check_cut(cfg.get("dataset"))
    if t.get("init"):
        _check_file("train.init", t.init, "weights file")
    if t.get("teacher"):
        _check_file("train.teacher", t.teacher, "weights file")
    resume = t.get("resume")
    if resume and resume != "auto":
        _check_file("train.resume", resume, "checkpoint (train.resume=auto continues the output's run)")
    if cfg.get("quality") is not None:
        _check_quality(cfg.quality)


def _check_quality(value):
    """``alprkit train quality=NAME``: a registered selector, named without weights (training makes them)."""
    from . import plugins

    if not isinstance(value, str) or not value:
        raise ConfigError(f"quality must name a selector with a quality network (eqlpr_p, eqlpr_s, eqlpr_e), "
                          f"got {value!r}")
    base, _, tag = value.partition(".")
    plugins.registry().get("selector", base)  # an unknown name lists the registered ones
    if tag:
        raise ConfigError(f"quality={value}: training makes the weights; name the selector alone (quality={base})")


def _check_cut(dataset):
    from .data.cutouts import CUTS

    cut = dataset.get("cut") if isinstance(dataset, DictConfig) else None
    if cut is not None and cut not in CUTS:
        raise ConfigError(f"dataset.cut={cut!r}: how photos' plates are cut must be one of {', '.join(CUTS)}")


def _check_train_keys(t):
    """A train setting no trainer reads would be dropped silently: it is a mistake, named with the known ones."""
    from .config import group_yaml

    known = {*(group_yaml("train", "default") or {}), *OPTIONAL_TRAIN_KEYS}
    unknown = sorted(set(t) - known)
    if unknown:
        raise ConfigError(f"train.{unknown[0]} is not a train setting (settings: {', '.join(sorted(known))})")


def _check_api(cfg):
    config_int(cfg, "batch_size", minimum=1)
    config_int(cfg.video, "step", minimum=1, name="video.step")


def _check_serve(cfg):
    if not isinstance(cfg.get("host"), str) or not cfg.host:
        raise ConfigError(f"host must be an address to listen on (127.0.0.1, 0.0.0.0 ...), got {cfg.get('host')!r}")
    port = config_int(cfg, "port", minimum=0)
    if port is None or port > 65535:
        raise ConfigError(f"port must be 0..65535 (0: any free port), got {cfg.get('port')!r}")
    for key in ("pipelines", "allow"):
        value = cfg.get(key)
        if not OmegaConf.is_list(value) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"{key} must be a list of names ({key}=[a,b]), got {value!r}")
    config_int(cfg, "variants", minimum=1)
    for key in ("max_upload_mb", "max_megapixels", "timeout"):
        if config_float(cfg, key, minimum=0.0, above=True) is None:
            raise ConfigError(f"{key} must be a number above 0, got null")
    config_int(cfg, "threads", minimum=1)
    if config_int(cfg.batch, "max_size", minimum=1, name="batch.max_size") is None:
        raise ConfigError("batch.max_size must be a whole number above 0, got null")
    config_float(cfg.batch, "wait_ms", minimum=0.0, name="batch.wait_ms")


def _check_segments(cfg):
    if cfg.get("input"):
        _check_exists("input", cfg.input)
    config_int(cfg, "limit", minimum=1)
    config_int(cfg, "scale", minimum=1)
    if not cfg.get("output"):
        raise ConfigError("output= is required: the contact sheet's file (segments.png)")
    _output_file("output", cfg.output)
    weights = cfg.unrectified.get("weights")
    if weights:
        _check_file("unrectified.weights", weights, "weights file")


_COMMAND_CHECKS = {"run": _check_run, "eval": _check_eval, "train": _check_train, "api": _check_api,
                   "serve": _check_serve, "segments": _check_segments, "mine": _check_mine}
