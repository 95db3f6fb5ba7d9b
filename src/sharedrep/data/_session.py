"""One recording: :class:`Session` (behavior, neural activity, segments, metadata), its
validation, and the neuron selections and metadata-only copies it makes."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._dtypes import real_values
from .._inputs import _as_table, _check_aligned, _fingerprint, _labels_index
from ..errors import DataError, SharedRepWarning

__all__ = ["Session"]

NAN_POLICIES = ("raise", "omit")

#: values a Session caches (in its ``__dict__``) and the attributes each is computed from
_DERIVED = {"_fingerprint": ("neural", "neuron_names")}


def _is_lazy(a: Any) -> bool:
    """True for array-likes whose values should not be read at construction."""
    return isinstance(a, np.memmap) or not isinstance(a, np.ndarray)


class _LeftBehind:
    """Stands in for an array of a metadata-only session: it has a shape, it cannot be read."""

    def __init__(self, shape: tuple[int, ...], session: str | None, what: str) -> None:
        self.shape, self.ndim = tuple(shape), len(shape)
        self._message = (
            f"session {session!r}: this copy of the session has no {what} data (it was made "
            "by without_data() to carry metadata only); use the original session"
        )

    def __getitem__(self, key: Any) -> Any:
        raise DataError(self._message)

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise DataError(self._message)


class Session:
    """One recording: behavior and neural activity on a common time base.

    Parameters
    ----------
    behavior : array-like, DataFrame or DataArray, shape (n_samples, n_features)
        Behavioral variables (any units; they are centred per session and scaled by the
        pooled standard deviation over the cohort when fitting). DataFrame columns or the
        DataArray's non-time coordinate give the feature names.
    neural : array-like, DataFrame or DataArray, shape (n_samples, n_neurons)
        Neural activity (spike counts, rates, dF/F, ...). Column names give neuron ids.
    segments : array-like, shape (n_samples,), optional
        Trial or block label of each sample. Temporal lags never cross a change of label, and
        cross-validation folds are whole segments. ``None``: one continuous block.
    name : str, optional
        Unique session name within a cohort (default given by the cohort: ``"session<i>"``).
    subject : str, optional
        Animal id; several sessions may share one (default: the session name).
    condition : str, optional
        Experimental condition, e.g. ``"naive"`` or ``"expert"``.
    feature_names, neuron_names : sequence of str, optional
        Override the names taken from DataFrame/DataArray labels.
    rate : float, optional
        Sampling rate in Hz (lags are in samples; the rate converts them to seconds in outputs).
    metadata : mapping, optional
        Free-form metadata (kept, never interpreted).
    covariates : array-like, DataFrame or DataArray, shape (n_samples, n_covariates), optional
        Private nuisance regressors of this session (running speed, pupil, trial index, ...).
        They are fitted per session next to the shared model, at lag 0, and never enter the
        shared representation ``W``; sessions may have different covariates (or none).
        Column names come from the labels or ``covariate_names``.
    covariate_names : sequence of str, optional
        Override the names taken from DataFrame/DataArray labels.
    neuron_info : DataFrame or mapping of columns, optional
        One row per neuron, any columns (population, cell type, optogenetic tag, depth, ...).
        Rows are matched to neurons by index when the index holds the neuron names, else by
        position; kept as ``neuron_info`` (a DataFrame indexed by neuron name). A column of
        True/False with missing entries (a tag defined for some neurons only) is kept as
        pandas' nullable ``"boolean"``. It survives :meth:`select_neurons`, fits (in
        ``SessionFit.neuron_info``), model files, npz files and the encoding map's tables.
    trial_time : array-like, shape (n_samples,), optional
        Time of each sample within its trial in seconds (e.g. from stimulus onset); labels
        the time axis of trial-averaged plots.
    nan_policy : {"raise", "omit"}
        ``"raise"`` (default): any NaN or inf is an error. ``"omit"``: samples with a non-finite
        value in behavior or neural data are excluded (they also break lag windows, like a
        segment boundary); their number is reported in a warning and in ``n_omitted``.

    Attributes
    ----------
    usable : ndarray of bool, shape (n_samples,)
        Samples that enter the analysis (all True unless ``nan_policy="omit"`` removed some).
    n_omitted : int
        Number of samples excluded because of non-finite values.
    fingerprint : str
        Identifies the neural recording (see :attr:`fingerprint`).
    named_by_position : bool
        The session was given no name and a :class:`Cohort` named it ``session<i>``.

    Notes
    -----
    Values are real numbers (booleans, integers, floats; pandas nullable and object columns of
    numbers are read as float64 with ``pd.NA`` as NaN); complex numbers, text, dates and
    categorical columns are refused (:mod:`sharedrep._dtypes`). Samples are paired by position:
    inputs that carry time labels (a DataFrame index, a DataArray coordinate, a Series of
    segments or trial times) must carry the same ones, or the session is refused; nothing is
    reindexed.

    Examples
    --------
    >>> import numpy as np, sharedrep as sr
    >>> rng = np.random.default_rng(0)
    >>> s = sr.Session(rng.normal(size=(100, 2)), rng.normal(size=(100, 5)), name="m1",
    ...                feature_names=["lever", "lick"])
    >>> s.n_samples, s.n_features, s.n_neurons
    (100, 2, 5)
    """

    def __init__(
        self,
        behavior: Any,
        neural: Any,
        segments: Any = None,
        *,
        name: str | None = None,
        subject: str | None = None,
        condition: str | None = None,
        feature_names: Sequence[str] | None = None,
        neuron_names: Sequence[str] | None = None,
        rate: float | None = None,
        metadata: Mapping[str, Any] | None = None,
        covariates: Any = None,
        covariate_names: Sequence[str] | None = None,
        neuron_info: Any = None,
        trial_time: Any = None,
        nan_policy: str = "raise",
    ) -> None:
        if name is not None and not (isinstance(name, str) and name):
            raise TypeError(f"Session name must be a non-empty str, got {name!r}")
        label = name if name is not None else "<unnamed>"
        if nan_policy not in NAN_POLICIES:
            raise DataError(
                f"session {label!r}: nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}"
            )
        self.behavior, self.feature_names, time_b = _as_table(
            behavior, "behavior", label, feature_names
        )
        self.neural, self.neuron_names, time_n = _as_table(neural, "neural", label, neuron_names)
        n_b, n_n = self.behavior.shape[0], self.neural.shape[0]
        if n_b != n_n:
            raise DataError(
                f"session {label!r}: behavior has {n_b} samples but neural has "
                f"{n_n}; both must be on the same time base"
            )
        index = time_b if time_b is not None else time_n
        self.time = None if index is None else np.asarray(index)
        self.name = name
        self.subject = subject
        self.condition = condition
        if rate is not None and not (
            isinstance(rate, numbers.Real)
            and not isinstance(rate, bool)
            and np.isfinite(rate)
            and rate > 0
        ):
            raise DataError(
                f"session {label!r}: rate must be a positive number in Hz, got {rate!r}"
            )
        self.rate = None if rate is None else float(rate)
        self.metadata = dict(metadata or {})
        self.nan_policy = nan_policy
        self.segments = self._validate_segments(segments, label)
        self.covariates, self.covariate_names, time_c = self._validate_covariates(
            covariates, covariate_names, label
        )
        self.neuron_info = _neuron_table(neuron_info, self.neuron_names, label)
        self.trial_time = self._validate_trial_time(trial_time, label)
        _check_aligned(
            [
                ("behavior", time_b),
                ("neural", time_n),
                ("covariates", time_c),
                ("segments", _labels_index(segments)),
                ("trial_time", _labels_index(trial_time)),
            ],
            label,
        )
        self.usable = np.ones(n_b, dtype=bool)
        self.n_omitted = 0
        #: named by its position in a cohort (it was given no name): see ``Cohort``
        self._named_by_position = False
        if not any(_is_lazy(a) for a in self._arrays()):
            self._check_finite(label)

    # -- validation -----------------------------------------------------------------------
    def _validate_segments(self, segments: Any, label: str) -> np.ndarray | None:
        if segments is None:
            return None
        seg = segments.to_numpy() if isinstance(segments, pd.Series) else np.asarray(segments)
        if seg.ndim != 1 or seg.shape[0] != self.n_samples:
            raise DataError(
                f"session {label!r}: segments must have shape ({self.n_samples},), got {seg.shape}"
            )
        if seg.dtype.kind == "f" and not np.all(np.isfinite(seg)):
            i = int(np.flatnonzero(~np.isfinite(seg))[0])
            raise DataError(
                f"session {label!r}: segments contain NaN, inf or missing labels (first at "
                f"sample {i}); label every sample (e.g. a label of its own for samples between "
                "trials)"
            )
        if seg.dtype.kind == "c":
            raise DataError(f"session {label!r}: segments are complex numbers; use labels")
        codes, _ = pd.factorize(seg, sort=False)
        if (codes < 0).any():  # None, pd.NA or NaN among object labels
            i = int(np.flatnonzero(codes < 0)[0])
            raise DataError(
                f"session {label!r}: segments contain a missing label ({seg[i]!r} at sample "
                f"{i}); label every sample (e.g. a label of its own for samples between trials)"
            )
        return codes.astype(np.int64)

    def _validate_covariates(
        self, covariates: Any, names: Sequence[str] | None, label: str
    ) -> tuple[Any, tuple[str, ...], pd.Index | None]:
        if covariates is None:
            if names:
                raise DataError(f"session {label!r}: covariate_names given without covariates")
            return None, (), None
        values, names, index = _as_table(covariates, "covariates", label, names)
        if values.shape[0] != self.n_samples:
            raise DataError(
                f"session {label!r}: covariates have {values.shape[0]} samples but the "
                f"session has {self.n_samples}"
            )
        if values.shape[1] == 0:
            return None, (), None
        return values, names, index

    def _validate_trial_time(self, trial_time: Any, label: str) -> np.ndarray | None:
        if trial_time is None:
            return None
        raw = trial_time.to_numpy() if isinstance(trial_time, pd.Series) else trial_time
        t = real_values(np.asarray(raw), f"session {label!r}: trial_time").astype(float)
        if t.shape != (self.n_samples,):
            raise DataError(
                f"session {label!r}: trial_time must have shape ({self.n_samples},), got {t.shape}"
            )
        if not np.all(np.isfinite(t)):
            raise DataError(f"session {label!r}: trial_time contains NaN or inf")
        return t

    def _arrays(self) -> list[Any]:
        """The per-sample arrays of the session: behavior, neural, covariates (if any)."""
        return [a for a in (self.behavior, self.neural, self.covariates) if a is not None]

    @property
    def n_covariates(self) -> int:
        """Number of private covariates."""
        return 0 if self.covariates is None else int(self.covariates.shape[1])

    def _check_finite(self, label: str) -> None:
        bad_b = ~np.isfinite(self.behavior).all(axis=1)
        bad_n = ~np.isfinite(self.neural).all(axis=1)
        if self.covariates is not None:
            bad_n = bad_n | ~np.isfinite(self.covariates).all(axis=1)
        bad = bad_b | bad_n
        if not bad.any():
            return
        if self.nan_policy == "raise":
            raise DataError(
                f"session {label!r}: {int(bad_b.sum())} behavior and {int(bad_n.sum())} neural "
                f"samples contain NaN or inf (or missing values such as pd.NA; first at sample "
                f"{int(np.flatnonzero(bad)[0])}); clean them or pass nan_policy='omit' to "
                "exclude those samples"
            )
        if bad.all():
            raise DataError(self._nothing_usable(label))
        self.usable = ~bad
        self.n_omitted = int(bad.sum())
        warnings.warn(
            f"session {label!r}: omitting {self.n_omitted} of {self.n_samples} samples "
            "with NaN or inf (nan_policy='omit')",
            SharedRepWarning,
            stacklevel=3,
        )

    def _nothing_usable(self, label: str) -> str:
        """Why ``nan_policy='omit'`` would leave no sample: the columns that are never finite."""
        dead = []
        for what, values, names in (
            ("behavior", self.behavior, self.feature_names),
            ("neural", self.neural, self.neuron_names),
            ("covariates", self.covariates, self.covariate_names),
        ):
            if values is not None:
                never = ~np.isfinite(np.asarray(values, dtype=float)).any(axis=0)
                dead += [f"{what} {names[j]!r}" for j in np.flatnonzero(never)]
        which = (
            f"{', '.join(dead[:5])}{' ...' if len(dead) > 5 else ''} "
            f"{'is' if len(dead) == 1 else 'are'} NaN or inf in every sample"
            if dead
            else "every sample has a NaN or inf in some column"
        )
        return (
            f"session {label!r}: nan_policy='omit' would exclude all {self.n_samples} samples: "
            f"{which}; remove {'those columns' if dead else 'the columns at fault'} first"
        )

    # -- identity ---------------------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        """A short checksum of the neural recording: ``"<samples>x<neurons>:<hash>"``.

        The hash covers the neuron names and a few rows sampled evenly over the recording (a
        handful of small reads, also for lazy sources), so two recordings that differ get
        different fingerprints, whatever their names. A fitted model keeps the fingerprint of
        each session's recording with its readout and checks it before the readout is used
        (see :meth:`sharedrep.ShaReD.fit_readout`). Computed once and kept.
        """
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            cached = _fingerprint(self.neural, self.neuron_names)
            self.__dict__["_fingerprint"] = cached
        return cached

    @property
    def named_by_position(self) -> bool:
        """True when the session was given no name and a :class:`Cohort` named it by position."""
        return bool(self.__dict__.get("_named_by_position", False))

    # -- shape ----------------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        """Number of time samples."""
        return int(self.behavior.shape[0])

    @property
    def n_features(self) -> int:
        """Number of behavioral variables."""
        return int(self.behavior.shape[1])

    @property
    def n_neurons(self) -> int:
        """Number of neurons (units, ROIs, axons)."""
        return int(self.neural.shape[1])

    @property
    def duration(self) -> float | None:
        """Length in seconds, when the sampling rate is known."""
        return None if self.rate is None else self.n_samples / self.rate

    # -- readers (the I/O lives in sharedrep.io; imported on use so that this module, and the
    # math modules that import it, never load pynwb or pynapple) ----------------------------
    @classmethod
    def from_nwb(
        cls,
        path: Any,
        behavior: str | Sequence[str] | None = None,
        neural: str | None = None,
        **kwargs: Any,
    ) -> Session:
        """Read a session from an NWB file; see :func:`sharedrep.io.read_nwb`.

        Parameters
        ----------
        path : str or path-like
        behavior : str or list of str, optional
            Series of the ``behavior`` processing module (default: all).
        neural : str, optional
            ``"units"`` (spike times binned at ``bin_size`` seconds) or an ophys
            ``RoiResponseSeries`` (``"DfOverF"``, ``"Fluorescence"``, ...).
        **kwargs
            ``bin_size``, ``trials``, ``resample``, ``out_of_range``, ``name``,
            ``condition``, ``nan_policy``.

        Returns
        -------
        Session
        """
        from ..io import read_nwb

        return read_nwb(path, behavior, neural, **kwargs)

    @classmethod
    def from_pynapple(cls, behavior: Any, neural: Any, **kwargs: Any) -> Session:
        """Build a session from pynapple objects; see :func:`sharedrep.io.from_pynapple`.

        Parameters
        ----------
        behavior : Tsd, TsdFrame or dict of them
        neural : TsGroup (binned at ``bin_size`` seconds) or TsdFrame
        **kwargs
            ``bin_size``, ``epochs`` (IntervalSet), ``resample``, ``out_of_range``, ``name``,
            ``subject``, ``condition``, ``metadata``, ``nan_policy``.

        Returns
        -------
        Session
        """
        from ..io import from_pynapple

        return from_pynapple(behavior, neural, **kwargs)

    @classmethod
    def from_trials(cls, behavior: Any, neural: Any, **kwargs: Any) -> Session:
        """A session from data cut into trials; see :func:`sharedrep.io.from_trials`.

        Parameters
        ----------
        behavior : array (trials, time, features), list of (time_k, features), or DataArray
        neural : the same layouts, columns = neurons
        **kwargs
            ``trial_time``, ``rate``, ``trial_ids``, ``trial_info``, ``covariates``, names and
            the other :class:`Session` arguments.

        Returns
        -------
        Session
        """
        from ..io.trials import from_trials

        return from_trials(behavior, neural, **kwargs)

    @classmethod
    def from_npz(cls, path: Any, **kwargs: Any) -> Session:
        """Read a session from an ``.npz`` file; see :func:`sharedrep.io.read_npz`.

        Parameters
        ----------
        path : str or path-like
        **kwargs
            ``name``, ``condition``, ``nan_policy``.

        Returns
        -------
        Session
        """
        from ..io import read_npz

        return read_npz(path, **kwargs)

    def to_npz(self, path: Any) -> Any:
        """Write this session to an ``.npz`` file; see :func:`sharedrep.io.write_npz`.

        The file is one session in the layout :meth:`from_npz`, :func:`sharedrep.load_cohort`
        and ``sharedrep fit`` read (keys in :mod:`sharedrep.io.npz`); ``sr.save_session(session,
        path)`` does the same.

        Parameters
        ----------
        path : str or path-like
            Destination, used as given (``.npz`` suggested).

        Returns
        -------
        pathlib.Path

        Examples
        --------
        >>> import numpy as np, sharedrep as sr
        >>> s = sr.Session(np.zeros((50, 2)), np.ones((50, 3)), name="m1", rate=20.0)
        >>> path = s.to_npz("m1.npz")  # doctest: +SKIP
        """
        from ..io.npz import write_npz

        return write_npz(self, path)

    def as_covariates(self, features: Sequence[str]) -> Session:
        """A copy in which some behavioral features become private covariates.

        Continuous variables recorded with the behavior (running speed, pupil size) are often
        nuisance for the shared representation: as covariates they are fitted per session at
        lag 0 and never enter ``W`` (and, for trial-cut data, need no zero-padding at trial
        edges). They are appended after the session's existing covariates.

        Parameters
        ----------
        features : sequence of str
            Names of behavioral features to move.

        Returns
        -------
        Session

        Examples
        --------
        >>> import numpy as np, sharedrep as sr
        >>> s = sr.Session(np.zeros((10, 3)), np.ones((10, 2)), feature_names=["a", "b", "run"])
        >>> t = s.as_covariates(["run"])
        >>> t.feature_names, t.covariate_names
        (('a', 'b'), ('run',))
        """
        label = self.name or "<unnamed>"
        features = [str(f) for f in features]
        unknown = [f for f in features if f not in self.feature_names]
        if unknown:
            raise DataError(
                f"session {label!r}: no behavioral features {unknown}; it has "
                f"{list(self.feature_names)}"
            )
        keep = [j for j, f in enumerate(self.feature_names) if f not in features]
        move = [self.feature_names.index(f) for f in features]
        if not keep:
            raise DataError(f"session {label!r}: moving {features} would leave no behavior")
        X = np.asarray(self.behavior)
        parts = (
            [X[:, move]] if self.covariates is None else [np.asarray(self.covariates), X[:, move]]
        )
        return self._copy(
            behavior=X[:, keep],
            feature_names=tuple(self.feature_names[j] for j in keep),
            covariates=np.hstack(parts),
            covariate_names=tuple(self.covariate_names) + tuple(features),
        )

    def without_data(self) -> Session:
        """A copy that keeps everything but the behavior and neural arrays.

        Names, segments, metadata and shapes are kept; reading the arrays raises a
        :class:`~sharedrep.errors.DataError`. Work that needs only the metadata (fits from
        statistics, tables) sends this to a cluster instead of the recording.

        Examples
        --------
        >>> import numpy as np, sharedrep as sr
        >>> s = sr.Session(np.zeros((100, 2)), np.ones((100, 5)), name="m1").without_data()
        >>> s.n_samples, s.n_neurons
        (100, 5)
        """
        left = {}
        if self.covariates is not None:
            left["covariates"] = _LeftBehind(self.covariates.shape, self.name, "covariate")
        return self._copy(
            behavior=_LeftBehind(self.behavior.shape, self.name, "behavior"),
            neural=_LeftBehind(self.neural.shape, self.name, "neural"),
            # computed while the data are here: the copy stands for the same recording
            _fingerprint=self.fingerprint,
            **left,
        )

    def replace(self, **changes: Any) -> Session:
        """Return a shallow copy with some metadata fields changed (arrays are shared).

        ``name``, ``subject``, ``condition``, ``metadata``, ``rate`` and ``neuron_info`` (one
        row per neuron, validated as on construction) can be changed.
        """
        for key in changes:
            if key not in ("name", "subject", "condition", "metadata", "rate", "neuron_info"):
                raise TypeError(f"replace() cannot change {key!r}")
        if "neuron_info" in changes:
            label = self.name if self.name is not None else "<unnamed>"
            changes["neuron_info"] = _neuron_table(changes["neuron_info"], self.neuron_names, label)
        if "name" in changes:  # a name given now is the user's, not a position
            changes["_named_by_position"] = False
        return self._copy(**changes)

    def select_neurons(self, which: Any) -> Session:
        """The session restricted to some of its neurons (behavior and everything else kept).

        Parameters
        ----------
        which : str, sequence of str, sequence of int or boolean array, shape (n_neurons,)
            A query on ``neuron_info`` (:meth:`pandas.DataFrame.query`, e.g.
            ``"population == 'm1'"``), neuron names, positions, or a mask. Neurons keep the
            order they have in the session.

        Returns
        -------
        Session
            Neural data, neuron names and ``neuron_info`` of the selected neurons; the arrays
            are indexed lazily when the session's are lazy (nothing is read here). Samples
            omitted for non-finite values (``nan_policy="omit"``) stay omitted.

        Raises
        ------
        DataError
            A query without ``neuron_info`` or that fails, unknown names, positions out of
            range, a mask of the wrong length, or a selection of no neuron; the message names
            the session.

        Examples
        --------
        >>> import numpy as np, pandas as pd, sharedrep as sr
        >>> s = sr.Session(np.zeros((50, 1)), np.ones((50, 3)), name="m1",
        ...                neuron_info=pd.DataFrame({"population": ["th", "m1", "m1"]}))
        >>> s.select_neurons("population == 'm1'").neuron_names
        ('n1', 'n2')
        """
        label = self.name if self.name is not None else "<unnamed>"
        idx = _neuron_positions(which, self.neuron_names, self.neuron_info, label)
        if isinstance(self.neural, np.ndarray) and not isinstance(self.neural, np.memmap):
            neural = self.neural[:, idx]
        else:  # lazy (file-backed) or metadata-only arrays: select columns when read
            neural = _ColumnView(self.neural, idx)
        return self._copy(
            neural=neural,
            neuron_names=tuple(self.neuron_names[i] for i in idx),
            neuron_info=None if self.neuron_info is None else self.neuron_info.iloc[idx].copy(),
        )

    def _copy(self, **changes: Any) -> Session:
        """A shallow copy with some attributes changed (no validation; arrays are shared).

        Cached values derived from a changed attribute are dropped, to be recomputed from the
        copy: the fingerprint when ``neural`` or ``neuron_names`` change (unless the change
        gives ``_fingerprint`` itself, for a copy that stands for the same recording).
        """
        new = object.__new__(Session)
        new.__dict__.update(self.__dict__)
        for cached, inputs in _DERIVED.items():
            if cached not in changes and any(k in changes for k in inputs):
                new.__dict__.pop(cached, None)
        new.__dict__.update(changes)
        return new

    def __repr__(self) -> str:
        extra = "".join(
            f", {k}={v!r}"
            for k, v in (("subject", self.subject), ("condition", self.condition))
            if v
        )
        return (
            f"Session(name={self.name!r}, samples={self.n_samples}, "
            f"features={self.n_features}, neurons={self.n_neurons}{extra})"
        )


def _neuron_table(info: Any, names: tuple[str, ...], label: str) -> pd.DataFrame | None:
    """``neuron_info`` as a DataFrame indexed by neuron name, rows in neuron order."""
    if info is None:
        return None
    df = info.copy() if isinstance(info, pd.DataFrame) else pd.DataFrame(info)
    if len(df) != len(names):
        raise DataError(
            f"session {label!r}: neuron_info has {len(df)} rows for {len(names)} neurons"
        )
    index = [str(i) for i in df.index]
    if set(index) == set(names) and len(set(index)) == len(index):
        df.index = index
        df = df.loc[list(names)]
    elif isinstance(df.index, pd.RangeIndex):
        df.index = list(names)
    else:
        raise DataError(
            f"session {label!r}: the index of neuron_info matches neither the neuron names "
            f"(first {list(names[:3])}) nor positions 0..{len(names) - 1}"
        )
    df.index.name = "neuron"
    for col in df.columns:
        values = df[col]
        if values.dtype == object:
            present = values[values.notna()]
            if len(present) and all(isinstance(v, bool | np.bool_) for v in present):
                # True/False with gaps (a tag defined for some neurons only): pandas' nullable
                # boolean, the same values and missing entries, storable without pickle
                df[col] = values.astype("boolean")
    return df


class _ColumnView:
    """Some columns of a lazy 2-D array, selected when rows are read (nothing read before)."""

    ndim = 2

    def __init__(self, source: Any, columns: np.ndarray) -> None:
        if isinstance(source, _ColumnView):  # a selection of a selection: one view
            columns, source = source.columns[columns], source.source
        self.source, self.columns = source, np.asarray(columns, dtype=np.int64)
        self.shape = (int(source.shape[0]), int(self.columns.size))
        self.dtype = getattr(source, "dtype", np.dtype(float))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        block = np.asarray(self.source[rows])
        return block[..., self.columns][..., cols] if block.ndim == 2 else block[self.columns][cols]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = np.asarray(self.source)[:, self.columns]
        return out if dtype is None else out.astype(dtype, copy=False)


def _neuron_positions(
    which: Any, names: tuple[str, ...], info: pd.DataFrame | None, label: str
) -> np.ndarray:
    """Positions (in session order) of the neurons ``which`` selects; see ``select_neurons``."""
    n = len(names)
    if isinstance(which, str):
        if info is None:
            raise DataError(
                f"session {label!r}: the query {which!r} needs neuron_info, which this session "
                "does not have"
            )
        try:
            keep = info.eval(which)
        except Exception as err:  # pandas raises many types for a bad expression
            raise DataError(
                f"session {label!r}: the query {which!r} failed on neuron_info (columns "
                f"{list(info.columns)}): {type(err).__name__}: {err}"
            ) from None
        mask = np.asarray(pd.Series(keep, index=info.index).fillna(False), dtype=bool)
        if mask.shape != (n,):
            raise DataError(f"session {label!r}: the query {which!r} is not a per-neuron test")
        idx = np.flatnonzero(mask)
    else:
        arr = np.asarray(which)
        if arr.dtype == bool:
            if arr.shape != (n,):
                raise DataError(
                    f"session {label!r}: a mask of {arr.shape} for {n} neurons; give one "
                    "value per neuron"
                )
            idx = np.flatnonzero(arr)
        elif arr.dtype.kind in "iu":
            bad = arr[(arr < 0) | (arr >= n)]
            if bad.size:
                raise DataError(
                    f"session {label!r}: neuron positions {bad[:5].tolist()} are out of range "
                    f"0..{n - 1}"
                )
            idx = np.unique(arr)
        else:
            pos = {v: i for i, v in enumerate(names)}
            wanted = [str(v) for v in arr.ravel()]
            unknown = [v for v in wanted if v not in pos]
            if unknown:
                raise DataError(
                    f"session {label!r}: no neurons named {unknown[:5]} (first names: "
                    f"{list(names[:3])})"
                )
            idx = np.unique([pos[v] for v in wanted]).astype(np.int64)
    if idx.size == 0:
        raise DataError(f"session {label!r}: the selection {which!r:.60} keeps no neuron")
    return idx.astype(np.int64)
