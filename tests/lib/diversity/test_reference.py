"""The float64 reference of diversity sequences and the validity rule, against sequences
worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from pxos.lib.diversity.reference import is_valid, max_gaps, reference_sequence, step_gaps


def _unit(rows) -> np.ndarray:
    a = np.asarray(rows, np.float64)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


# e0 = (1,0), e1 = (0,1), e2 = (-1,0), e3 = (0.6,0.8)
SQUARE = _unit([[1, 0], [0, 1], [-1, 0], [0.6, 0.8]])


def test_hand_computed_sequence():
    # from 0: c=(1,0) → scores e1 0, e2 -1, e3 0.6 → 2; c=(0,0) → e1, e3 tie at 0 → 1
    # (lowest index); c=(0,1) → e3
    assert reference_sequence(SQUARE, 0).tolist() == [0, 2, 1, 3]
    # from 3: c=(.6,.8) → e0 .6, e1 .8, e2 -.6 → 2; c=(-.4,.8) → e0 -.4, e1 .8 → 0
    assert reference_sequence(SQUARE, 3).tolist() == [3, 2, 0, 1]


def test_ties_go_to_the_lowest_index():
    E = _unit([[1, 0], [0, 1], [0, 1], [0, 1]])  # three equal rows
    assert reference_sequence(E, 0).tolist() == [0, 1, 2, 3]
    assert reference_sequence(E, 3).tolist() == [3, 0, 1, 2]


@pytest.mark.parametrize("start", [0, 17, 39])
def test_a_permutation_that_begins_with_the_start(start):
    E = _unit(np.random.default_rng(start).standard_normal((40, 6)))
    seq = reference_sequence(E, start)
    assert seq[0] == start
    assert sorted(seq.tolist()) == list(range(40))


def test_each_step_minimises_the_dot_product_with_the_sum():
    E = _unit(np.random.default_rng(5).standard_normal((30, 4)))
    seq = reference_sequence(E, 11)
    for k in range(1, 30):
        c = E[seq[:k]].sum(axis=0)  # computed independently, from scratch each step
        rest = np.setdiff1d(np.arange(30), seq[:k])
        assert seq[k] == rest[np.argmin(E[rest] @ c)]


def test_the_reference_is_valid_with_zero_gaps():
    E = _unit(np.random.default_rng(2).standard_normal((25, 5)))
    seq = reference_sequence(E, 4)
    assert is_valid(E, seq)
    assert np.all(step_gaps(E, seq) == 0)


def test_a_wrong_step_is_invalid():
    E = _unit(np.random.default_rng(3).standard_normal((25, 5)))
    seq = reference_sequence(E, 4)
    seq[[5, 9]] = seq[[9, 5]]
    assert not is_valid(E, seq)
    assert step_gaps(E, seq)[4] > 1e-3


def test_near_ties_within_the_tolerance_are_valid():
    # e1 and e2 score -0.5 and -0.5 + 1e-7 against e0: choosing e2 is within 1e-5·max|score|
    a = np.array([[1.0, 0, 0], [-0.5, 0.8, 0], [-0.5 + 1e-7, -0.8, 0]])
    E = _unit(a)
    assert is_valid(E, [0, 1, 2]) and is_valid(E, [0, 2, 1])
    far = _unit([[1.0, 0, 0], [-0.5, 0.8, 0], [-0.4, -0.8, 0]])
    assert is_valid(far, [0, 1, 2]) and not is_valid(far, [0, 2, 1])


def test_not_a_permutation_is_invalid():
    assert not is_valid(SQUARE, [0, 2, 2, 3])
    assert not is_valid(SQUARE, [0, 2, 1])
    with pytest.raises(ValueError):
        step_gaps(SQUARE, [0, 1, 1, 3])


def test_max_gaps_equal_step_gaps_sequence_by_sequence():
    E = _unit(np.random.default_rng(8).standard_normal((20, 4)))
    good = reference_sequence(E, 3)
    bad = reference_sequence(E, 7)
    bad[[4, 8]] = bad[[8, 4]]
    broken = good.copy()
    broken[5] = broken[6]  # not a permutation
    gaps = max_gaps(E, np.stack([good, bad, broken]))
    assert gaps[0] == 0 and gaps[2] == np.inf
    assert gaps[1] == pytest.approx(step_gaps(E, bad).max(), rel=1e-12)
