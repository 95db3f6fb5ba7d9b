"""Transfer to a new animal: its readout fitted on part of its data with the others' ``W``,
against the animal's own reduced-rank ridge on the same part."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..data import Cohort, Session, as_cohort
from ..errors import DataError
from ..estimator import SessionFit, ShaReD
from ..metrics import _r2
from ..stats import SessionStats
from ._cv import _as_grid, _base_params
from ._fold_fits import FoldStats, score_block


# -- transfer to a new animal -------------------------------------------------------------------
@dataclass(frozen=True)
class TransferResults:
    """Leave-one-session-out transfer of the shared representation.

    Attributes
    ----------
    session : pandas.DataFrame
        One row per ``(session, train_fraction, method)``: ``subject``, ``condition``,
        ``n_train`` (samples used to fit the readout), ``n_test``, ``r2`` (mean held-out R²
        over the session's neurons). ``method`` is ``"shared"`` (W from the other sessions,
        readout fitted on the training part) or ``"individual"`` (reduced-rank ridge of the
        same rank fitted on the same training part alone).
    neuron : pandas.DataFrame
        The same per neuron (column ``neuron``).
    summary : pandas.DataFrame
        Index ``train_fraction``; columns ``shared``, ``individual`` (mean session R²),
        ``difference`` (shared minus individual), ``se`` (its standard error over sessions),
        ``wins`` (fraction of sessions where shared is better).
    split : str
        How each session was cut into blocks, in words.
    """

    session: pd.DataFrame
    neuron: pd.DataFrame
    summary: pd.DataFrame
    split: str = "contiguous blocks"


def transfer(
    cohort: Cohort | Sequence[Session],
    train_fraction: float | Iterable[float] = (0.05, 0.1, 0.2, 0.5),
    *,
    n_components: int = 3,
    alpha: float = 1.0,
    folds: int = 5,
    n_blocks: int = 20,
    split: Any = "auto",
    estimator: ShaReD | None = None,
    **params: Any,
) -> TransferResults:
    """How well the shared representation transfers to a new animal.

    For each session ``s`` in turn (leave-one-session-out): ``W`` is fitted on the other
    sessions only; session ``s`` is cut into ``n_blocks`` blocks of whole segments (by
    ``split``: interleaved segments for sessions with trials, contiguous blocks otherwise);
    ``folds`` rotations each hold out ``n_blocks / folds`` blocks for testing and fit the
    readout on the ``round(f * n_blocks)`` blocks that follow them (cyclically), for each
    training fraction ``f``: with interleaved blocks, both parts are trials spread over the
    whole recording. The same training data also fit an individual reduced-rank ridge
    regression of the same rank and ridge (no sharing). Held-out sums of squares are pooled
    over rotations. All from one statistics pass.

    Parameters
    ----------
    cohort : Cohort or list of Session
        At least two sessions.
    train_fraction : float or iterable of float
        Fractions of the left-out session used to fit its readout; each is rounded to whole
        blocks (at least one) and must leave the test blocks free
        (``f <= 1 - 1/folds``).
    n_components, alpha : int, float
        Rank and ridge of both the shared and the individual model (e.g. chosen by
        :func:`cross_validate`).
    folds : int
        Rotations of the test part.
    n_blocks : int
        Blocks per session (the resolution of ``train_fraction``); needs as many segments.
    split : {"auto", "interleaved", "blocks"} or mapping
        How samples are assigned to the blocks (see :mod:`sharedrep.folds`; explicit labels
        give ``n_blocks`` values).
    estimator : ShaReD, optional
        Take other parameters (lags, basis, edges, drift, ...) from this estimator.
    **params
        Other :class:`~sharedrep.ShaReD` parameters; they override ``estimator``'s.

    Returns
    -------
    TransferResults
    """
    cohort = as_cohort(cohort)
    if len(cohort) < 2:
        raise DataError("transfer needs at least two sessions (one is left out at a time)")
    fracs = sorted(set(_as_grid(train_fraction, "train_fraction", float)))
    if not (
        isinstance(n_blocks, int | np.integer)
        and not isinstance(n_blocks, bool | np.bool_)
        and n_blocks >= 2
    ):
        raise ValueError(f"n_blocks must be an integer >= 2, got {n_blocks!r}")
    if not (isinstance(folds, int | np.integer) and 2 <= folds <= n_blocks):
        raise ValueError(f"folds must be an integer in 2..n_blocks={n_blocks}, got {folds!r}")
    if n_blocks % folds:
        raise ValueError(f"n_blocks={n_blocks} must be a multiple of folds={folds}")
    per_test = n_blocks // folds
    if fracs[0] <= 0:
        raise ValueError(
            f"train_fraction must be positive (the readout needs training data), got {fracs[0]}"
        )
    n_train = {f: max(1, round(f * n_blocks)) for f in fracs}
    bad = [f for f, m in n_train.items() if m > n_blocks - per_test]
    if bad:
        raise ValueError(
            f"train_fraction {bad} leaves no room for the test blocks: with folds={folds} "
            f"the largest usable fraction is {1 - 1 / folds:g}"
        )
    base = _base_params(estimator, params)
    params_full = {**base, "n_components": int(n_components), "alpha": float(alpha)}
    fs = FoldStats.compute(cohort, ShaReD(**params_full), n_blocks, split=split, what="n_blocks")
    totals = fs.total()
    ses_rows, neu_rows = [], []
    for i, s in enumerate(cohort):
        others = [j for j in range(len(cohort)) if j != i]
        shared = ShaReD(**params_full).fit_from_stats(
            [totals[j] for j in others], cohort.subset([cohort.names[j] for j in others])
        )
        st = fs.stats[i]
        one = Cohort([s])
        for f in fracs:
            m = n_train[f]
            sums = {"shared": [0.0, 0.0], "individual": [0.0, 0.0]}
            n_tr = n_te = 0
            for r in range(folds):
                test = list(range(r * per_test, (r + 1) * per_test))
                train = [(r * per_test + per_test + j) % n_blocks for j in range(m)]
                tr_stats, te_stats = st.block(train), st.block(test)
                n_tr += int(tr_stats.count[0])
                n_te += int(te_stats.count[0])
                fit = shared.readout_from_stats(tr_stats, s)
                e, t = score_block(shared.coef_, shared._column_scale, fit, te_stats)
                sums["shared"][0] += e
                sums["shared"][1] += t
                indiv = _individual_fit(params_full, tr_stats, one, s.name)
                if indiv is None:
                    sums["individual"][0] += np.full(s.n_neurons, np.nan)
                    sums["individual"][1] += t
                else:
                    W, col, fit_i = indiv
                    e, t = score_block(W, col, fit_i, te_stats)
                    sums["individual"][0] += e
                    sums["individual"][1] += t
            for method, (e, t) in sums.items():
                r2 = _r2(np.asarray(e), np.asarray(t))
                mean = float(np.nanmean(r2)) if np.isfinite(r2).any() else np.nan
                ses_rows.append(
                    (s.name, s.subject, s.condition, f, method, n_tr / folds, n_te, mean)
                )
                neu_rows.append(
                    pd.DataFrame(
                        {
                            "session": s.name,
                            "subject": s.subject,
                            "condition": s.condition,
                            "train_fraction": f,
                            "method": method,
                            "neuron": list(s.neuron_names),
                            "r2": r2,
                        }
                    )
                )
    session = pd.DataFrame(
        ses_rows,
        columns=[
            "session",
            "subject",
            "condition",
            "train_fraction",
            "method",
            "n_train",
            "n_test",
            "r2",
        ],
    )
    wide = session.pivot_table(index=["train_fraction", "session"], columns="method", values="r2")
    diff = wide["shared"] - wide["individual"]
    g = diff.groupby(level="train_fraction")
    summary = pd.DataFrame(
        {
            "shared": wide["shared"].groupby(level="train_fraction").mean(),
            "individual": wide["individual"].groupby(level="train_fraction").mean(),
            "difference": g.mean(),
            "se": g.std(ddof=1) / np.sqrt(g.count()),
            "wins": (diff > 0).groupby(level="train_fraction").mean(),
        }
    )
    return TransferResults(
        session, pd.concat(neu_rows, ignore_index=True), summary, fs.split_description
    )


def _individual_fit(
    params: Mapping[str, Any], stats: SessionStats, one: Cohort, name: str
) -> tuple[np.ndarray, np.ndarray, SessionFit] | None:
    """Reduced-rank ridge of one session alone (a one-session ShaReD); None if rank too high."""
    try:
        with warnings.catch_warnings():
            # a small training part may have silent neurons; the shared fit reports them too
            warnings.simplefilter("ignore")
            m = ShaReD(**params).fit_from_stats([stats], one)
    except DataError:
        return None
    return m.coef_, m._column_scale, m.session_fits_[name]
