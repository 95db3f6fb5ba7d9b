"""The statistics pass must never modify the session's arrays (they are the user's data)."""

import numpy as np

import sharedrep as sr


def test_compute_stats_leaves_session_data_unchanged():
    cohort, _ = sr.simulate.cohort(n_sessions=1, n_samples=200, seed=2)
    s = cohort[0]
    before_x, before_y = np.array(s.behavior, copy=True), np.array(s.neural, copy=True)
    first = sr.compute_stats(s, sr.TemporalExpansion(range(-1, 3)))
    np.testing.assert_array_equal(s.behavior, before_x)
    np.testing.assert_array_equal(s.neural, before_y)
    # and a second pass sees the same data, so it gives the same statistics
    second = sr.compute_stats(s, sr.TemporalExpansion(range(-1, 3)))
    np.testing.assert_array_equal(first.shift_x, second.shift_x)
    np.testing.assert_allclose(first.means()[0], second.means()[0], rtol=1e-12)
