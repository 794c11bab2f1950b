"""CTC and per-position decoders, and the post-filters that choose among their candidates.

Scores are made by hand; string probabilities are checked against a brute-force sum
over every CTC path.
"""

import itertools
import math

import numpy as np
import pytest
from helpers import scores_for_path

from alprkit import plugins
from alprkit.errors import ConfigError
from alprkit.types import Candidate, CharScores, Recognition

registry = plugins.registry()
ALPHABET = ("", "A", "B", "1")


def greedy(**params):
    return registry.create("decoder", "greedy", **params)


def beam(**params):
    return registry.create("decoder", "beam", **params)


def collapse(path, blank):
    merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
    return tuple(c for c in merged if c != blank)


def string_probabilities(probs, blank=0) -> dict:
    """P(string) = the sum over every CTC path that collapses to it (exhaustive: tiny inputs only)."""
    totals = {}
    steps, classes = probs.shape
    for path in itertools.product(range(classes), repeat=steps):
        key = collapse(path, blank)
        totals[key] = totals.get(key, 0.0) + math.prod(probs[t, c] for t, c in enumerate(path))
    return totals


def text(key, alphabet=ALPHABET):
    return "".join(alphabet[c] for c in key)


# -- greedy --------------------------------------------------------------------------------------


def test_greedy_collapses_repeats_and_drops_blanks():
    scores = scores_for_path([1, 1, 0, 1, 2, 2, 0, 0, 3], ALPHABET, p=0.9, region="us")
    recognition = greedy()(scores)
    assert recognition.text == "AAB1"  # the blank between the two A's keeps both
    assert recognition.char_probs == pytest.approx((0.9,) * 4)
    assert recognition.confidence == pytest.approx(0.9**4)
    assert recognition.region == "us"
    assert recognition.candidates[0] == Candidate("AAB1", recognition.confidence)


def test_greedy_alternatives_swap_the_least_sure_characters_first():
    alphabet = ("", "A", "B", "8", "1")
    probs = np.array([
        [0.02, 0.90, 0.06, 0.01, 0.01],  # A, runner-up B
        [0.96, 0.01, 0.01, 0.01, 0.01],
        [0.05, 0.03, 0.50, 0.40, 0.02],  # B, runner-up 8
        [0.96, 0.01, 0.01, 0.01, 0.01],
        [0.03, 0.15, 0.01, 0.01, 0.80],  # 1, runner-up A
    ])
    recognition = greedy(top_n=4)(CharScores(probs, alphabet))
    best = 0.9 * 0.5 * 0.8
    assert [(c.text, round(c.score, 6)) for c in recognition.candidates] == [
        ("AB1", round(best, 6)),
        ("A81", round(best * 0.40 / 0.50, 6)),
        ("ABA", round(best * 0.15 / 0.80, 6)),
        ("BB1", round(best * 0.06 / 0.90, 6)),
    ]
    assert [c.text for c in greedy(top_n=2)(CharScores(probs, alphabet)).candidates] == ["AB1", "A81"]
    assert len(greedy(top_n=1)(CharScores(probs, alphabet)).candidates) == 1


def test_greedy_uses_the_most_confident_step_of_a_repeated_character():
    probs = np.array([[0.3, 0.6, 0.1], [0.1, 0.8, 0.1], [0.9, 0.05, 0.05]])
    recognition = greedy()(CharScores(probs, ("", "A", "B")))
    assert recognition.text == "A" and recognition.char_probs == (0.8,)


def test_all_blank_reads_as_empty():
    recognition = greedy()(scores_for_path([0, 0, 0], ALPHABET))
    assert (recognition.text, recognition.confidence, recognition.char_probs) == ("", 0.0, ())


@pytest.mark.parametrize("make, params", [(greedy, {"top_n": 0}), (beam, {"top_n": 0}), (beam, {"beam_width": 0})])
def test_bad_decoder_parameters(make, params):
    with pytest.raises(ConfigError, match=next(iter(params))):
        make(**params)


# -- beam search ---------------------------------------------------------------------------------


def test_beam_search_finds_the_string_the_best_path_misses():
    # The single best path (B, blank) reads "B", but "A" has more probability over all paths.
    probs = np.array([[0.25, 0.35, 0.40], [0.40, 0.35, 0.25]])
    scores = CharScores(probs, ("", "A", "B"))
    exact = string_probabilities(probs)
    assert exact[(1,)] > exact[(2,)]  # the hand-made case is what it claims to be
    assert greedy()(scores).text == "B"
    recognition = beam()(scores)
    assert recognition.text == "A"
    assert recognition.confidence == pytest.approx(exact[(1,)])  # 0.35
    assert [c.text for c in recognition.candidates[:2]] == ["A", "B"]
    assert recognition.candidates[1].score == pytest.approx(exact[(2,)])  # 0.3225


def test_beam_search_ranks_strings_by_their_total_probability():
    rng = np.random.default_rng(7)
    probs = rng.dirichlet(np.ones(len(ALPHABET)) * 0.7, size=6)
    exact = sorted(string_probabilities(probs).items(), key=lambda kv: kv[1], reverse=True)[:5]
    recognition = beam(beam_width=200, top_n=5, prune=0.0)(CharScores(probs, ALPHABET))
    assert [c.text for c in recognition.candidates] == [text(key) for key, _ in exact]
    assert [c.score for c in recognition.candidates] == pytest.approx([p for _, p in exact])
    assert len(recognition.char_probs) == len(recognition.text)


