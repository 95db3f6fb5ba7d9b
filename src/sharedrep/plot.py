"""Figures of a ShaReD analysis (matplotlib), as ``sr.plot.<name>``.

=========================  ==================================================================
function                   shows
=========================  ==================================================================
:func:`cv_curve`           held-out R² against the number of shared components, one line per
                           ridge penalty, with the chosen model marked
:func:`filters`            each component's temporal filter per behavioral variable (one panel
                           per component), with bootstrap bands when given
:func:`encoding_map`       per session, each neuron's cross-fitted R² and the unique
                           contribution of each component, significant cells marked
:func:`session_r2`         R² of every neuron, grouped by session, with the session means
:func:`conditions`         condition comparison: fraction of neurons encoding, R², ΔR² and
                           peak lag per component and condition, each animal a point, with
                           permutation p-values and the smallest p the design allows
=========================  ==================================================================

Conventions. Every function returns the :class:`~matplotlib.figure.Figure` it drew on.
Single-panel functions take an optional ``ax`` (the figure returned is then ``ax.figure``);
multi-panel functions take an optional ``fig``. Nothing is shown or saved; call ``plt.show()``
or ``fig.savefig(...)``. Only the figures a function creates are touched, and
``matplotlib.pyplot`` is imported on first use, so importing sharedrep never selects a backend.

Readability. Text is at least ``MIN_FONT_PT`` (9 pt) and figures are at most about 10 inches
wide, so that at the report's width (about 1,050 CSS pixels at 110 dpi) no text is smaller than
9 pt on screen. R² and ΔR² never share a colour scale; values beyond a scale's ends are drawn in
the scale's "under" and "over" colours, and the colour bar has an arrow at that end. Reference
lines are drawn where one exists: R² = 0 (predicting each neuron's mean), the noise ceiling
when it is given, the FDR level (the fraction of neurons that would be called encoding if none
did). Small values are shown with three significant digits (:func:`fmt_value`).

Names of R² (the package's scheme, also that of every table): *held-out* (cross-validation:
``W`` and readouts fitted without the scored fold), *cross-fitted* (the encoding map: ``W``
fitted without the scored session, the readout without the scored fold) and *in-sample* (the
readout fitted on the samples scored).

Lags are drawn in milliseconds when the sampling rate is known (else in samples); negative lags
mean that neural activity leads behavior (the library's lag convention).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "MIN_FONT_PT",
    "conditions",
    "cv_curve",
    "encoding_map",
    "filters",
    "fmt_lag",
    "fmt_value",
    "session_r2",
]

ALPHA = "\N{GREEK SMALL LETTER ALPHA}"
#: smallest text in any figure (points); with figures at most ~10 in wide it stays >= 9 pt at
#: the report's width
MIN_FONT_PT = 9.0
#: body text of labels and titles (points)
TEXT_PT = 10.0
#: colours of conditions / sessions (matplotlib's colour-blind-safe "tab10" order)
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
#: reference lines: colour and style
REF = {"color": "0.45", "lw": 1.0, "ls": "--"}


# -- helpers ------------------------------------------------------------------------------------
def _pyplot() -> Any:
    import matplotlib.pyplot as plt

    return plt


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def _tidy(ax: Axes) -> None:
    """Open axes: no top/right spines (the journal style most labs use)."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)


def _finish(fig: Figure) -> Figure:
    """Raise every text of the figure to at least :data:`MIN_FONT_PT` (ticks drawn later too)."""
    from matplotlib.text import Text

    for ax in fig.axes:
        ax.tick_params(labelsize=MIN_FONT_PT)
        ax.xaxis.label.set_fontsize(max(ax.xaxis.label.get_fontsize(), TEXT_PT))
        ax.yaxis.label.set_fontsize(max(ax.yaxis.label.get_fontsize(), TEXT_PT))
    for text in fig.findobj(Text):
        if text.get_fontsize() < MIN_FONT_PT:
            text.set_fontsize(MIN_FONT_PT)
    return fig


