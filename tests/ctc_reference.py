"""The CTC prefix beam search as alprkit shipped it before the fast one: the reference it must equal.

Kept verbatim (commit 973d215, ``BeamSearchDecoder._prefix_search``): every step goes through
every beam in Python. It computes in the scores' dtype (float32 scores: float32 sums).
"""

from collections import defaultdict

import numpy as np

from alprkit_basics.ctc import BeamSearchDecoder


class ReferenceBeamSearch(BeamSearchDecoder):
    """The shipped decoder's ranking and Recognition, with the old search."""

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
