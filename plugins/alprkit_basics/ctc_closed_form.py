"""CTC prefix beam search in plain Python, for installs without numba (the base install).

The same beam as the compiled search (:mod:`alprkit_basics.ctc_compiled`) and the first one
(``tests/ctc_reference.py``), to about 1e-15: it sums runs of blank steps in closed form rather than
step by step. 0.49 ms per plate on real cn crops against the compiled 0.10 (docs/bench.md).
"""

from __future__ import annotations

from operator import itemgetter

import numpy as np

# Most steps of a plate read are blank (about 77% of LPRNet's 88 steps on real crops): no class
# but the blank reaches ``prune``, so no prefix grows there, and a whole run of such steps is
# applied to each beam at once (:func:`_schedule`). Only the other steps go through the beams one
# candidate at a time, and an extension that cannot reach the beam is never built.

# A step is quiet when no non-blank class reaches ``prune`` and each is below _QUIET times the
# blank: a run of quiet steps s..e-1 maps a beam ending in class c, (p_b, p_nb), to
#   p_b' = B (p_b + p_nb x_c),  p_nb' = p_nb R_c,
# with B the product of the blank's probabilities, R_c that of c's, and
#   x_c = sum over k = s..e-1 of prod over t = s..k-1 of q_t = 1 + q_s + q_s q_s+1 + ...,
# q_t = P(c at t) / P(blank at t) <= _QUIET: _TERMS terms leave out less than _QUIET ** 4 = 1e-16.
_QUIET = 1e-4
_TERMS = 3
_TOTAL = itemgetter(0)


def prefix_search(probs, blank: int, width: int, prune: float) -> dict:
    """``{prefix (class indices): (probability, per-character probabilities)}`` of the final beam.

    The same beam as the textbook CTC prefix beam search that keeps the ``width`` most
    likely prefixes after each step (ties in the order the prefixes were made): each
    character's probability is the highest of its steps while the search extended it.
    A run of blank steps is summed in another order than step by step, which may part, by
    one rounding, two prefixes that step-by-step sums find exactly equal.
    """
    segments, runs, events, columns = _schedule(np.asarray(probs), blank, prune)
    # A beam: (total, p_blank, p_nonblank, last column (-1: empty), prefix id, parent's prefix id, char probs).
    beams = [(1.0, 1.0, 0.0, -1, 0, -1, ())]
    nodes, ids = [(-1, -1)], {}  # prefix id <-> (parent's prefix id, last class): prefixes are never copied
    for quiet, k in segments:
        if quiet:
            beams = _quiet_run(beams, *runs[k])
        else:
            beams = _step(beams, *events[k], width, nodes, ids)
    found = {}
    for beam in beams:
        chars, node = [], beam[4]
        while node:
            node, c = nodes[node]
            chars.append(columns[c])
        found[tuple(reversed(chars))] = (beam[1] + beam[2], beam[6])
    return found


def _schedule(probs, blank, prune):
    """The steps in order as (quiet, index), the runs' (B, x, R) and the other steps' (row, p_blank, classes).

    Classes are columns: the blank's first, then each class that reaches ``prune`` at some
    step (the only ones a prefix can end in), in class order; ``columns`` maps them back.
    """
    steps, classes = probs.shape
    b = probs[:, blank].astype(np.float64)
    if classes > 1:
        others = probs[:, 1:] if blank == 0 else np.delete(probs, blank, axis=1)
        top = others.max(axis=1)
        # Compared in the scores' own dtype, as the classes are picked (float32 for 1e-4).
        quiet = ((top < prune) & (top <= _QUIET * b) & (b > 0)).tolist()
    else:
        quiet = [True] * steps
    segments, bounds, starts, lengths, event_steps = [], [], [], [], []
    t = 0
    while t < steps:
        if not quiet[t]:
            segments.append((False, len(event_steps)))
            event_steps.append(t)
            t += 1
            continue
        start = t
        while t < steps and quiet[t]:
            t += 1
        segments.append((True, len(starts)))
        starts.append(start)
        lengths.append(t - start)
        bounds += [start, t] if t < steps else [start]
    used = np.zeros(0, dtype=np.intp)
    if event_steps:
        reach = probs[event_steps] >= prune
        reach[:, blank] = False
        used = np.flatnonzero(reach.any(axis=0))
    columns = [blank, *used.tolist()]
    p = probs[:, columns].astype(np.float64)
    runs = []
    if starts:
        products = np.multiply.reduceat(p, bounds, axis=0)[::2]  # each run's product, per column
        j = np.arange(_TERMS)
        inside = j < (np.array(lengths) - 1)[:, None]
        at = np.where(inside, np.array(starts)[:, None] + j, np.array(starts)[:, None])
        q = p[at]
        q /= q[:, :, :1]
        q[~inside] = 0.0
        x = q[:, _TERMS - 1] + 1.0
        for k in range(_TERMS - 2, -1, -1):
            x *= q[:, k]
            x += 1.0
        runs = list(zip(products[:, 0].tolist(), x.tolist(), products.tolist()))
    events = []
    if event_steps:
        rows = p[event_steps].tolist()
        grow = [[] for _ in event_steps]
        for k, c in zip(*(a.tolist() for a in np.nonzero(reach[:, used]))):
            grow[k].append(c + 1)
        events = [(row, row[0], cls) for row, cls in zip(rows, grow)]
    return segments, runs, events, columns


