"""Sufficient statistics: chunking, folds, segments and NaN handling against direct sums."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import sharedrep as sr
from conftest import reference_design, reference_drift
from sharedrep.features import TemporalExpansion, raised_cosine_basis, valid_rows
from sharedrep.folds import fold_labels
from sharedrep.stats import stack


def _direct(session, lags, basis=None, rows_mask=None):
    """Centred statistics computed from an explicitly built design (no chunking, no shifts)."""
    X = np.asarray(session.behavior, float)
    Y = np.asarray(session.neural, float)
    usable = session.usable if session.n_omitted else None
    Phi, rows = reference_design(X, lags, session.segments, usable)
    if rows_mask is not None:
        keep = rows_mask[rows]
        Phi, rows = Phi[keep], rows[keep]
    if basis is not None:
        p = X.shape[1]
        Phi = Phi @ np.kron(np.eye(p), basis)
    Yr = Y[rows]
    Pc, Yc = Phi - Phi.mean(0), Yr - Yr.mean(0)
    return Pc.T @ Pc, Pc.T @ Yc, (Yc**2).sum(0), Yc.T @ Yc, Phi.mean(0), Yr.mean(0), len(rows)


@pytest.mark.parametrize("chunk_size", [1, 7, 64, None])
def test_chunked_statistics_equal_in_memory(small_cohort, chunk_size):
    cohort, _ = small_cohort
    session = cohort[1]
    lags = [-2, -1, 0, 1, 2]
    st = sr.compute_stats(session, TemporalExpansion(lags), chunk_size=chunk_size, gram=True)
    cov, cross, _ysq, gram, mphi, my, n = _direct(session, lags)
    c_cov, c_cross, c_gram = st.centered()
    assert st.count[0] == n
    np.testing.assert_allclose(c_cov, cov, rtol=0, atol=1e-10 * np.abs(cov).max())
    np.testing.assert_allclose(c_cross, cross, rtol=0, atol=1e-10 * np.abs(cross).max())
    np.testing.assert_allclose(c_gram, gram, rtol=0, atol=1e-10 * np.abs(gram).max())
    m_phi, m_y = st.means()
    np.testing.assert_allclose(m_phi, mphi, atol=1e-12)
    np.testing.assert_allclose(m_y, my, atol=1e-12)


def test_sum_of_squares_matches_gram_diagonal(small_cohort):
    cohort, _ = small_cohort
    exp = TemporalExpansion(range(-1, 2))
    diag = sr.compute_stats(cohort[0], exp).centered()[2]
    full = sr.compute_stats(cohort[0], exp, gram=True).centered()[2]
    np.testing.assert_allclose(diag, np.diag(full), rtol=1e-12)


def test_fold_blocks_add_up_and_subtract(small_cohort):
    cohort, _ = small_cohort
    session = cohort[2]
    exp = TemporalExpansion([-1, 0, 3])  # non-contiguous lags
    folds = fold_labels(session, 4)
    per_fold = sr.compute_stats(session, exp, folds=folds, chunk_size=50)
    whole = sr.compute_stats(session, exp)
    # raw sums are about different shifts (first-chunk means); centred moments must agree
    assert per_fold.total().count[0] == whole.count[0]
    for a, b in zip(per_fold.total().centered(), whole.centered(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10 * np.abs(b).max())
    for a, b in zip(per_fold.total().means(), whole.means(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)
    valid = valid_rows(session.n_samples, exp.lags, session.segments)
    for k in range(4):
        train = per_fold.without(k).centered()[0]
        ref = _direct(session, exp.lags, rows_mask=valid & (folds != k))[0]
        np.testing.assert_allclose(train, ref, atol=1e-10 * np.abs(ref).max())


def test_lags_never_cross_segments():
    X = np.arange(20.0)[:, None]
    seg = np.repeat([0, 1, 2, 3], 5)
    rows = valid_rows(20, np.array([-1, 0, 1]), seg)
    assert np.flatnonzero(rows).tolist() == [1, 2, 3, 6, 7, 8, 11, 12, 13, 16, 17, 18]
    design = TemporalExpansion([-1, 0, 1]).design(X, rows)
    # row t holds x(t+1), x(t), x(t-1) for lags -1, 0, 1
    np.testing.assert_array_equal(design[6], [7.0, 6.0, 5.0])
    assert np.isnan(design[5]).all()


def test_basis_statistics_are_the_projected_lag_statistics(small_cohort):
    cohort, _ = small_cohort
    lags = list(range(-3, 4))
    basis = raised_cosine_basis(lags, 3)
    st = sr.compute_stats(cohort[0], TemporalExpansion(lags, n_basis=3), chunk_size=33)
    cov, cross, *_ = _direct(cohort[0], lags, basis=basis)
    np.testing.assert_allclose(st.centered()[0], cov, atol=1e-10 * np.abs(cov).max())
    np.testing.assert_allclose(st.centered()[1], cross, atol=1e-10 * np.abs(cross).max())


def test_raised_cosine_basis_tiles_the_lags():
    B = raised_cosine_basis(range(-10, 11), 5)
    assert B.shape == (21, 5)
    np.testing.assert_allclose(B.sum(1), 1.0, atol=1e-12)
    assert (B >= 0).all() and np.allclose(B.max(0), 1.0)


def test_omitted_samples_break_lag_windows():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(200, 2)), rng.normal(size=(200, 3))
    X[50, 1] = np.nan
    Y[120, 0] = np.inf
    with pytest.warns(sr.SharedRepWarning, match="omitting 2 of 200"):
        s = sr.Session(X, Y, name="s", nan_policy="omit")
    assert s.n_omitted == 2
    st = sr.compute_stats(s, TemporalExpansion([-1, 0, 1]))
    # rows 49..51 and 119..121 lose their windows, plus the two recording edges
    assert st.count[0] == 200 - 2 - 6
    _cov, cross, *_ = _direct(s, [-1, 0, 1])
    np.testing.assert_allclose(st.centered()[1], cross, atol=1e-10)


def test_residual_sums_match_direct_prediction(small_cohort):
    cohort, _ = small_cohort
    s = cohort[0]
    rng = np.random.default_rng(1)
    exp = TemporalExpansion([0, 1])
    st = sr.compute_stats(s, exp)
    coef = rng.normal(size=(exp.n_columns(s.n_features), s.n_neurons))
    icpt = rng.normal(size=s.n_neurons)
    Phi, rows = reference_design(np.asarray(s.behavior), [0, 1], s.segments)
    Y = np.asarray(s.neural)[rows]
    sse, sst = st.residual_ss(coef, icpt)
    np.testing.assert_allclose(sse, ((Y - icpt - Phi @ coef) ** 2).sum(0), rtol=1e-9)
    np.testing.assert_allclose(sst, ((Y - Y.mean(0)) ** 2).sum(0), rtol=1e-9)


def test_stacked_low_rank_scores_match_direct_prediction(small_cohort):
    """Several sessions scored at once, with coef = basis @ readout kept factored."""
    cohort, _ = small_cohort
    rng = np.random.default_rng(2)
    exp = TemporalExpansion([-1, 0, 2])
    sessions = list(cohort)[:3]
    stacked = stack([sr.compute_stats(s, exp) for s in sessions])
    q, d = exp.n_columns(cohort[0].n_features), 2
    basis = rng.normal(size=(q, d))
    readout = rng.normal(size=(d, stacked.session.size))
    icpt = rng.normal(size=stacked.session.size)
    sse, sst = stacked.residual_ss(readout, icpt, basis)
    for i, s in enumerate(sessions):
        sl = slice(stacked.offsets[i], stacked.offsets[i + 1])
        Phi, rows = reference_design(np.asarray(s.behavior), exp.lags, s.segments)
        Y = np.asarray(s.neural)[rows]
        pred = icpt[sl] + Phi @ basis @ readout[:, sl]
        np.testing.assert_allclose(sse[sl], ((Y - pred) ** 2).sum(0), rtol=1e-9)
        np.testing.assert_allclose(sst[sl], ((Y - Y.mean(0)) ** 2).sum(0), rtol=1e-9)
        mean_phi, mean_y = stacked.means()
        np.testing.assert_allclose(mean_phi[i], Phi.mean(0), atol=1e-12)
        np.testing.assert_allclose(mean_y[sl], Y.mean(0), atol=1e-12)


def test_stacked_scores_with_nuisance_match_direct_prediction():
    """Covariates as nuisance columns, coef kept factored; the Grams of several bases read at
    once (projected_gram) give the scores of each basis alone."""
    rng = np.random.default_rng(3)
    exp = TemporalExpansion([0, 1, 3])
    sessions = [_trial_session(seed, nan=False) for seed in (4, 5)]
    stacked = stack([sr.compute_stats(s, exp) for s in sessions])
    q, N = exp.n_columns(3), stacked.session.size
    basis, other = rng.normal(size=(q, 2)), rng.normal(size=(q, 3))
    readout, gamma = rng.normal(size=(2, N)), rng.normal(size=(2, N))
    icpt = rng.normal(size=N)
    sse, sst = stacked.residual_ss(readout, icpt, basis, nuisance_coef=gamma)
    both = stacked.projected_gram(np.hstack([other, basis]))
    again = stacked.residual_ss(readout, icpt, basis, nuisance_coef=gamma, forms=both[:, 3:, 3:])
    np.testing.assert_allclose(again[0], sse, rtol=1e-12)
    for i, s in enumerate(sessions):
        sl = slice(stacked.offsets[i], stacked.offsets[i + 1])
        Phi, rows = reference_design(np.asarray(s.behavior), exp.lags, s.segments)
        Y = np.asarray(s.neural)[rows]
        nu = np.asarray(s.covariates)[rows]
        pred = icpt[sl] + Phi @ basis @ readout[:, sl] + nu @ gamma[:, sl]
        np.testing.assert_allclose(sse[sl], ((Y - pred) ** 2).sum(0), rtol=1e-9)
        np.testing.assert_allclose(sst[sl], ((Y - Y.mean(0)) ** 2).sum(0), rtol=1e-9)


def test_statistics_never_modify_the_input(small_cohort):
    cohort, _ = small_cohort
    s = cohort[3]
    before_x, before_y = np.array(s.behavior, copy=True), np.array(s.neural, copy=True)
    first = sr.compute_stats(s, TemporalExpansion([-2, 0, 2]), chunk_size=100, gram=True)
    np.testing.assert_array_equal(s.behavior, before_x)
    np.testing.assert_array_equal(s.neural, before_y)
    # so a second pass sees the same data and gives the same statistics
    second = sr.compute_stats(s, TemporalExpansion([-2, 0, 2]), chunk_size=100, gram=True)
    np.testing.assert_array_equal(first.shift_x, second.shift_x)
    np.testing.assert_array_equal(first.phi_y, second.phi_y)


def test_chunked_pass_never_builds_the_whole_design():
    import tracemalloc

    rng = np.random.default_rng(2)
    T, p, n = 60_000, 4, 30
    s = sr.Session(rng.normal(size=(T, p)), rng.normal(size=(T, n)), name="long")
    exp = TemporalExpansion(range(-5, 5))
    full_design_bytes = T * exp.n_columns(p) * 8
    tracemalloc.start()
    sr.compute_stats(s, exp, chunk_size=2_000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < full_design_bytes / 4, (peak, full_design_bytes)


def test_neuron_silent_in_a_block_has_zero_total_variance():
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(400, 2)), rng.normal(size=(400, 3)) + 7.3
    Y[200:, 1] = 7.3  # constant in the second half only (its sst rounds to +1e-10)
    s = sr.Session(X, Y, np.repeat([0, 1], 200), name="half")
    st = sr.compute_stats(s, TemporalExpansion([0, 1]), folds=np.repeat([0, 1], 200))
    sse, sst = st.block(1).residual_ss(np.zeros((4, 3)), np.full(3, 7.3))
    assert sst[1] == 0.0 and sst[0] > 0 and sst[2] > 0
    scores = sr.Scores.from_sums(["half"], [s.neuron_names], [sse], [sst])
    assert np.isnan(scores.neuron.iloc[1]) and np.isfinite(scores.pooled)


def test_threaded_cohort_pass_equals_one_session_at_a_time(small_cohort):
    from sharedrep.backend import cohort_stats

    cohort, _ = small_cohort
    exp = TemporalExpansion([-1, 0, 2])
    together = cohort_stats(cohort, exp, n_folds=3)
    for s, st in zip(cohort, together, strict=True):
        alone = sr.compute_stats(s, exp, folds=fold_labels(s, 3), n_folds=3)
        assert st.name == s.name
        for a, b in zip(st.centered(), alone.centered(), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(st.count, alone.count)


# -- trial edges, covariates and drift against a design built by explicit loops ---------------
def _trial_session(seed, *, T=420, trials=True, nan=True, covariates=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(T, 3))
    X[:, 0] = (rng.random(T) < 0.05).astype(float)  # an event regressor
    Y = X[:, :1] @ rng.normal(size=(1, 4)) + rng.normal(size=(T, 4)) + 5.0
    seg = np.repeat(np.arange(T // 60), 60)[:T] if trials else None
    if nan:
        X[37, 1] = np.nan
        Y[201, 2] = np.nan
    cov = rng.normal(size=(T, 2)) + np.linspace(0, 3, T)[:, None] if covariates else None
    return sr.Session(X, Y, seg, covariates=cov, nan_policy="omit" if nan else "raise", name="s")


def _projected_reference(session, lags, zero, drift, basis=None, keep=None):
    """Centred moments with [1, covariates, drift] profiled out, from explicit loops."""
    X = np.asarray(session.behavior, float)
    Y = np.asarray(session.neural, float)
    usable = session.usable if session.n_omitted else None
    Phi, rows = reference_design(X, lags, session.segments, usable, zero)
    if keep is not None:
        Phi, rows = Phi[keep[rows]], rows[keep[rows]]
    if basis is not None:
        Phi = Phi @ np.kron(np.eye(X.shape[1]), basis)
    parts = [np.ones((rows.size, 1))]
    if session.covariates is not None:
        parts.append(np.asarray(session.covariates, float)[rows])
    if drift:
        parts.append(reference_drift(rows, session.n_samples, drift))
    N = np.hstack(parts)
    M = np.eye(rows.size) - N @ np.linalg.pinv(N)
    Yr = Y[rows]
    return Phi.T @ M @ Phi, Phi.T @ M @ Yr, np.einsum("tn,tn->n", Yr, M @ Yr), rows.size


@pytest.mark.parametrize("zero", ["none", "all", "mixed"])
@pytest.mark.parametrize("chunk_size", [7, 64, None])
@pytest.mark.parametrize("n_basis", [None, 3])
def test_statistics_with_edges_covariates_and_drift_equal_explicit_design(
    zero, chunk_size, n_basis
):
    session = _trial_session(3)
    lags = [-2, -1, 0, 1, 2, 3, 4, 5]  # 8 lags: long runs take the lagged route
    z = {"none": None, "all": [True] * 3, "mixed": [True, False, True]}[zero]
    ex = TemporalExpansion(lags, n_basis, z)
    basis = None if n_basis is None else raised_cosine_basis(lags, n_basis)
    st = sr.compute_stats(session, ex, chunk_size=chunk_size, drift=2)
    cov, cross, ysq, n = _projected_reference(session, lags, z, 2, basis)
    part = st.partial()
    assert st.count[0] == n
    for got, want in [(part.cov_phi, cov), (part.cross, cross), (part.y_sq, ysq)]:
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10 * np.abs(want).max())
    # standardisation's fused form: D cov D, written into a caller's array
    d = np.random.default_rng(0).uniform(0.5, 2.0, size=cov.shape[0])
    out = np.empty_like(cov)
    scaled = st.partial(out=out, column_scale=d).cov_phi
    assert scaled is out
    want = d[:, None] * cov * d[None, :]
    np.testing.assert_allclose(scaled, want, rtol=0, atol=1e-10 * np.abs(want).max())


@pytest.mark.parametrize("chunk_size", [50, None])
@pytest.mark.parametrize(("zero", "n_basis"), [([True, True, False], None), ([True] * 3, 4)])
def test_long_runs_and_folds_take_the_lagged_route_exactly(chunk_size, zero, n_basis):
    """Long trials: runs of hundreds of rows (the lagged route), zero edges, basis, folds."""
    session = _trial_session(5, T=900, nan=False)
    session = sr.Session(
        session.behavior, session.neural, np.repeat(np.arange(3), 300),
        covariates=session.covariates,
    )  # fmt: skip
    lags = list(range(0, 12))
    ex = TemporalExpansion(lags, n_basis, zero)
    basis = None if n_basis is None else raised_cosine_basis(lags, n_basis)
    labels = fold_labels(session, 3, "interleaved")
    st = sr.compute_stats(session, ex, folds=labels, chunk_size=chunk_size, drift=1)
    for k in range(3):
        cov, cross, ysq, n = _projected_reference(session, lags, zero, 1, basis, keep=labels == k)
        part = st.block(k).partial()
        assert st.block(k).count[0] == n
        np.testing.assert_allclose(part.cov_phi, cov, rtol=0, atol=1e-10 * np.abs(cov).max())
        np.testing.assert_allclose(part.cross, cross, rtol=0, atol=1e-10 * np.abs(cross).max())
        np.testing.assert_allclose(part.y_sq, ysq, rtol=0, atol=1e-10 * np.abs(ysq).max())


def test_zero_edges_keep_every_sample_of_a_trial():
    session = _trial_session(1, nan=False)
    lags = range(0, 10)
    drop = sr.compute_stats(session, TemporalExpansion(lags))
    zero = sr.compute_stats(session, TemporalExpansion(lags, None, [True] * 3))
    assert zero.count[0] == session.n_samples  # every sample keeps its full window
    assert drop.count[0] == session.n_samples - 9 * 7  # 7 trials lose their first 9 samples


def test_wide_designs_take_the_lagged_route_for_every_product():
    """Wide behavior (p >= LAGGED_CROSS_FEATURES): Phi'Y too comes lag by lag (no design)."""
    from sharedrep.stats.accumulate import LAGGED_CROSS_FEATURES

    rng = np.random.default_rng(8)
    p, T = LAGGED_CROSS_FEATURES, 700
    X = rng.normal(size=(T, p))
    Y = X[:, :2] @ rng.normal(size=(2, 3)) + rng.normal(size=(T, 3))
    s = sr.Session(X, Y, np.repeat([0, 1], [300, 400]), covariates=rng.normal(size=T))
    lags = list(range(-2, 6))
    zero = [j % 2 == 0 for j in range(p)]
    st = sr.compute_stats(s, TemporalExpansion(lags, None, zero), drift=2)
    cov, cross, ysq, n = _projected_reference(s, lags, zero, 2)
    part = st.partial()
    assert st.count[0] == n
    for got, want in [(part.cov_phi, cov), (part.cross, cross), (part.y_sq, ysq)]:
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10 * np.abs(want).max())


