"""At lever_task's default size, the study's tests find its default effects (p < 0.01).

The power over 20 cohorts is in ``benchmarks/results/calibration_study.md``; here one cohort
(seed 0) checks the effects whose power there is 1.0, and that the intervals contain the truth.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import sharedrep as sr
from study_fixtures import MOVEMENT


@pytest.mark.slow
def test_default_cohort_answers_the_study_question():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sr.SharedRepWarning)
        cohort, truth = sr.simulate.lever_task(seed=0)
        model = sr.ShaReD(truth.n_components, lags=truth.lags).fit(cohort)
        enc = sr.encoding_map(model, cohort, null="segments", n_null=100)
    tags = sr.compare_groups(model, cohort, "thalamus_driven", where="population == 'm1'",
                             encoding=enc, n_perm=400, n_boot=400)  # fmt: skip
    exp = tags.effects.loc[("expert", True, "any", "fraction_encoding")]
    expert = [n for n in cohort.names if truth.conditions[n] == "expert"]
    want = np.mean(
        [truth.expected_fraction(n, "m1_tagged") - truth.expected_fraction(n, "m1_untagged")
         for n in expert]
    )  # fmt: skip
    assert exp["p_value"] < 0.01 and exp["ci_low"] <= want <= exp["ci_high"]
    assert tags.interaction.loc[(True, "any", "fraction_encoding"), "p_value"] < 0.01
    lead = sr.compare_populations(model, cohort, features=MOVEMENT, n_perm=400, n_boot=400)
    d = lead.differences.loc[("expert", "m1 - thalamic_axon")]
    true = truth.population_timing(model, cohort, MOVEMENT, pooled=True)
    true = true[(true["population"] == "lead") & (true["condition"] == "expert")]["peak_lag"].item()
    assert d["p_value"] < 0.01 and d["ci_low"] <= true <= d["ci_high"]
