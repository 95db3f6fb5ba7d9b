"""Explained variance (R²) per neuron, per session and pooled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg as sla

__all__ = ["Scores", "principal_angles"]


@dataclass(frozen=True)
class Scores:
    """R² of a model on a cohort, at three levels.

    Attributes
    ----------
    neuron : pandas.Series
        R² of each neuron, indexed by ``(session, neuron)``. NaN for neurons without variance.
    session : pandas.Series
        Mean R² over the neurons of each session (each neuron counts equally, as neurons are
        z-scored by default).
    pooled : float
        Mean of the session R² (each session counts equally, as in the default weights).

    ``float(scores)`` is the pooled R².
    """

    neuron: pd.Series
    session: pd.Series
    pooled: float

    @classmethod
    def from_sums(
        cls,
        names: Sequence[str],
        neuron_names: Sequence[Sequence[str]],
        sse: Sequence[np.ndarray],
        sst: Sequence[np.ndarray],
    ) -> Scores:
        """Build from per-neuron residual and total sums of squares of each session."""
        r2 = [_r2(e, t) for e, t in zip(sse, sst, strict=True)]
        index = pd.MultiIndex.from_tuples(
            [(s, n) for s, nn in zip(names, neuron_names, strict=True) for n in nn],
            names=["session", "neuron"],
        )
        neuron = pd.Series(np.concatenate(r2), index=index, name="r2")
        session = pd.Series(
            [np.nanmean(v) if np.isfinite(v).any() else np.nan for v in r2],
            index=pd.Index(list(names), name="session"),
            name="r2",
        )
        return cls(neuron, session, float(np.nanmean(session.to_numpy())))

    def __float__(self) -> float:
        return self.pooled

    def __repr__(self) -> str:
        per = ", ".join(f"{k}={v:.3f}" for k, v in self.session.items())
        return f"Scores(pooled={self.pooled:.4f}; {per})"


def _r2(sse: np.ndarray, sst: np.ndarray) -> np.ndarray:
    out = np.full(sse.shape, np.nan)
    ok = sst > 0
    out[ok] = 1.0 - sse[ok] / sst[ok]
    return out


def principal_angles(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Principal angles between ``span(A)`` and ``span(B)`` in degrees, largest first.

    Parameters
    ----------
    A : ndarray, shape (q, d1)
    B : ndarray, shape (q, d2)

    Returns
    -------
    ndarray, shape (min(d1, d2),)

    Examples
    --------
    >>> import numpy as np
    >>> principal_angles(np.eye(3)[:, :1], np.eye(3)[:, 1:]).round(1)
    array([90.])
    """
    return np.degrees(sla.subspace_angles(A, B))
