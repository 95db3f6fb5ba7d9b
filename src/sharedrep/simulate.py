"""Simulated cohorts with known ground truth (for tests, documentation, benchmarks and the demo).

:func:`cohort` draws sessions that share a low-dimensional behavioral representation ``W``
(temporal filters over behavioral variables and lags) read out by each session's own neurons:
``y_s(t) = mu_s + V_s' W' phi_s(t) + noise``. Sessions differ in length, trial structure, neuron
count and behavior: nothing is aligned across sessions.

:func:`lever_task` simulates the experiment ShaReD was made for: mice pushing a lever after an
auditory cue, imaged at 30 Hz, with thalamic axons and M1 neurons in every mouse, naive and
expert sessions (or days 1..N), an optogenetic tag on M1 neurons, and everything true returned
in a :class:`LeverTruth` (the simulator lives in ``sharedrep._lever``; :func:`smooth_drift`
draws the slow per-neuron drifts it can add).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from scipy.ndimage import gaussian_filter1d

from .data import Cohort, Session
from .features import TemporalExpansion

__all__ = [
    "CONDITIONS",
    "LEVER_COMPONENTS",
    "LEVER_FEATURES",
    "UNIT_KINDS",
    "LeverTruth",
    "Truth",
    "calcium_kernel",
    "cohort",
    "lever_task",
    "principal_angles",
    "smooth_drift",
]


def principal_angles(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Principal angles between ``span(A)`` and ``span(B)`` in degrees, largest first.

    Parameters
    ----------
    A : ndarray, shape (q, d1)
    B : ndarray, shape (q, d2)

    Returns
    -------
    ndarray, shape (min(d1, d2),)
    """
    return np.degrees(sla.subspace_angles(A, B))


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
    """

    W: np.ndarray
    readouts: dict[str, np.ndarray]
    noise_sd: dict[str, np.ndarray]
    lags: np.ndarray
    n_components: int
    feature_names: tuple[str, ...]
    snr: float

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


def _draw(rng: np.random.Generator, value: int | tuple[int, int]) -> int:
    if isinstance(value, tuple):
        return int(rng.integers(value[0], value[1] + 1))
    return int(value)


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
    conditions: Sequence[str] | None = None,
    rate: float | None = 30.0,
    seed: int | None = 0,
) -> tuple[Cohort, Truth]:
    """Simulate a cohort that shares one behavioral representation.

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
    rng = np.random.default_rng(seed)
    expansion = TemporalExpansion(lags)
    lag_arr = expansion.lags
    p, d = n_features, n_components
    names = tuple(f"x{j}" for j in range(p))
    W = _true_filters(rng, p, lag_arr, d)
    margin = expansion.span
    sessions, readouts, noise = [], {}, {}
    for i in range(n_sessions):
        name = f"session{i}"
        T, n = _draw(rng, n_samples), _draw(rng, n_neurons)
        raw = rng.normal(size=(T + 2 * margin, p))
        if smoothness > 0:
            raw = gaussian_filter1d(raw, smoothness, axis=0)
        raw = (raw - raw.mean(0)) / raw.std(0)
        # the design of the continuous signal, so that every kept sample carries signal
        full = expansion.design_rows(raw, np.arange(margin, margin + T))
        x = raw[margin : margin + T]
        z = full @ W
        V = rng.normal(size=(d, n)) / np.sqrt(d)
        signal = z @ V
        if snr > 0:
            sd = np.sqrt(signal.var(0) / snr)
        else:  # snr=0: pure-noise neurons (no behavioral signal), for null calibration
            signal = np.zeros_like(signal)
            sd = np.ones(n)
        y = 2.0 + signal + rng.normal(size=(T, n)) * sd
        bounds = np.cumsum(rng.integers(trial_length[0], trial_length[1] + 1, size=T))
        segments = np.searchsorted(bounds, np.arange(T), side="right")
        cond = None if conditions is None else conditions[i % len(conditions)]
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
            )
        )
        readouts[name], noise[name] = V, sd
    truth = Truth(W, readouts, noise, lag_arr, d, names, snr)
    return Cohort(sessions), truth


# -- the lever-push task --------------------------------------------------------------------------
# (its own module, _lever.py: a detailed simulator of one experiment; re-exported here)
from ._lever import (  # noqa: E402
    CONDITIONS,
    LEVER_COMPONENTS,
    LEVER_FEATURES,
    UNIT_KINDS,
    LeverTruth,
    calcium_kernel,
    lever_task,
    smooth_drift,
)
