"""learning_trends: trends over days, tested within animal; compare_conditions(ordered=True)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import sharedrep as sr
from sharedrep.inference.days import _within_slopes
from study_fixtures import MOVEMENT, days_study


def test_within_animal_slope_is_ols_with_one_intercept_per_animal():
    rng = np.random.default_rng(0)
    subj = np.repeat(["a", "b", "c"], [4, 3, 5])
    days = rng.permutation(np.arange(12)).astype(float)
    Y = rng.normal(size=(12, 3))
    Y[3, 1] = np.nan
    got = _within_slopes(days, Y, subj)[0]
    for k in range(3):
        ok = np.isfinite(Y[:, k])
        dummies = (subj[ok, None] == np.unique(subj)[None]).astype(float)
        X = np.column_stack([days[ok], dummies])
        beta = np.linalg.lstsq(X, Y[ok, k], rcond=None)[0]
        assert got[k] == pytest.approx(beta[0])
    # an animal's offset never makes a trend
    shifted = Y + (subj == "b")[:, None] * 100.0
    np.testing.assert_allclose(_within_slopes(days, shifted, subj)[0], got)


@pytest.fixture(scope="module")
def study():
    return days_study()


@pytest.fixture(scope="module")
def by_population(study):
    cohort, _, model, enc = study
    return sr.learning_trends(
        model, cohort, by="population", encoding=enc, features=MOVEMENT, n_perm=400, n_boot=400
    )


def test_learning_is_recovered(study, by_population):
    cohort, truth, model, enc = study
    t = by_population.trends
    # axons are recruited to the push: their fraction encoding grows, within animal
    ax = t.loc[("thalamic_axon", "any", "fraction_encoding")]
    assert ax["slope"] > 0 and ax["p_value"] < 0.01
    # the thalamic lead grows: M1's timing minus the axons' has a positive trend
    lead = t.loc[("m1 - thalamic_axon", "any", "timing")]
    assert lead["slope"] > 0 and lead["p_value"] < 0.01
    # ... by the true amount: the slope of the true per-session leads is inside the interval
    true = truth.population_timing(model, cohort, MOVEMENT)
    true = true[true["population"] == "lead"].set_index("session")["peak_lag"]
    days = np.array([truth.day[n] for n in cohort.names], float)
    subj = np.array([truth.subjects[n] for n in cohort.names])
    true_slope = _within_slopes(days, true.loc[list(cohort.names)].to_numpy()[:, None], subj)[0, 0]
    assert lead["ci_low"] <= true_slope <= lead["ci_high"]
    # enrichment of tagged M1 neurons grows over days
    tags = sr.learning_trends(
        model, cohort, by="thalamus_driven", where="population == 'm1'", encoding=enc,
        n_perm=400, n_boot=400,
    ).trends  # fmt: skip
    enr = tags.loc[("True - False", "any", "fraction_encoding")]
    assert enr["slope"] > 0 and enr["p_value"] < 0.01
    assert enr["last"] > enr["first"]


def test_days_permutation_p_is_the_exact_permutation_p():
    """With 2 animals x 3 days there are 36 labellings: the Monte-Carlo p approaches the exact."""
    subj = np.repeat(["a", "b"], 3)
    days = np.tile([1.0, 2.0, 3.0], 2)
    Y = np.array([[0.1], [0.5], [0.4], [0.0], [0.2], [0.6]])
    obs = _within_slopes(days, Y, subj)[0, 0]
    exact = []
    for pa in itertools.permutations(range(3)):
        for pb in itertools.permutations(range(3)):
            d = np.concatenate([days[:3][list(pa)], days[3:][list(pb)]])
            exact.append(_within_slopes(d, Y, subj)[0, 0])
    p_exact = np.mean(np.abs(exact) >= abs(obs) - 1e-12)
    from sharedrep.inference.permutation import permutation_pvalue, within_permutations

    perms = within_permutations(subj, 4000, np.random.default_rng(1))
    p_mc = permutation_pvalue(obs, _within_slopes(days[perms], Y, subj)[:, 0])
    assert p_mc == pytest.approx(p_exact, abs=0.03)


def test_tables(study, by_population):
    cohort, _, _, _ = study
    s = by_population.sessions
    assert set(s.columns) == {"session", "subject", "day", "group", "component", "measure", "value"}
    # the session table holds what the trend was fitted on: its slope, recomputed, is the trend
    rows = s.query("group == 'm1' and component == 'any' and measure == 'strength'")
    rows = rows.set_index("session").loc[list(cohort.names)]
    slope = _within_slopes(rows["day"].to_numpy(float), rows[["value"]].to_numpy(),
                           rows["subject"].to_numpy())[0, 0]  # fmt: skip
    assert slope == pytest.approx(by_population.trends.loc[("m1", "any", "strength"), "slope"])
    sub = by_population.subjects
    assert sub["subject"].nunique() == 4
    assert {"peak_lag", "timing", "fraction_encoding", "strength"} <= set(
        by_population.trends.index.get_level_values("measure")
    )


def test_no_trend_null():
    cohort, _, model, enc = days_study(learning_curve=(0.5, 0.5, 0.5, 0.5), seed=8)
    res = sr.learning_trends(model, cohort, by="population", encoding=enc, features=MOVEMENT,
                             n_perm=200, n_boot=200)  # fmt: skip
    key = [("thalamic_axon", "any", "fraction_encoding"), ("m1 - thalamic_axon", "any", "timing")]
    assert (res.trends.loc[key, "p_value"] > 0.01).all()


def test_errors(study):
    cohort, _, model, enc = study
    with pytest.raises(sr.DataError, match="'week' must be a number"):
        sr.learning_trends(model, cohort, day="week", encoding=enc)
    one_day = sr.Cohort([s for s in cohort if s.metadata["day"] == 1])
    with pytest.raises(sr.DataError, match="two different values"):
        sr.learning_trends(model, one_day, encoding=enc)


def test_compare_conditions_ordered_tests_a_trend(study):
    cohort, _, model, enc = study
    labelled = sr.Cohort([s.replace(condition=f"day{s.metadata['day']}") for s in cohort])
    enc2 = sr.EncodingMap(
        enc.neurons.assign(condition=enc.neurons["session"].map(
            {s.name: s.condition for s in labelled})),
        enc.components, enc.sessions, enc.null, enc.cross_fit, enc.fdr, enc.n_components,
        enc.stats,
    )  # fmt: skip
    order = ["day1", "day2", "day3", "day4"]
    table = sr.compare_conditions(model, labelled, encoding=enc2, order=order, ordered=True,
                                  n_perm=200)  # fmt: skip
    assert "trend" in table.columns and "range" not in table.columns
    row = table.loc[("any", "fraction_encoding")]
    x = np.arange(4.0)
    want = np.polyfit(x, row[order].to_numpy(float), 1)[0]
    assert row["trend"] == pytest.approx(want)
    assert isinstance(sr.plot.conditions(table), object)
    unordered = sr.compare_conditions(model, labelled, encoding=enc2, order=order, n_perm=50)
    assert "range" in unordered.columns
    pd.testing.assert_series_equal(unordered["day1"], table["day1"])
