"""CTC prefix beam search, compiled with numba: the textbook search, step by step, in float64.

Every step goes through every beam, as the search alprkit first shipped did (``tests/ctc_reference.py``),
in the same order, so it makes the same sums and breaks ties alike: candidates are ranked by total
probability, and equal ones in the order the prefixes were made (each beam in turn, then its extensions
by class). Compiled, the decoder takes 0.10 ms a plate; with this search in Python it took 2.94 ms,
and with the closed-form Python one 0.49 ms (docs/bench.md, ``tests/time_beam_search.py``).

The first call in a process loads the compiled search from numba's cache (``cache=True``: beside this
file, or in the user's cache folder where that is not writable), or compiles it once (4 to 5 s).
numba is the ``fast`` extra (and part of ``train``), not the base install (it adds about 200 MB):
without it :mod:`alprkit_basics.ctc_closed_form` searches. alprkit_basics.ctc imports this module
only when a beam search first runs (numba's import takes ~0.4 s).
"""

from __future__ import annotations

import numba
import numpy as np


def prefix_search(probs, blank: int, width: int, prune: float) -> dict:
    """``{prefix (class indices): (probability, per-character probabilities)}`` of the final beam, best first.

    A character's probability is the highest of the steps at which the search extended its prefix
    by it while the prefix stayed in the beam.
    """
    probs = np.asarray(probs)
    if probs.ndim != 2:
        raise ValueError(f"CTC scores must be (steps, classes), got shape {probs.shape}")
    reach = np.ascontiguousarray(probs >= prune)  # in the scores' own dtype (float32: 1e-4 as float32)
    totals, char_probs, lengths, prefixes = _search(np.ascontiguousarray(probs, dtype=np.float64), reach,
                                                    int(blank), max(int(width), 1))
    return {tuple(prefixes[k, :n].tolist()): (total, tuple(char_probs[k, :n].tolist()))
            for k, (total, n) in enumerate(zip(totals.tolist(), lengths.tolist()))}


@numba.njit(cache=True, nogil=True)
def _same_prefix(a, b, parents, classes):
    # Two nodes of one length: a prefix can leave the beam and be made again, under another node.
    while a != b:
        if classes[a] != classes[b]:
            return False
        a, b = parents[a], parents[b]
    return True


