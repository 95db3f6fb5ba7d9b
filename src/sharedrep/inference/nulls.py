"""Null distributions of the encoding statistics: circular shifts (FFT) and segment permutations.

The test statistic is the in-sample explained sum of squares of each neuron regressed on the
(cross-fitted) latents of its session (all components, or the drop-one increase for each
component). Under the circular null the neural data are shifted circularly against the latents
(the valid rows of a session treated as one sequence). A shift is admissible when the
latents and the neurons do not resemble their own shifted copies there: every shift within the
lag span of a lag at which the autocorrelation of a latent, or the mean autocorrelation of the
neurons, reaches 0.1 (or three Bartlett standard errors, if larger) is excluded. Near 0 this
is the lag span plus the autocorrelation length; for trial-cut recordings with the event at
the same time in every trial it also excludes the shifts that realign the trials (multiples
of the trial length), which would compare the neurons with their own stimulus-locked
responses. A user's ``min_shift`` replaces the rule by a plain distance from 0. For fixed
latents, the cross-products ``Z'Y_tau`` of every
shift come from FFTs (one per column), so the null costs a few FFTs, not one fit per shift: the
shifts are evenly spaced multiples of a divisor of the sequence length, whose cross-products
are an inverse FFT of the folded cross-spectrum (see ``_circular_cross``; exact). The sequence
is the first ``N'`` valid rows, ``N'`` the largest FFT-friendly length not above their number
(more than 99% of the rows for sessions of 1000 samples or more). ``null="segments"`` instead
permutes whole segments (trials) of the neural data. p-values are
``(1 + #{null >= observed}) / (1 + n_null)``.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.fft as sfft
from scipy.ndimage import maximum_filter1d

from ..data import Session
from ..errors import DataError, SharedRepWarning
from ..estimator import ShaReD
from ..stats import nuisance_rows
from ._common import _raw

ACF_LEVEL = 0.1


def _prev_fast_len(n: int) -> int:
    """Largest FFT-friendly length ``<= n`` (only small prime factors)."""
    k = n
    while k > 1 and sfft.next_fast_len(k) != k:
        k -= 1
    return max(k, 1)


def _shift_grid(
    n: int, min_shift: int, n_null: int, allowed: np.ndarray | None = None
) -> tuple[int, np.ndarray]:
    """Spacing ``delta`` (a divisor of ``n``) and multiples ``k`` giving shifts ``k * delta``.

    The shifts are every multiple of the largest divisor of ``n`` that still leaves at least
    ``n_null`` of them in ``[min_shift, n - min_shift]`` and, when given, ``allowed`` (a mask
    over the shifts ``0 .. n - 1``); all allowed shifts when fewer exist.
    """
    divisors = sorted(
        {a for i in range(1, int(np.sqrt(n)) + 1) if n % i == 0 for a in (i, n // i)},
        reverse=True,
    )

    def multiples(delta: int) -> np.ndarray:
        ks = np.arange(-(-min_shift // delta), (n - min_shift) // delta + 1)
        return ks if allowed is None else ks[allowed[ks * delta]]

    for delta in divisors:
        ks = multiples(delta)
        if ks.size >= n_null:
            return delta, ks
    return 1, multiples(1)


def _admissible_shifts(power: np.ndarray, n: int, span: int) -> np.ndarray:
    """Mask over the circular shifts ``0 .. n - 1`` that the null may use (module docstring).

    ``power``: power spectra (``|rfft|^2`` of centred series of ``n`` samples) along axis 0,
    shape (n_freq, k), of every latent and of the neurons' mean; the worst series decides.
    """
    acf = sfft.irfft(power, n=n, axis=0)
    worst = np.abs(acf / np.where(acf[:1] > 0, acf[:1], 1.0)).max(axis=1)
    below = np.flatnonzero(worst[: n // 2] < ACF_LEVEL)
    length = int(below[0]) if below.size else n // 2
    # an autocorrelation estimated from n samples wanders by about its Bartlett standard error
    # at lags where the true one is 0: only peaks above that noise say that the series repeat
    se = np.sqrt((1 + 2 * np.sum(worst[1:length] ** 2)) / n)
    repeats = worst >= max(ACF_LEVEL, 3 * se)
    return ~maximum_filter1d(repeats, size=2 * span + 1, mode="wrap")


def _circular_cross(Zc: np.ndarray, FY: np.ndarray, delta: int, ks: np.ndarray) -> np.ndarray:
    """``c[m, j, i] = sum_t Zc[t, j] * Yc[(t - ks[m] * delta) mod n, i]``, all shifts at once.

    ``FY`` is the rFFT of the centred neurons (length ``n``, a multiple of ``delta``). The
    circular cross-correlation of a (component, neuron) pair at shift ``tau`` is the inverse
    DFT of the cross-spectrum ``FZ(f) conj(FY(f))``. Only shifts that are multiples of
    ``delta`` are wanted; ``exp(2 pi i f k delta / n)`` depends on ``f mod M`` only
    (``M = n / delta``), so they are the inverse FFT of length ``M`` of the cross-spectrum
    folded modulo ``M``: ``Q(r) = sum_a FZ(aM + r) conj(FY(aM + r))``, which for all pairs at
    once is one batched matrix product ``(M, d, delta) @ (M, delta, n)``. Exact; the n x d x n
    cross-spectrum is never formed. Neurons are processed in blocks of about 500,000 complex
    values (8 MB): temporaries that small are reused from the heap, where larger ones are
    mapped fresh and page-faulted in on every call (on the core benchmark's sessions, blocks of
    all 200 neurons cost 0.16-0.49 s per session, these 0.13-0.16 s).
    """
    n, d = Zc.shape
    M = n // delta
    FZ = sfft.rfft(Zc, axis=0)
    H = FZ.shape[0]

    def full(F: np.ndarray) -> np.ndarray:
        # all n frequencies of a real series from its rfft (Hermitian symmetry)
        return np.concatenate([F, np.conj(F[1 : n - H + 1][::-1])], axis=0)

    A = np.ascontiguousarray(full(FZ).reshape(delta, M, d).transpose(1, 2, 0))  # (M, d, delta)
    k = FY.shape[1]
    out = np.empty((ks.size, d, k))
    block = max(1, int(500_000 // max(n, 1)))
    for a in range(0, k, block):
        B = np.conj(full(FY[:, a : a + block])).reshape(delta, M, -1).transpose(1, 0, 2)
        Q = A @ np.ascontiguousarray(B)  # (M, d, nb)
        r = sfft.ifft(Q, axis=0, workers=-1).real / delta
        out[:, :, a : a + block] = r[ks]
    return out


def _explained(c: np.ndarray, Minv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Explained sum of squares of OLS on the latents, and the drop-one loss per component.

    ``c``: cross-products ``Zc'y`` shape (m, d, n); ``Minv``: ``(Zc'Zc)^-1`` (d, d).
    Returns ``ess`` (m, n) and ``dess`` (m, d, n) with ``dess_j = beta_j^2 / Minv_jj``.
    """
    beta = np.einsum("jk,mkn->mjn", Minv, c)
    ess = np.einsum("mjn,mjn->mn", c, beta)
    dess = beta**2 / np.diag(Minv)[None, :, None]
    return ess, dess


