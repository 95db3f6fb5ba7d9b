"""Simulated cohorts of the generic model: shared filters read out by each session's neurons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..data import Cohort, Session
from ..features import TemporalExpansion
from ..metrics import principal_angles
from ._common import add_drifts, check_drifts, draw


@dataclass(frozen=True)
class Truth:
    """Ground truth of a simulated cohort.

    Attributes
    ----------
    W : ndarray, shape (p * L, d)
        True shared filters in behavior units, rows ordered (feature, lag) like the design.
    readouts : dict of str to ndarray, shape (d, n_s)
    noise_sd : dict of str to ndarray, shape (n_s,)
    lags : ndarray of int
    n_components : int
    feature_names : tuple of str
    snr : float
        Signal-to-noise variance ratio of every neuron.
    drift : dict of str to dict of str to ndarray
        Per session, the simulated ``"baseline"`` (added) and ``"gain"`` (multiplying the
        behavioral signal), each (T_s, n_s); a key is present only when that drift was
        simulated.
    """

    W: np.ndarray
    readouts: dict[str, np.ndarray]
    noise_sd: dict[str, np.ndarray]
    lags: np.ndarray
    n_components: int
    feature_names: tuple[str, ...]
    snr: float
    drift: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False, kw_only=True)

    def angles(self, model, metric: str = "coef") -> np.ndarray:
        """Principal angles (degrees) between a fitted model's ``W`` and the true one.

        Parameters
        ----------
        model : ShaReD
            Fitted with the true lags and no basis.
        metric : {"coef", "design"}
            ``"coef"``: angles between the filter coefficients (behavior scaled by the pooled
            std, as the model sees it). ``"design"``: angles between the latent time courses
            the filters produce (coefficients weighted by the pooled design covariance); this
            is what the data identify when behavior is smooth.
        """
        scale = model.expansion_.column_scale(model.behavior_scale_)
        fitted, true = model.coef_, scale[:, None] * self.W
        if metric == "design":
            root = np.linalg.cholesky(model.design_covariance_ + 1e-12 * np.eye(len(scale)))
            fitted, true = root.T @ fitted, root.T @ true
        elif metric != "coef":
            raise ValueError(f"metric must be 'coef' or 'design', got {metric!r}")
        return principal_angles(fitted, true)

    def max_angle(self, model, metric: str = "coef") -> float:
        """Largest principal angle (degrees) between fitted and true ``W``."""
        return float(self.angles(model, metric).max())


def _true_filters(rng: np.random.Generator, p: int, lags: np.ndarray, d: int) -> np.ndarray:
    """Smooth filters: a Gaussian bump over lags per feature and component, random weights."""
    L = lags.size
    W = np.zeros((p, L, d))
    width = max(L / 6, 1.0)
    for k in range(d):
        centres = rng.uniform(lags[0], lags[-1], size=p)
        amps = rng.normal(size=p)
        W[:, :, k] = amps[:, None] * np.exp(
            -0.5 * ((lags[None, :] - centres[:, None]) / width) ** 2
        )
    return W.reshape(p * L, d)


def cohort(
    n_sessions: int = 5,
    *,
    n_samples: int | tuple[int, int] = (2500, 3500),
    n_neurons: int | tuple[int, int] = (20, 60),
    n_features: int = 4,
    n_components: int = 3,
    lags: Sequence[int] | range = range(-3, 4),
    snr: float = 0.25,
    trial_length: tuple[int, int] = (40, 100),
    smoothness: float = 0.0,
    design: str = "continuous",
    baseline_drift: float = 0.0,
    gain_drift: float = 0.0,
    conditions: Sequence[str] | None = None,
    rate: float | None = 30.0,
    seed: int | None = 0,
) -> tuple[Cohort, Truth]:
    """Simulate a cohort that shares one behavioral representation.

    Two designs reproduce the two kinds of real recordings: ``"continuous"`` behavior (pose,
    kinematics) cut into trials only for cross-validation, and ``"events"``, trial-cut data in
    which each trial holds one event (a stimulus of one of ``n_features`` kinds at the trial's
    first sample) and activity is the event's response within the trial, as in
    stimulus-locked imaging: the response starts at the trial start, so lag windows reach
    before it (see ``ShaReD(edges="zero")``). Slow per-neuron drifts of the baseline and of the
    gain over the recording (``baseline_drift``, ``gain_drift``) reproduce what makes
    contiguous-block cross-validation misjudge real data.

    Parameters
    ----------
    n_sessions : int
        Number of sessions (one subject each).
    n_samples, n_neurons : int or (low, high)
        Per session; a pair draws uniformly in ``[low, high]`` for each session.
    n_features : int
        Behavioral variables ``p`` (smooth Gaussian processes, different in every session).
    n_components : int
        True dimension ``d`` of the shared representation.
    lags : sequence of int
        Lags (samples) of the true filters.
    snr : float
        Variance of each neuron's behavioral signal over its noise variance. ``0``: neurons
        are pure unit-variance noise, independent of behavior (a null cohort).
    trial_length : (low, high)
        Segments are trials of random length in this range (samples).
    smoothness : float
        Gaussian smoothing width of the behavior (samples). The default 0 draws independent
        samples: a well-conditioned design in which ``W`` is identifiable coefficient by
        coefficient. Smooth behavior makes neighbouring lags collinear; predictions stay as
        good, but ``W`` is then determined only along directions the behavior explores (compare
        with ``Truth.angles(model, metric="design")``, or use ``n_basis``).
    design : {"continuous", "events"}
        See above. With ``"events"``, ``lags`` should be non-negative (responses follow the
        event); ``truth.W`` holds the response kernels, which ``ShaReD(lags=truth.lags,
        edges="zero")`` estimates exactly.
    baseline_drift : float
        Standard deviation of a smooth random baseline per neuron over the recording (see
        :func:`smooth_drift`), in units of the neuron's noise standard deviation.
        ``truth.drift[name]["baseline"]`` holds it, shape (T, n).
    gain_drift : float
        Standard deviation of the log of a smooth multiplicative gain of each neuron's
        behavioral signal over the recording (gain ``exp(g * z(t))``, as in :func:`lever_task`);
        ``truth.drift[name]["gain"]``.
    conditions : sequence of str, optional
        Condition labels assigned to sessions in turn (e.g. ``["naive", "expert"]``).
    rate : float, optional
        Sampling rate in Hz recorded in the sessions.
    seed : int, optional

    Returns
    -------
    cohort : Cohort
    truth : Truth

    Examples
    --------
    >>> import sharedrep as sr
    >>> cohort, truth = sr.simulate.cohort(n_sessions=2, n_samples=500, seed=3)
    >>> [s.n_samples for s in cohort], truth.W.shape
    ([500, 500], (28, 3))
    """
    if not (np.isfinite(snr) and snr >= 0):
        raise ValueError(f"snr must be a non-negative number, got {snr!r}")
    if design not in ("continuous", "events"):
        raise ValueError(f"design must be 'continuous' or 'events', got {design!r}")
    check_drifts(baseline_drift, gain_drift)
    rng = np.random.default_rng(seed)
    expansion = TemporalExpansion(lags)
    lag_arr = expansion.lags
    p, d = n_features, n_components
    names = tuple(f"x{j}" for j in range(p))
    W = _true_filters(rng, p, lag_arr, d)
    margin = expansion.span
    sessions, readouts, noise, drifts = [], {}, {}, {}
    for i in range(n_sessions):
        name = f"session{i}"
        T, n = draw(rng, n_samples), draw(rng, n_neurons)
        bounds = np.cumsum(rng.integers(trial_length[0], trial_length[1] + 1, size=T))
        segments = np.searchsorted(bounds, np.arange(T), side="right")
        starts = np.flatnonzero(np.r_[True, segments[1:] != segments[:-1]])  # trial starts
        if design == "continuous":
            raw = rng.normal(size=(T + 2 * margin, p))
            if smoothness > 0:
                raw = gaussian_filter1d(raw, smoothness, axis=0)
            raw = (raw - raw.mean(0)) / raw.std(0)
            # the design of the continuous signal, so that every kept sample carries signal
            full = expansion.design_rows(raw, np.arange(margin, margin + T))
            x = raw[margin : margin + T]
        else:  # one event per trial, at its first sample; nothing outside the trial
            x = np.zeros((T, p))
            x[starts, rng.integers(0, p, size=starts.size)] = 1.0
            events = TemporalExpansion(lag_arr, None, [True] * p)
            full = events.rows_of(x, np.arange(T), segments)
        z = full @ W
        V = rng.normal(size=(d, n)) / np.sqrt(d)
        signal = z @ V
        if snr > 0:
            sd = np.sqrt(signal.var(0) / snr)
        else:  # snr=0: pure-noise neurons (no behavioral signal), for null calibration
            signal = np.zeros_like(signal)
            sd = np.ones(n)
        signal, drift = add_drifts(rng, signal, gain_drift, baseline_drift, scale=sd)
        y = 2.0 + signal + rng.normal(size=(T, n)) * sd
        cond = None if conditions is None else conditions[i % len(conditions)]
        trial_time = None
        if design == "events":  # seconds (or samples) since the trial's event
            since = np.arange(T) - np.repeat(starts, np.diff(np.r_[starts, T]))
            trial_time = since / rate if rate else since.astype(float)
        sessions.append(
            Session(
                x,
                y,
                segments,
                name=name,
                subject=f"mouse{i}",
                condition=cond,
                feature_names=names,
                rate=rate,
                trial_time=trial_time,
            )
        )
        readouts[name], noise[name], drifts[name] = V, sd, drift
    truth = Truth(W, readouts, noise, lag_arr, d, names, snr, drift=drifts)
    return Cohort(sessions), truth
