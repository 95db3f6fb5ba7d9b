"""Sessions together: :class:`Cohort` (shared behavioral features, names, rates) and
:func:`as_cohort`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from ..errors import DataError
from ._session import Session

__all__ = ["Cohort", "as_cohort"]


class Cohort(Sequence[Session]):
    """An ordered collection of sessions that share their behavioral features.

    Parameters
    ----------
    sessions : iterable of Session
        At least one session. Unnamed sessions are named ``"session<i>"`` (by position); a
        missing ``subject`` defaults to the session name.

    Raises
    ------
    DataError
        Empty cohort, duplicate session names, feature names that differ between sessions, or
        sampling rates that differ (lags are counted in samples, so rates must agree).

    Examples
    --------
    >>> import sharedrep as sr
    >>> cohort, truth = sr.simulate.cohort(n_sessions=3, seed=0)
    >>> len(cohort), cohort.names[:2]
    (3, ('session0', 'session1'))
    """

    def __init__(self, sessions: Iterable[Session]) -> None:
        items = list(sessions)
        if not items:
            raise DataError("empty cohort: give at least one Session")
        named = []
        for i, s in enumerate(items):
            if not isinstance(s, Session):
                raise DataError(f"cohort item {i} is a {type(s).__name__}, not a Session")
            if s.name is None:  # named by position: a model checks its recording (fingerprint)
                name = f"session{i}"
                s = s.replace(name=name, subject=s.subject or name)
                s._named_by_position = True
            else:
                s = s.replace(subject=s.subject or s.name)
            named.append(s)
        names = [s.name for s in named]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            by_position = [s.name for s in named if s.named_by_position and s.name in dup]
            note = (
                f" (unnamed sessions are named by their position: {by_position}; name them)"
                if by_position
                else ""
            )
            raise DataError(f"duplicate session names in cohort: {dup}{note}")
        ref = named[0]
        for s in named[1:]:
            if s.feature_names != ref.feature_names:
                raise DataError(
                    f"session {s.name!r} has behavior features {list(s.feature_names)} but "
                    f"session {ref.name!r} has {list(ref.feature_names)}; every session needs "
                    "the same behavioral variables in the same order"
                )
        rates = {s.name: s.rate for s in named if s.rate is not None}
        if len(set(rates.values())) > 1:
            raise DataError(
                f"sessions have different sampling rates {rates}; lags are counted "
                "in samples, so resample to one rate first"
            )
        self._sessions = tuple(named)

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[Session]:
        return iter(self._sessions)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            for s in self._sessions:
                if s.name == key:
                    return s
            raise KeyError(f"no session named {key!r}; sessions are {list(self.names)}")
        if isinstance(key, slice):
            return Cohort(self._sessions[key])
        return self._sessions[key]

    @property
    def names(self) -> tuple[str, ...]:
        """Session names, in order."""
        return tuple(s.name for s in self._sessions)  # type: ignore[misc]

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Behavioral feature names shared by every session."""
        return self._sessions[0].feature_names

    @property
    def rate(self) -> float | None:
        """Common sampling rate in Hz, if any session declares one."""
        return next((s.rate for s in self._sessions if s.rate is not None), None)

    def without_data(self) -> Cohort:
        """The cohort with every session's arrays left behind (see :meth:`Session.without_data`)."""
        return Cohort([s.without_data() for s in self])

    def as_covariates(self, features: Sequence[str]) -> Cohort:
        """Every session with the named behavioral features moved to its covariates (see
        :meth:`Session.as_covariates`)."""
        return Cohort([s.as_covariates(features) for s in self])

    def subset(self, names: Iterable[str]) -> Cohort:
        """Cohort of the named sessions, in the given order (their ``neuron_info`` kept)."""
        return Cohort([self[n] for n in names])

    def select_neurons(self, which: Any) -> Cohort:
        """The cohort with each session restricted to some of its neurons.

        Parameters
        ----------
        which : str, callable or mapping
            A query on each session's ``neuron_info`` (e.g. ``"population == 'm1'"``), a
            function of a session returning what :meth:`Session.select_neurons` takes, or a
            mapping from session name to such a selection (sessions not named keep all their
            neurons).

        Returns
        -------
        Cohort

        Raises
        ------
        DataError
            A session that would keep no neuron, or a selection that fails (named).
        """
        sessions = []
        for s in self:
            if isinstance(which, Mapping):
                sel = which.get(s.name)
                sessions.append(s if sel is None else s.select_neurons(sel))
            elif callable(which):
                sessions.append(s.select_neurons(which(s)))
            else:
                sessions.append(s.select_neurons(which))
        if isinstance(which, Mapping):
            unknown = sorted(set(which) - set(self.names))
            if unknown:
                raise DataError(f"select_neurons: no sessions named {unknown}")
        return Cohort(sessions)

    def to_frame(self) -> pd.DataFrame:
        """One row per session: subject, condition, samples, neurons, segments."""
        return pd.DataFrame(
            {
                "subject": [s.subject for s in self],
                "condition": [s.condition for s in self],
                "samples": [s.n_samples for s in self],
                "neurons": [s.n_neurons for s in self],
                "segments": [0 if s.segments is None else int(s.segments.max()) + 1 for s in self],
            },
            index=pd.Index(self.names, name="session"),
        )

    def __repr__(self) -> str:
        n = sum(s.n_neurons for s in self)
        return f"Cohort({len(self)} sessions, {n} neurons, features={list(self.feature_names)})"


def as_cohort(data: Session | Cohort | Iterable[Session]) -> Cohort:
    """Accept a session, a cohort or a list of sessions and return a cohort."""
    if isinstance(data, Cohort):
        return data
    if isinstance(data, Session):
        return Cohort([data])
    return Cohort(data)
