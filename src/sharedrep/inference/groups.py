"""Groups of neurons: are the neurons of a labelled group the ones that encode?

The study's test: M1 neurons tagged (optogenetically) as strongly driven by thalamic input,
against the other M1 neurons — do they encode the learned movement more often, more strongly,
and increasingly so with learning? Any ``neuron_info`` column can be the label (population,
cell type, a tag); a numeric column (depth, a modulation index) is rank-correlated instead.

Measures (per condition, per component and for ``"any"`` component)
--------------------------------------------------------------------
* ``fraction_encoding``: the fraction of the group's neurons that encode (``q < fdr`` in the
  :func:`~sharedrep.encoding_map`) against the rest's; the estimate is the Mantel–Haenszel
  difference of proportions over sessions (session weights ``n_group n_rest / n``: sessions are
  strata, neurons are never compared across animals).
* ``odds_ratio``: the Mantel–Haenszel common odds ratio over sessions.
* ``strength``: the mean held-out ΔR² of the component (held-out R² of the shared model for
  ``"any"``), group minus rest, with the same session weights (threshold-free).
* numeric column: ``rank_correlation``, Spearman's correlation of the column with the strength
  within each session, pooled over sessions by Fisher's z (weights ``n - 3``).

Tests (neurons nested in sessions, sessions in animals)
-------------------------------------------------------
* ``p_value``: labels permuted among the neurons of each session, the pooled statistic
  recomputed each time (for fractions the Mantel–Haenszel difference, i.e. an exact,
  permutation version of the Cochran–Mantel–Haenszel test; for strengths a studentized
  difference, exact when labels are exchangeable and still valid for a difference of means
  when the groups' spreads differ).
* ``p_animals`` and the intervals: bootstrap over animals, estimate ± Student-t interval with
  ``A - 1`` degrees of freedom (:func:`~sharedrep.inference.permutation.animal_interval`):
  whether the effect holds across animals, with animal-to-animal variability (with 4 animals
  the interval is wide and p_animals cannot be small; that is the honest answer).
* Interaction with learning (``interaction``): the effect in the last condition minus the
  first. When the same neurons are recorded in all sessions of an animal (matched by name, as
  in longitudinal imaging), each neuron's change between the conditions is compared between
  the group and the rest (studentized), labels permuted within animal; otherwise condition
  labels are permuted among each animal's sessions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats as ss

from ..data import Cohort, Session, as_cohort
from ..errors import DataError
from ..estimator import ShaReD
from ._common import _unwrap
from ._labels import neuron_labels, session_conditions
from .encoding import EncodingMap, encoding_map
from .permutation import (
    animal_interval,
    cluster_bootstrap,
    interval_method,
    label_permutations,
    permutation_pvalue,
    studentize,
    tracked_neurons,
    within_permutations,
)

__all__ = ["GroupComparison", "compare_groups"]

MEASURES = ("fraction_encoding", "odds_ratio", "strength")


@dataclass(frozen=True)
class GroupComparison:
    """Encoding in groups of neurons, per condition, and its change with learning.

    Attributes
    ----------
    effects : pandas.DataFrame
        Index ``(condition, group, component, measure)`` (component ``"any"`` or an integer;
        measures ``fraction_encoding``, ``odds_ratio``, ``strength``, or ``rank_correlation``
        for a numeric column). Columns: ``group_value`` and ``rest_value`` (pooled fraction
        encoding, odds of encoding, or mean strength of the group and of the other neurons),
        ``estimate`` (Mantel–Haenszel difference, common odds ratio, weighted strength
        difference or pooled rank correlation), ``se``, ``ci_low``, ``ci_high`` (over animals;
        the odds ratio's on the log scale, shown exponentiated), ``p_value`` (labels permuted
        within session), ``p_animals``, ``n_group``, ``n_rest`` (neurons), ``n_sessions``.
    interaction : pandas.DataFrame or None
        Index ``(group, component, measure)``: ``first`` and ``last`` (the estimates in the
        first and last condition), ``change`` (last minus first; log odds ratio for the odds
        ratio), ``se``, ``ci_low``, ``ci_high``, ``p_value``, ``p_animals``. None with one
        condition.
    sessions : pandas.DataFrame
        One row per session, group and component: counts, fractions and strengths of the
        group and the rest and the session's difference of fractions (or the session's rank
        correlation).
    subjects : pandas.DataFrame
        The estimate of every animal alone, per condition, group, component and measure.
    attrs : dict
        ``by``, ``kind`` (``"labels"`` / ``"numeric"``), ``groups``, ``conditions``,
        ``permutation``, ``interaction_permutation``, ``n_perm``, ``n_boot``, ``ci``,
        ``interval``, ``fdr``, ``n_subjects``, ``n_missing`` (neurons without a label),
        ``n_unselected`` (left out by ``where``), ``n_silent`` (no variance: no R²).
    """

    effects: pd.DataFrame
    interaction: pd.DataFrame | None
    sessions: pd.DataFrame
    subjects: pd.DataFrame
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Neurons:
    """The analysed neurons, one row each (sessions concatenated in cohort order)."""

    session: np.ndarray  # (N,) session index
    subject: np.ndarray  # (N,) subject label
    neuron: np.ndarray  # (N,) neuron name
    value: np.ndarray  # (N,) label value (object) or number
    encodes: np.ndarray  # (N, M) 0/1: any component, then each component
    strength: np.ndarray  # (N, M): held-out R², then each ΔR²
    n_sessions: int

    def rows(self, s: int) -> np.ndarray:
        return np.flatnonzero(self.session == s)


def _neurons(cohort: Cohort, encoding: EncodingMap, labels: Any) -> tuple[_Neurons, int]:
    """Align the encoding map's tables with each session's labels; drop silent neurons."""
    d = encoding.n_components
    comps = encoding.components
    cols = []
    n_silent = 0
    for s, (session, vals, keep) in enumerate(zip(cohort, labels.values, labels.keep, strict=True)):
        nn = encoding.neurons[encoding.neurons["session"] == session.name].set_index("neuron")
        cc = comps[comps["session"] == session.name]
        names = list(session.neuron_names)
        if len(nn) != len(names) or set(nn.index.astype(str)) != set(names):
            raise DataError(
                f"session {session.name!r}: the encoding map's neurons do not match the "
                "session's; map this cohort (sr.encoding_map(model, cohort))"
            )
        nn.index = nn.index.astype(str)
        enc_c = cc.pivot(index="neuron", columns="component", values="encodes").rename(index=str)
        dr2_c = cc.pivot(index="neuron", columns="component", values="delta_r2_crossfit").rename(
            index=str
        )
        enc = np.column_stack(
            [nn.loc[names, "encodes"].to_numpy(float), enc_c.loc[names, range(d)].to_numpy(float)]
        )
        strength = np.column_stack(
            [
                nn.loc[names, "r2_crossfit"].to_numpy(float),
                dr2_c.loc[names, range(d)].to_numpy(float),
            ]
        )
        ok = keep & np.all(np.isfinite(strength), axis=1)
        n_silent += int((keep & ~ok).sum())
        idx = np.flatnonzero(ok)
        cols.append(
            (np.full(idx.size, s), np.full(idx.size, str(session.subject), dtype=object),
             np.asarray(names, dtype=object)[idx], vals[idx], enc[idx], strength[idx])
        )  # fmt: skip
    parts = list(zip(*cols, strict=True))
    value = np.concatenate(parts[3])
    if labels.numeric:
        value = value.astype(float)
    out = _Neurons(
        np.concatenate(parts[0]).astype(int),
        np.concatenate(parts[1]),
        np.concatenate(parts[2]),
        value,
        np.concatenate(parts[4]),
        np.concatenate(parts[5]),
        len(cohort),
    )
    return out, n_silent


# -- the statistics of one tested group, for any labelling ------------------------------------
@dataclass
class _Sums:
    """Per-session sums of a group and of all neurons, (B, S, M) for B labellings."""

    n_g: np.ndarray  # (B, S)
    n: np.ndarray  # (S,)
    enc_g: np.ndarray  # (B, S, M)
    enc: np.ndarray  # (S, M)
    str_g: np.ndarray
    str_: np.ndarray
    sq_g: np.ndarray
    sq: np.ndarray


def _sums(nr: _Neurons, member: np.ndarray) -> _Sums:
    """Sums for group memberships ``member`` (B, N) of 0/1."""
    S = nr.n_sessions
    B, M = member.shape[0], nr.encodes.shape[1]
    out = {k: np.zeros((B, S, M)) for k in ("enc_g", "str_g", "sq_g")}
    n_g = np.zeros((B, S))
    n = np.zeros(S)
    tot = {k: np.zeros((S, M)) for k in ("enc", "str_", "sq")}
    for s in range(S):
        r = nr.rows(s)
        if r.size == 0:
            continue
        m = member[:, r]
        e, st = nr.encodes[r], nr.strength[r]
        out["enc_g"][:, s] = m @ e
        out["str_g"][:, s] = m @ st
        out["sq_g"][:, s] = m @ st**2
        n_g[:, s] = m.sum(axis=1)
        n[s] = r.size
        tot["enc"][s], tot["str_"][s], tot["sq"][s] = e.sum(0), st.sum(0), (st**2).sum(0)
    return _Sums(
        n_g, n, out["enc_g"], tot["enc"], out["str_g"], tot["str_"], out["sq_g"], tot["sq"]
    )


def _effects(sm: _Sums, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Pooled measures for session weights ``weights`` (..., C, S) (0 outside a condition).

    Returns arrays (..., C, M) — broadcast over the labellings of ``sm`` as leading axes:
    ``diff`` (MH difference of fractions), ``log_or`` (MH log odds ratio), ``strength``
    (weighted strength difference), ``z`` (its studentized version), ``frac_g``, ``frac_r``,
    ``odds_g``, ``odds_r``, ``str_g``, ``str_r``, ``n_g``, ``n_r``.
    """
    n_g = sm.n_g[..., None, :, None]  # (B, 1, S, 1)
    n = sm.n[None, None, :, None]
    n_r = n - n_g
    a, tot = sm.enc_g[:, None], sm.enc[None, None]
    c = tot - a
    w = weights[..., :, :, None] if weights.ndim == 2 else weights[..., None]  # (.., C, S, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mh = np.where((n_g > 0) & (n_r > 0), n_g * n_r / n, 0.0) * w
        p_g, p_r = a / n_g, c / n_r
        diff = np.nansum(mh * np.where(mh > 0, p_g - p_r, 0.0), axis=-2) / mh.sum(axis=-2)
        num = (w * np.where(n > 0, a * (n_r - c) / n, 0.0)).sum(axis=-2)
        den = (w * np.where(n > 0, c * (n_g - a) / n, 0.0)).sum(axis=-2)
        log_or = np.log(num) - np.log(den)
        m_g = sm.str_g[:, None] / n_g
        m_r = (sm.str_[None, None] - sm.str_g[:, None]) / n_r
        v_g = (sm.sq_g[:, None] / n_g - m_g**2) * n_g / np.maximum(n_g - 1, 1)
        v_r = ((sm.sq[None, None] - sm.sq_g[:, None]) / n_r - m_r**2) * n_r / np.maximum(n_r - 1, 1)
        dm = np.where(mh > 0, m_g - m_r, 0.0)
        strength = (mh * dm).sum(axis=-2) / mh.sum(axis=-2)
        var = (mh**2 * np.where(mh > 0, v_g / n_g + v_r / n_r, 0.0)).sum(axis=-2)
        z = studentize((mh * dm).sum(axis=-2), var)
        ng_tot, nr_tot = (w * n_g).sum(axis=-2), (w * n_r).sum(axis=-2)
        a_tot, c_tot = (w * a).sum(axis=-2), (w * c).sum(axis=-2)
        out = {
            "diff": diff,
            "log_or": log_or,
            "strength": strength,
            "z": z,
            "frac_g": a_tot / ng_tot,
            "frac_r": c_tot / nr_tot,
            "odds_g": a_tot / (ng_tot - a_tot),
            "odds_r": c_tot / (nr_tot - c_tot),
            "str_g": (w * np.where(n_g > 0, sm.str_g[:, None], 0)).sum(axis=-2) / ng_tot,
            "str_r": (w * (sm.str_[None, None] - sm.str_g[:, None])).sum(axis=-2) / nr_tot,
            "n_g": ng_tot,
            "n_r": nr_tot,
        }
    return out


