"""The shared machinery of the study's tests: permutations within strata, intervals over
animals, tracked neurons."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.stats as ss

from sharedrep.inference.permutation import (
    animal_interval,
    cluster_bootstrap,
    permutation_pvalue,
    studentize,
    tracked_neurons,
    within_permutations,
)


def test_within_permutations_stay_in_strata_and_are_uniform():
    strata = np.array(["a", "a", "a", "b", "b"])
    perms = within_permutations(strata, 12_000, np.random.default_rng(0))
    assert np.all(strata[perms] == strata[None])
    # every one of the 3! x 2! = 12 labellings, equally often
    seen = {tuple(p) for p in perms}
    assert len(seen) == 12
    counts = np.unique([hash(tuple(p)) for p in perms], return_counts=True)[1]
    assert ss.chisquare(counts).pvalue > 0.001


def test_permutation_pvalue_counts_ties_and_extremes():
    null = np.array([1.0, -2.0, 0.5, np.nan, np.inf])
    assert permutation_pvalue(2.0, null) == pytest.approx((1 + 2) / (1 + 4))
    assert permutation_pvalue(2.0, null, "greater") == pytest.approx((1 + 1) / 5)
    assert permutation_pvalue(-2.0, null, "less") == pytest.approx((1 + 1) / 5)
    assert np.isnan(permutation_pvalue(np.nan, null))
    np.testing.assert_array_equal(studentize(np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.0, 4.0])),
                                  [0.0, np.inf, 1.0])  # fmt: skip


def test_cluster_bootstrap_draws_animals_with_replacement():
    counts = cluster_bootstrap(5, 4000, np.random.default_rng(1))
    assert counts.shape == (4000, 5) and np.all(counts.sum(axis=1) == 5)
    np.testing.assert_allclose(counts.mean(axis=0), 1.0, atol=0.05)
    np.testing.assert_allclose(counts.var(axis=0), 4 / 5, atol=0.05)  # multinomial(5, 1/5)


def test_animal_interval_of_a_mean_is_the_t_interval():
    rng = np.random.default_rng(2)
    x = rng.normal(1.0, 2.0, size=6)
    counts = cluster_bootstrap(6, 20_000, rng)
    boot = counts @ x / 6
    iv = animal_interval(x.mean(), boot, 6, 0.9)
    t = ss.ttest_1samp(x, 0.0)
    lo, hi = t.confidence_interval(0.9)
    assert iv["ci_low"] == pytest.approx(lo, rel=0.03) and iv["ci_high"] == pytest.approx(
        hi, rel=0.03
    )
    assert iv["p_animals"] == pytest.approx(t.pvalue, rel=0.05)
    assert np.isnan(animal_interval(1.0, boot[:, None], 1)["se"])


def test_tracked_neurons_needs_the_same_neurons_and_labels():
    subj = np.repeat(["m0", "m1"], 4)
    sess = np.repeat(["a", "b", "c", "d"], 2)
    names = np.array(["x", "y", "y", "x", "u", "v", "u", "v"])
    ids = tracked_neurons(subj, sess, names, None)
    # one id per (animal, neuron), the same in both of its sessions
    assert ids[0] == ids[3] and ids[1] == ids[2] and ids[4] == ids[6] and len(set(ids)) == 4
    labels = np.array([1, 0, 0, 1, 1, 1, 1, 1])
    assert tracked_neurons(subj, sess, names, labels) is not None
    labels[3] = 0  # neuron x of m0 changes label between sessions
    assert tracked_neurons(subj, sess, names, labels) is None
    other = names.copy()
    other[6] = "w"  # session c has other cells
    assert tracked_neurons(subj, sess, other, None) is None


def test_every_labelling_of_a_tiny_design_is_reachable():
    strata = np.array([0, 0, 1, 1, 1])
    perms = within_permutations(strata, 3000, np.random.default_rng(3))
    expected = {
        (*a, *b) for a in itertools.permutations([0, 1]) for b in itertools.permutations([2, 3, 4])
    }
    assert {tuple(p) for p in perms} == expected
