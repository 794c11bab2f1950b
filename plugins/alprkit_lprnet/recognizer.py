"""Build an LPRNet recognizer component: from shipped weights or freshly initialised.

Weights with an ONNX file exported beside them (``alprkit export shipped=true``) run
that file on onnxruntime under ``backend=auto`` (the default) or ``onnxruntime``: the
alphabet, regions and input size come from its metadata and torch is never imported.
A weights path ending in ``.onnx`` is read the same way.
"""

from __future__ import annotations

from pathlib import Path

from alprkit.backends import make_backend
from alprkit.data.regions import get_region, region_codes
from alprkit.errors import ConfigError, InputError
from alprkit.recognizers import NetworkRecognizer
from alprkit.shipped_onnx import BackendChoice, choose_backend, open_onnx


def alphabet_for(region: str) -> tuple[str, ...]:
    """Blank first, then the region's charset (or the union of several: 'us+eu', 'global')."""
    chars = []
    for code in region_codes(region):
        chars.extend(c for c in get_region(code).charset if c not in chars)
    return ("", *chars)


def create(architecture, weights=None, region=None, stn=False, backend="auto", threads=None, max_batch=64,
           region_mask=True, **options):
    """A recognizer; with ``weights`` the network, alphabet and region come from the file.

    An untrained network for several regions (``region=global`` or ``cn+us``) gets a
    region head over them when its architecture has one (LPRNet basic and reduced).
    A multi-region model given one of its regions (``region=eu``) reads every crop as
    that region's plate instead of predicting it.
    """
    if weights is None:
        return _untrained(architecture, region, stn, backend, threads, max_batch, region_mask, options)
    path = Path(weights.path)
    if path.suffix == ".onnx":
        if backend not in ("auto", "onnxruntime"):
            raise ConfigError(f"recognizer.backend={backend}: {path.name} is an ONNX file, which runs on onnxruntime "
                              "(backend=auto or onnxruntime)")
        choice = BackendChoice("onnxruntime", f"the weights are the ONNX file {path.name}", {None: open_onnx(path, threads)})
    else:
        choice = choose_backend(backend, path, threads=threads, component=f"recognizer {architecture}")
    if choice.sessions:
        return _from_onnx(choice, path, region, max_batch, region_mask)
    network, meta = load_network(path)
    regions = tuple(meta.get("regions", ()))
    return NetworkRecognizer(
        make_backend(choice.backend, network, network.input_size, f"{meta['architecture']}.{path.stem}", threads),
        tuple(meta["alphabet"]), network.input_size, region=_region(region, regions, meta.get("region"), path),
        max_batch=max_batch, network=network, regions=regions, region_mask=region_mask, backend_choice=choice,
    )


def load_network(path):
    """The torch network of a weights file and the file's metadata."""
    from alprkit.weights import load_weights

    from .models import build_network

    state, meta = load_weights(path)
    network = build_network(meta["architecture"], len(meta["alphabet"]), stn=meta.get("stn", False),
                            **meta.get("options", {}))
    network.load_state_dict(state)
    return network.eval(), meta


def onnx_metadata(recognizer, weights_meta: dict) -> dict:
    """What an exported recognizer's ONNX file records, so it can be read without its weights file."""
    return {"alphabet": list(recognizer.alphabet), "input_size": list(recognizer.input_size),
            "region": weights_meta.get("region"), "regions": list(recognizer.regions),
            "architecture": weights_meta.get("architecture"), "stn": bool(weights_meta.get("stn", False)),
            "input_range": "RGB 0..255, NCHW float32", "outputs": "logits (batch, classes, steps); class 0 is the "
            "CTC blank" + ("; region (batch, regions)" if recognizer.regions else "")}


def _from_onnx(choice, path, region, max_batch, region_mask):
    session = choice.sessions[None]
    meta = session.metadata
    try:
        alphabet, input_size = tuple(meta["alphabet"]), tuple(meta["input_size"])
    except KeyError as exc:
        raise InputError(session.path, f"has no alprkit metadata {exc.args[0]!r} (was it written by alprkit export?)") from None
    regions = tuple(meta.get("regions") or ())
    # The torch network, for training, export and bench, loads from the weights file when asked for.
    loader = None if path.suffix == ".onnx" else (lambda: load_network(path)[0])
    return NetworkRecognizer(session, alphabet, input_size, region=_region(region, regions, meta.get("region"), path),
                             max_batch=max_batch, regions=regions, region_mask=region_mask, load_network=loader,
                             backend_choice=choice)


def _region(given, regions, stored, path):
    """A multi-region model reads the region it is given, or predicts it (None); a specialist its own."""
    if regions and given is not None and given not in regions:
        raise ConfigError(f"recognizer.region={given!r}: {path.name} reads {', '.join(regions)}")
    return given if regions else (stored if stored is not None else given)


def _untrained(architecture, region, stn, backend, threads, max_batch, region_mask, options):
    from .models import ARCHITECTURES, REGION_HEAD_ARCHITECTURES, build_network

    choice = choose_backend(backend, None, component=f"recognizer {architecture}")
    region = region or "cn"
    if architecture not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture {architecture!r}")
    codes = region_codes(str(region))
    alphabet = alphabet_for(str(region))
    regions = codes if len(codes) > 1 and architecture in REGION_HEAD_ARCHITECTURES else ()
    if regions:
        options = {**options, "regions": len(regions)}
        region = None  # predicted per crop
    network = build_network(architecture, len(alphabet), stn=bool(stn), **options).eval()
    return NetworkRecognizer(make_backend(choice.backend, network, network.input_size, architecture, threads), alphabet,
                             network.input_size, region=region, max_batch=max_batch, network=network, regions=regions,
                             region_mask=region_mask, backend_choice=choice)