# -- numeric columns ------------------------------------------------------------------------------
def _ranks(nr: _Neurons) -> tuple[np.ndarray, np.ndarray]:
    """Within-session centred ranks of the column (N,) and of the strengths (N, M)."""
    rx = np.zeros(nr.value.size)
    ry = np.zeros(nr.strength.shape)
    for s in range(nr.n_sessions):
        r = nr.rows(s)
        if r.size:
            rx[r] = ss.rankdata(nr.value[r]) - (r.size + 1) / 2
            ry[r] = ss.rankdata(nr.strength[r], axis=0) - (r.size + 1) / 2
    return rx, ry


def _correlations(nr: _Neurons, rx: np.ndarray, ry: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-session Spearman correlations (B, S, M) for permuted ranks ``rx`` (B, N); sizes (S,)."""
    B, S, M = rx.shape[0], nr.n_sessions, ry.shape[1]
    rho = np.full((B, S, M), np.nan)
    n = np.zeros(S)
    for s in range(S):
        r = nr.rows(s)
        n[s] = r.size
        if r.size < 4:
            continue
        x, y = rx[:, r], ry[r]
        with np.errstate(invalid="ignore", divide="ignore"):
            rho[:, s] = (x @ y) / np.sqrt((x**2).sum(1)[:, None] * (y**2).sum(0)[None, :])
    return rho, n


def _pooled_rho(rho: np.ndarray, n: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fisher-z pooled correlations (..., C, M) from per-session ``rho`` (B, S, M)."""
    w = weights[..., :, :, None] * np.where(n > 3, n - 3, 0.0)[:, None]  # (.., C, S, 1)
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999))[:, None]  # (B, 1, S, M)
    ok = np.isfinite(z)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.tanh((w * np.where(ok, z, 0.0)).sum(-2) / (w * ok).sum(-2))


