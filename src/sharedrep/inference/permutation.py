"""Multiple testing, permutation schemes and intervals shared by every test of the package.

Neurons are nested in sessions, sessions in animals: every test here keeps labels inside the
unit they belong to, and every interval treats the animal as the unit of replication.

* :func:`benjamini_hochberg`: FDR-adjusted q-values.
* :func:`label_permutations`: session labels permuted within subject (paired designs), or
  between subjects when no subject carries two labels.
* :func:`smallest_p_value`: the smallest p-value such a design can give.
* :func:`within_permutations`: positions permuted within strata (neuron labels within a
  session, days within an animal), all permutations at once.
* :func:`permutation_pvalue`: p-values of observed statistics against their permutation null.
* :func:`tracked_neurons`: which rows are one neuron seen in several sessions of an animal.
* :func:`cluster_bootstrap` and :func:`animal_interval`: resampling animals, and the
  small-sample t interval and test over animals built on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values (step-up FDR adjusted p-values).

    Parameters
    ----------
    p : ndarray, shape (m,)
        p-values; NaN entries are ignored (and stay NaN).

    Returns
    -------
    ndarray, shape (m,)
        ``q_i = min_{j: p_j >= p_i} p_j m / rank_j``, at most 1; rejecting ``q < level``
        controls the false discovery rate at ``level`` for independent or positively
        dependent tests.
    """
    p = np.asarray(p, dtype=float)
    outside = np.isfinite(p) & ((p < 0) | (p > 1))
    if outside.any() or np.isinf(p).any():
        bad = p[outside | np.isinf(p)]
        raise ValueError(f"p-values must lie in [0, 1] (NaN: not tested), got {bad[:5].tolist()}")
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return q
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q


def label_permutations(
    subjects: np.ndarray, labels: np.ndarray, n_perm: int, rng: np.random.Generator
) -> tuple[np.ndarray, str]:
    """Condition labels permuted within subject (or between subjects when none has two)."""
    within = any(len(set(labels[subjects == u])) > 1 for u in np.unique(subjects))
    perms = np.empty((n_perm, labels.size), dtype=labels.dtype)
    if within:
        groups = [np.flatnonzero(subjects == u) for u in np.unique(subjects)]
        for b in range(n_perm):
            lab = labels.copy()
            for g in groups:
                lab[g] = labels[g][rng.permutation(g.size)]
            perms[b] = lab
        return perms, "within-subject"
    # every subject has a single condition: the subject is the unit that is permuted
    subj, first = np.unique(subjects, return_index=True)
    inv = np.searchsorted(subj, subjects)
    subj_lab = labels[first]
    for b in range(n_perm):
        perms[b] = subj_lab[rng.permutation(subj.size)][inv]
    return perms, "between-subject"


def smallest_p_value(
    subjects: np.ndarray, labels: np.ndarray, n_perm: int | None = None
) -> tuple[float, int]:
    """The smallest p-value a condition comparison can reach, whatever the data.

    :func:`label_permutations` permutes labels within subject, or between subjects when no
    subject carries two labels. With ``N`` distinct labellings of which ``k`` give every
    statistic the observed value by symmetry (relabelling the conditions among themselves when
    that keeps each subject's, or the cohort's, label counts: the two groups of a balanced
    two-condition design swap, and ``|difference|`` and ``range`` do not change), no p-value
    can be below ``k / N``; a Monte Carlo test of ``n_perm`` permutations adds the floor
    ``1 / (n_perm + 1)``. With one condition per animal and 6 animals in two groups of 3,
    ``N = 20``, ``k = 2``: no p-value is below 0.1.

    Parameters
    ----------
    subjects : ndarray of str, shape (S,)
        Subject of each session.
    labels : ndarray of str, shape (S,)
        Condition of each session.
    n_perm : int, optional
        Permutations drawn (the Monte Carlo floor).

    Returns
    -------
    p_min : float
    n_labellings : int
        Distinct labellings ``N`` the permutations draw from.

    Examples
    --------
    >>> import numpy as np
    >>> mice = np.array(["m1", "m2", "m3", "m4", "m5", "m6"])
    >>> smallest_p_value(mice, np.array(["a", "a", "a", "b", "b", "b"]))
    (0.1, 20)
    """
    from itertools import permutations
    from math import factorial, prod

    subjects, labels = np.asarray(subjects, dtype=object), np.asarray(labels, dtype=object)
    conds = sorted(set(labels.tolist()))
    within = any(len(set(labels[subjects == u])) > 1 for u in np.unique(subjects))
    if within:
        groups = [labels[subjects == u] for u in np.unique(subjects)]
    else:  # subjects are the units: one label each
        _, first = np.unique(subjects, return_index=True)
        groups = [labels[first]]
    counts = [{c: int((g == c).sum()) for c in conds} for g in groups]

    def multinomial(cnt: dict[str, int]) -> int:
        return factorial(sum(cnt.values())) // prod(factorial(v) for v in cnt.values())

    n_labellings = prod(multinomial(cnt) for cnt in counts)
    if len(conds) <= 8:  # relabellings of the conditions that keep every count
        k = sum(
            all(cnt[c] == cnt[pc] for cnt in counts for c, pc in zip(conds, perm, strict=True))
            for perm in permutations(conds)
        )
    else:  # too many to enumerate: the observed labelling alone (a lower bound)
        k = 1
    p_min = k / n_labellings
    if n_perm:
        p_min = max(p_min, 1.0 / (n_perm + 1))
    return float(p_min), int(n_labellings)


