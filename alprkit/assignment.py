"""Optimal assignment of rows to columns (the Hungarian method), for the Kalman tracker.

Tracks times detections is a few rows by a few columns, so a plain shortest-augmenting-path
Hungarian algorithm (Jonker-Volgenant style, O(n^2 m)) is fast enough, and it saves the
base install SciPy (about 140 MB) for its ``linear_sum_assignment``.
"""

from __future__ import annotations

import numpy as np


def linear_sum_assignment(cost, maximize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)`` pairing ``min(n, m)`` rows and columns of an ``n x m`` matrix with the least
    (or, with ``maximize``, the greatest) total; rows ascending, as SciPy's function returns them."""
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError(f"the cost must be a 2-d matrix, got shape {cost.shape}")
    if not np.isfinite(cost).all():
        raise ValueError("the cost matrix must be finite")
    if maximize:
        cost = -cost
    transposed = cost.shape[0] > cost.shape[1]
    if transposed:  # the algorithm assigns every row: rows must be the shorter side
        cost = cost.T
    n, m = cost.shape
    col_of_row = _assign_rows(cost) if n else np.zeros(0, dtype=np.int64)
    rows = np.arange(n, dtype=np.int64)
    if transposed:
        rows, col_of_row = col_of_row, rows
        order = np.argsort(rows)
        rows, col_of_row = rows[order], col_of_row[order]
    return rows, col_of_row


def _assign_rows(cost: np.ndarray) -> np.ndarray:
    """The column of each row (n <= m): rows join one at a time along a shortest augmenting path in
    reduced costs; the potentials ``u``, ``v`` keep every reduced cost >= 0 and tight on the matching."""
    n, m = cost.shape
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    row_of = np.zeros(m + 1, dtype=np.int64)  # 1-based row of column j (1-based), 0: none; column 0 is the root
    way = np.zeros(m + 1, dtype=np.int64)  # the previous column on the path to column j
    for i in range(1, n + 1):
        row_of[0] = i
        j0 = 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = row_of[j0]
            free = ~used[1:]
            reduced = cost[i0 - 1] - u[i0] - v[1:]
            better = free & (reduced < minv[1:])
            minv[1:][better] = reduced[better]
            way[1:][better] = j0
            candidates = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(candidates)) + 1
            delta = candidates[j1 - 1]
            u[row_of[used]] += delta
            v[used] -= delta
            minv[~used] -= delta
            j0 = j1
            if row_of[j0] == 0:
                break
        while j0:  # flip the path: each column on it takes the row of the column before
            j1 = way[j0]
            row_of[j0] = row_of[j1]
            j0 = j1
    col_of_row = np.zeros(n, dtype=np.int64)
    for j in range(1, m + 1):
        if row_of[j]:
            col_of_row[row_of[j] - 1] = j - 1
    return col_of_row