@numba.njit(cache=True, nogil=True)
def _search(probs, reach, blank, width):
    steps, n_classes = probs.shape
    # The classes each step may extend prefixes by: active[starts[t]:starts[t + 1]].
    starts = np.zeros(steps + 1, np.int64)
    active = np.empty(max(int(reach.sum()), 1), np.int64)
    n_active = widest = 0
    longest = 1  # a prefix grows by one class at a step that may extend it, at most
    for t in range(steps):
        for c in range(n_classes):
            if c != blank and reach[t, c]:
                active[n_active] = c
                n_active += 1
        starts[t + 1] = n_active
        widest = max(widest, n_active - starts[t])
        longest += n_active > starts[t]
    # The prefix trie: node 0 is the empty prefix, node k extends parents[k] by classes[k].
    parents = np.zeros(1 + longest * width, np.int64)
    classes = np.zeros(1 + longest * width, np.int64)
    n_nodes = 1
    # The beam: node, P(ending in blank), P(ending in its last class), last class, length, and char
    # probs (row k of cps, up to length[k]; a step writes the next beam's into the other buffer).
    node = np.zeros(width, np.int64)
    pb = np.zeros(width)
    pnb = np.zeros(width)
    last = np.full(width, -1, np.int64)
    length = np.zeros(width, np.int64)
    cps, next_cps = np.empty((width, longest)), np.empty((width, longest))
    beams = 1
    pb[0] = 1.0
    # One step's candidates (each beam carried over, and its extensions), in the order they are made.
    # A candidate's char probs are its source beam's first length - 1 and then c_lastp.
    most = width * (1 + widest)
    c_pb = np.zeros(most)
    c_pnb = np.zeros(most)
    c_beam = np.zeros(most, np.int64)  # the beam it carries over, or extends
    c_class = np.zeros(most, np.int64)  # -1: carried over; else the class it extends c_beam by
    c_source = np.zeros(most, np.int64)  # the beam its char probs come from; -1: not set yet
    c_len = np.zeros(most, np.int64)
    c_lastp = np.zeros(most)
    own = np.zeros(width, np.int64)  # each beam's candidate, once made
    order = np.zeros(width, np.int64)  # the best candidates, best first
    new_node = np.zeros(width, np.int64)
    new_last = np.zeros(width, np.int64)
    for t in range(steps):
        row = probs[t]
        n = 0
        own[:beams] = -1
        for i in range(beams):
            total = pb[i] + pnb[i]
            if own[i] < 0:
                own[i] = n
                c_pb[n], c_pnb[n], c_beam[n], c_class[n] = 0.0, 0.0, i, -1
                n += 1
            e = own[i]
            c_pb[e] += total * row[blank]
            c_source[e], c_len[e] = i, length[i]  # carried over: its own char probs
            if length[i] > 0:
                c_lastp[e] = cps[i, length[i] - 1]
                c_pnb[e] += pnb[i] * row[last[i]]
            for a in range(starts[t], starts[t + 1]):
                c = active[a]
                j = -1  # the beam this extension is, if one is
                for k in range(beams):
                    if length[k] == length[i] + 1 and last[k] == c \
                            and _same_prefix(parents[node[k]], node[i], parents, classes):
                        j = k
                        break
                if j >= 0 and own[j] >= 0:
                    e = own[j]
                else:
                    e = n
                    c_pb[n], c_pnb[n], c_source[n] = 0.0, 0.0, -1
                    if j >= 0:
                        own[j] = n
                        c_beam[n], c_class[n] = j, -1
                    else:
                        c_beam[n], c_class[n] = i, c
                    n += 1
                if length[i] > 0 and c == last[i]:
                    c_pnb[e] += pb[i] * row[c]
                else:
                    c_pnb[e] += total * row[c]
                if c_source[e] < 0:
                    c_source[e], c_len[e], c_lastp[e] = i, length[i] + 1, row[c]
                else:  # the most confident step seen for this character
                    c_lastp[e] = max(c_lastp[e], row[c])
        # The ``width`` best, by insertion: a candidate goes below every one at least as likely,
        # so equal ones stay in the order they were made (a stable sort's order).
        kept = 0
        for e in range(n):
            total = c_pb[e] + c_pnb[e]
            r = kept
            while r > 0 and c_pb[order[r - 1]] + c_pnb[order[r - 1]] < total:
                r -= 1
            if r >= width:
                continue
            for q in range(min(kept, width - 1), r, -1):
                order[q] = order[q - 1]
            order[r] = e
            kept = min(kept + 1, width)
        for r in range(kept):
            e = order[r]
            i = c_beam[e]
            if c_class[e] < 0:
                new_node[r], new_last[r] = node[i], last[i]
            else:
                parents[n_nodes], classes[n_nodes] = node[i], c_class[e]
                new_node[r], new_last[r] = n_nodes, c_class[e]
                n_nodes += 1
            source, size = c_source[e], c_len[e]
            for q in range(size - 1):
                next_cps[r, q] = cps[source, q]
            if size > 0:
                next_cps[r, size - 1] = c_lastp[e]
        for r in range(kept):
            e = order[r]
            node[r], last[r], pb[r], pnb[r], length[r] = new_node[r], new_last[r], c_pb[e], c_pnb[e], c_len[e]
        cps, next_cps = next_cps, cps
        beams = kept
    prefixes = np.empty((beams, longest), np.int64)  # row k: beam k's classes, up to length[k]
    for k in range(beams):
        at = node[k]
        for q in range(length[k] - 1, -1, -1):
            prefixes[k, q] = classes[at]
            at = parents[at]
    return pb[:beams] + pnb[:beams], cps[:beams].copy(), length[:beams].copy(), prefixes
