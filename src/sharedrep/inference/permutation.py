"""Multiple testing and permutation schemes shared by every test of the package.

* :func:`benjamini_hochberg`: FDR-adjusted q-values.
* :func:`label_permutations`: session labels permuted within subject (paired designs), or
  between subjects when no subject carries two labels.
* :func:`smallest_p_value`: the smallest p-value such a design can give.
"""

from __future__ import annotations

import numpy as np


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
