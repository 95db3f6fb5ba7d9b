"""The fitted model applied to sessions: readouts of new animals, latents, predictions and
scores (the methods :class:`~sharedrep.ShaReD` gets from :class:`NewSessions`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .._guards import describe_difference, naming_advice, same_recording
from ..data import Cohort, Session, as_cohort
from ..errors import DataError
from ..metrics import Scores
from ..stats import SessionStats, Standardized, compute_stats, nuisance_rows, standardize
from ._session_fit import SessionFit

if TYPE_CHECKING:
    from ._model import ShaReD

__all__ = ["NewSessions"]


class NewSessions:
    """Methods of a fitted :class:`~sharedrep.ShaReD` that take sessions: ``fit_readout``,
    ``transform``, ``predict``, ``score`` and the checks that a readout belongs to a recording."""

    def fit_readout(self, session: Session, *, replace: bool = False) -> ShaReD:
        """Fit the readout of a new session with ``W`` unchanged (a new animal).

        The session's behavior is scaled by the fitted pooled standard deviations, so its
        latents are in the same units as the training sessions'. The readout is stored under the
        session's name and used by :meth:`predict` and :meth:`score`.

        Parameters
        ----------
        session : Session
            Give a new animal its own name: a readout already stored under the session's name
            and fitted on another recording (another :attr:`~sharedrep.Session.fingerprint`;
            an unnamed session is named by its position, ``session0``, ...) is not replaced
            unless ``replace=True``. Refitting the readout of the same recording is allowed.
        replace : bool
            Replace a stored readout of another recording under the same name.

        Returns
        -------
        self

        Raises
        ------
        DataError
            A readout of another recording is stored under the session's name (without
            ``replace``), or the session's behavioral features differ from the model's.
        """
        self._check_fitted()
        self._check_features(session)
        if not isinstance(replace, bool | np.bool_):
            raise ValueError(f"replace must be True or False, got {replace!r}")
        old = self.session_fits_.get(session.name)
        if old is not None and not replace and not same_recording(old, session):
            raise DataError(
                f"session {session.name!r}: the model already holds a readout under this name, "
                f"fitted on another recording ({describe_difference(old, session)}); "
                "fit_readout would replace it. "
                + naming_advice(session)
                + "; or pass replace=True to replace it"
            )
        stats = compute_stats(
            session, self.expansion_, chunk_size=self.chunk_size, drift=int(self.drift)
        )
        self.session_fits_[session.name] = self.readout_from_stats(stats, session)
        return self

    def has_readout_for(self, session: Session) -> bool:
        """Whether the model holds a readout fitted on this session's recording.

        True when a readout is stored under the session's name and its recording has the same
        :attr:`~sharedrep.Session.fingerprint` (for readouts of model files written before
        fingerprints were kept: the same neuron names). A session of the same name but another
        recording gives False: :meth:`fit_readout` it (with ``replace=True``).

        Parameters
        ----------
        session : Session

        Returns
        -------
        bool
        """
        self._check_fitted()
        fit = self.session_fits_.get(session.name)
        return fit is not None and same_recording(fit, session)

    def readout_from_stats(self, stats: SessionStats, session: Session) -> SessionFit:
        """A session's readout from its statistics (all blocks summed), ``W`` fixed.

        Parameters
        ----------
        stats : SessionStats
            Statistics of (part of) the session, computed with ``self.expansion_``.
        session : Session
            For names and metadata.

        Returns
        -------
        SessionFit
        """
        return self._session_fit(self.standardize_like_fit([stats]), 0, stats, session)

    def standardize_like_fit(
        self, stats: Sequence[SessionStats], *, warn: bool = True
    ) -> Standardized:
        """Centre and scale statistics of (new) sessions as this model scaled its training data.

        Behavior is divided by the fitted pooled standard deviations (so latents and filters are
        in the model's units); neurons are z-scored within each session when ``zscore`` is set.

        Parameters
        ----------
        stats : sequence of SessionStats
            Computed with ``self.expansion_``.
        warn : bool
            Emit warnings for silent neurons.

        Returns
        -------
        Standardized
        """
        self._check_fitted()
        return standardize(
            stats,
            self.expansion_,
            self.feature_names_,
            zscore_neurons=self.zscore,
            feature_scale=self.behavior_scale_,
            warn=warn,
        )

    def _check_features(self, session: Session) -> None:
        if session.feature_names != self.feature_names_:
            raise DataError(
                f"session {session.name!r} has behavior features "
                f"{list(session.feature_names)}, the model was fitted on "
                f"{list(self.feature_names_)}"
            )

    def _session_fit_for(self, session: Session) -> SessionFit:
        """The stored readout of a session, checked to belong to its recording.

        A session named by its position (it was given no name) must be the very recording the
        readout was fitted on (same fingerprint): another animal that happens to take the same
        position in its cohort must never receive a training animal's readout. A session named
        by the user may be other data of the same neurons (e.g. a held-out part): its neuron
        names must match.
        """
        self._check_fitted()
        fit = self.session_fits_.get(session.name)
        if fit is None:
            raise KeyError(
                f"session {session.name!r} has no readout; the model knows "
                f"{list(self.session_fits_)}. Call fit_readout(session) for a new one"
            )
        if len(fit.neuron_names) != session.n_neurons:
            raise DataError(
                f"session {session.name!r} has {session.n_neurons} neurons but its "
                f"readout was fitted on {len(fit.neuron_names)}"
            )
        if tuple(fit.neuron_names) != tuple(session.neuron_names):
            differ = [
                (a, b)
                for a, b in zip(session.neuron_names, fit.neuron_names, strict=True)
                if a != b
            ]
            raise DataError(
                f"session {session.name!r}: its neurons are not those its readout was fitted on "
                f"(first differences, session vs readout: {differ[:3]})"
            )
        if session.named_by_position and not same_recording(fit, session):
            raise DataError(
                f"session {session.name!r} was given no name, so it is named by its position in "
                "the cohort, and it is not the recording the model's readout "
                f"{session.name!r} was fitted on ({describe_difference(fit, session)}): that "
                "readout belongs to another animal. " + naming_advice(session)
            )
        return fit

    def _design(self, session: Session) -> tuple[np.ndarray, np.ndarray]:
        """The session's design ``(T, q)`` (NaN where the window cannot be built) and the
        valid rows."""
        self._check_fitted()
        self._check_features(session)
        valid = self.expansion_.valid(
            session.n_samples, session.segments, session.usable if session.n_omitted else None
        )
        phi = self.expansion_.design(
            np.asarray(session.behavior, dtype=float), valid, session.segments
        )
        return phi, valid

    def _nuisance(self, session: Session, fit: SessionFit, valid: np.ndarray) -> np.ndarray:
        """The session's nuisance regressors ``(T, c)`` (NaN on invalid rows)."""
        covs = fit.nuisance_names[: fit.n_nuisance - int(self.drift)]
        if tuple(session.covariate_names) != tuple(covs):
            raise DataError(
                f"session {session.name!r} has covariates {list(session.covariate_names)} but "
                f"its readout was fitted with {list(covs)}"
            )
        out = np.full((session.n_samples, fit.n_nuisance), np.nan)
        rows = np.flatnonzero(valid)
        out[rows] = nuisance_rows(session, rows, int(self.drift))
        return out

    def _time_coord(self, session: Session) -> np.ndarray:
        return np.arange(session.n_samples) if session.time is None else session.time

    def transform(self, session: Session) -> xr.DataArray:
        """Shared latents ``Z_s = Phi_s W`` of one session.

        Parameters
        ----------
        session : Session
            Any session with the model's behavioral features (its own neurons are not used).

        Returns
        -------
        xarray.DataArray, dims (time, component), shape (n_samples, d)
            Unit pooled variance per component. NaN on samples whose lag window crosses a
            segment boundary or the recording's edge.
        """
        phi, valid = self._design(session)
        fit = self.session_fits_.get(session.name)
        if fit is not None and session.named_by_position and not same_recording(fit, session):
            fit = None  # another recording that took a training session's position
        mean = fit.mean_phi if fit is not None else np.nanmean(phi[valid], axis=0)
        Z = ((phi - mean) * self._column_scale) @ self.coef_
        return xr.DataArray(
            Z,
            dims=("time", "component"),
            coords={
                "time": self._time_coord(session),
                "component": np.arange(Z.shape[1]),
                "session": session.name,
            },
            name="latents",
            attrs={"session": session.name},
        )

    def predict(self, session: Session) -> xr.DataArray:
        """Predicted neural activity of a session with a fitted readout, in raw units.

        Returns
        -------
        xarray.DataArray, dims (time, neuron), shape (n_samples, n_neurons)
            NaN where the lag window is incomplete (see :meth:`transform`).
        """
        fit = self._session_fit_for(session)
        phi, valid = self._design(session)
        coef = fit.coef(self.coef_, self._column_scale)
        Y = fit.intercept(coef) + phi @ coef
        if fit.n_nuisance:
            Y = Y + self._nuisance(session, fit, valid) @ fit.nuisance_coef
        return xr.DataArray(
            Y,
            dims=("time", "neuron"),
            coords={
                "time": self._time_coord(session),
                "neuron": list(fit.neuron_names),
                "session": session.name,
            },
            name="prediction",
            attrs={"session": session.name},
        )

    def score(self, data: Cohort | Session | Sequence[Session]) -> Scores:
        """R² of the fitted model on sessions it has readouts for.

        Computed from the sessions' sufficient statistics (one pass), with each session's
        fitted intercept and readout; the total variance is about the data's own mean.

        Returns
        -------
        Scores
            ``.neuron``, ``.session`` and ``.pooled`` R²; ``float(scores)`` is the pooled one.
        """
        self._check_fitted()
        cohort = as_cohort(data)
        sse, sst, neurons = [], [], []
        for session in cohort:
            self._check_features(session)
            fit = self._session_fit_for(session)
            st = compute_stats(
                session, self.expansion_, chunk_size=self.chunk_size, drift=int(self.drift)
            )
            coef = fit.coef(self.coef_, self._column_scale)
            e, t = st.residual_ss(coef, fit.intercept(coef), fit.nuisance_coef)
            sse.append(e)
            sst.append(t)
            neurons.append(fit.neuron_names)
        return Scores.from_sums(cohort.names, neurons, sse, sst)