def _grid(fig: Figure | None, n: int, ncols: int, panel: tuple[float, float], **kw: Any):
    """``n`` panels on a grid of at most ``ncols`` columns; unused panels removed."""
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    if fig is None:
        fig = _pyplot().figure(
            figsize=(panel[0] * ncols + 0.6, panel[1] * nrows + 0.5), layout="constrained"
        )
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False, **kw)).ravel()
    for extra in axes[n:]:
        extra.remove()
    return fig, list(axes[:n])


def _colors(n: int) -> list[Any]:
    """``n`` distinguishable colours: the palette, or a sampled colour map beyond 10."""
    if n <= len(PALETTE):
        return list(PALETTE[:n])
    import matplotlib

    cmap = matplotlib.colormaps["tab20" if n <= 20 else "turbo"]
    return [cmap(i / max(n - 1, 1)) if n > 20 else cmap(i) for i in range(n)]


def _lag_axis(da: xr.DataArray | xr.Dataset) -> tuple[np.ndarray, str]:
    """Lag values and axis label: milliseconds when the rate is known, else samples."""
    if "lag_s" in da.coords:
        return 1000.0 * np.asarray(da["lag_s"].to_numpy(), float), "lag (ms; < 0: neurons lead)"
    return np.asarray(da["lag"].to_numpy(), float), "lag (samples; < 0: neurons lead)"


def fmt_lag(value: float) -> str:
    """A lag for display: at most one decimal, no trailing zeros (``33.3``, ``-100``, ``0``)."""
    return np.format_float_positional(round(float(value), 1) + 0.0, trim="-")  # no "-0"


def fmt_value(value: float, digits: int = 3) -> str:
    """A number for display with ``digits`` significant digits, never in exponent form.

    ``0.0123``, ``-0.000412``, ``0.25``, ``1.5``; ``"n/a"`` for NaN. Unlike a fixed two
    decimals, small R² values keep their sign and size (no ``"-0.00"``).

    Examples
    --------
    >>> fmt_value(-0.000412345), fmt_value(0.25), fmt_value(float("nan"))
    ('-0.000412', '0.25', 'n/a')
    """
    value = float(value)
    if not np.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    text = np.format_float_positional(value, precision=digits, fractional=False, trim="-")
    return text.rstrip(".")


def _p_label(p: float) -> str:
    """Short p-value label: ``p=0.41``, ``p=0.003 **``, ``p<0.001 ***``."""
    if not np.isfinite(p):
        return ""
    if p < 0.001:
        return "p<0.001 ***"
    stars = " **" if p < 0.01 else " *" if p < 0.05 else ""
    return f"p={p:.2g}{stars}"


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


