"""Private dimensions and the split of held-out explained variance (shared / private / full)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg as sla

from ..data import Cohort, Session, as_cohort
from ..estimator import SessionFit, ShaReD
from ..metrics import _r2
from ..selection import RULES, FoldStats
from ..stats import Partial, SessionStats
from ._common import _aux_params, _unwrap, check_count


def variance_split(
    model: ShaReD,
    cohort: Cohort | Sequence[Session],
    max_private: int = 5,
    *,
    folds: int = 5,
    split: Any = "auto",
    rule: str = "1se",
    ceiling_alphas: Sequence[float] = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0),
) -> pd.DataFrame:
    """Per session: held-out variance explained by shared, shared + private and full-rank models.

    For each fold ``k``, ``W`` is refitted on the other folds of every session (the model's
    parameters), each session's readout too, and the session's *private* dimensions are a
    reduced-rank ridge regression of what the shared part leaves, on the same training data:
    the top generalised eigenvectors of ``(A_r A_r', C + alpha I)`` with the residual
    cross-products ``A_r = A - C W V`` (all in q-space). The ceiling is a full-rank ridge
    regression of the session alone, with its ridge the best of ``ceiling_alphas`` for that
    session (the maximum over a grid is slightly optimistic, as befits a ceiling). Everything
    is scored on the held-out fold.

    Parameters
    ----------
    model : ShaReD
        Gives rank, ridge, lags, etc.
    cohort : Cohort or list of Session
    max_private : int
        Largest number of private dimensions tried per session.
    folds : int
    split : {"auto", "interleaved", "blocks"} or mapping
        How samples are assigned to folds (see :mod:`sharedrep.folds`).
    rule : {"1se", "max"}
        How the number of private dimensions is chosen per session from its held-out R² curve
        (the standard error is over folds).
    ceiling_alphas : sequence of float
        Ridge penalties tried for the full-rank ceiling.

    Returns
    -------
    pandas.DataFrame
        Index ``session``; columns ``subject``, ``condition``, ``n_private`` (chosen),
        ``r2_shared``, ``r2_private`` (shared + chosen private), ``r2_full`` (full-rank ridge),
        ``alpha_full`` (its ridge),
        ``shared_fraction`` (``r2_shared / r2_full``), ``private_fraction``
        (``(r2_private - r2_shared) / r2_full``); ``attrs["curve"]``: held-out R² of each
        session for 0..max_private private dimensions.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be '1se' or 'max', got {rule!r}")
    max_private = check_count(max_private, "max_private", 0, " (private dimensions tried)")
    alphas = list(ceiling_alphas) if not isinstance(ceiling_alphas, str) else [ceiling_alphas]
    if not alphas or not all(
        isinstance(a, numbers.Real) and not isinstance(a, bool) and np.isfinite(a) and a >= 0
        for a in alphas
    ):
        raise ValueError(
            f"ceiling_alphas must be a non-empty sequence of non-negative numbers, got "
            f"{ceiling_alphas!r}"
        )
    model = _unwrap(model)
    cohort = as_cohort(cohort)
    params = _aux_params(model)
    fs = FoldStats.compute(cohort, model, folds, split=split)
    K = fs.n_folds
    S = len(cohort)
    alphas = [float(a) for a in ceiling_alphas]
    R = max_private + 1 + len(alphas)  # ranks 0..max_private, then full rank per alpha
    sse = [np.zeros((R, s.n_neurons)) for s in cohort]
    sst = [np.zeros(s.n_neurons) for s in cohort]
    per_fold = np.full((K, S, R), np.nan)
    for k in range(K):
        train = fs.train(k)
        m = ShaReD(**params).fit_from_stats(train, cohort)
        for i, s in enumerate(cohort):
            coefs, fit, part = _private_coefs(m, train[i], s, max_private, alphas)
            test = fs.stats[i].block(k)
            for r, coef in enumerate(coefs):
                # each coefficient map refits the session's nuisance regressors with it
                fit_r = replace(fit, nuisance_coef=part.nuisance_coef(coef))
                e, t = test.residual_ss(coef, fit_r.intercept(coef), fit_r.nuisance_coef)
                sse[i][r] += e
                per_fold[k, i, r] = np.nanmean(_r2(e, t)) if np.any(t > 0) else np.nan
            sst[i] += t
    rows, curve = [], {}
    for i, s in enumerate(cohort):
        r2 = np.array([np.nanmean(_r2(sse[i][r], sst[i])) for r in range(R)])
        curve[s.name] = r2[: max_private + 1]
        se = np.nanstd(per_fold[:, i, : max_private + 1], axis=0, ddof=1) / np.sqrt(K)
        curve_r2 = r2[: max_private + 1]
        best = int(np.nanargmax(curve_r2))
        if rule == "1se":
            threshold = curve_r2[best] - (se[best] if np.isfinite(se[best]) else 0.0)
            r_best = int(np.flatnonzero(curve_r2 >= threshold)[0])
        else:
            r_best = best
        rows.append(
            (
                s.name,
                s.subject,
                s.condition,
                r_best,
                r2[0],
                r2[r_best],
                float(np.nanmax(r2[max_private + 1 :])),
                alphas[int(np.nanargmax(r2[max_private + 1 :]))],
            )
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "session",
            "subject",
            "condition",
            "n_private",
            "r2_shared",
            "r2_private",
            "r2_full",
            "alpha_full",
        ],
    ).set_index("session")
    out["shared_fraction"] = out["r2_shared"] / out["r2_full"]
    out["private_fraction"] = (out["r2_private"] - out["r2_shared"]) / out["r2_full"]
    out.attrs["curve"] = pd.DataFrame(
        curve, index=pd.Index(range(max_private + 1), name="n_private")
    ).T
    return out


def _private_coefs(
    m: ShaReD, train: SessionStats, s: Session, max_private: int, alphas: Sequence[float]
) -> tuple[list[np.ndarray], SessionFit, Partial]:
    """Raw-unit coefficient maps (q, n): shared + 0..max_private private dims, then full-rank
    ridge for each of ``alphas``."""
    std = m.standardize_like_fit([train])
    fit = m._session_fit(std, 0, train, s)  # = m.readout_from_stats(train, s), std reused
    act = std.active
    qa = int(act.sum())
    C0 = std.cov[0][np.ix_(act, act)]
    C = C0 + m.alpha * np.eye(qa)
    A = std.cross[0][act]
    W = m.coef_[act]
    shared = W @ fit.readout
    resid = A - C0 @ shared
    G = resid @ resid.T
    r_max = min(max_private, qa)
    if r_max > 0:
        _, U = sla.eigh((G + G.T) / 2, C, subset_by_index=[qa - r_max, qa - 1])
        U = U[:, ::-1]
    col = m._column_scale[act]
    sd = fit.neural_scale

    def raw(B: np.ndarray) -> np.ndarray:
        out = np.zeros((m.coef_.shape[0], B.shape[1]))
        out[act] = col[:, None] * B * sd[None, :]
        return out

    coefs = []
    for r in range(max_private + 1):
        rr = min(r, r_max)
        if rr == 0:
            coefs.append(raw(shared))
            continue
        Ur = U[:, :rr]
        P = Ur @ np.linalg.solve(Ur.T @ C @ Ur, Ur.T @ resid)
        coefs.append(raw(shared + P))
    for a in alphas:
        coefs.append(raw(np.linalg.solve(C0 + a * np.eye(qa), A)))
    return coefs, fit, std.partials[0]
