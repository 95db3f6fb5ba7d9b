"""Figures of the model: the cross-validation curve and the temporal filters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from ._style import (
    ALPHA,
    PALETTE,
    REF,
    TEXT_PT,
    _axes,
    _colors,
    _finish,
    _grid,
    _lag_axis,
    _tidy,
    fmt_lag,
)


def _cv_parts(cv: Any) -> tuple[pd.DataFrame, str | None, int | None]:
    """``(summary, rule, n_folds)`` of CVResults, a provenance mapping or a summary table."""
    if isinstance(cv, pd.DataFrame):
        return cv, None, None
    if isinstance(cv, Mapping):  # a model's cv_provenance_
        return cv["summary"], cv.get("rule"), cv.get("folds")
    return cv.summary, getattr(cv, "rule", None), getattr(cv, "n_folds", None)


# -- cross-validation ---------------------------------------------------------------------------
def cv_curve(
    cv: Any,
    *,
    ax: Axes | None = None,
    errorbars: bool = True,
    noise_ceiling: float | None = None,
) -> Figure:
    """Held-out R² against the number of shared components.

    Parameters
    ----------
    cv : CVResults, mapping or DataFrame
        From :func:`sharedrep.cross_validate` (or ``ShaReDCV.cv_results_``), a model's
        ``cv_provenance_``, or a summary table indexed by ``(n_components, alpha)`` with
        columns ``r2``, ``se`` and ``chosen``.
    ax : matplotlib Axes, optional
    errorbars : bool
        Draw ± one standard error over folds.
    noise_ceiling : float, optional
        The best R² the data allow (e.g. ``snr / (1 + snr)`` in a simulation), drawn as a
        reference line.

    Returns
    -------
    matplotlib.figure.Figure
        One line per ridge penalty ``alpha`` (label ``"α = <alpha>"``); the chosen model is a
        star (label ``"chosen"``); with the one-standard-error rule, a dotted line marks the
        threshold (best R² minus its standard error); a dashed line at R² = 0 (label
        ``"R² = 0 (the mean)"``) and at the noise ceiling when given.
    """
    summary, rule, n_folds = _cv_parts(cv)
    summary = summary.reset_index()
    ax = _axes(ax, (6.0, 3.8))
    alphas = sorted(summary["alpha"].unique())
    for i, a in enumerate(alphas):
        rows = summary[summary["alpha"] == a].sort_values("n_components")
        color = PALETTE[i % len(PALETTE)]
        x, y = rows["n_components"].to_numpy(), rows["r2"].to_numpy()
        ax.plot(x, y, "o-", color=color, lw=1.6, ms=4, label=f"{ALPHA} = {a:g}")
        if errorbars:
            ax.errorbar(x, y, yerr=rows["se"].to_numpy(), fmt="none", ecolor=color, alpha=0.6)
    ax.axhline(0.0, label="R² = 0 (the mean)", **REF)
    if noise_ceiling is not None and np.isfinite(noise_ceiling):
        ax.axhline(noise_ceiling, color="#2ca02c", lw=1.0, ls="--", label="noise ceiling")
    chosen = summary[summary["chosen"].astype(bool)]
    if not chosen.empty:
        row = chosen.iloc[0]
        ax.plot(
            [row["n_components"]],
            [row["r2"]],
            marker="*",
            ms=16,
            color="black",
            ls="none",
            label="chosen",
            zorder=5,
        )
        finite = summary[np.isfinite(summary["r2"])]
        if rule == "1se" and not finite.empty:
            best = finite.loc[finite["r2"].idxmax()]
            if np.isfinite(best["se"]):
                ax.axhline(best["r2"] - best["se"], color="0.3", ls=":", lw=1, label="best - 1 SE")
    ks = np.sort(summary["n_components"].unique())
    ax.set_xticks(ks)
    ax.set_xlabel("shared components d")
    ax.set_ylabel("held-out R² (pooled)")
    ax.set_title(f"Cross-validation ({n_folds}-fold)" if n_folds else "Cross-validation")
    ax.legend(frameon=False, loc="best")
    _tidy(ax)
    return _finish(ax.figure)


# -- temporal filters ---------------------------------------------------------------------------
def _as_loadings(source: Any) -> tuple[xr.DataArray, xr.DataArray | None, xr.DataArray | None]:
    """``(loadings, lower, upper)`` from a model, a DataArray or a bootstrap Dataset."""
    if isinstance(source, xr.Dataset):
        if "loadings" not in source:
            raise ValueError("a Dataset needs a 'loadings' variable (see bootstrap_loadings)")
        lo = source["lower"] if "lower" in source else None
        hi = source["upper"] if "upper" in source else None
        return source["loadings"], lo, hi
    if isinstance(source, xr.DataArray):
        return source, None, None
    loadings = getattr(source, "loadings_", None)
    if loadings is None:
        raise TypeError(
            "filters() takes a fitted ShaReD, its loadings_ DataArray or the Dataset of "
            f"bootstrap_loadings, got {type(source).__name__}"
        )
    return loadings, None, None


def peak_info(source: Any) -> pd.DataFrame:
    """Peak lag of each component and the reasons not to trust it.

    Parameters
    ----------
    source : ShaReD, xarray.DataArray or xarray.Dataset
        As for :func:`filters`; bands come from a bootstrap Dataset.

    Returns
    -------
    pandas.DataFrame
        Index ``component``; ``peak_lag`` (samples), ``at_edge`` (the peak is the first or last
        lag of the window: the true peak may lie outside it), ``band_spans_zero`` (with bands:
        at the peak lag every variable's band contains 0, so the filter is not distinguishable
        from zero there; False without bands), ``trusted`` (neither).
    """
    loadings, lower, upper = _as_loadings(source)
    lags = loadings["lag"].to_numpy()
    energy = (loadings**2).sum("feature").transpose("lag", "component").to_numpy()
    idx = energy.argmax(axis=0)
    comps = loadings["component"].to_numpy()
    at_edge = (idx == 0) | (idx == lags.size - 1)
    spans = np.zeros(comps.size, bool)
    if lower is not None and upper is not None and lags.size:
        lo = lower.transpose("feature", "lag", "component").to_numpy()
        hi = upper.transpose("feature", "lag", "component").to_numpy()
        for k, i in enumerate(idx):
            spans[k] = bool(np.all((lo[:, i, k] <= 0) & (hi[:, i, k] >= 0)))
    if lags.size == 1:  # a single lag has no window to be at the edge of
        at_edge[:] = False
    return pd.DataFrame(
        {
            "peak_lag": lags[idx].astype(float),
            "at_edge": at_edge,
            "band_spans_zero": spans,
            "trusted": ~(at_edge | spans),
        },
        index=pd.Index(comps, name="component"),
    )


def filters(
    source: Any,
    *,
    components: Sequence[int] | None = None,
    features: Sequence[str] | None = None,
    fig: Figure | None = None,
    ncols: int = 3,
) -> Figure:
    """Each shared component's temporal filter per behavioral variable.

    Parameters
    ----------
    source : ShaReD, xarray.DataArray or xarray.Dataset
        A fitted model (its ``loadings_``), loadings with dims ``(feature, lag, component)``,
        or the Dataset of :func:`sharedrep.bootstrap_loadings` (``loadings``, ``lower``,
        ``upper``), whose bands are drawn as shaded areas.
    components : sequence of int, optional
        Components to draw (default all).
    features : sequence of str, optional
        Behavioral variables to draw (default all).
    fig : matplotlib Figure, optional
        Figure to draw into (panels are added to it).
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per component; in each, one line per behavioral variable (loading in units
        of the variable's pooled standard deviation, against lag). Each panel's title gives
        the peak lag, flagged "at window edge" or "band spans 0" when it should not be read
        as a timing (see :func:`peak_info`).
    """
    loadings, lower, upper = _as_loadings(source)
    missing = {"feature", "lag", "component"} - set(loadings.dims)
    if missing:
        raise ValueError(f"loadings need dims (feature, lag, component); missing {missing}")
    comps = list(loadings["component"].to_numpy()) if components is None else list(components)
    feats = list(loadings["feature"].to_numpy()) if features is None else list(features)
    if not comps:
        raise ValueError("filters(): no component to draw (a rank-0 model has no filters)")
    lag, xlabel = _lag_axis(loadings)
    info = peak_info(source)
    fig, axes = _grid(fig, len(comps), ncols, (3.1, 2.6), sharey=True)
    colors = _colors(len(feats))
    unit = "ms" if "lag_s" in loadings.coords else "samples"
    for ax, c in zip(axes, comps, strict=True):
        for j, f in enumerate(feats):
            color = colors[j]
            y = loadings.sel(component=c, feature=f).transpose("lag").to_numpy()
            ax.plot(lag, y, color=color, lw=1.8, label=str(f))
            if lower is not None and upper is not None:
                ax.fill_between(
                    lag,
                    lower.sel(component=c, feature=f).transpose("lag").to_numpy(),
                    upper.sel(component=c, feature=f).transpose("lag").to_numpy(),
                    color=color,
                    alpha=0.2,
                    lw=0,
                )
        ax.axhline(0, color="0.6", lw=0.8)
        ax.axvline(0, color="0.6", lw=0.8, ls=":")
        energy = (loadings.sel(component=c, feature=feats) ** 2).sum("feature")
        peak = lag[int(energy.argmax("lag"))]
        flag = ""
        if c in info.index and info.loc[c, "at_edge"]:
            flag = ", at window edge"
        elif c in info.index and info.loc[c, "band_spans_zero"]:
            flag = ", band spans 0"
        ax.set_title(f"component {c} (peak {fmt_lag(peak)} {unit}{flag})", fontsize=TEXT_PT)
        ax.set_xlabel(xlabel)
        _tidy(ax)
    axes[0].set_ylabel("loading (per pooled SD)")
    if len(feats) <= 6:
        axes[0].legend(frameon=False, title="behavior")
    else:  # many variables (e.g. pose keypoints): one legend beside the panels
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            loc="outside right upper",
            frameon=False,
            title="behavior",
            ncols=1 + len(feats) // 25,
        )
    if lower is not None:
        ci = getattr(source, "attrs", {}).get("ci")
        note = f"shaded: {100 * ci:g}% bootstrap band over sessions" if ci else "shaded: band"
        fig.suptitle(f"Shared temporal filters ({note})", fontsize=TEXT_PT + 1)
    else:
        fig.suptitle("Shared temporal filters", fontsize=TEXT_PT + 1)
    return _finish(fig)