# -- the analysis ---------------------------------------------------------------------------------
def compare_groups(
    model: ShaReD,
    cohort: Cohort | Sequence[Session],
    by: str,
    *,
    encoding: EncodingMap | None = None,
    group: Any = None,
    order: Sequence[Any] | None = None,
    where: str | None = None,
    conditions: str | None = "condition",
    condition_order: Sequence[str] | None = None,
    n_perm: int = 1000,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
    **encoding_kwargs: Any,
) -> GroupComparison:
    """Encoding in a labelled group of neurons against the others (are the tagged neurons the
    ones that encode?), per condition and across learning.

    The measures, tests and intervals are defined in the module documentation
    (:mod:`sharedrep.inference.groups`).

    Parameters
    ----------
    model : ShaReD or ShaReDCV
        One model fitted across all sessions and conditions.
    cohort : Cohort or list of Session
        Sessions whose ``neuron_info`` has the column ``by``.
    by : str
        ``neuron_info`` column: labels (booleans, strings) or numbers.
    encoding : EncodingMap, optional
        The encoding map of ``cohort`` (else computed with ``encoding_kwargs``).
    group : optional
        The label tested against all other neurons (default: ``True`` for a boolean column,
        the second of two labels, or each label in turn when there are more).
    order : sequence, optional
        Order of the labels (default: first appearance; False before True).
    where : str, optional
        Query on ``neuron_info`` selecting the neurons compared (e.g. ``"population ==
        'm1'"``); neurons without a label are left out too (both counted in ``attrs``).
    conditions : str or None
        Session attribute or metadata key of the condition; None pools all sessions.
    condition_order : sequence of str, optional
        Order of the conditions (the interaction is the last minus the first).
    n_perm, n_boot : int
        Permutations and bootstrap resamples of animals.
    ci : float
        Coverage of the intervals.
    seed : int, optional

    Returns
    -------
    GroupComparison

    Raises
    ------
    DataError
        A session without the column, an encoding map of other sessions, a group that does not
        exist, or a label that leaves no comparison (one group only).
    """
    model = _unwrap(model)
    cohort = as_cohort(cohort)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")
    labels = neuron_labels(cohort, by, where, order)
    if encoding is None:
        encoding = encoding_map(model, cohort, **encoding_kwargs)
    nr, n_silent = _neurons(cohort, encoding, labels)
    cond, levels = session_conditions(cohort, conditions, condition_order)
    in_cond = (cond[None, :] == np.array(levels, dtype=object)[:, None]).astype(float)
    subjects = np.array([str(s.subject) for s in cohort], dtype=object)
    subj_levels = list(dict.fromkeys(subjects))
    subj_code = np.array([subj_levels.index(u) for u in subjects])
    rng = np.random.default_rng(seed)
    boot_w = cluster_bootstrap(len(subj_levels), n_boot, rng)[:, subj_code]  # (B, S)
    perms = within_permutations(nr.session, n_perm, rng)
    ctx = _Context(nr, cohort, cond, levels, in_cond, subjects, subj_levels, subj_code, boot_w,
                   perms, rng, n_perm, ci, encoding.n_components)  # fmt: skip
    if labels.numeric:
        tables = _numeric(ctx)
        groups: list[Any] = [by]
    else:
        groups = _tested(labels.levels, group, labels.column)
        tables = _labelled(ctx, groups)
    attrs = {
        "by": by,
        "kind": "numeric" if labels.numeric else "labels",
        "groups": groups,
        "levels": list(labels.levels),
        "conditions": levels,
        "permutation": "labels permuted among the neurons of each session",
        "n_perm": int(n_perm),
        "n_boot": int(n_boot),
        "ci": float(ci),
        "interval": interval_method(len(subj_levels), ci),
        "fdr": encoding.fdr,
        "null": encoding.null,
        "cross_fit": encoding.cross_fit,
        "n_subjects": len(subj_levels),
        "n_missing": labels.n_missing,
        "n_unselected": labels.n_unselected,
        "n_silent": n_silent,
        "where": where,
        **tables.pop("attrs"),
    }
    return GroupComparison(attrs=attrs, **tables)