# -- encoding map -------------------------------------------------------------------------------
def _cmap(name: str, under: str | None, over: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(under=under, over=over)


def _extend(values: np.ndarray, lo: float, hi: float) -> str:
    """Colour-bar ``extend`` saying which ends of the scale clip the values."""
    v = values[np.isfinite(values)]
    below, above = bool((v < lo).any()), bool((v > hi).any())
    return {(True, True): "both", (True, False): "min", (False, True): "max"}.get(
        (below, above), "neither"
    )


def _top(values: np.ndarray, given: float | None) -> float:
    v = values[np.isfinite(values)]
    top = given if given is not None else float(np.quantile(v, 0.99)) if v.size else 1.0
    return top if top > 0 else max(float(v.max(initial=0.0)), 1e-3)


def encoding_map(
    encoding: Any,
    *,
    sessions: Sequence[str] | None = None,
    fig: Figure | None = None,
    ncols: int = 4,
    vmax: float | None = None,
    vmax_delta: float | None = None,
) -> Figure:
    """Per session, which neurons encode the shared representation and which component.

    Parameters
    ----------
    encoding : EncodingMap or ShaReD
        The result of :func:`sharedrep.encoding_map`: one heatmap per session, one row per
        neuron (sorted by cross-fitted R²), the first column its cross-fitted R² (one colour
        scale), the others ``Δ<k>``, the unique contribution of component ``k`` (drop-one ΔR²,
        a second colour scale); cells that pass the FDR threshold are marked with a dot. A
        fitted :class:`~sharedrep.ShaReD` instead draws each session's readout weights
        ``|V_s|`` (one scale, no statistics).
    sessions : sequence of str, optional
        Sessions to draw (default all).
    fig : matplotlib Figure, optional
    ncols : int
        Panels per row.
    vmax, vmax_delta : float, optional
        Upper ends of the R² and ΔR² colour scales (default: the 99th percentile of the values
        drawn). Both scales start at 0: negative R² (worse than each neuron's mean) and
        negative ΔR² are drawn in the "under" colour (grey), values above the top in the
        "over" colour, and the colour bars show an arrow where values were clipped.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per session (its images: R², then ΔR²), and one colour bar per scale.
    """
    panels = _encoding_panels(encoding, sessions)
    model_only = _is_model(encoding)
    r2 = np.concatenate([m[:, :1].ravel() for _, m, _, _, _ in panels])
    delta = np.concatenate([m[:, 1:].ravel() for _, m, _, _, _ in panels])
    if model_only:
        r2 = np.concatenate([m.ravel() for _, m, _, _, _ in panels])
    top_r2, top_d = _top(r2, vmax), _top(delta, vmax_delta)
    cmap_r2 = _cmap("viridis", "0.78", "#fde725" if model_only else "#ff00ff")
    cmap_d = _cmap("magma_r", "0.78", "#1f77b4")
    fig, axes = _grid(fig, len(panels), ncols, (2.35, 3.4))
    im_r2 = im_d = None
    for ax, (_name, mat, sig, cols, title) in zip(axes, panels, strict=True):
        n, width = mat.shape
        if model_only:
            im_r2 = ax.imshow(
                mat, aspect="auto", cmap=cmap_r2, vmin=0.0, vmax=top_r2, interpolation="nearest"
            )
        else:
            im_r2 = ax.imshow(
                mat[:, :1],
                aspect="auto",
                cmap=cmap_r2,
                vmin=0.0,
                vmax=top_r2,
                interpolation="nearest",
                extent=(-0.5, 0.5, n - 0.5, -0.5),
            )
            if width > 1:
                im_d = ax.imshow(
                    mat[:, 1:],
                    aspect="auto",
                    cmap=cmap_d,
                    vmin=0.0,
                    vmax=top_d,
                    interpolation="nearest",
                    extent=(0.5, width - 0.5, n - 0.5, -0.5),
                )
            ax.axvline(0.5, color="white", lw=2)
            ax.set_xlim(-0.5, width - 0.5)
        if sig is not None:
            rr, cc = np.nonzero(sig)
            ax.plot(cc, rr, "o", ms=2.6, mfc="white", mec="black", mew=0.5, ls="none")
        ax.set_xticks(range(len(cols)), cols)
        ax.set_title(title, fontsize=TEXT_PT)
        ax.set_ylabel("neuron (sorted)" if ax is axes[0] else "")
        ax.set_yticks([0, n - 1], ["1", str(n)])
    if model_only:
        if im_r2 is not None:
            fig.colorbar(im_r2, ax=axes, shrink=0.8, label="|readout weight|")
        fig.suptitle("Readout weights per session (no statistics)", fontsize=TEXT_PT + 1)
        return _finish(fig)
    # constrained layout puts the first colour bar outermost: ΔR² first, so that the R² bar
    # sits next to the panels, in the order of their columns
    if im_d is not None:
        fig.colorbar(
            im_d,
            ax=axes,
            shrink=0.8,
            extend=_extend(delta, 0.0, top_d),
            label="cross-fitted ΔR², unique to Δk (grey: < 0)",
        )
    if im_r2 is not None:
        fig.colorbar(
            im_r2,
            ax=axes,
            shrink=0.8,
            extend=_extend(r2, 0.0, top_r2),
            label="cross-fitted R² (grey: < 0)",
        )
    fig.suptitle("Encoding map per session (dot: significant at the FDR level)", fontsize=11)
    return _finish(fig)


def _is_model(obj: Any) -> bool:
    return hasattr(obj, "session_fits_") and not hasattr(obj, "neurons")


def _encoding_panels(encoding: Any, sessions: Sequence[str] | None):
    """``(name, matrix, significant, column labels, title)`` per session."""
    out = []
    if _is_model(encoding):
        for name, V in encoding.readouts_.items():
            if sessions is not None and name not in sessions:
                continue
            mat = np.abs(V.to_numpy().T)  # (neuron, component)
            order = np.argsort(-np.linalg.norm(mat, axis=1), kind="stable")
            cols = [f"c{k}" for k in range(mat.shape[1])]
            out.append((name, mat[order], None, cols, f"{name}\n{mat.shape[0]} neurons"))
        return out
    neurons, comps = encoding.neurons, encoding.components
    names = list(dict.fromkeys(neurons["session"])) if sessions is None else list(sessions)
    for name in names:
        nn = neurons[neurons["session"] == name]
        if nn.empty:
            raise KeyError(f"session {name!r} is not in the encoding map")
        cc = comps[comps["session"] == name]
        dr2 = cc.pivot(index="neuron", columns="component", values="delta_r2_crossfit")
        enc = cc.pivot(index="neuron", columns="component", values="encodes")
        order = nn.sort_values("r2_crossfit", ascending=False, na_position="last")["neuron"]
        order = order.to_numpy()
        by_neuron = nn.set_index("neuron")
        mat = np.column_stack([by_neuron.loc[order, "r2_crossfit"], dr2.loc[order]])
        sig = np.column_stack([by_neuron.loc[order, "encodes"], enc.loc[order]]).astype(bool)
        cols = ["R²", *[f"Δ{k}" for k in dr2.columns]]
        n_enc, n = int(nn["encodes"].sum()), len(nn)
        cond = nn["condition"].iloc[0] if "condition" in nn else None
        head = f"{name} ({cond})" if isinstance(cond, str) and cond else str(name)
        out.append((name, mat.astype(float), sig, cols, f"{head}\n{n_enc}/{n} encode"))
    return out


# -- R² per session -----------------------------------------------------------------------------
def _neuron_table(source: Any) -> pd.DataFrame:
    """Long table ``session, neuron, r2[, condition]`` from the library's result objects."""
    if hasattr(source, "scores") and hasattr(source, "summary"):  # CVResults: chosen model
        chosen = source.neuron[
            (source.neuron["n_components"] == source.n_components)
            & (source.neuron["alpha"] == source.alpha)
        ]
        return chosen[["session", "neuron", "r2", "condition"]].reset_index(drop=True)
    if hasattr(source, "neurons") and hasattr(source, "components"):  # EncodingMap
        cols = [c for c in ("session", "neuron", "r2_crossfit", "condition") if c in source.neurons]
        return source.neurons[cols].rename(columns={"r2_crossfit": "r2"}).reset_index(drop=True)
    if hasattr(source, "neuron") and hasattr(source, "pooled"):  # Scores
        return source.neuron.rename("r2").reset_index()
    if isinstance(source, pd.Series):
        return source.rename("r2").reset_index()
    if isinstance(source, pd.DataFrame):
        table = source.reset_index() if "session" not in source else source
        r2 = [c for c in table.columns if str(c).startswith("r2")]
        return table.rename(columns={r2[0]: "r2"}) if "r2" not in table and r2 else table
    raise TypeError(
        "session_r2() takes Scores, CVResults, an EncodingMap or a (session, neuron) table, "
        f"got {type(source).__name__}"
    )


def session_r2(
    source: Any,
    *,
    ax: Axes | None = None,
    conditions: Mapping[str, str] | None = None,
    ylabel: str = "held-out R² per neuron",
    noise_ceiling: float | Mapping[str, float] | None = None,
    seed: int = 0,
) -> Figure:
    """R² of every neuron, grouped by session, with each session's mean.

    Parameters
    ----------
    source : Scores, CVResults, EncodingMap or pandas object
        ``CVResults``: the held-out R² of the chosen model; ``EncodingMap``: its cross-fitted
        R² (pass ``ylabel="cross-fitted R² per neuron"``); ``Scores``: whatever it holds
        (``model.score`` is in-sample: pass ``ylabel="in-sample R² per neuron"``); or a Series
        / DataFrame with ``session``, ``neuron`` (index or columns) and an ``r2...`` column.
    ax : matplotlib Axes, optional
    conditions : mapping of str to str, optional
        Condition of each session (default: the ``condition`` column when present), used for
        colours and grouping.
    ylabel : str
    noise_ceiling : float or mapping of str to float, optional
        The best R² the data allow, for the cohort or per session, drawn as a reference.
    seed : int
        Seed of the horizontal jitter of the dots (drawing only).

    Returns
    -------
    matplotlib.figure.Figure
        One column of dots per session (one dot per neuron; neurons without variance are
        left out, none is clipped) and a horizontal bar at the session mean, annotated with
        its value (three significant digits); a dashed line at R² = 0.
    """
    table = _neuron_table(source)
    names = list(dict.fromkeys(table["session"]))
    cond = dict(conditions or {})
    if not cond and "condition" in table:
        firsts = table.groupby("session", sort=False)["condition"].first()
        cond = {k: v for k, v in firsts.items() if isinstance(v, str) and v}
    levels = list(dict.fromkeys(cond[n] for n in names if n in cond))
    if levels:  # group sessions by condition, keeping the order of appearance
        names.sort(key=lambda n: levels.index(cond[n]) if n in cond else len(levels))
    ax = _axes(ax, (min(max(4.0, 0.9 * len(names) + 1.8), 10.0), 3.8))
    rng = np.random.default_rng(seed)
    for i, name in enumerate(names):
        r2 = table.loc[table["session"] == name, "r2"].to_numpy(float)
        r2 = r2[np.isfinite(r2)]
        color = PALETTE[levels.index(cond[name]) % len(PALETTE)] if name in cond else PALETTE[0]
        jitter = rng.uniform(-0.18, 0.18, size=r2.size)
        ax.scatter(i + jitter, r2, s=10, color=color, alpha=0.55, lw=0)
        if r2.size:
            mean = float(r2.mean())
            ax.plot([i - 0.3, i + 0.3], [mean, mean], color="black", lw=2)
            ax.annotate(
                fmt_value(mean),
                (i + 0.32, mean),
                va="center",
                fontsize=MIN_FONT_PT,
                xytext=(2, 0),
                textcoords="offset points",
            )
        if isinstance(noise_ceiling, Mapping) and name in noise_ceiling:
            ax.plot([i - 0.4, i + 0.4], [noise_ceiling[name]] * 2, color="#2ca02c", lw=1, ls="--")
    ax.axhline(0, label="R² = 0 (the mean)", **REF)
    if noise_ceiling is not None and not isinstance(noise_ceiling, Mapping):
        ax.axhline(float(noise_ceiling), color="#2ca02c", lw=1, ls="--", label="noise ceiling")
    ax.set_xticks(range(len(names)), names, rotation=30 if len(names) > 4 else 0, ha="right")
    ax.set_xlim(-0.6, len(names) - 0.3)
    ax.set_xlabel("session")
    ax.set_ylabel(ylabel)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], marker="o", ls="none", color=PALETTE[k % len(PALETTE)], label=lev)
        for k, lev in enumerate(levels)
    ]
    refs, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + refs, frameon=False, loc="best")
    _tidy(ax)
    return _finish(ax.figure)


