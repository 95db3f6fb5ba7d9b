"""Temporal filters of each component: peak lags and bootstrap-over-sessions bands."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import xarray as xr

from ..data import Cohort, Session, as_cohort
from ..errors import DataError, SharedRepWarning
from ..estimator import ShaReD
from ..stats import SessionStats
from ._common import (
    _align,
    _aux_params,
    _check_readouts,
    _filters,
    _unwrap,
    check_count,
    check_fraction,
    check_seed,
)


def peak_lag(loadings: xr.DataArray) -> xr.DataArray:
    """Peak lag of each component's temporal filter.

    The peak is the lag at which the filter's energy over behavioral variables,
    ``sum_feature loading(feature, lag)^2``, is largest.

    Parameters
    ----------
    loadings : xarray.DataArray, dims (feature, lag, component, ...)
        E.g. ``model.loadings_``; extra dims (e.g. ``sample``) are kept.

    Returns
    -------
    xarray.DataArray, dims (component, ...)
        Peak lag in samples (coordinate ``lag_s`` in seconds when ``loadings`` has it).
    """
    if not isinstance(loadings, xr.DataArray) or not {"feature", "lag"} <= set(loadings.dims):
        raise TypeError(
            "loadings must be an xarray.DataArray with dims 'feature' and 'lag' (e.g. "
            f"model.loadings_), got {type(loadings).__name__}"
            + (f" with dims {loadings.dims}" if isinstance(loadings, xr.DataArray) else "")
        )
    energy = (loadings**2).sum("feature")
    idx = energy.argmax("lag")
    lags = loadings["lag"].to_numpy()
    out = xr.DataArray(lags[idx.to_numpy()], dims=idx.dims, coords=idx.coords, name="peak_lag")
    if "lag_s" in loadings.coords:
        out = out.assign_coords(lag_s=(idx.dims, loadings["lag_s"].to_numpy()[idx.to_numpy()]))
    return out.drop_vars([c for c in ("lag",) if c in out.coords])


def bootstrap_loadings(
    model: ShaReD,
    cohort: Cohort | Sequence[Session],
    n_boot: int = 200,
    *,
    ci: float = 0.95,
    seed: int | None = 0,
    stats: Sequence[SessionStats] | None = None,
) -> xr.Dataset:
    """Temporal filters of each component with bootstrap-over-sessions confidence bands.

    Sessions are resampled with replacement; each resample refits ``W`` from the sessions'
    statistics (a session drawn ``m`` times gets ``m`` times its weight), and the refitted
    components are aligned to the model's (least squares in the pooled design metric) before
    percentiles are taken. Bands therefore reflect animal-to-animal variability, the relevant
    uncertainty for a claim about animals; with few sessions (< 8) they are rough.

    Parameters
    ----------
    model : ShaReD
        Fitted on ``cohort``.
    cohort : Cohort or list of Session
        At least two sessions.
    n_boot : int
        Bootstrap resamples (at least 2; bands from fewer than ~200 are rough).
    ci : float
        Coverage of the percentile bands.
    seed : int, optional
    stats : sequence of SessionStats, optional
        Whole-session statistics of ``cohort`` (to skip the statistics pass).

    Returns
    -------
    xarray.Dataset
        ``loadings`` (feature, lag, component): the model's filters; ``lower``, ``upper``:
        percentile bands; ``se``: bootstrap standard deviation; ``peak_lag`` (component) and
        ``peak_lag_lower``, ``peak_lag_upper``: the peak lag (samples) and its percentile
        interval; ``samples`` (sample, feature, lag, component): the aligned resamples.
    """
    n_boot = check_count(n_boot, "n_boot", 2, " (a standard error needs two resamples)")
    ci = check_fraction(ci, "ci")
    check_seed(seed)
    model = _unwrap(model)
    cohort = as_cohort(cohort)
    S = len(cohort)
    if S < 2:
        raise DataError("bootstrap over sessions needs at least two sessions")
    _check_readouts(model, cohort)  # the sessions the model was fitted on, not namesakes
    if stats is None:
        stats = model.statistics(cohort)
    stats = [st.total() for st in stats]
    params = _aux_params(model)
    base_w = model.session_weights_.reindex(list(cohort.names)).to_numpy()
    if not np.all(np.isfinite(base_w)):
        raise DataError("the model was not fitted on these sessions (weights missing)")
    rng = np.random.default_rng(seed)
    metric = model.design_covariance_
    samples = np.empty((n_boot, *model.loadings_.shape))
    for b in range(n_boot):
        counts = np.bincount(rng.integers(0, S, size=S), minlength=S)
        keep = np.flatnonzero(counts)
        params_b = {**params, "weights": counts[keep] * base_w[keep]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SharedRepWarning)
            mb = ShaReD(**params_b).fit_from_stats(
                [stats[j] for j in keep], cohort.subset([cohort.names[j] for j in keep])
            )
        # the resample's W in the model's standardized units, aligned to its components
        scale = np.divide(
            mb._column_scale,
            model._column_scale,
            out=np.zeros_like(mb._column_scale),
            where=model._column_scale != 0,
        )
        Wb = scale[:, None] * mb.coef_
        samples[b] = _filters(model, Wb @ _align(Wb, model.coef_, metric))
    lo, hi = (1 - ci) / 2, 1 - (1 - ci) / 2
    est = model.loadings_
    dims = est.dims
    coords = {k: v for k, v in est.coords.items()}
    da = xr.DataArray(samples, dims=("sample", *dims), coords=coords)
    peaks = peak_lag(da)
    ds = xr.Dataset(
        {
            "loadings": est,
            "lower": (dims, np.quantile(samples, lo, axis=0)),
            "upper": (dims, np.quantile(samples, hi, axis=0)),
            "se": (dims, samples.std(axis=0, ddof=1)),
            "peak_lag": ("component", peak_lag(est).to_numpy()),
            "peak_lag_lower": ("component", np.quantile(peaks.to_numpy(), lo, axis=0)),
            "peak_lag_upper": ("component", np.quantile(peaks.to_numpy(), hi, axis=0)),
            "samples": da,
        },
        attrs={"ci": ci, "n_boot": n_boot, "resampled": "sessions"},
    )
    return ds
