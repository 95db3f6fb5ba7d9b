"""Cross-validation folds: which samples of a session are held out together.

Folds are whole segments (trials), so that no lag window or trial is split between training
and test data, with the same fold index in every session. Three rules:

``"interleaved"``
    Segment ``k`` (in order of first appearance) goes to fold ``k mod K``: every fold samples
    the whole recording, so a slow drift of the baseline over the recording does not decide the
    score (the default for sessions with segments).
``"blocks"``
    Contiguous groups of segments, or contiguous blocks of samples for a session without
    segments (the default then: neighbouring samples of a continuous recording are correlated,
    so interleaving them would leak).
explicit labels
    A mapping from session name to a fold index ``0 .. K-1`` per sample.

``"auto"`` (default) is ``"interleaved"`` for sessions with segments and ``"blocks"`` for
continuous ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .data import Cohort, Session
from .errors import DataError

__all__ = [
    "SPLITS",
    "check_fold_sizes",
    "check_split",
    "cohort_fold_labels",
    "fold_labels",
    "split_name",
]

#: analysed samples a held-out fold needs for its R² (a variance about its own mean)
MIN_FOLD_SAMPLES = 2

SPLITS = ("auto", "interleaved", "blocks")


def check_split(split: Any) -> None:
    """Raise ``ValueError`` unless ``split`` is a known rule or a mapping of labels."""
    if isinstance(split, str):
        if split not in SPLITS:
            raise ValueError(
                f"split must be one of {SPLITS} or a mapping from session name to fold "
                f"labels, got {split!r}"
            )
    elif not isinstance(split, Mapping):
        raise ValueError(
            f"split must be one of {SPLITS} or a mapping from session name to fold labels, got "
            f"a {type(split).__name__}"
        )


def split_name(split: Any, session: Session) -> str:
    """The rule a session's folds follow: ``"interleaved"``, ``"blocks"`` or ``"labels"``."""
    if isinstance(split, Mapping):
        return "labels"
    if split == "auto":
        return "blocks" if session.segments is None else "interleaved"
    return str(split)


def fold_labels(session: Session, n_folds: int, split: Any = "auto") -> np.ndarray:
    """Fold index ``0 .. n_folds-1`` of each sample of a session.

    Parameters
    ----------
    session : Session
    n_folds : int
        Number of folds ``K`` (at least 2).
    split : {"auto", "interleaved", "blocks"} or mapping of str to array-like
        See the module documentation. A mapping gives, per session name, an integer array of
        shape ``(n_samples,)`` with values in ``0 .. K-1``.

    Returns
    -------
    ndarray of int, shape (n_samples,)

    Raises
    ------
    DataError
        Fewer segments than folds; ``"interleaved"`` for a session without segments; explicit
        labels of the wrong shape or range, or leaving a fold empty.
    """
    check_split(split)
    T = session.n_samples
    name = session.name
    if isinstance(split, Mapping):
        if name not in split:
            raise DataError(
                f"session {name!r}: split gives fold labels for {sorted(split)} but not for it"
            )
        labels = np.asarray(split[name])
        if labels.shape != (T,) or not np.issubdtype(labels.dtype, np.integer):
            raise DataError(
                f"session {name!r}: fold labels must be integers of shape ({T},), got "
                f"{labels.dtype} of shape {labels.shape}"
            )
        if labels.min(initial=0) < 0 or labels.max(initial=0) >= n_folds:
            raise DataError(
                f"session {name!r}: fold labels must lie in 0..{n_folds - 1} (folds={n_folds}),"
                f" got {int(labels.min())}..{int(labels.max())}"
            )
        empty = sorted(set(range(n_folds)) - set(np.unique(labels).tolist()))
        if empty:
            raise DataError(f"session {name!r}: fold labels leave folds {empty} empty")
        return labels.astype(np.int64)
    rule = split_name(split, session)
    if session.segments is None:
        if rule == "interleaved":
            raise DataError(
                f"session {name!r} has no segments, so split='interleaved' has nothing to "
                "interleave (neighbouring samples of a continuous recording are correlated); "
                "give its trials as segments, or use split='blocks'"
            )
        if T < n_folds:
            raise DataError(f"session {name!r} has {T} samples, fewer than the {n_folds} folds")
        return (np.arange(T) * n_folds // T).astype(np.int64)
    n_seg = int(session.segments.max()) + 1
    if n_seg < n_folds:
        raise DataError(
            f"session {name!r} has {n_seg} segments, fewer than the {n_folds} folds; use fewer "
            "folds, or segments=None for contiguous blocks"
        )
    if rule == "interleaved":
        return (session.segments % n_folds).astype(np.int64)
    return (session.segments * n_folds // n_seg).astype(np.int64)


def cohort_fold_labels(cohort: Cohort, n_folds: int, split: Any = "auto") -> list[np.ndarray]:
    """:func:`fold_labels` of every session of a cohort, in cohort order."""
    if isinstance(split, Mapping):
        unknown = sorted(set(split) - set(cohort.names))
        if unknown:
            raise DataError(f"split gives fold labels for sessions not in the cohort: {unknown}")
    return [fold_labels(s, n_folds, split) for s in cohort]


def describe_split(split: Any, sessions: Sequence[Session]) -> str:
    """One phrase for tables and reports, e.g. ``"interleaved trials"``."""
    rules = sorted({split_name(split, s) for s in sessions})
    words = {
        "interleaved": "interleaved segments",
        "blocks": "contiguous blocks",
        "labels": "explicit fold labels",
    }
    return " and ".join(words[r] for r in rules)


def check_fold_sizes(
    cohort: Cohort, counts: Sequence[np.ndarray], n_folds: int, what: str = "folds"
) -> None:
    """Refuse folds too small to be scored: each needs ``MIN_FOLD_SAMPLES`` analysed samples.

    Parameters
    ----------
    cohort : Cohort
    counts : sequence of ndarray, shape (n_folds,)
        Per session, the analysed samples (valid rows) of each fold.
    n_folds : int
    what : str
        The argument that set the number of folds, for the message (``"folds"``,
        ``"n_blocks"``).

    Raises
    ------
    DataError
        Naming the session, the fold, its size, and the number of folds the session allows.
    """
    for s, c in zip(cohort, counts, strict=True):
        c = np.asarray(c)
        small = np.flatnonzero(c < MIN_FOLD_SAMPLES)
        if not small.size:
            continue
        k, total = int(small[0]), int(c.sum())
        unit = f" in {int(s.segments.max()) + 1} segments" if s.segments is not None else ""
        raise DataError(
            f"{what}={n_folds} is too many for session {s.name!r}: fold {k} holds "
            f"{int(c[k])} analysed sample(s), and scoring a held-out fold needs at least "
            f"{MIN_FOLD_SAMPLES} (the session has {s.n_samples} samples{unit}, {total} "
            f"analysed with these lags); use fewer {what}"
        )
