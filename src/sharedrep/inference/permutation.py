"""Multiple testing and permutation schemes shared by every test of the package.

* :func:`benjamini_hochberg`: FDR-adjusted q-values.
* :func:`label_permutations`: session labels permuted within subject (paired designs), or
  between subjects when no subject carries two labels.
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
