"""Simulated lever-task cohorts, fitted once per test session, for the study's analyses.

Shared by ``test_groups.py``, ``test_populations.py``, ``test_days.py`` and the report tests:
each builder is cached, so the simulation, the fit and the encoding map run once.
"""

from __future__ import annotations

import warnings
from functools import cache

import sharedrep as sr
from sharedrep.simulate._lever_truth import MOVEMENT_FEATURES

#: the lever's movement variables, which time populations and days
MOVEMENT = list(MOVEMENT_FEATURES)


def _study(defaults: dict, overrides: dict):
    """A lever-task cohort, its model of the true rank and its encoding map (segments null)."""
    params = {**defaults, **overrides}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sr.SharedRepWarning)
        cohort, truth = sr.simulate.lever_task(**params)
        model = sr.ShaReD(truth.n_components, lags=truth.lags).fit(cohort)
        enc = sr.encoding_map(model, cohort, null="segments", n_null=100, seed=0)
    return cohort, truth, model, enc


@cache
def conditions_study(**overrides):
    """Naive / expert cohort with the default effects: (cohort, truth, model, encoding map)."""
    defaults = {"n_mice": 4, "n_trials": 20, "n_axons": (30, 50), "n_m1": (60, 120), "seed": 3}
    return _study(defaults, overrides)


@cache
def days_study(**overrides):
    """Four mice over four days with gradual learning: (cohort, truth, model, encoding map)."""
    defaults = {"n_mice": 4, "days": 4, "n_trials": 15, "n_axons": (25, 40), "n_m1": (30, 60),
                "seed": 5}  # fmt: skip
    return _study(defaults, overrides)
