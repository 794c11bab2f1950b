"""Build an LPRNet recognizer component: from shipped weights or freshly initialised."""

from __future__ import annotations

from alprkit.backends import make_backend
from alprkit.data.regions import get_region
from alprkit.errors import ConfigError
from alprkit.recognizers import NetworkRecognizer
from alprkit.weights import load_weights

from .models import ARCHITECTURES, build_network


def alphabet_for(region: str) -> tuple[str, ...]:
    """Blank first, then the region's charset (or the union of a '+'-joined list: 'us+eu')."""
    chars = []
    for code in region.split("+"):
        chars.extend(c for c in get_region(code).charset if c not in chars)
    return ("", *chars)


def create(architecture, weights=None, region="cn", stn=False, backend="torch", threads=None, max_batch=64,
           **options):
    """A recognizer; with ``weights`` the network, alphabet and region come from the file."""
    if weights is not None:
        state, meta = load_weights(weights.path)
        alphabet = tuple(meta["alphabet"])
        network = build_network(meta["architecture"], len(alphabet), stn=meta.get("stn", False),
                                **meta.get("options", {}))
        network.load_state_dict(state)
        region = meta.get("region", region)
        name = f"{meta['architecture']}.{weights.path.stem}"
    else:
        if architecture not in ARCHITECTURES:
            raise ConfigError(f"unknown architecture {architecture!r}")
        alphabet = alphabet_for(region)
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
    )