def _tested(levels: list[Any], group: Any, column: str) -> list[Any]:
    if len(levels) < 2:
        raise DataError(f"{column!r} has one label only ({levels}); nothing to compare")
    if group is not None:
        if group not in levels:
            raise DataError(f"group {group!r} is not a label of {column!r}; labels: {levels}")
        return [group]
    return [levels[-1]] if len(levels) == 2 else list(levels)


@dataclass
class _Context:
    nr: _Neurons
    cohort: Cohort
    cond: np.ndarray
    levels: list[str]
    in_cond: np.ndarray  # (C, S)
    subjects: np.ndarray  # (S,)
    subj_levels: list[str]
    subj_code: np.ndarray  # (S,)
    boot_w: np.ndarray  # (B, S)
    perms: np.ndarray  # (P, N)
    rng: np.random.Generator
    n_perm: int
    ci: float
    d: int

    @property
    def components(self) -> list[Any]:
        return ["any", *range(self.d)]

    @property
    def n_animals(self) -> int:
        return len(self.subj_levels)


def _labelled(ctx: _Context, groups: list[Any]) -> dict[str, Any]:
    nr = ctx.nr
    eff_rows, int_rows, ses_rows, sub_rows = [], [], [], []
    scheme = None
    for g in groups:
        member = (nr.value == g).astype(float)
        obs_s = _sums(nr, member[None])
        obs = {k: v[0] for k, v in _effects(obs_s, ctx.in_cond).items()}  # (C, M)
        null = _effects(_sums(nr, member[ctx.perms]), ctx.in_cond)
        boot = _effects(obs_s, ctx.in_cond[None] * ctx.boot_w[:, None])  # (B, C, M)
        p_frac = permutation_pvalue(obs["diff"], null["diff"])
        p_str = permutation_pvalue(obs["z"], null["z"])
        est = {
            "fraction_encoding": obs["diff"],
            "odds_ratio": obs["log_or"],
            "strength": obs["strength"],
        }
        bst = {
            "fraction_encoding": boot["diff"],
            "odds_ratio": boot["log_or"],
            "strength": boot["strength"],
        }
        pvals = {"fraction_encoding": p_frac, "odds_ratio": p_frac, "strength": p_str}
        values = {
            "fraction_encoding": (obs["frac_g"], obs["frac_r"]),
            "odds_ratio": (obs["odds_g"], obs["odds_r"]),
            "strength": (obs["str_g"], obs["str_r"]),
        }
        n_sess = (ctx.in_cond * (obs_s.n_g[0] > 0)).sum(axis=1)
        for measure in MEASURES:
            iv = animal_interval(est[measure], bst[measure], ctx.n_animals, ctx.ci)
            to = np.exp if measure == "odds_ratio" else (lambda x: x)
            for c, level in enumerate(ctx.levels):
                for j, comp in enumerate(ctx.components):
                    eff_rows.append({
                        "condition": level, "group": g, "component": comp, "measure": measure,
                        "group_value": values[measure][0][c, j],
                        "rest_value": values[measure][1][c, j],
                        "estimate": to(est[measure][c, j]), "se": iv["se"][c, j],
                        "ci_low": to(iv["ci_low"][c, j]), "ci_high": to(iv["ci_high"][c, j]),
                        "p_value": pvals[measure][c, j], "p_animals": iv["p_animals"][c, j],
                        "n_group": int(obs["n_g"][c, 0]), "n_rest": int(obs["n_r"][c, 0]),
                        "n_sessions": int(n_sess[c]),
                    })  # fmt: skip
        ses_rows += _session_rows(ctx, g, obs_s)
        sub_rows += _subject_rows(ctx, g, obs_s)
        if len(ctx.levels) >= 2:
            rows, scheme = _interaction(ctx, g, member, est, bst)
            int_rows += rows
    effects = pd.DataFrame(eff_rows).set_index(["condition", "group", "component", "measure"])
    interaction = (
        pd.DataFrame(int_rows).set_index(["group", "component", "measure"]) if int_rows else None
    )
    return {
        "effects": effects,
        "interaction": interaction,
        "sessions": pd.DataFrame(ses_rows),
        "subjects": pd.DataFrame(sub_rows),
        "attrs": {"interaction_permutation": scheme},
    }