def _quiet_run(beams, blank_product, x, products):
    moved = []
    for _, pb, pnb, last, node, parent, cps in beams:
        if pnb:
            pb = blank_product * (pb + pnb * x[last])
            pnb = pnb * products[last]
        else:
            pb = blank_product * pb
        moved.append((pb + pnb, pb, pnb, last, node, parent, cps))
    if len(moved) > 1:
        moved.sort(key=_TOTAL, reverse=True)
    return moved


def _step(beams, row, p_blank, classes, width, nodes, ids):
    """One step that may extend prefixes by ``classes``: the next ``width`` beams, most likely first.

    Candidates are ordered as the textbook search makes them (each beam, then its extensions
    by class), which breaks ties in the stable sort.
    """
    own, ends = [], []  # each beam carried over (by a blank, or repeating its last class); those ending in classes
    for j, (total, pb, pnb, last, node, parent, cps) in enumerate(beams):
        own_b = total * p_blank
        if pnb:
            own_nb = pnb * row[last]
            own.append((own_b + own_nb, own_b, own_nb, last, node, parent, cps))
            if last in classes:
                ends.append(j)
        else:
            own.append((own_b, own_b, 0.0, last, node, parent, cps))
            if last in classes:
                ends.append(j)
    n = len(beams)
    if not classes:
        if n > 1:
            own.sort(key=_TOTAL, reverse=True)
        return own
    # A beam whose parent is also in the beam gets the parent's extension by its last class
    # (children[parent][class] = child). Its char probs stay its own; as in the old search, a
    # child ranked above its parent also takes this step's probability if it is higher.
    children = None
    if n > 1 and ends:
        where = {beam[4]: i for i, beam in enumerate(beams)}
        for j in ends:
            i = where.get(beams[j][5])
            if i is None:
                continue
            c = beams[j][3]
            p_c = row[c]
            _, pb, _, last, _, _, _ = beams[i]
            gain = (pb if c == last else beams[i][0]) * p_c
            total, own_b, own_nb, last, node, parent, cps = own[j]
            own_nb = own_nb + gain
            if j < i:
                cps = cps[:-1] + (max(cps[-1], p_c),)
            own[j] = (own_b + own_nb, own_b, own_nb, last, node, parent, cps)
            if children is None:
                children = {}
            children.setdefault(i, {})[c] = j
    # Anything below the width-th carried-over beam cannot enter the beam: at least width are above it.
    floor = min(own)[0] if n >= width else -1.0
    best_class = max(row[c] for c in classes)
    made, placed = [], [False] * n if children else None
    for i, (total, pb, _, last, _, _, _) in enumerate(beams):
        if placed is None:
            made.append(own[i])
            if total * best_class < floor:  # so is every later (less likely) beam's extension
                made.extend(own[i + 1 :])
                break
        else:
            if not placed[i]:
                made.append(own[i])
                placed[i] = True
            mine = children.get(i)
            if mine is None and total * best_class < floor:
                continue
        for c in classes:
            if placed is not None and mine is not None and c in mine:
                j = mine[c]
                if not placed[j]:
                    made.append(own[j])
                    placed[j] = True
                continue
            p_c = row[c]
            gain = (pb if c == last else total) * p_c
            if gain >= floor:
                made.append((gain, 0.0, gain, c, None, i, p_c))
    made.sort(key=_TOTAL, reverse=True)
    del made[width:]
    for k, entry in enumerate(made):
        if entry[4] is None:  # a new prefix: beam entry[5] extended by class entry[3]
            parent = beams[entry[5]]
            key = (parent[4], entry[3])
            node = ids.get(key)
            if node is None:  # a prefix can leave the beam and come back: it keeps its id
                node = ids[key] = len(nodes)
                nodes.append(key)
            made[k] = (entry[0], 0.0, entry[2], entry[3], node, parent[4], parent[6] + (entry[6],))
    return made