def _session_arrays(
    model: ShaReD, s: Session
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Design ``(T_valid, q)``, neural data ``(T_valid, n)``, nuisance regressors
    ``(T_valid, c)`` and row positions of a session."""
    ex = model.expansion_
    rows = np.flatnonzero(ex.valid(s.n_samples, s.segments, s.usable if s.n_omitted else None))
    phi = ex.rows_of(np.asarray(s.behavior, dtype=float), rows, s.segments)
    Y = np.asarray(s.neural, dtype=float)[rows]
    return phi, Y, nuisance_rows(s, rows, int(model.drift)), rows


def _residualize(values: np.ndarray, nuisance: np.ndarray) -> np.ndarray:
    """``values`` with their mean and the nuisance regressors' least-squares fit removed."""
    out = values - values.mean(axis=0)
    if nuisance.shape[1]:
        N = nuisance - nuisance.mean(axis=0)
        out = out - N @ np.linalg.lstsq(N, out, rcond=None)[0]
    return out


def _null_stats(
    model: ShaReD,
    s: Session,
    mode: str,
    per_fold: list[ShaReD],
    labels: np.ndarray,
    null: str,
    n_null: int,
    min_shift: int | None,
    rng: np.random.Generator,
) -> tuple[tuple, tuple, np.ndarray, int, float]:
    """Observed and null statistics of one session, summed over its test units.

    ``labels``: the fold of each sample (used when ``mode == "folds"``). The latents and the
    neural data of each unit are taken with their means and the session's nuisance regressors
    (covariates, drift) removed, in sample, before the statistic and its null are computed.
    """
    phi, Y, nu, rows = _session_arrays(model, s)
    if mode == "folds":
        lab = labels[rows]
        units = [(np.flatnonzero(lab == k), per_fold[k]) for k in range(len(per_fold))]
    else:
        units = [(np.arange(rows.size), per_fold[0])]
    seg = None if s.segments is None else s.segments[rows]
    if null == "segments" and seg is None:
        raise DataError(f"session {s.name!r} has no segments; null='segments' needs trials")
    prepared = []
    for idx, m in units:
        if null == "circular":
            # the first N' rows, N' the largest FFT-friendly length <= N (> 99% of the rows
            # for N >= 1000): a length with a large prime factor makes every FFT 5-10x slower
            idx = idx[: _prev_fast_len(idx.size)]
        Zc = _residualize(phi[idx] @ _raw(m), nu[idx])
        Yc = _residualize(Y[idx], nu[idx])
        prepared.append((idx, Zc, Yc))
    # how many null draws every unit supports
    if null == "circular":
        grids = []
        for _idx, Zc, Yc in prepared:
            N = Zc.shape[0]
            FY = sfft.rfft(Yc, axis=0, workers=-1)
            if min_shift is None:
                # mean autocorrelation over neurons (each normalised), every latent
                py = np.abs(FY) ** 2
                py = (py / np.maximum(py.sum(axis=0), 1e-300)).mean(axis=1, keepdims=True)
                pz = np.abs(sfft.rfft(Zc, axis=0)) ** 2
                allowed = _admissible_shifts(np.hstack([pz, py]), N, model.expansion_.span)
                ok = np.flatnonzero(allowed[: N // 2 + 1])
                m0 = int(ok[0]) if ok.size else N // 2 + 1
            else:
                allowed, m0 = None, int(min_shift)
            delta, ks = _shift_grid(N, m0, n_null, allowed)
            grids.append((delta, ks, FY, m0))
        n_used = min(n_null, min(g[1].size for g in grids))
        if n_used < 19:
            why = (
                f"are at least {max(g[3] for g in grids)} samples from 0"
                if min_shift is not None
                else "are admissible (shifts at which neither the latents nor the neurons "
                "resemble their own shifted copies: the session is too short, or its trials all "
                "hold the event at the same time, so that shifts by whole trials realign the "
                "responses)"
            )
            raise DataError(
                f"session {s.name!r}: only {n_used} circular shifts {why}; a circular-shift "
                "null cannot test this session (use null='segments', which permutes whole "
                "trials, or a smaller min_shift)"
            )
        if n_used < n_null:
            warnings.warn(
                f"session {s.name!r}: only {n_used} allowed circular shifts (n_null={n_null}); "
                f"p-values cannot go below {1 / (n_used + 1):.3g}",
                SharedRepWarning,
                stacklevel=3,
            )
        shift0 = float(max(g[3] for g in grids))
    else:
        n_used, shift0 = int(n_null), float("nan")
    d = per_fold[0].coef_.shape[1]
    n = Y.shape[1]
    ess_obs, dess_obs = np.zeros(n), np.zeros((d, n))
    ess_null, dess_null = np.zeros((n_used, n)), np.zeros((n_used, d, n))
    sst = np.zeros(n)
    for u, (idx, Zc, Yc) in enumerate(prepared):
        M = Zc.T @ Zc
        Minv = np.linalg.pinv(M)
        c0 = (Zc.T @ Yc)[None]
        e, de = _explained(c0, Minv)
        ess_obs += e[0]
        dess_obs += de[0]
        sst += np.einsum("tn,tn->n", Yc, Yc)
        if null == "circular":
            delta, ks, FY, _ = grids[u]
            pick = np.round(np.linspace(0, ks.size - 1, n_used)).astype(int)
            c = _circular_cross(Zc, FY, delta, ks[pick])
        else:
            c = np.empty((n_used, d, n))
            labels = seg[idx]
            starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
            pieces = np.split(np.arange(labels.size), starts[1:])
            for b in range(n_used):
                order = np.concatenate([pieces[t] for t in rng.permutation(len(pieces))])
                c[b] = Zc.T @ Yc[order]
        e, de = _explained(c, Minv)
        ess_null += e
        dess_null += de
    return (ess_obs, dess_obs), (ess_null, dess_null), sst, n_used, shift0