def _session_rows(ctx: _Context, g: Any, sm: _Sums) -> list[dict[str, Any]]:
    """Each session's counts, fractions and strengths of the group and the rest."""
    rows = []
    for s, session in enumerate(ctx.cohort):
        n_g, n = sm.n_g[0, s], sm.n[s]
        for j, comp in enumerate(ctx.components):
            with np.errstate(invalid="ignore", divide="ignore"):
                rows.append({
                    "session": session.name, "subject": ctx.subjects[s], "condition": ctx.cond[s],
                    "group": g, "component": comp, "n_group": int(n_g), "n_rest": int(n - n_g),
                    "fraction_group": sm.enc_g[0, s, j] / n_g,
                    "fraction_rest": (sm.enc[s, j] - sm.enc_g[0, s, j]) / (n - n_g),
                    "strength_group": sm.str_g[0, s, j] / n_g,
                    "strength_rest": (sm.str_[s, j] - sm.str_g[0, s, j]) / (n - n_g),
                })  # fmt: skip
                rows[-1]["difference"] = rows[-1]["fraction_group"] - rows[-1]["fraction_rest"]
    return rows


def _subject_rows(ctx: _Context, g: Any, sm: _Sums) -> list[dict[str, Any]]:
    """Each animal's own estimates (the points behind the intervals)."""
    A = ctx.n_animals
    alone = (ctx.subj_code[None, :] == np.arange(A)[:, None]).astype(float)  # (A, S)
    eff = _effects(sm, ctx.in_cond[None] * alone[:, None])  # (A, C, M)
    rows = []
    for a, subject in enumerate(ctx.subj_levels):
        for c, level in enumerate(ctx.levels):
            if not (alone[a] * ctx.in_cond[c]).any():
                continue
            for j, comp in enumerate(ctx.components):
                for measure, key in zip(MEASURES, ("diff", "log_or", "strength"), strict=True):
                    value = eff[key][a, c, j]
                    rows.append({
                        "subject": subject, "condition": level, "group": g, "component": comp,
                        "measure": measure,
                        "estimate": np.exp(value) if measure == "odds_ratio" else value,
                    })  # fmt: skip
    return rows


