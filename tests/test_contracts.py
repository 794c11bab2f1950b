"""Every registered component, whoever provides it, meets its kind's contract.

The list comes from the live registry, so an installed third-party plugin is checked
here too, and shipped weights (``name.tag``) are checked as they appear.
"""

import numpy as np
import pytest
from helpers import one_torch_thread  # noqa: F401 (a fixture)

from alprkit import plugins, protocols
from alprkit.testing import CHECKS, check_component
from alprkit.types import CharScores, Detection, Recognition

PROTOCOLS = {
    "detector": protocols.Detector,
    "rectifier": protocols.Rectifier,
    "recognizer": protocols.Recognizer,
    "decoder": protocols.Decoder,
    "postfilter": protocols.PostFilter,
    "selector": protocols.Selector,
    "tracker": protocols.Tracker,
}


def registered():
    registry = plugins.registry()
    for kind in CHECKS:
        for component in registry.components(kind):
            for name in (component.name, *(f"{component.name}.{tag}" for tag in sorted(component.weights))):
                yield pytest.param(kind, name, id=f"{kind}:{name}")


def test_every_kind_has_a_check_and_a_protocol():
    assert set(CHECKS) == set(PROTOCOLS) == set(plugins.REGISTER_HOOKS.values()) - {"dataset"}


def test_every_kind_has_a_bundled_component():
    registry = plugins.registry()
    assert all(registry.names(kind) for kind in CHECKS)


@pytest.mark.parametrize("kind, name", list(registered()))
def test_registered_component_meets_its_contract(kind, name, request):
    if kind == "recognizer":
        request.getfixturevalue("one_torch_thread")  # only these need torch
    component = plugins.registry().create(kind, name)
    assert isinstance(component, PROTOCOLS[kind])
    check_component(kind, component)


# The checks must catch broken components, or the test above proves nothing.


def test_check_catches_a_detector_returning_a_tuple():
    with pytest.raises(AssertionError, match="not a list"):
        check_component("detector", lambda frame: (Detection((0, 0, 10, 10)),))


def test_check_catches_an_inverted_box():
    with pytest.raises(AssertionError, match="empty or inverted"):
        check_component("detector", lambda frame: [Detection((10, 10, 5, 20))])


class BatchDependentRecognizer:
    """Normalises each batch by its own mean: a crop's scores change with its neighbours."""

    input_size = (94, 24)
    alphabet = ("", "A", "B")

    def __call__(self, crops):
        means = np.array([c.pixels.mean() for c in crops])
        rel = means / means.mean()
        return [CharScores(np.tile([[0.2, 0.8 - 0.5 * r / 2, 0.5 * r / 2]], (10, 1)), self.alphabet) for r in rel]


def test_check_catches_a_recognizer_whose_output_depends_on_the_batch():
    with pytest.raises(AssertionError, match="depend on the rest of its batch"):
        check_component("recognizer", BatchDependentRecognizer())


def test_check_catches_a_decoder_that_does_not_collapse_repeats():
    def no_collapse(scores):
        path = scores.probs.argmax(axis=1)
        return Recognition("".join(scores.alphabet[c] for c in path), confidence=0.5)

    with pytest.raises(AssertionError, match="from an unambiguous 'AB1'"):
        check_component("decoder", no_collapse)


def test_check_catches_a_selector_that_loses_the_track_id():
    from alprkit.types import StreamResult

    def selector(stream, recognize):
        first = stream.observations[0]
        return StreamResult("other", recognize(first), first.frame, first.detection, (first.frame,))

    with pytest.raises(AssertionError, match="track id"):
        check_component("selector", selector)
