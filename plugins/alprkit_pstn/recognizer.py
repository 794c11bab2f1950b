"""Build a parallel-STN recognizer component: from trained weights (or their ONNX file) or untrained.

Its scores are one row per character position (``CharScores.blank`` is None); class 0,
"", is "no character", so the decoders read a 7-character plate from 8 positions. Like
LPRNet's, weights with an ONNX file exported beside them run that file on onnxruntime
under ``backend=auto``; the segments picture (``alprkit segments``) needs the torch network.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from alprkit.backends import make_backend
from alprkit.config import config_float, config_int
from alprkit.data.regions import get_region
from alprkit.errors import ConfigError, InputError
from alprkit.recognizers import NetworkRecognizer, crops_to_batch
from alprkit.shipped_onnx import BackendChoice, choose_backend, open_onnx

from .templates import position_prior

ARCHITECTURE = "parallel_stn"

# The build options of an untrained network where the config leaves them null. With weights the
# file's options stand; null means "as the weights were built", and a value given must match.
BUILD_DEFAULTS = {"positions": None, "shared": True, "separate_stns": False, "features": 128, "dropout": 0.0,
                  "window": 1.0, "width": 1.0, "priors": True}


def alphabet_for(region: str) -> tuple[str, ...]:
    """"No character" first, then the region's charset."""
    return ("", *get_region(region).charset)


def _options(positions, shared, separate_stns, features, dropout, window, width, priors) -> dict:
    """The build options, checked: each wrong value is a ConfigError naming its key."""
    values = {"positions": positions, "features": features, "dropout": dropout, "window": window, "width": width}
    for key in ("shared", "separate_stns", "priors"):
        value = {"shared": shared, "separate_stns": separate_stns, "priors": priors}[key]
        if not isinstance(value, bool):
            raise ConfigError(f"recognizer.{key} must be true or false, got {value!r}")
    values["positions"] = config_int(values, "positions", minimum=2, name="recognizer.positions")
    values["features"] = config_int(values, "features", minimum=1, name="recognizer.features")
    values["dropout"] = config_float(values, "dropout", minimum=0.0, name="recognizer.dropout")
    if values["dropout"] is None or values["dropout"] >= 1:
        raise ConfigError(f"recognizer.dropout must be in [0, 1), got {dropout!r}")
    for key in ("window", "width"):
        values[key] = config_float(values, key, minimum=0.0, above=True, name=f"recognizer.{key}")
        if values[key] is None:
            raise ConfigError(f"recognizer.{key} must be a number above 0, got null")
    return {**values, "shared": shared, "separate_stns": separate_stns, "priors": priors}


def build_network(region: str, alphabet, options: dict):
    """The torch network for ``region`` (its templates give the priors and, by default, the positions)."""
    from .models import ParallelSTN

    prior = position_prior(get_region(region).templates, alphabet, options.get("positions"))
    build = {k: v for k, v in options.items() if k not in ("positions", "priors")}
    masks, log_weights = (prior.masks, prior.log_weights) if options.get("priors", True) else (None, None)
    network = ParallelSTN(len(alphabet), prior.positions, masks, log_weights, **build)
    network.architecture = ARCHITECTURE
    network.options = {**options, "positions": prior.positions}
    network.position_prior = prior
    return network


class ParallelStnRecognizer(NetworkRecognizer):
    """A NetworkRecognizer whose rows are positions; it can also show the segments its STNs cut."""

    def __init__(self, *args, prior=None, priors=True, **kwargs):
        super().__init__(*args, blank=None, **kwargs)
        self.prior = prior
        self.priors = bool(priors)
        self.positions = prior.positions

    def reads(self, text: str) -> bool:
        """Whether ``text`` is a plate this recognizer can read: it fits the positions and the
        alphabet, and (with priors) one of the templates; training drops any other label."""
        index = {c: i for i, c in enumerate(self.alphabet) if c}
        if not text or len(text) > self.positions or any(c not in index for c in text):
            return False
        return not self.priors or self.prior.accepts([index[c] for c in text])

    def segments(self, crops) -> np.ndarray:
        """(n, K, 48, 24, 3) uint8: the segment each STN cuts from each crop (runs the torch network)."""
        import torch

        network = self.network
        if network is None:
            raise ConfigError("the segments of an ONNX-only recognizer need its torch weights (a .safetensors file)")
        batch = torch.from_numpy(crops_to_batch([c.pixels for c in crops]))
        with torch.inference_mode():
            cut = network.eval().segments(batch)
        return cut.permute(0, 1, 3, 4, 2).round().clamp(0, 255).to(torch.uint8).numpy()