def _interaction(
    ctx: _Context,
    g: Any,
    member: np.ndarray,
    est: dict[str, np.ndarray],
    bst: dict[str, np.ndarray],
) -> tuple[list[dict[str, Any]], str]:
    """The effect in the last condition minus the first, its test and interval."""
    nr = ctx.nr
    change = {m: est[m][-1] - est[m][0] for m in MEASURES}
    boot = {m: bst[m][:, -1] - bst[m][:, 0] for m in MEASURES}
    first, last = ctx.levels[0], ctx.levels[-1]
    row_cond = ctx.cond[nr.session]
    ids = tracked_neurons(nr.subject, nr.session, nr.neuron, nr.value)
    if ids is not None:
        p = _tracked_test(ctx, ids, member, row_cond, first, last)
        scheme = (
            "each neuron's change compared between group and rest (studentized), labels "
            "permuted within animal (neurons matched across sessions)"
        )
    else:
        perms, kind = label_permutations(ctx.subjects, ctx.cond, ctx.n_perm, ctx.rng)
        w = (perms[:, None, :] == np.array(ctx.levels, dtype=object)[None, :, None]).astype(float)
        sm = _sums(nr, member[None])
        null = _effects(sm, w)  # (P, C, M)
        keys = {"fraction_encoding": "diff", "odds_ratio": "log_or", "strength": "strength"}
        p = {m: permutation_pvalue(change[m], null[keys[m]][:, -1] - null[keys[m]][:, 0])
             for m in MEASURES}  # fmt: skip
        scheme = f"condition labels permuted {kind}"
    rows = []
    for measure in MEASURES:
        iv = animal_interval(change[measure], boot[measure], ctx.n_animals, ctx.ci)
        for j, comp in enumerate(ctx.components):
            rows.append({
                "group": g, "component": comp, "measure": measure,
                "first": est[measure][0, j], "last": est[measure][-1, j],
                "change": change[measure][j], "se": iv["se"][j], "ci_low": iv["ci_low"][j],
                "ci_high": iv["ci_high"][j], "p_value": p[measure][j],
                "p_animals": iv["p_animals"][j],
            })  # fmt: skip
    return rows, scheme