# -- condition comparison -----------------------------------------------------------------------
def _session_values(encoding: Any, conds: Sequence[str]) -> pd.DataFrame | None:
    """Per session: condition, fraction encoding and mean R² (``any``) and, per component,
    the fraction encoding and mean ΔR², from an EncodingMap; None if its conditions differ."""
    if encoding is None:
        return None
    nn, cc = encoding.neurons, encoding.components
    labels = nn.groupby("session", sort=False)["condition"].first()
    if set(map(str, labels.dropna())) != set(conds) or labels.isna().any():
        return None
    rows = []
    for name, lab in labels.items():
        n = nn[nn["session"] == name]
        rows.append((name, str(lab), "any", "fraction_encoding", n["encodes"].mean()))
        rows.append((name, str(lab), "any", "strength", n["r2_crossfit"].mean()))
        c = cc[cc["session"] == name]
        for k, g in c.groupby("component"):
            rows.append((name, str(lab), k, "fraction_encoding", g["encodes"].mean()))
            rows.append((name, str(lab), k, "strength", g["delta_r2_crossfit"].mean()))
    return pd.DataFrame(rows, columns=["session", "condition", "component", "measure", "value"])


def _smallest_p(table: pd.DataFrame, encoding: Any) -> tuple[float, int] | None:
    """The smallest p-value the comparison's permutation design can give (and labellings)."""
    if encoding is None:
        return None
    from .inference.permutation import smallest_p_value

    nn = encoding.neurons.groupby("session", sort=False)[["subject", "condition"]].first()
    if nn["condition"].isna().any():
        return None
    return smallest_p_value(
        nn["subject"].astype(str).to_numpy(dtype=object),
        nn["condition"].astype(str).to_numpy(dtype=object),
        n_perm=table.attrs.get("n_perm"),
    )


