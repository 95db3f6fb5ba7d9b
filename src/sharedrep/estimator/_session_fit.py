"""What a fitted model knows about one session: :class:`SessionFit`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["SessionFit"]


@dataclass(frozen=True)
class SessionFit:
    """What the model learned about one session.

    Attributes
    ----------
    name : str
    readout : ndarray, shape (d, n)
        Readout ``V_s`` from the standardized latents to (z-scored) neurons.
    mean_phi : ndarray, shape (q,)
        Mean of the (unscaled) design over the analysed samples.
    mean_y : ndarray, shape (n,)
        Mean activity of each neuron.
    neural_scale : ndarray, shape (n,)
        Standard deviation used to z-score each neuron (1 in raw-unit mode).
    n_samples : int
        Rows that entered the fit.
    neuron_names : tuple of str
    subject, condition : str or None
    nuisance_coef : ndarray, shape (c, n)
        Coefficients of the session's nuisance regressors (covariates, then drift functions)
        in raw units, fitted with the shared model (``c = 0`` without any).
    mean_nu : ndarray, shape (c,)
        Means of the nuisance regressors over the analysed samples.
    nuisance_names : tuple of str
    fingerprint : str
        :attr:`Session.fingerprint <sharedrep.data.Session.fingerprint>` of the recording the
        readout was fitted on (``""`` in model files written before it was kept): a stored
        readout is never applied to another recording by mistake.
    neuron_info : pandas.DataFrame or None
        The session's per-neuron metadata (one row per neuron, indexed by neuron name), so
        that a saved model keeps which neuron is which (population, tags, ...).
    """

    name: str
    readout: np.ndarray
    mean_phi: np.ndarray
    mean_y: np.ndarray
    neural_scale: np.ndarray
    n_samples: int
    neuron_names: tuple[str, ...]
    subject: str | None = None
    condition: str | None = None
    nuisance_coef: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    mean_nu: np.ndarray = field(default_factory=lambda: np.zeros(0))
    nuisance_names: tuple[str, ...] = ()
    fingerprint: str = ""
    neuron_info: pd.DataFrame | None = None

    def coef(self, W: np.ndarray, column_scale: np.ndarray) -> np.ndarray:
        """Map from the unscaled design to neurons in raw units, shape ``(q, n)``."""
        return (column_scale[:, None] * W) @ (self.readout * self.neural_scale[None, :])

    def intercept(self, coef: np.ndarray) -> np.ndarray:
        """Intercept matching :meth:`coef` (and the nuisance coefficients), shape ``(n,)``."""
        out = self.mean_y - self.mean_phi @ coef
        if self.mean_nu.size:
            out = out - self.mean_nu @ self.nuisance_coef
        return out

    @property
    def n_nuisance(self) -> int:
        """Number of nuisance regressors."""
        return int(self.mean_nu.size)