def _tracked_test(
    ctx: _Context, ids: np.ndarray, member: np.ndarray, row_cond: np.ndarray, first: str, last: str
) -> dict[str, np.ndarray]:
    """Per-neuron changes (last minus first condition), group vs rest within animal."""
    nr = ctx.nr
    n_id = int(ids.max()) + 1
    M = nr.encodes.shape[1]
    change = {}
    present = np.ones(n_id, dtype=bool)
    for key, X in (("enc", nr.encodes), ("str", nr.strength)):
        means = []
        for level in (first, last):
            rows = row_cond == level
            tot = np.zeros((n_id, M))
            cnt = np.zeros(n_id)
            np.add.at(tot, ids[rows], X[rows])
            np.add.at(cnt, ids[rows], 1.0)
            present &= cnt > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                means.append(tot / cnt[:, None])
        change[key] = means[1] - means[0]
    keep = np.flatnonzero(present)
    first_row = np.unique(ids, return_index=True)[1]
    subj = nr.subject[first_row][keep]
    grp = member[first_row][keep]
    perms = within_permutations(subj, ctx.n_perm, ctx.rng)
    groups = np.vstack([grp[None], grp[perms]])  # (1 + P, K)
    subj_levels = list(dict.fromkeys(subj))
    stats = {}
    for key in ("enc", "str"):
        Y = change[key][keep]
        stats[key] = _studentized(groups, Y, subj, subj_levels)
    p_enc = permutation_pvalue(stats["enc"][0], stats["enc"][1:])
    p_str = permutation_pvalue(stats["str"][0], stats["str"][1:])
    return {"fraction_encoding": p_enc, "odds_ratio": p_enc, "strength": p_str}


def _studentized(
    groups: np.ndarray, Y: np.ndarray, subj: np.ndarray, levels: list[str]
) -> np.ndarray:
    """Studentized group-minus-rest difference of ``Y`` (K, M), pooled over animals, (B, M)."""
    num = np.zeros((groups.shape[0], Y.shape[1]))
    var = np.zeros_like(num)
    for u in levels:
        r = subj == u
        g, y = groups[:, r], Y[r]
        n_g = g.sum(1, keepdims=True)
        n_r = r.sum() - n_g
        with np.errstate(invalid="ignore", divide="ignore"):
            m_g = (g @ y) / n_g
            m_r = ((1 - g) @ y) / n_r
            v_g = ((g @ y**2) / n_g - m_g**2) * n_g / np.maximum(n_g - 1, 1)
            v_r = (((1 - g) @ y**2) / n_r - m_r**2) * n_r / np.maximum(n_r - 1, 1)
            w = np.where((n_g > 0) & (n_r > 0), n_g * n_r / (n_g + n_r), 0.0)
            num += np.where(w > 0, w * (m_g - m_r), 0.0)
            var += np.where(w > 0, w**2 * (v_g / n_g + v_r / n_r), 0.0)
    return studentize(num, var)


