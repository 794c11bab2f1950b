"""The Kalman tracker's optimal assignment, checked against every assignment of small rectangular matrices."""

from itertools import permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from alprkit.assignment import linear_sum_assignment

# Values from a few levels make ties (and IoU 0 everywhere but one pair) common; floats cover the rest.
values = st.one_of(st.sampled_from([0.0, 0.1, 0.5, 1.0]), st.floats(-10, 10, allow_nan=False, width=32))
matrices = st.tuples(st.integers(0, 5), st.integers(0, 5)).flatmap(
    lambda shape: arrays(np.float64, shape, elements=values))


def best_by_brute_force(cost, maximize):
    n, m = cost.shape
    if n > m:
        return best_by_brute_force(cost.T, maximize)
    totals = [sum(cost[i, j] for i, j in enumerate(cols)) for cols in permutations(range(m), n)]
    return max(totals) if maximize else min(totals)


@settings(max_examples=300, deadline=None, database=None)
@given(cost=matrices, maximize=st.booleans())
def test_the_assignment_is_optimal_and_one_to_one(cost, maximize):
    rows, cols = linear_sum_assignment(cost, maximize=maximize)
    assert len(rows) == len(cols) == min(cost.shape)
    assert len(set(rows.tolist())) == len(rows) and len(set(cols.tolist())) == len(cols)
    assert list(rows) == sorted(rows)
    total = float(cost[rows, cols].sum())
    assert total == pytest.approx(best_by_brute_force(cost, maximize), abs=1e-9)


def test_a_greedy_choice_is_not_optimal_here():
    # Greedy takes the 0.9 first and must then pair the 0.0; the optimum pairs 0.8 and 0.8.
    overlap = np.array([[0.9, 0.8], [0.8, 0.0]])
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    assert list(zip(rows.tolist(), cols.tolist())) == [(0, 1), (1, 0)]


@pytest.mark.parametrize("cost", [np.zeros(3), np.array([[0.0, np.nan]]), np.array([[np.inf, 1.0]])])
def test_a_malformed_matrix_is_refused(cost):
    with pytest.raises(ValueError):
        linear_sum_assignment(cost)