def test_beam_search_with_a_repeated_character():
    # "AA" needs a blank between the A's; the beam must keep it apart from "A".
    probs = np.array([[0.1, 0.8, 0.1], [0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    exact = string_probabilities(probs)
    recognition = beam(prune=0.0)(CharScores(probs, ("", "A", "B")))
    by_text = {c.text: c.score for c in recognition.candidates}
    assert recognition.text == "AA"
    assert by_text["AA"] == pytest.approx(exact[(1, 1)]) and by_text["A"] == pytest.approx(exact[(1,)])


def test_beam_prune_keeps_the_top_results():
    rng = np.random.default_rng(3)
    path = [1, 0, 2, 2, 0, 3, 0, 1]
    probs = np.full((len(path), len(ALPHABET)), 1e-6)
    probs[np.arange(len(path)), path] = 1.0
    probs += rng.uniform(0, 0.05, probs.shape)
    probs /= probs.sum(axis=1, keepdims=True)
    scores = CharScores(probs, ALPHABET)
    full, pruned = beam(prune=0.0)(scores), beam(prune=0.01)(scores)
    assert pruned.text == full.text == "AB1A"
    assert pruned.confidence == pytest.approx(full.confidence, rel=1e-2)


# -- per-position output (blank=None) ------------------------------------------------------------


PER_POSITION = ("A", "B", "1")


def per_position_probs():
    return np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.85, 0.05]])


@pytest.mark.parametrize("make", [greedy, beam])
def test_per_position_output_does_not_collapse_repeats(make):
    recognition = make()(CharScores(per_position_probs(), PER_POSITION, blank=None))
    assert recognition.text == "AAB"
    assert recognition.confidence == pytest.approx(0.7 * 0.6 * 0.85)
    assert recognition.char_probs == pytest.approx((0.7, 0.6, 0.85))


def test_per_position_beam_ranks_every_combination():
    probs = per_position_probs()
    exact = sorted(((math.prod(probs[i, c] for i, c in enumerate(combo)), combo)
                    for combo in itertools.product(range(3), repeat=3)), reverse=True)[:4]
    recognition = beam(top_n=4)(CharScores(probs, PER_POSITION, blank=None))
    assert [c.text for c in recognition.candidates] == [text(combo, PER_POSITION) for _, combo in exact]
    assert [c.score for c in recognition.candidates] == pytest.approx([p for p, _ in exact])


def test_per_position_greedy_never_proposes_a_blank():
    recognition = greedy(top_n=3)(CharScores(per_position_probs(), PER_POSITION, blank=None))
    assert [c.text for c in recognition.candidates] == ["AAB", "ABB", "BAB"]


# -- post-filters ----------------------------------------------------------------------------------


def recognition(*candidates, region="br"):
    cands = tuple(Candidate(t, s) for t, s in candidates)
    best = cands[0]
    return Recognition(best.text, (0.9,) * len(best.text), best.score, cands, region=region)


def postfilter(name, **params):
    return registry.create("postfilter", name, **params)


def test_template_filter_picks_the_first_candidate_matching_a_template():
    read = recognition(("ABC12345", 0.4), ("A8C1234", 0.3), ("ABC1234", 0.2), ("ABD1234", 0.1))
    out = postfilter("template")(read)
    assert (out.text, out.confidence, out.char_probs, out.region) == ("ABC1234", 0.2, (), "br")
    assert out.candidates == read.candidates


def test_template_filter_keeps_a_matching_best_read_unchanged():
    read = recognition(("ABC1D23", 0.5), ("ABC1023", 0.2))
    assert postfilter("template")(read) == read


def test_template_filter_falls_back_or_drops_when_nothing_matches():
    read = recognition(("AB12", 0.5), ("A8", 0.2))
    assert postfilter("template")(read) == read
    assert postfilter("template", drop_unmatched=True)(read) is None


def test_template_filter_for_chinese_plates():
    read = recognition(("皖112345", 0.5), ("皖A12345", 0.3), region="cn")
    assert postfilter("template")(read).text == "皖A12345"


def test_filter_region_parameter_overrides_the_recognizers():
    read = recognition(("AB12", 0.5), ("ABC1234", 0.2), region=None)
    assert postfilter("template")(read) == read  # no region known: nothing to check against
    assert postfilter("template", region="br")(read).text == "ABC1234"
    with pytest.raises(ConfigError, match="unknown region 'zz'"):
        postfilter("template", region="zz")


def test_charset_filter_wants_region_characters_and_length():
    read = recognition(("皖AI2345", 0.5), ("皖A1234", 0.3), ("皖A12345", 0.1), region="cn")
    out = postfilter("charset")(read)  # I is no Chinese plate letter; 6 characters are too few
    assert (out.text, out.confidence) == ("皖A12345", 0.1)
    assert postfilter("charset", drop_unmatched=True)(recognition(("皖AI2345", 0.5), region="cn")) is None


def test_passthrough_keeps_everything():
    read = recognition(("?", 0.01))
    assert postfilter("passthrough")(read) is read


def test_without_numba_the_beam_search_runs_in_python(monkeypatch):
    import sys

    from alprkit_basics import ctc

    monkeypatch.setitem(sys.modules, "numba", None)  # as in the base install: no numba
    monkeypatch.delitem(sys.modules, "alprkit_basics.ctc_compiled", raising=False)
    ctc.prefix_search_function.cache_clear()
    try:
        assert ctc.prefix_search_function().__module__ == "alprkit_basics.ctc_closed_form"
        probs = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.1, 0.0, 0.9]], np.float32)
        assert plugins.registry().create("decoder", "beam")(CharScores(probs, ("", "A", "B"))).text == "AB"
    finally:
        ctc.prefix_search_function.cache_clear()