def _numeric(ctx: _Context) -> dict[str, Any]:
    """Rank correlation of a numeric column with the strengths, per condition."""
    nr = ctx.nr
    rx, ry = _ranks(nr)
    rho_obs, n = _correlations(nr, rx[None], ry)
    obs = _pooled_rho(rho_obs, n, ctx.in_cond)[0]  # (C, M)
    null = _pooled_rho(_correlations(nr, rx[ctx.perms], ry)[0], n, ctx.in_cond)
    boot = _pooled_rho(rho_obs, n, ctx.in_cond[None] * ctx.boot_w[:, None])  # (B, C, M)
    p = permutation_pvalue(obs, null)
    iv = animal_interval(obs, boot, ctx.n_animals, ctx.ci)
    rows = []
    for c, level in enumerate(ctx.levels):
        n_c = int((ctx.in_cond[c] * n).sum())
        for j, comp in enumerate(ctx.components):
            rows.append({
                "condition": level, "group": "all", "component": comp,
                "measure": "rank_correlation", "group_value": np.nan, "rest_value": np.nan,
                "estimate": obs[c, j], "se": iv["se"][c, j], "ci_low": iv["ci_low"][c, j],
                "ci_high": iv["ci_high"][c, j], "p_value": p[c, j],
                "p_animals": iv["p_animals"][c, j], "n_group": n_c, "n_rest": 0,
                "n_sessions": int((ctx.in_cond[c] * (n > 3)).sum()),
            })  # fmt: skip
    ses_rows = [
        {"session": session.name, "subject": ctx.subjects[s], "condition": ctx.cond[s],
         "component": comp, "n": int(n[s]), "rank_correlation": rho_obs[0, s, j]}
        for s, session in enumerate(ctx.cohort) for j, comp in enumerate(ctx.components)
    ]  # fmt: skip
    interaction, scheme = None, None
    if len(ctx.levels) >= 2:
        change = obs[-1] - obs[0]
        ids = tracked_neurons(nr.subject, nr.session, nr.neuron, nr.value)
        if ids is not None:
            # a neuron keeps its value in all its sessions: permute the neurons' values within
            # each animal, then rank them within each session again
            first = np.unique(ids, return_index=True)[1]
            perm = within_permutations(nr.subject[first], ctx.n_perm, ctx.rng)
            values = nr.value[first][perm][:, ids]  # (P, N)
            rho_b = _correlations(nr, _session_ranks(nr, values), ry)[0]
            null_c = _pooled_rho(rho_b, n, ctx.in_cond)
            scheme = "values permuted within animal (neurons matched across sessions)"
        else:
            perms, kind = label_permutations(ctx.subjects, ctx.cond, ctx.n_perm, ctx.rng)
            levels = np.array(ctx.levels, dtype=object)
            w = (perms[:, None, :] == levels[None, :, None]).astype(float)
            null_c = _pooled_rho(rho_obs, n, w)
            scheme = f"condition labels permuted {kind}"
        p_c = permutation_pvalue(change, null_c[:, -1] - null_c[:, 0])
        iv_c = animal_interval(change, boot[:, -1] - boot[:, 0], ctx.n_animals, ctx.ci)
        interaction = pd.DataFrame([
            {"group": "all", "component": comp, "measure": "rank_correlation",
             "first": obs[0, j], "last": obs[-1, j], "change": change[j], "se": iv_c["se"][j],
             "ci_low": iv_c["ci_low"][j], "ci_high": iv_c["ci_high"][j], "p_value": p_c[j],
             "p_animals": iv_c["p_animals"][j]}
            for j, comp in enumerate(ctx.components)
        ]).set_index(["group", "component", "measure"])  # fmt: skip
    sub_rows = []
    for a, subject in enumerate(ctx.subj_levels):
        alone = (ctx.subj_code == a).astype(float)
        est = _pooled_rho(rho_obs, n, ctx.in_cond * alone[None])[0]
        for c, level in enumerate(ctx.levels):
            if (alone * ctx.in_cond[c]).any():
                for j, comp in enumerate(ctx.components):
                    sub_rows.append({"subject": subject, "condition": level, "group": "all",
                                     "component": comp, "measure": "rank_correlation",
                                     "estimate": est[c, j]})  # fmt: skip
    return {
        "effects": pd.DataFrame(rows).set_index(["condition", "group", "component", "measure"]),
        "interaction": interaction,
        "sessions": pd.DataFrame(ses_rows),
        "subjects": pd.DataFrame(sub_rows),
        "attrs": {"interaction_permutation": scheme},
    }


def _session_ranks(nr: _Neurons, values: np.ndarray) -> np.ndarray:
    """Within-session centred ranks of values (B, N)."""
    out = np.zeros(values.shape)
    for s in range(nr.n_sessions):
        r = nr.rows(s)
        if r.size:
            out[:, r] = ss.rankdata(values[:, r], axis=1) - (r.size + 1) / 2
    return out