def create(weights=None, region=None, positions=None, shared=None, separate_stns=None, features=None,
           dropout=None, window=None, width=None, priors=None, backend="auto", threads=None, max_batch=64):
    """A recognizer; with ``weights`` the network, alphabet, region and options come from the file.

    A build option left None is :data:`BUILD_DEFAULTS`' for an untrained network and the file's
    with weights; one given with weights must be what they were built with (a ConfigError else).
    """
    given = {"positions": positions, "shared": shared, "separate_stns": separate_stns, "features": features,
             "dropout": dropout, "window": window, "width": width, "priors": priors}
    given = {k: v for k, v in given.items() if v is not None}
    options = _options(**{**BUILD_DEFAULTS, **given})
    if weights is None:
        region = "cn" if region is None else region
        if not isinstance(region, str) or "+" in region or region == "global":
            raise ConfigError(f"recognizer.region={region!r}: a parallel-STN recognizer reads one region's plates "
                              "(its templates give the positions and priors), e.g. cn")
        alphabet = alphabet_for(region)
        choice = choose_backend(backend, None, component=f"recognizer {ARCHITECTURE}")
        network = build_network(region, alphabet, options).eval()
        return _component(make_backend(choice.backend, network, network.input_size, ARCHITECTURE, threads),
                          alphabet, region, options, max_batch, choice, network=network)
    path = Path(weights.path)
    if path.suffix == ".onnx":
        if backend not in ("auto", "onnxruntime"):
            raise ConfigError(f"recognizer.backend={backend}: {path.name} is an ONNX file, which runs on onnxruntime "
                              "(backend=auto or onnxruntime)")
        choice = BackendChoice("onnxruntime", f"the weights are the ONNX file {path.name}",
                               {None: open_onnx(path, threads)})
    else:
        choice = choose_backend(backend, path, threads=threads, component=f"recognizer {ARCHITECTURE}")
    if choice.sessions:
        session = choice.sessions[None]
        meta = session.metadata
        try:
            alphabet, stored_region, stored = tuple(meta["alphabet"]), meta["region"], meta["options"]
            size = tuple(meta["input_size"])
        except KeyError as exc:
            raise InputError(session.path, f"has no alprkit metadata {exc.args[0]!r} (was it written by alprkit "
                             "export?)") from None
        _built_as(options, given, {**BUILD_DEFAULTS, **stored}, path)
        loader = None if path.suffix == ".onnx" else (lambda: load_network(path)[0])
        return _component(session, alphabet, _region(region, stored_region, path), stored, max_batch, choice,
                          load_network=loader, size=size)
    network, meta = load_network(path)
    _built_as(options, given, {**BUILD_DEFAULTS, **meta["options"]}, path)
    return _component(make_backend(choice.backend, network, network.input_size, f"{ARCHITECTURE}.{path.stem}",
                                   threads),
                      tuple(meta["alphabet"]), _region(region, meta["region"], path), meta["options"], max_batch,
                      choice, network=network)


def load_network(path):
    """The torch network of a weights file and the file's metadata."""
    from alprkit.weights import load_weights

    state, meta = load_weights(path)
    if meta.get("architecture") != ARCHITECTURE:
        raise InputError(path, f"holds {meta.get('architecture')!r} weights, not {ARCHITECTURE}")
    network = build_network(meta["region"], tuple(meta["alphabet"]), meta["options"])
    network.load_state_dict({k: v.float() for k, v in state.items()})
    return network.eval(), meta


def _built_as(options, given, stored_options, path):
    """Build options only shape an untrained network: one given with weights must be theirs, never ignored
    (``stored_options``: the file's, with :data:`BUILD_DEFAULTS` for any it predates)."""
    for key in given:
        value, stored = options[key], stored_options[key]
        if value != stored:
            raise ConfigError(f"recognizer.{key}={given[key]!r}: {path.name} was built with {key}={stored!r} "
                              f"(leave recognizer.{key} out, or null, to use the file's)")


def _region(given, stored, path):
    """Trained weights read their own region's plates; naming another one is a mistake, not a switch."""
    if given is not None and given != stored:
        raise ConfigError(f"recognizer.region={given!r}: {path.name} reads {stored} plates")
    return stored


def _component(backend, alphabet, region, options, max_batch, choice, network=None, load_network=None, size=None):
    if network is not None:
        prior, size = network.position_prior, network.input_size
    else:  # an ONNX file: the templates of its region, at its positions
        prior = position_prior(get_region(region).templates, alphabet, options.get("positions"))
    return ParallelStnRecognizer(backend, alphabet, size, region=region, max_batch=max_batch, network=network,
                                 load_network=load_network, backend_choice=choice, prior=prior,
                                 priors=options.get("priors", True))
