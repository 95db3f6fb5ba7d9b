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