@pytest.mark.parametrize("lags", [range(-5, 5), range(0, 33, 4), [-3, 0, 1, 7]])
@pytest.mark.parametrize("zero", [None, (True, False, True)])
def test_lag_major_rows_are_the_design_rows_reordered(lags, zero):
    # consecutive lags take the one-gather path (a strided window view), others a gather per
    # lag; both must give design_rows' values, zero-padded edges and fill included
    rng = np.random.default_rng(3)
    exp = TemporalExpansion(lags, zero_edges=zero)
    tau_min, tau_max = exp.window
    m = 400
    block = rng.normal(size=(m, 3))
    segments = np.repeat(np.arange(8), 50)
    lo, hi = max(tau_max, 0), m - max(-tau_min, 0)
    rows = np.sort(rng.choice(np.arange(lo, hi), size=120, replace=False))
    fill = rng.normal(size=3)
    want = exp.design_rows(block, rows, segments=segments, fill=fill)
    out = np.full((rows.size, exp.n_columns(3)), np.nan)
    got = exp.lag_major_rows(block, rows, out, segments=segments, fill=fill)
    np.testing.assert_array_equal(got[:, exp.lag_major_order(3)], want)
    np.testing.assert_array_equal(block, np.random.default_rng(3).normal(size=(m, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_neural_data_of_any_dtype_give_the_statistics_of_their_float64_copy(dtype):
    """Trials (rows gathered batch by batch), folds, a neuron far from 0 (summed about its mean),
    and a batch smaller than a trial: never copied whole, the same sums as float64."""
    rng = np.random.default_rng(8)
    T, n = 3000, 7
    y = rng.poisson(3.0, size=(T, n)).astype(dtype)
    y[:, 0] += 5000  # |mean| >> sd: shifted
    trials = np.repeat(np.arange(T // 60), 60)
    x = rng.normal(size=(T, 3))
    native = sr.Session(x, y, trials, name="native")
    as_float = sr.Session(x, y.astype(float), trials, name="float")
    ex = TemporalExpansion(range(-3, 4))
    folds = fold_labels(native, 4)
    for chunk_size in (None, 37):
        a = sr.compute_stats(native, ex, folds=folds, chunk_size=chunk_size)
        b = sr.compute_stats(as_float, ex, folds=folds, chunk_size=chunk_size)
        for name in ("phi_phi", "phi_y", "sum_y", "y_sq", "count"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    part = sr.compute_stats(native, ex, chunk_size=37).partial()
    # the reference projects explicitly: centred first, or the offset costs it its digits
    centred = sr.Session(x, y - y.mean(axis=0, dtype=float), trials)
    cov, cross, ysq, _ = _projected_reference(centred, list(range(-3, 4)), None, 0)
    for got, want in [(part.cov_phi, cov), (part.cross, cross), (part.y_sq, ysq)]:
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10 * np.abs(want).max())


# -- standardisation in place, for the statistics a fit owns ------------------------------------
def _covariate_cohort(seed=5):
    rng = np.random.default_rng(seed)
    sessions = []
    for i, T in enumerate((500, 650, 580)):
        X = rng.normal(size=(T, 3)) * [1.0, 30.0, 0.01]
        Y = X @ rng.normal(size=(3, 6 + i)) + rng.normal(size=(T, 6 + i)) + 4.0
        cov = np.linspace(0, 1, T)[:, None] + rng.normal(size=(T, 1))
        sessions.append(sr.Session(X, Y, covariates=cov, name=f"s{i}"))
    return sr.Cohort(sessions)


def test_standardize_in_place_equals_the_copy_and_spends_only_owned_stats():
    from sharedrep.backend import cohort_stats
    from sharedrep.stats import standardize

    cohort = _covariate_cohort()
    exp = TemporalExpansion(range(-2, 6))
    names = cohort.feature_names
    stats = cohort_stats(cohort, exp, drift=2)
    raw = [s.phi_phi.copy() for s in stats]
    copied = standardize(stats, exp, names, ridge=3.0)
    for s, r in zip(stats, raw, strict=True):  # the default never writes into the statistics
        np.testing.assert_array_equal(s.phi_phi, r)
    spent = standardize(stats, exp, names, ridge=3.0, overwrite=True)
    assert np.shares_memory(spent.cov, stats[0].phi_phi)  # no copy: the pass's own array
    np.testing.assert_allclose(spent.cov, copied.cov, rtol=0, atol=1e-12 * np.abs(copied.cov).max())
    for a, b in zip(spent.cross, copied.cross, strict=True):
        np.testing.assert_array_equal(a, b)
    # one block from its raw Gram, by the copying partial: D (centred, profiled Phi'Phi) D + ridge
    cov = dataclasses.replace(stats[1], phi_phi=raw[1]).partial().cov_phi
    want = copied.column_scale[:, None] * cov * copied.column_scale[None, :]
    want[np.diag_indices_from(want)] += 3.0
    np.testing.assert_allclose(spent.cov[1], want, rtol=0, atol=1e-12 * np.abs(want).max())


def test_standardize_overwrite_copies_stats_that_are_not_one_array():
    from sharedrep.backend import cohort_stats
    from sharedrep.stats import standardize

    cohort = _covariate_cohort()
    exp = TemporalExpansion(range(3))
    stats = cohort_stats(cohort, exp)
    for chosen in ([stats[2], stats[0], stats[1]], stats[:2], [s.block(0) for s in stats[1:]]):
        before = [s.phi_phi.copy() for s in chosen]
        want = standardize(chosen, exp, cohort.feature_names)
        got = standardize(chosen, exp, cohort.feature_names, overwrite=True)
        assert not np.shares_memory(got.cov, chosen[0].phi_phi)
        np.testing.assert_array_equal(got.cov, want.cov)
        for s, b in zip(chosen, before, strict=True):
            np.testing.assert_array_equal(s.phi_phi, b)


def test_fit_spends_its_own_statistics_and_never_the_callers():
    cohort = _covariate_cohort()
    model = sr.ShaReD(2, lags=range(-2, 6), alpha=2.0, drift=2)
    stats = model.statistics(cohort)
    before = [s.phi_phi.copy() for s in stats]
    from_stats = sr.ShaReD(**model.get_params()).fit_from_stats(stats, cohort)
    for s, b in zip(stats, before, strict=True):
        np.testing.assert_array_equal(s.phi_phi, b)
    fitted = model.fit(cohort)  # in place on the pass it made itself
    spent = sr.ShaReD(**model.get_params()).fit_from_stats(stats, cohort, overwrite=True)
    assert not np.array_equal(stats[0].phi_phi, before[0])  # asked to: written
    for m in (fitted, spent):
        np.testing.assert_allclose(m.coef_, from_stats.coef_, rtol=0, atol=1e-10)
        for name in cohort.names:
            a, b = m.session_fits_[name], from_stats.session_fits_[name]
            np.testing.assert_allclose(a.readout, b.readout, rtol=0, atol=1e-10)
            np.testing.assert_allclose(a.nuisance_coef, b.nuisance_coef, rtol=1e-9, atol=1e-10)


def test_fold_training_grams_are_one_array_equal_to_total_minus_fold():
    from sharedrep.selection import FoldStats
    from sharedrep.stats import standardize

    cohort = _covariate_cohort()
    model = sr.ShaReD(2, lags=range(4))
    folds = FoldStats.compute(cohort, model, 4)
    train = folds.train(1)
    for s, t in zip(folds.stats, train, strict=True):
        want = s.phi_phi[[0, 2, 3]].sum(axis=0)
        np.testing.assert_allclose(t.phi_phi[0], want, rtol=0, atol=1e-12 * np.abs(want).max())
    # one array for every session, so that a fold task standardizes them without a copy
    std = standardize(train, folds.expansion, cohort.feature_names, overwrite=True)
    assert all(np.shares_memory(std.cov, t.phi_phi) for t in train)


def test_fold_tasks_in_threads_sum_the_whole_session_totals_once(monkeypatch):
    import threading
    import time

    from sharedrep.selection import FoldStats
    from sharedrep.stats import SessionStats

    cohort = _covariate_cohort()
    folds = FoldStats.compute(cohort, sr.ShaReD(2, lags=range(4)), 4)
    calls = []
    total = SessionStats.total

    def slow_total(self):  # widens the window in which two tasks would both sum the folds
        calls.append(self.name)
        time.sleep(0.05)
        return total(self)

    monkeypatch.setattr(SessionStats, "total", slow_total)
    trains = {}
    tasks = [
        threading.Thread(target=lambda k=k: trains.update({k: folds.train(k)})) for k in (0, 1)
    ]
    for task in tasks:
        task.start()
    for task in tasks:
        task.join()
    assert sorted(calls) == sorted(cohort.names)  # once per session, not once per task
    for k in (0, 1):
        for s, t in zip(folds.stats, trains[k], strict=True):
            keep = [j for j in range(4) if j != k]
            want = s.phi_phi[keep].sum(axis=0)
            np.testing.assert_allclose(t.phi_phi[0], want, rtol=0, atol=1e-12 * np.abs(want).max())


def test_statistics_out_of_the_wrong_shape_names_the_session(small_cohort):
    cohort, _ = small_cohort
    exp = TemporalExpansion(range(3))
    with pytest.raises(ValueError, match=r"session 'session0'.*shape \(1, 9, 9\)"):
        sr.compute_stats(cohort[0], exp, out=np.empty((1, 8, 8)))
