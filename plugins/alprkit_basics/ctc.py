"""Decoders from per-step character probabilities to ranked plate strings.

Both handle CTC output (a blank class, repeated steps collapse) and per-position
output (``blank=None``: one step per character, nothing collapses).
"""

from __future__ import annotations

from collections import defaultdict

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
        chars, char_probs, runner_ups = [], [], []
        for cls, steps in segments:
            t = max(steps, key=lambda s: probs[s, cls])
            chars.append(alphabet[cls])
            char_probs.append(float(probs[t, cls]))
            row = probs[t].copy()
            row[cls] = -1
            if blank is not None:
                row[blank] = -1
            alt = int(row.argmax())
            runner_ups.append((alphabet[alt], float(row[alt])))
        best = float(np.prod(char_probs)) if char_probs else 0.0
        candidates = [Candidate("".join(chars), best)]
        swaps = sorted(
            ((best * p_alt / max(p, 1e-12), i, c_alt) for i, ((c_alt, p_alt), p) in enumerate(zip(runner_ups, char_probs))),
            reverse=True,
        )
        for score, i, c_alt in swaps[: self.top_n - 1]:
            candidates.append(Candidate("".join(chars[:i] + [c_alt] + chars[i + 1 :]), score))
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
        ranked = sorted(beams.items(), key=lambda kv: kv[1][0], reverse=True)[: self.top_n]
        alphabet = scores.alphabet
        candidates = tuple(Candidate("".join(alphabet[c] for c in prefix), float(p)) for prefix, (p, _) in ranked)
        best_prefix, (best_p, best_char_probs) = ranked[0] if ranked else ((), (0.0, ()))
        return Recognition(
            text=candidates[0].text if candidates else "",
            char_probs=tuple(best_char_probs),
            confidence=float(best_p),
            candidates=candidates,
            region=scores.region,
            region_confidence=scores.region_confidence,
        )

    def _prefix_search(self, probs, blank):
        # Each prefix keeps (P ending in blank, P ending in its last char, char probs).
        beams = {(): [1.0, 0.0, ()]}
        for t in range(probs.shape[0]):
            row = probs[t]
            classes = [c for c in np.flatnonzero(row >= self.prune) if c != blank]
            nxt = defaultdict(lambda: [0.0, 0.0, ()])
            for prefix, (p_b, p_nb, cps) in beams.items():
                total = p_b + p_nb
                entry = nxt[prefix]
                entry[0] += total * row[blank]
                entry[2] = cps
                if prefix:  # repeat of the last char without a blank in between collapses
                    entry[1] += p_nb * row[prefix[-1]]
                for c in classes:
                    new = prefix + (int(c),)
                    extend = nxt[new]
                    gain = (p_b if prefix and c == prefix[-1] else total) * row[c]
                    extend[1] += gain
                    if not extend[2] or len(extend[2]) < len(new):
                        extend[2] = cps + (float(row[c]),)
                    else:  # keep the most confident step seen for this character
                        extend[2] = extend[2][:-1] + (max(extend[2][-1], float(row[c])),)
            beams = dict(sorted(nxt.items(), key=lambda kv: kv[1][0] + kv[1][1], reverse=True)[: self.beam_width])
        return {prefix: (p_b + p_nb, cps) for prefix, (p_b, p_nb, cps) in beams.items()}

    def _per_position(self, probs):
        # Independent positions: the k best strings come from extending the k best prefixes.
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
