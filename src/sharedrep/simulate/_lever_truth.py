"""The ground truth of the lever-push simulator (:class:`LeverTruth`, ``sr.simulate``).

Its own module next to :mod:`sharedrep.simulate._lever` (the simulation): the truth of every effect,
computed with the analyses' own definitions so that a fit can be checked against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..data import Cohort
from ._cohort import Truth

UNIT_KINDS = ("thalamic_axon", "m1")
#: the behavioral variables of the movement (the default of timing questions)
MOVEMENT_FEATURES = ("lever_pos", "lever_vel")
#: fraction of units encoding the cue, and the lick (each, independently of the push)
OTHER_FRACTION = 0.2


@dataclass(frozen=True)
class LeverTruth(Truth):
    """Ground truth of :func:`lever_task`, on top of :class:`~sharedrep.simulate.Truth`.

    ``W`` holds the *effective* filters over ``lags``: the drive filters convolved with the
    calcium kernel (``indicator="calcium"``), or the drive filters themselves (``"spikes"``).
    Fit models with ``lags=truth.lags`` to compare with it.

    Attributes
    ----------
    component_names : tuple of str
        ``("cue", "push_early", "push_late", "lick")``: the columns of ``W``.
    drive_filters : ndarray, shape (p * len(drive_lags), d)
        Filters of the units' drive before the indicator, rows ordered (feature, lag).
    drive_lags : ndarray of int
    kernel : ndarray, shape (k,)
        Calcium kernel in samples (``[1.0]`` for spikes).
    indicator : {"calcium", "spikes"}
    encodes : dict of str to ndarray of bool, shape (d, n_s)
        Which units read out which shared component (True where the readout is non-zero).
    unit_kind : dict of str to ndarray of str, shape (n_s,)
        ``"thalamic_axon"`` or ``"m1"`` (also ``neuron_info["population"]`` of the session).
    body_units : dict of str to ndarray of bool, shape (n_s,)
        Units with a private drive from the nuisance ``body`` movement (not part of ``W``).
    push_lead : dict of str to ndarray, shape (n_s,)
        Weight of each unit's push readout on ``push_early`` (0..1; NaN when it does not
        encode the push): larger means activity leads the movement more.
    subjects, conditions : dict of str to str
        Mouse and condition of each session (condition None in ``days`` mode).
    trials : dict of str to pandas.DataFrame
        Per trial: ``start`` and ``cue`` sample, ``latency_s``, ``amplitude``, ``duration_s``,
        ``peak_speed``, ``rewarded``.
    neuron_info : dict of str to pandas.DataFrame
        The sessions' ``neuron_info``: ``population`` and ``thalamus_driven`` (the
        optogenetic tag of M1 neurons; missing for axons).
    day : dict of str to int or None
        Day of each session (``days`` mode), else None.
    progress : dict of str to float
        Learning progress of each session, 0 (naive) .. 1 (expert).
    tag_enrichment : dict of str to float
        The set enrichment of each session: P(push | tagged M1) - P(push | untagged M1).
    thalamic_lead : dict of str to float
        The set lead (s) of the thalamic axons' push drive over M1's in each session.
    push_probability : dict of str to dict of str to float
        P(a unit encodes the push) of ``"thalamic_axon"``, ``"m1_tagged"``, ``"m1_untagged"``.
    activity_sd : dict of str to ndarray, shape (n_s,)
        Standard deviation of each unit's simulated activity (what z-scoring divides by).
    feature_sd : ndarray, shape (p,)
        Pooled standard deviation of each behavioral feature (the filters' units).
    rate : float
        Sampling rate (Hz).
    """

    component_names: tuple[str, ...]
    drive_filters: np.ndarray
    drive_lags: np.ndarray
    kernel: np.ndarray
    indicator: str
    encodes: dict[str, np.ndarray]
    unit_kind: dict[str, np.ndarray]
    body_units: dict[str, np.ndarray]
    push_lead: dict[str, np.ndarray]
    subjects: dict[str, str]
    conditions: dict[str, str | None]
    trials: dict[str, pd.DataFrame]
    neuron_info: dict[str, pd.DataFrame] = field(default_factory=dict)
    day: dict[str, int | None] = field(default_factory=dict)
    progress: dict[str, float] = field(default_factory=dict)
    tag_enrichment: dict[str, float] = field(default_factory=dict)
    thalamic_lead: dict[str, float] = field(default_factory=dict)
    push_probability: dict[str, dict[str, float]] = field(default_factory=dict)
    activity_sd: dict[str, np.ndarray] = field(default_factory=dict)
    feature_sd: np.ndarray = field(default_factory=lambda: np.ones(0))
    rate: float = 30.0

    def encoding_units(self, session: str) -> np.ndarray:
        """Units of ``session`` that read out at least one shared component, shape ``(n_s,)``."""
        return self.encodes[session].any(axis=0)

    def units(self) -> pd.DataFrame:
        """One row per unit and session: kind, tag, condition, day, what it encodes, its lead."""
        rows = []
        for name, enc in self.encodes.items():
            n = enc.shape[1]
            frame = pd.DataFrame(
                {
                    "session": name,
                    "subject": self.subjects[name],
                    "condition": self.conditions[name],
                    "day": self.day.get(name),
                    "progress": self.progress.get(name),
                    "unit": np.arange(n),
                    "kind": self.unit_kind[name],
                    "thalamus_driven": self.neuron_info[name]["thalamus_driven"].array,
                    "encodes": enc.any(axis=0),
                    "body": self.body_units[name],
                    "push_lead": self.push_lead[name],
                }
            )
            for k, comp in enumerate(self.component_names):
                frame[f"encodes_{comp}"] = enc[k]
            rows.append(frame)
        return pd.concat(rows, ignore_index=True)

    def expected_fraction(self, session: str, group: str, component: str = "any") -> float:
        """P(a unit of ``group`` encodes ``component``) set in the simulation of ``session``.

        Parameters
        ----------
        session : str
        group : {"thalamic_axon", "m1_tagged", "m1_untagged"}
        component : {"any", "push"}
            ``"push"``: the push components; ``"any"``: any component (cue and lick are
            encoded independently, each with probability 0.2).
        """
        p_push = self.push_probability[session][group]
        if component == "push":
            return float(p_push)
        if component != "any":
            raise ValueError(f"component must be 'any' or 'push', got {component!r}")
        return float(1 - (1 - p_push) * (1 - OTHER_FRACTION) ** 2)

    def response_filters(self, session: str, feature_scale: np.ndarray | None = None) -> np.ndarray:
        """Each unit's true response filter in z-scored units, shape (p, L, n_s).

        ``h_i(feature, lag) = sum_j W[feature, lag, j] V[j, i] / sd_i``: the filter from
        behavior (per ``feature_scale``, default the pooled standard deviation of each feature;
        pass a model's ``behavior_scale_`` to compare with its fit) to the unit's z-scored
        activity, i.e. what ``W V_s`` estimates.
        """
        p, L = len(self.feature_names), self.lags.size
        scale = self.feature_sd if feature_scale is None else np.asarray(feature_scale, float)
        W3 = self.W.reshape(p, L, -1) * scale[:, None, None]
        V = self.readouts[session] / self.activity_sd[session][None, :]
        return np.einsum("fld,dn->fln", W3, V)

    def population_timing(
        self,
        model: Any = None,
        cohort: Cohort | None = None,
        features: Sequence[str] | None = MOVEMENT_FEATURES,
        *,
        covariance: np.ndarray | None = None,
        pooled: bool = False,
    ) -> pd.DataFrame:
        """True peak lag of each population's response in every session (or condition).

        :func:`sharedrep.compare_populations`' definition (the weighted mean over the
        population's units of the peak lag of their responses over ``features``, seen through
        the pooled lagged behavior covariance) evaluated on the true filters and readouts, in
        ``model``'s standardization: the value a fit of ``cohort`` estimates.

        Parameters
        ----------
        model : ShaReD, optional
            Gives the behavior scaling and, with ``cohort``, the covariance
            (:func:`sharedrep.inference.populations.lag_covariance`).
        cohort : Cohort, optional
        features : sequence of str, optional
            Default: the movement (``lever_pos``, ``lever_vel``).
        covariance : ndarray, optional
            The covariance to use instead (e.g. ``result.covariance``).
        pooled : bool
            Average the sessions of each condition (or day), as ``compare_populations`` does,
            instead of one row per session.

        Returns
        -------
        pandas.DataFrame
            One row per session (or condition) and population: ``session`` (and its
            ``day``, ``condition``, ``subject``; or ``condition`` when pooled),
            ``population``, ``peak_lag`` (samples), ``peak_lag_s``; and one row with
            ``population="lead"``: M1's peak lag minus the axons' (> 0: the thalamus leads).
        """
        from ..inference.populations import (
            covariance_filters,
            lag_covariance,
            neuron_timing,
            response_energy,
        )

        if covariance is None:
            if model is None or cohort is None:
                raise ValueError("give model and cohort, or covariance")
            covariance = lag_covariance(model, cohort)
        scale = None if model is None else model.behavior_scale_
        idx = (
            np.arange(len(self.feature_names))
            if features is None
            else np.array([self.feature_names.index(f) for f in features])
        )
        per_session = {}
        for name in self.encodes:
            c = covariance_filters(self.response_filters(name, scale), covariance, idx)
            t, w = neuron_timing(response_energy(c).T, self.lags)
            timing = {}
            for kind in UNIT_KINDS:
                mask = self.unit_kind[name] == kind
                timing[kind] = float(np.sum(w[mask] * t[mask]) / np.sum(w[mask]))
            timing["lead"] = timing["m1"] - timing["thalamic_axon"]
            per_session[name] = timing
        if pooled:  # the mean over the sessions of each condition (or day)
            groups: dict[Any, list[str]] = {}
            for name in self.encodes:
                key = self.conditions[name] or self.day.get(name) or "all"
                groups.setdefault(key, []).append(name)
            per_session = {
                key: {k: float(np.mean([per_session[n][k] for n in names])) for k in
                      (*UNIT_KINDS, "lead")}
                for key, names in groups.items()
            }  # fmt: skip
        rows = [
            (key, pop, value, value / self.rate)
            for key, timing in per_session.items()
            for pop, value in timing.items()
        ]
        out = pd.DataFrame(
            rows,
            columns=["condition" if pooled else "session", "population", "peak_lag", "peak_lag_s"],
        )
        if not pooled:
            for col, values in (("subject", self.subjects), ("condition", self.conditions),
                                ("day", self.day)):  # fmt: skip
                out.insert(1, col, out["session"].map(values))
        return out