def conditions(table: pd.DataFrame, *, encoding: Any = None, fig: Figure | None = None) -> Figure:
    """Condition comparison under one shared representation.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`sharedrep.compare_conditions`: index ``(component, measure)`` with
        measures ``fraction_encoding``, ``strength`` and ``peak_lag`` (and ``peak_lag_s``),
        one column per condition, then ``difference`` or ``range`` and ``p_value``.
    encoding : EncodingMap, optional
        The encoding map the comparison used: draws each session (animal) as a point next to
        its condition's bar and states the smallest p-value the permutation design allows.
    fig : matplotlib Figure, optional

    Returns
    -------
    matplotlib.figure.Figure
        Four panels: fraction of neurons encoding (per component and "any"; dashed line: the
        FDR level, what calls of neurons that encode nothing would reach), R² of the shared
        model ("any"), ΔR² of each component (separate axes: R² and ΔR² are not on one
        scale), and peak lags (dots: a lag is a position). Bars are the table's values, dots
        the sessions; each group is annotated with its permutation p-value.
    """
    if not {"component", "measure"} <= set(table.index.names):
        raise ValueError("conditions() takes the (component, measure) table of compare_conditions")
    stat = next((c for c in ("difference", "range") if c in table.columns), None)
    conds = [c for c in table.columns if c not in ("difference", "range", "p_value")]
    measures = set(table.index.get_level_values("measure"))
    lag_measure = "peak_lag_s" if "peak_lag_s" in measures else "peak_lag"
    points = _session_values(encoding, [str(c) for c in conds])
    if fig is None:
        fig = _pyplot().figure(figsize=(9.6, 6.6), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    frac = table.xs("fraction_encoding", level="measure")
    strength = table.xs("strength", level="measure")
    panels = [
        (axes[0], frac, "fraction of neurons encoding", "fraction_encoding", False),
        (axes[1], strength.loc[["any"]], "R² of the shared model", "strength", False),
        (
            axes[2],
            strength.drop(index="any", errors="ignore"),
            "ΔR², unique to the component",
            "strength",
            False,
        ),
        (
            axes[3],
            table.xs(lag_measure, level="measure"),
            "peak lag (ms)" if lag_measure == "peak_lag_s" else "peak lag (samples)",
            lag_measure,
            True,
        ),
    ]
    width = 0.8 / max(len(conds), 1)
    for ax, sub, label, measure, is_lag in panels:
        _condition_panel(ax, sub, conds, width, label, measure, is_lag, points)
    fdr = table.attrs.get("fdr")
    if fdr is not None:
        axes[0].axhline(float(fdr), label=f"FDR {fdr:g}", **REF)
    handles, labels = axes[0].get_legend_handles_labels()
    if points is not None:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], marker="o", ls="none", mfc="white", mec="black"))
        labels.append("one session")
    fig.legend(handles, labels, loc="outside right upper", frameon=False, title="condition")
    scheme = table.attrs.get("permutation")
    title = (
        f"Condition comparison ({stat}; labels permuted {scheme})"
        if stat and scheme
        else ("Condition comparison")
    )
    floor = _smallest_p(table, encoding)
    if floor is not None:
        title += f"\nsmallest attainable p = {floor[0]:.2g} ({floor[1]} distinct labellings)"
    fig.suptitle(title, fontsize=TEXT_PT + 1)
    return _finish(fig)


