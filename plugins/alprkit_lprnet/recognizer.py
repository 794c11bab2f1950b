"""Build an LPRNet recognizer component: from shipped weights or freshly initialised."""

from __future__ import annotations

from alprkit.backends import make_backend
from alprkit.data.regions import get_region, region_codes
from alprkit.errors import ConfigError
from alprkit.recognizers import NetworkRecognizer
from alprkit.weights import load_weights

from .models import ARCHITECTURES, REGION_HEAD_ARCHITECTURES, build_network


def alphabet_for(region: str) -> tuple[str, ...]:
    """Blank first, then the region's charset (or the union of several: 'us+eu', 'global')."""
    chars = []
    for code in region_codes(region):
        chars.extend(c for c in get_region(code).charset if c not in chars)
    return ("", *chars)


def create(architecture, weights=None, region=None, stn=False, backend="torch", threads=None, max_batch=64,
           region_mask=True, **options):
    """A recognizer; with ``weights`` the network, alphabet and region come from the file.

    An untrained network for several regions (``region=global`` or ``cn+us``) gets a
    region head over them when its architecture has one (LPRNet basic and reduced).
    A multi-region model given one of its regions (``region=eu``) reads every crop as
    that region's plate instead of predicting it.
    """
    if weights is not None:
        state, meta = load_weights(weights.path)
        alphabet = tuple(meta["alphabet"])
        network = build_network(meta["architecture"], len(alphabet), stn=meta.get("stn", False),
                                **meta.get("options", {}))
        network.load_state_dict(state)
        regions = tuple(meta.get("regions", ()))
        if regions and region is not None and region not in regions:
            raise ConfigError(f"recognizer.region={region!r}: {weights.path.name} reads {', '.join(regions)}")
        region = region if regions else meta.get("region", region)
        name = f"{meta['architecture']}.{weights.path.stem}"
    else:
        region = region or "cn"
        if architecture not in ARCHITECTURES:
            raise ConfigError(f"unknown architecture {architecture!r}")
        codes = region_codes(str(region))
        alphabet = alphabet_for(str(region))
        regions = codes if len(codes) > 1 and architecture in REGION_HEAD_ARCHITECTURES else ()
        if regions:
            options = {**options, "regions": len(regions)}
            region = None  # predicted per crop
        network = build_network(architecture, len(alphabet), stn=bool(stn), **options)
        name = architecture
    network.eval()
    return NetworkRecognizer(
        make_backend(backend, network, network.input_size, name, threads),
        alphabet,
        network.input_size,
        region=region,
        max_batch=max_batch,
        network=network,
        regions=regions,
        region_mask=region_mask,
    )