# -- stratified permutations, p-values and intervals over animals ----------------------------
def within_permutations(strata: np.ndarray, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """Random permutations of positions within strata, shape (n_perm, N).

    Row ``b`` maps each position to a position of the same stratum, uniformly over the
    within-stratum permutations: ``labels[perms[b]]`` are the labels permuted within each
    stratum (neurons within a session, sessions within an animal), so that no label ever moves
    from one animal (or session) to another.

    Parameters
    ----------
    strata : ndarray, shape (N,)
        Stratum of each position (any hashable labels).
    n_perm : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int, shape (n_perm, N)
    """
    codes = np.unique(np.asarray(strata), return_inverse=True)[1].ravel()
    base = np.argsort(codes, kind="stable")  # positions grouped by stratum
    # sorting random keys offset by the stratum shuffles each stratum's positions in place
    order = np.argsort(codes[None, :] + rng.random((n_perm, codes.size)), axis=1)
    perms = np.empty_like(order)
    perms[:, base] = order
    return perms


def permutation_pvalue(
    observed: np.ndarray, null: np.ndarray, alternative: str = "two-sided"
) -> np.ndarray:
    """Permutation p-values ``(1 + #{null at least as extreme}) / (1 + #null)``.

    Parameters
    ----------
    observed : ndarray, shape (...)
    null : ndarray, shape (B, ...)
        Statistics of the permuted data; NaN draws (a permutation in which the statistic is
        undefined) are left out of both counts; infinite ones (a difference with no spread)
        are the most extreme.
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    ndarray, shape (...)
        NaN where the observed statistic is NaN. Never below ``1 / (1 + B)``: the observed
        labelling is one of the labellings.

    Examples
    --------
    >>> import numpy as np
    >>> from sharedrep.inference.permutation import permutation_pvalue
    >>> float(permutation_pvalue(2.0, np.array([0.5, -3.0, 1.0, 2.0])))
    0.6
    """
    observed = np.asarray(observed, dtype=float)
    null = np.asarray(null, dtype=float)
    finite = np.isfinite(observed)
    tol = np.where(finite, 1e-12 * np.maximum(np.abs(np.where(finite, observed, 0.0)), 1.0), 0.0)
    if alternative == "two-sided":
        extreme = np.abs(null) >= np.abs(observed) - tol
    elif alternative == "greater":
        extreme = null >= observed - tol
    elif alternative == "less":
        extreme = null <= observed + tol
    else:
        raise ValueError(f"alternative must be two-sided, greater or less, got {alternative!r}")
    valid = ~np.isnan(null)
    p = (1 + (extreme & valid).sum(axis=0)) / (1 + valid.sum(axis=0))
    return np.where(np.isnan(observed), np.nan, p)


def cluster_bootstrap(n_units: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """How often each unit (animal) is drawn in each bootstrap resample, shape (n_boot, n).

    Animals are drawn with replacement, ``n_units`` per resample; an animal drawn ``m`` times
    enters the resample with all its sessions and neurons, ``m`` times.
    """
    draws = rng.integers(0, n_units, size=(n_boot, n_units))
    counts = np.zeros((n_boot, n_units))
    np.add.at(counts, (np.repeat(np.arange(n_boot), n_units), draws.ravel()), 1.0)
    return counts


def animal_interval(
    estimate: np.ndarray, boot: np.ndarray, n_units: int, ci: float = 0.95
) -> dict[str, np.ndarray]:
    """Interval and test over animals from bootstrap-over-animals resamples.

    The standard error is the bootstrap standard deviation times ``sqrt(A / (A - 1))`` (the
    bootstrap of a mean over ``A`` animals is short by that factor), and the interval is
    ``estimate ± t_{A-1} se`` with the Student quantile of ``A - 1`` degrees of freedom: for a
    mean of per-animal effects this is the one-sample t interval, honest with few animals
    where percentile intervals of a bootstrap over 4-6 animals are far too narrow.
    ``p_animals`` is the matching t test of ``estimate = 0`` (the effect across animals, with
    animal-to-animal variability; it needs several animals to go below 0.05).

    Parameters
    ----------
    estimate : ndarray, shape (...)
    boot : ndarray, shape (B, ...)
        The estimate on each resample (NaN resamples are left out).
    n_units : int
        Number of animals ``A``.
    ci : float

    Returns
    -------
    dict
        ``se``, ``ci_low``, ``ci_high``, ``p_animals`` (arrays shaped like ``estimate``); NaN
        with fewer than two animals.
    """
    import scipy.stats as ss

    estimate = np.asarray(estimate, dtype=float)
    boot = np.asarray(boot, dtype=float)
    shape = estimate.shape
    nan = np.full(shape, np.nan)
    if n_units < 2 or boot.shape[0] < 2:
        return {"se": nan, "ci_low": nan, "ci_high": nan, "p_animals": nan}
    ok = np.isfinite(boot).sum(axis=0) >= 2
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.nanstd(np.where(ok, boot, 0.0), axis=0, ddof=1)
    se = np.where(ok, sd * np.sqrt(n_units / (n_units - 1)), np.nan)
    t = ss.t.ppf(0.5 + ci / 2, n_units - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.abs(estimate) / se
        p = np.where(se > 0, 2 * ss.t.sf(stat, n_units - 1), np.where(estimate == 0, 1.0, 0.0))
    p = np.where(np.isfinite(se) & np.isfinite(estimate), p, np.nan)
    return {"se": se, "ci_low": estimate - t * se, "ci_high": estimate + t * se, "p_animals": p}


def tracked_neurons(
    subjects: np.ndarray, sessions: np.ndarray, neurons: np.ndarray, labels: np.ndarray | None
) -> np.ndarray | None:
    """Identity of each neuron row across an animal's sessions, or None if not tracked.

    Neurons are tracked when every session of an animal has the same neuron names (and, when
    ``labels`` are given, each name has the same label in all of them): longitudinal imaging
    of registered cells, or the simulator's units. Returns an integer id per row, the same for
    one neuron in all the sessions of its animal.
    """
    frame = pd.DataFrame(
        {"subject": subjects, "session": sessions, "neuron": neurons}
        | ({} if labels is None else {"label": labels})
    )
    for _, sub in frame.groupby("subject", sort=False):
        sets = sub.groupby("session", sort=False)["neuron"].apply(frozenset)
        if sets.nunique() > 1:
            return None
        if labels is not None:
            per = sub.groupby("neuron", sort=False)["label"].nunique(dropna=False)
            if (per > 1).any():
                return None
    return frame.groupby(["subject", "neuron"], sort=False).ngroup().to_numpy()


def interval_method(n_units: int, ci: float) -> str:
    """One sentence saying how :func:`animal_interval` made an interval (for tables, reports)."""
    return (
        f"{100 * ci:g}% interval: estimate ± t({n_units - 1}) times the bootstrap-over-animals "
        f"standard error, scaled by sqrt(A/(A-1)) for A = {n_units} animals"
    )


def studentize(num: np.ndarray, var: np.ndarray) -> np.ndarray:
    """``num / sqrt(var)``, with 0 where both are 0 (no difference and no spread: no evidence).

    A positive difference with zero estimated spread is infinite (the most extreme value);
    NaN stays NaN.
    """
    num, var = np.asarray(num, dtype=float), np.asarray(var, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = num / np.sqrt(var)
        z = np.where((var == 0) & (num == 0), 0.0, z)
        return np.where((var == 0) & (num != 0), np.sign(num) * np.inf, z)
