"""Decoders from per-step character probabilities to ranked plate strings.

Both handle CTC output (a blank class, repeated steps collapse) and per-position
output (``blank=None``: one step per character slot, nothing collapses). A per-position
alphabet may hold "" as a "no character" class (a slot beyond a shorter plate): it
adds no character to the text and no entry to ``char_probs``, but its probability is
part of the string's, and strings that read alike (an empty slot here or there) are one.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from alprkit.errors import ConfigError
from alprkit.types import Candidate, CharScores, Recognition


def _segments(path, blank):
    """(class, steps) of each emitted character along a best path."""
    segments, previous = [], None
    for t, cls in enumerate(path):
        if cls == blank:
            previous = None
            continue
        if blank is not None and cls == previous:
            segments[-1][1].append(t)
        else:
            segments.append((cls, [t]))
        previous = cls
    return segments


def _check_top_n(top_n):
    if int(top_n) < 1:
        raise ConfigError(f"decoder top_n must be >= 1, got {top_n!r}")
    return int(top_n)


class GreedyDecoder:
    """Best path: the most likely class per step, repeats collapsed, blanks dropped.

    Candidates beyond the first swap one character for its runner-up at that
    character's most confident step, most likely swaps first.
    """

    def __init__(self, top_n: int = 5):
        self.top_n = _check_top_n(top_n)

    def __call__(self, scores: CharScores) -> Recognition:
        probs, alphabet, blank = scores.probs, scores.alphabet, scores.blank
        segments = _segments(probs.argmax(axis=1), blank)
        chars, picked, runner_ups = [], [], []  # per segment; a per-position "no character" reads as ""
        for cls, steps in segments:
            t = max(steps, key=lambda s: probs[s, cls])
            chars.append(alphabet[cls])
            picked.append(float(probs[t, cls]))
            row = probs[t].copy()
            row[cls] = -1
            if blank is not None:
                row[blank] = -1
            alt = int(row.argmax())
            runner_ups.append((alphabet[alt], float(row[alt])))
        char_probs = [p for c, p in zip(chars, picked) if c]
        best = float(np.prod(picked)) if char_probs else 0.0
        candidates = [Candidate("".join(chars), best)]
        swaps = sorted(
            ((best * p_alt / max(p, 1e-12), i, c_alt) for i, ((c_alt, p_alt), p) in enumerate(zip(runner_ups, picked))),
            reverse=True,
        )
        seen = {candidates[0].text}
        for score, i, c_alt in swaps:
            if len(candidates) >= self.top_n:
                break
            text = "".join(chars[:i] + [c_alt] + chars[i + 1 :])
            if text not in seen:
                seen.add(text)
                candidates.append(Candidate(text, score))
        return Recognition(
            text=candidates[0].text,
            char_probs=tuple(char_probs),
            confidence=best,
            candidates=tuple(candidates),
            region=scores.region,
            region_confidence=scores.region_confidence,
        )


class BeamSearchDecoder:
    """CTC prefix beam search: ranks strings by their total probability over all paths.

    ``prune`` skips classes whose probability at a step is below it, which keeps
    the search fast with large Chinese alphabets without changing the top results.
    The search (:func:`prefix_search_function`: compiled where numba is installed) keeps the
    ``beam_width`` most likely prefixes after every step, as the textbook algorithm does, in float64.
    """

    def __init__(self, beam_width: int = 10, top_n: int = 5, prune: float = 1e-4):
        if int(beam_width) < 1:
            raise ConfigError(f"decoder beam_width must be >= 1, got {beam_width!r}")
        self.beam_width = int(beam_width)
        self.top_n = _check_top_n(top_n)
        self.prune = float(prune)

    def __call__(self, scores: CharScores) -> Recognition:
        if scores.blank is None:
            beams = self._per_position(scores.probs)
        else:
            beams = self._prefix_search(scores.probs, scores.blank)
        alphabet = scores.alphabet
        ranked = sorted(_by_text(beams, alphabet).items(), key=lambda kv: kv[1][0], reverse=True)[: self.top_n]
        candidates = tuple(Candidate(text, float(p)) for text, (p, _) in ranked)
        _, (best_p, best_char_probs) = ranked[0] if ranked else ("", (0.0, ()))
        return Recognition(
            text=candidates[0].text if candidates else "",
            char_probs=tuple(best_char_probs),
            confidence=float(best_p),
            candidates=candidates,
            region=scores.region,
            region_confidence=scores.region_confidence,
        )

    def _prefix_search(self, probs, blank):
        return prefix_search_function()(probs, blank, self.beam_width, self.prune)

    def _per_position(self, probs):
        # Independent positions: the k best class sequences come from extending the k best prefixes.
        beams = {(): (1.0, ())}
        for row in probs:
            top = np.argsort(row)[::-1][: self.beam_width]
            extended = {
                prefix + (int(c),): (p * float(row[c]), cps + (float(row[c]),))
                for prefix, (p, cps) in beams.items()
                for c in top
            }
            beams = dict(sorted(extended.items(), key=lambda kv: kv[1][0], reverse=True)[: self.beam_width])
        return beams


@lru_cache(maxsize=1)
def prefix_search_function():
    """The CTC prefix beam search to use: numba's compiled one, else the same search in Python.

    Imported on the first beam search, not with the plugin: numba's import takes ~0.4 s.
    """
    try:
        from .ctc_compiled import prefix_search
    except ImportError as exc:
        if exc.name not in ("numba", "llvmlite"):
            raise
        from .ctc_closed_form import prefix_search
    return prefix_search


def _by_text(beams, alphabet) -> dict:
    """``{text: (probability, char probs)}``: class sequences that read alike summed (the char probs
    of the likeliest), "no character" slots left out of the char probs."""
    found = {}
    for prefix, (p, char_probs) in sorted(beams.items(), key=lambda kv: kv[1][0], reverse=True):
        chars = [alphabet[c] for c in prefix]
        text = "".join(chars)
        if text in found:
            found[text] = (found[text][0] + p, found[text][1])
        else:
            found[text] = (p, char_probs if all(chars) else tuple(q for ch, q in zip(chars, char_probs) if ch))
    return found
