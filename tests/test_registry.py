from pathlib import Path

import pytest

from alprkit.errors import DuplicateComponentError, UnknownComponentError
from alprkit.registry import KINDS, Provider, Registry, Weights

BASICS = Provider("basics", "alprkit", "0.1.0")
OTHER = Provider("fancy", "alprkit-fancy", "2.3")


class Greedy:
    """Best path decoding.

    More text that is not the summary.
    """

    def __init__(self, top_n=5, weights=None):
        self.top_n = top_n
        self.weights = weights


@pytest.fixture
def registry():
    reg = Registry()
    reg.add("decoder", "greedy", Greedy, BASICS, aliases=["greedy_ctc"])
    reg.add("decoder", "beam", Greedy, BASICS, description="Prefix beam search.")
    reg.add("recognizer", "lprnet_basic", Greedy, BASICS,
            weights={"cn": Weights(Path("cn.safetensors")), "us": Weights(Path("us.safetensors"))})
    return reg


def test_add_get_create(registry):
    component = registry.get("decoder", "greedy")
    assert (component.kind, component.name, component.provider, component.factory) == (
        "decoder", "greedy", BASICS, Greedy)
    built = registry.create("decoder", "greedy", top_n=3)
    assert isinstance(built, Greedy) and built.top_n == 3 and built.weights is None
    assert registry.names("decoder") == ["beam", "greedy"]
    assert [c.name for c in registry.components("decoder")] == ["beam", "greedy"]
    assert [c.kind for c in registry.components()] == ["recognizer", "decoder", "decoder"]  # in KINDS order


def test_description_is_the_given_one_or_the_docstring_summary(registry):
    assert registry.get("decoder", "beam").description == "Prefix beam search."
    assert registry.get("decoder", "greedy").description == "Best path decoding."


def test_alias_resolves_to_the_component(registry):
    assert registry.get("decoder", "greedy_ctc") is registry.get("decoder", "greedy")
    assert registry.create("decoder", "greedy_ctc", top_n=2).top_n == 2
    assert registry.names("decoder") == ["beam", "greedy"]  # aliases are not listed as names


def test_weight_tag_passes_the_weights(registry):
    built = registry.create("recognizer", "lprnet_basic.us")
    assert built.weights == Weights(Path("us.safetensors"))
    assert registry.get("recognizer", "lprnet_basic.cn").name == "lprnet_basic"
    assert registry.create("recognizer", "lprnet_basic").weights is None


def test_unknown_weight_tag_lists_the_tags(registry):
    with pytest.raises(UnknownComponentError, match=r"lprnet_basic.*'eu'.*available: cn, us"):
        registry.get("recognizer", "lprnet_basic.eu")
    with pytest.raises(UnknownComponentError, match=r"no weights 'cn' \(available: none\)"):
        registry.create("decoder", "greedy.cn")


def test_dot_in_a_name_is_refused(registry):
    with pytest.raises(ValueError, match="reserved for weight tags"):
        registry.add("decoder", "my.decoder", Greedy, OTHER)


@pytest.mark.parametrize("name, aliases", [("greedy", ()), ("mine", ("beam",)), ("greedy_ctc", ()),
                                           ("mine", ("greedy_ctc",))])
def test_a_taken_name_or_alias_names_both_providers(registry, name, aliases):
    with pytest.raises(DuplicateComponentError) as error:
        registry.add("decoder", name, Greedy, OTHER, aliases=aliases)
    message = str(error.value)
    assert "basics (alprkit 0.1.0)" in message and "fancy (alprkit-fancy 2.3)" in message
    assert "mine" not in registry.names("decoder")


def test_the_same_name_in_another_kind_is_fine(registry):
    registry.add("postfilter", "greedy", Greedy, OTHER)
    assert registry.get("postfilter", "greedy").provider == OTHER


def test_unknown_name_lists_the_available_ones_with_a_hint(registry):
    with pytest.raises(UnknownComponentError) as error:
        registry.get("decoder", "gredy")
    message = str(error.value)
    assert "unknown decoder 'gredy'" in message
    assert "did you mean 'greedy'?" in message
    assert "available: beam, greedy, greedy_ctc" in message


def test_unknown_name_without_a_close_match(registry):
    with pytest.raises(UnknownComponentError) as error:
        registry.create("decoder", "zzzzzz")
    assert "did you mean" not in str(error.value) and "available: beam, greedy" in str(error.value)
    with pytest.raises(UnknownComponentError, match=r"unknown selector 'x'.*available: none"):
        registry.get("selector", "x")


def test_unknown_kind(registry):
    with pytest.raises(UnknownComponentError, match="unknown component kind 'decoders'"):
        registry.get("decoders", "greedy")
    assert set(KINDS) >= {"detector", "rectifier", "recognizer", "decoder", "postfilter", "selector", "dataset"}


def test_provider_text():
    assert str(BASICS) == "basics (alprkit 0.1.0)"
    assert str(Provider("example")) == "example"
    assert str(Provider("example", "example")) == "example"  # no repetition of a same-named distribution


def test_every_shipped_weights_file_has_its_model_card():
    """``shipped_weights`` finds a card only as ``<name>.<tag>.md`` beside the weights; its title names them."""
    from alprkit import plugins

    missing, titles = [], []
    for component in plugins.registry().components():
        for tag, weights in component.weights.items():
            name = f"{component.name}.{tag}"
            if weights.card is None:
                missing.append(name)
            elif not weights.card.read_text(encoding="utf-8").startswith(f"# {name}"):
                titles.append(name)
    assert not missing, f"no model card <name>.<tag>.md beside the weights of {missing}"
    assert not titles, f"the model cards of {titles} do not start with '# <name>.<tag>'"