def _condition_panel(
    ax: Axes,
    sub: pd.DataFrame,
    conds: Sequence[str],
    width: float,
    label: str,
    measure: str,
    is_lag: bool,
    points: pd.DataFrame | None,
) -> None:
    """Grouped bars (or dots for lags) per component, sessions as points, p-values on top."""
    comps = list(sub.index)
    scale = 1000.0 if measure == "peak_lag_s" else 1.0
    x = np.arange(len(comps))
    vals = sub[list(conds)].to_numpy(float) * scale
    drawn = [vals[np.isfinite(vals)]]
    rng = np.random.default_rng(0)
    for j, c in enumerate(conds):
        pos = x + (j - (len(conds) - 1) / 2) * width
        color = PALETTE[j % len(PALETTE)]
        if is_lag:  # a lag is a position, not an amount: dots, not bars from zero
            ax.plot(pos, vals[:, j], "o", ms=7, color=color, label=str(c))
        else:
            ax.bar(pos, vals[:, j], width=width, color=color, alpha=0.75, label=str(c))
        if points is not None and not is_lag:
            for k, comp in enumerate(comps):
                sel = points[
                    (points["condition"] == str(c))
                    & (points["component"].astype(str) == str(comp))
                    & (points["measure"] == measure)
                ]["value"].to_numpy(float)
                jitter = rng.uniform(-0.25, 0.25, size=sel.size) * width
                ax.plot(
                    pos[k] + jitter,
                    sel,
                    "o",
                    ms=4.5,
                    mfc="white",
                    mec="black",
                    mew=0.8,
                    ls="none",
                    label="_session",
                )
                drawn.append(sel[np.isfinite(sel)])
    finite = np.concatenate(drawn) if drawn else np.array([])
    lo = min(0.0, finite.min()) if finite.size else 0.0
    hi = max(0.0, finite.max()) if finite.size else 1.0
    pad = 0.12 * (hi - lo if hi > lo else 1.0)
    for k, comp in enumerate(comps):
        p = float(sub.loc[comp, "p_value"]) if "p_value" in sub else np.nan
        text = _p_label(p)
        if text:
            ax.text(k, hi + 0.3 * pad, text, ha="center", va="bottom", fontsize=MIN_FONT_PT)
    ax.set_ylim(lo - (pad if lo < 0 else 0), hi + 1.6 * pad)
    ax.set_xticks(x, [str(c) if c == "any" else f"c{c}" for c in comps])
    ax.set_xlabel("shared component")
    ax.set_ylabel(label)
    ax.axhline(0, color="0.6", lw=0.8)
    if len(comps) > 1:  # separate the groups
        for a, b in pairwise(x):
            ax.axvline((a + b) / 2, color="0.92", lw=0.8, zorder=0)
    _tidy(ax)
