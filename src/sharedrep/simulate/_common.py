"""Pieces every simulator uses: drawn counts and slow drifts."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d


def draw(rng: np.random.Generator, value: int | tuple[int, int]) -> int:
    """A count: ``value`` itself, or drawn uniformly from ``low..high`` (inclusive)."""
    if isinstance(value, tuple):
        return int(rng.integers(value[0], value[1] + 1))
    return int(value)


def smooth_drift(rng: np.random.Generator, n_samples: int, n: int) -> np.ndarray:
    """Slow random drift over a recording: smooth, zero-mean, unit-sd series, shape (T, n).

    Gaussian-smoothed white noise with a width of an eighth of the recording (a drift that
    wanders a few times over the session), centred and scaled per column. Both simulators use
    it for baselines and gains that change over a session, as they do in real imaging.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_samples : int
        Length of the recording, T (samples).
    n : int
        Number of independent series (neurons).

    Returns
    -------
    ndarray, shape (n_samples, n)
        Zero mean and unit standard deviation per column.
    """
    z = gaussian_filter1d(rng.normal(size=(n_samples, n)), max(n_samples / 8, 1.0), axis=0)
    z = z - z.mean(axis=0)
    sd = z.std(axis=0)
    return z / np.where(sd > 0, sd, 1.0)


def check_drifts(baseline_drift: float, gain_drift: float) -> None:
    """Raise ``ValueError`` unless both drift sizes are non-negative."""
    if not (baseline_drift >= 0 and gain_drift >= 0):
        raise ValueError(
            f"baseline_drift and gain_drift must be >= 0, got {baseline_drift}, {gain_drift}"
        )


def add_drifts(
    rng: np.random.Generator,
    signal: np.ndarray,
    gain: float,
    baseline: float,
    scale: float | np.ndarray = 1.0,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A slow gain (multiplying) and then a slow baseline (added) drift on ``signal`` (T, n).

    The gain is ``exp(gain * z(t))``, the baseline ``baseline * scale * z'(t)`` (``scale``: per
    neuron, e.g. its noise sd), ``z`` and ``z'`` from :func:`smooth_drift`, drawn in that
    order; a drift of size 0 is neither drawn nor applied.

    Returns
    -------
    signal : ndarray, shape (T, n)
    drift : dict
        ``"gain"`` and ``"baseline"``, each (T, n), for the drifts simulated.
    """
    T, n = signal.shape
    drift: dict[str, np.ndarray] = {}
    if gain > 0:
        drift["gain"] = np.exp(gain * smooth_drift(rng, T, n))
        signal = signal * drift["gain"]
    if baseline > 0:
        drift["baseline"] = baseline * scale * smooth_drift(rng, T, n)
        signal = signal + drift["baseline"]
    return signal, drift
