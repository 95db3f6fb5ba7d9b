"""Figures of a ShaReD analysis (matplotlib), as ``sr.plot.<name>``.

=========================  ==================================================================
function                   shows
=========================  ==================================================================
:func:`cv_curve`           held-out R² against the number of shared components, one line per
                           ridge penalty, with the chosen model marked
:func:`filters`            each component's temporal filter per behavioral variable (one panel
                           per component), with bootstrap bands when given
:func:`encoding_map`       per session, each neuron's held-out R² and the unique contribution
                           of each component, significant cells marked
:func:`session_r2`         R² of every neuron, grouped by session, with the session means
:func:`conditions`         condition comparison: fraction of neurons encoding, encoding
                           strength and peak lag per component, with permutation p-values
=========================  ==================================================================

Conventions (those of pandas' and xarray's ``.plot``): single-panel functions take an optional
``ax`` and return the :class:`~matplotlib.axes.Axes`; multi-panel functions take an optional
``fig`` and return the :class:`~matplotlib.figure.Figure`. Nothing is shown or saved; call
``plt.show()`` or ``fig.savefig(...)``. Only the figures a function creates are touched, and
``matplotlib.pyplot`` is imported on first use, so importing sharedrep never selects a backend.

Lags are drawn in milliseconds when the sampling rate is known (else in samples); negative lags
mean that neural activity leads behavior (the library's lag convention).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["conditions", "cv_curve", "encoding_map", "filters", "fmt_lag", "session_r2"]

ALPHA = "\N{GREEK SMALL LETTER ALPHA}"
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


def _grid(fig: Figure | None, n: int, ncols: int, panel: tuple[float, float], **kw: Any):
    """``n`` panels on a grid of at most ``ncols`` columns; unused panels removed."""
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    if fig is None:
        fig = _pyplot().figure(
            figsize=(panel[0] * ncols + 0.6, panel[1] * nrows + 0.4), layout="constrained"
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


def _p_label(p: float) -> str:
    """Short p-value label: ``p=0.41``, ``p=0.003 **``, ``p<0.001 ***``."""
    if not np.isfinite(p):
        return ""
    if p < 0.001:
        return "p<0.001 ***"
    stars = " **" if p < 0.01 else " *" if p < 0.05 else ""
    return f"p={p:.2g}{stars}"


# -- cross-validation ---------------------------------------------------------------------------
def cv_curve(cv: Any, *, ax: Axes | None = None, errorbars: bool = True) -> Axes:
    """Held-out R² against the number of shared components.

    Parameters
    ----------
    cv : CVResults
        From :func:`sharedrep.cross_validate` (or ``ShaReDCV.cv_results_``): ``cv.summary``
        indexed by ``(n_components, alpha)`` with columns ``r2``, ``se``, ``chosen``.
    ax : matplotlib Axes, optional
    errorbars : bool
        Draw ± one standard error over folds.

    Returns
    -------
    matplotlib.axes.Axes
        One line per ridge penalty ``alpha`` (label ``"α = <alpha>"``); the chosen model is
        a star (label ``"chosen"``); with the one-standard-error rule, a dashed line marks
        the threshold (best R² minus its standard error).
    """
    summary = cv.summary.reset_index()
    ax = _axes(ax, (5.0, 3.6))
    alphas = sorted(summary["alpha"].unique())
    for i, a in enumerate(alphas):
        rows = summary[summary["alpha"] == a].sort_values("n_components")
        color = PALETTE[i % len(PALETTE)]
        x, y = rows["n_components"].to_numpy(), rows["r2"].to_numpy()
        ax.plot(
            x,
            y,
            "o-",
            color=color,
            lw=1.6,
            ms=4,
            label=f"{ALPHA} = {a:g}",
        )
        if errorbars:
            ax.errorbar(x, y, yerr=rows["se"].to_numpy(), fmt="none", ecolor=color, alpha=0.6)
    chosen = summary[summary["chosen"]]
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
        rule = getattr(cv, "rule", None)
        finite = summary[np.isfinite(summary["r2"])]
        if rule == "1se" and not finite.empty:
            best = finite.loc[finite["r2"].idxmax()]
            if np.isfinite(best["se"]):
                ax.axhline(best["r2"] - best["se"], color="0.5", ls="--", lw=1, label="best - 1 SE")
    ks = np.sort(summary["n_components"].unique())
    ax.set_xticks(ks)
    ax.set_xlabel("shared components d")
    ax.set_ylabel("held-out R² (pooled over sessions)")
    n_folds = getattr(cv, "n_folds", None)
    ax.set_title(f"Cross-validation ({n_folds}-fold)" if n_folds else "Cross-validation")
    ax.legend(frameon=False, fontsize="small")
    _tidy(ax)
    return ax


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


def filters(
    source: Any,
    *,
    components: Sequence[int] | None = None,
    features: Sequence[str] | None = None,
    fig: Figure | None = None,
    ncols: int = 4,
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
        of the variable's pooled standard deviation, against lag).
    """
    loadings, lower, upper = _as_loadings(source)
    missing = {"feature", "lag", "component"} - set(loadings.dims)
    if missing:
        raise ValueError(f"loadings need dims (feature, lag, component); missing {missing}")
    comps = list(loadings["component"].to_numpy()) if components is None else list(components)
    feats = list(loadings["feature"].to_numpy()) if features is None else list(features)
    lag, xlabel = _lag_axis(loadings)
    fig, axes = _grid(fig, len(comps), ncols, (3.2, 2.6), sharey=True)
    colors = _colors(len(feats))
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
        unit = "ms" if "lag_s" in loadings.coords else "samples"
        ax.set_title(f"component {c}  (peak {fmt_lag(peak)} {unit})", fontsize="medium")
        ax.set_xlabel(xlabel)
        _tidy(ax)
    axes[0].set_ylabel("loading (per pooled SD)")
    if len(feats) <= 6:
        axes[0].legend(frameon=False, fontsize="small", title="behavior")
    else:  # many variables (e.g. pose keypoints): one legend beside the panels
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            loc="outside right upper",
            frameon=False,
            fontsize="small",
            title="behavior",
            ncols=1 + len(feats) // 25,
        )
    if lower is not None:
        ci = getattr(source, "attrs", {}).get("ci")
        note = f"shaded: {100 * ci:g}% bootstrap band over sessions" if ci else "shaded: band"
        fig.suptitle(f"Shared temporal filters ({note})", fontsize="medium")
    else:
        fig.suptitle("Shared temporal filters", fontsize="medium")
    return fig


# -- encoding map -------------------------------------------------------------------------------
def encoding_map(
    encoding: Any,
    *,
    sessions: Sequence[str] | None = None,
    fig: Figure | None = None,
    ncols: int = 6,
    vmax: float | None = None,
) -> Figure:
    """Per session, which neurons encode the shared representation and which component.

    Parameters
    ----------
    encoding : EncodingMap or ShaReD
        The result of :func:`sharedrep.encoding_map`: one heatmap per session, one row per
        neuron (sorted by held-out R²), columns ``R²`` (held-out R² of the shared model) and
        ``Δ<k>`` (unique contribution of component ``k``: drop-one ΔR²); cells that pass the
        FDR threshold are marked with a dot. A fitted :class:`~sharedrep.ShaReD` instead draws
        each session's readout weights ``|V_s|`` (no statistics).
    sessions : sequence of str, optional
        Sessions to draw (default all).
    fig : matplotlib Figure, optional
    ncols : int
        Panels per row.
    vmax : float, optional
        Upper end of the colour scale (default: the 99th percentile of the values drawn).

    Returns
    -------
    matplotlib.figure.Figure
        One heatmap panel per session, and a colour bar.
    """
    panels = _encoding_panels(encoding, sessions)
    values = np.concatenate([m.ravel() for _, m, _, _, _ in panels])
    values = values[np.isfinite(values)]
    top = vmax if vmax is not None else float(np.quantile(values, 0.99)) if values.size else 1.0
    top = top if top > 0 else 1.0
    fig, axes = _grid(fig, len(panels), ncols, (2.4, 3.4))
    image = None
    for ax, (_name, mat, sig, cols, title) in zip(axes, panels, strict=True):
        image = ax.imshow(
            mat, aspect="auto", cmap="viridis", vmin=0.0, vmax=top, interpolation="nearest"
        )
        if sig is not None:
            rr, cc = np.nonzero(sig)
            ax.plot(cc, rr, "o", ms=2.0, mfc="white", mec="black", mew=0.4, ls="none")
        ax.set_xticks(range(len(cols)), cols, fontsize="small")
        ax.set_title(title, fontsize="medium")
        ax.set_ylabel("neuron (sorted)" if ax is axes[0] else "")
        ax.set_yticks([0, mat.shape[0] - 1], ["1", str(mat.shape[0])], fontsize="small")
    label = "R² / ΔR² (held-out)" if not _is_model(encoding) else "|readout weight|"
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label=label)
    kind = "significant at the FDR level: dot" if not _is_model(encoding) else "no statistics"
    fig.suptitle(f"Encoding map per session ({kind})", fontsize="medium")
    return fig


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
        dr2 = cc.pivot(index="neuron", columns="component", values="delta_r2")
        enc = cc.pivot(index="neuron", columns="component", values="encodes")
        order = nn.sort_values("r2", ascending=False, na_position="last")["neuron"].to_numpy()
        mat = np.column_stack([nn.set_index("neuron").loc[order, "r2"], dr2.loc[order]])
        sig = np.column_stack(
            [nn.set_index("neuron").loc[order, "encodes"], enc.loc[order]]
        ).astype(bool)
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
        cols = [c for c in ("session", "neuron", "r2", "condition") if c in source.neurons]
        return source.neurons[cols].reset_index(drop=True)
    if hasattr(source, "neuron") and hasattr(source, "pooled"):  # Scores
        return source.neuron.rename("r2").reset_index()
    if isinstance(source, pd.Series):
        return source.rename("r2").reset_index()
    if isinstance(source, pd.DataFrame):
        return source.reset_index() if "session" not in source else source
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
    seed: int = 0,
) -> Axes:
    """R² of every neuron, grouped by session, with each session's mean.

    Parameters
    ----------
    source : Scores, CVResults, EncodingMap or pandas object
        ``CVResults``: the held-out R² of the chosen model; ``EncodingMap``: its held-out R²;
        ``Scores``: whatever it holds (``model.score`` is in-sample: pass
        ``ylabel="in-sample R² per neuron"``); or a Series / DataFrame with ``session``,
        ``neuron`` (index or columns) and ``r2``.
    ax : matplotlib Axes, optional
    conditions : mapping of str to str, optional
        Condition of each session (default: the ``condition`` column when present), used for
        colours and grouping.
    ylabel : str
    seed : int
        Seed of the horizontal jitter of the dots (drawing only).

    Returns
    -------
    matplotlib.axes.Axes
        One column of dots per session (one dot per neuron; neurons without variance are
        left out) and a horizontal bar at the session mean, annotated with its value.
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
    ax = _axes(ax, (min(max(3.5, 0.9 * len(names) + 1.5), 14.0), 3.6))
    rng = np.random.default_rng(seed)
    for i, name in enumerate(names):
        r2 = table.loc[table["session"] == name, "r2"].to_numpy(float)
        r2 = r2[np.isfinite(r2)]
        color = PALETTE[levels.index(cond[name]) % len(PALETTE)] if name in cond else PALETTE[0]
        jitter = rng.uniform(-0.18, 0.18, size=r2.size)
        ax.scatter(i + jitter, r2, s=9, color=color, alpha=0.55, lw=0)
        if r2.size:
            mean = float(r2.mean())
            ax.plot([i - 0.3, i + 0.3], [mean, mean], color="black", lw=2)
            ax.annotate(
                f"{mean:.2f}",
                (i + 0.32, mean),
                va="center",
                fontsize="small",
                xytext=(2, 0),
                textcoords="offset points",
            )
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xticks(range(len(names)), names, rotation=30 if len(names) > 4 else 0, ha="right")
    ax.set_xlim(-0.6, len(names) - 0.3)
    ax.set_xlabel("session")
    ax.set_ylabel(ylabel)
    if levels:
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], marker="o", ls="none", color=PALETTE[k % len(PALETTE)], label=lev)
            for k, lev in enumerate(levels)
        ]
        ax.legend(handles=handles, frameon=False, fontsize="small", title="condition")
    _tidy(ax)
    return ax


# -- condition comparison -----------------------------------------------------------------------
def conditions(table: pd.DataFrame, *, fig: Figure | None = None) -> Figure:
    """Condition comparison under one shared representation.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`sharedrep.compare_conditions`: index ``(component, measure)`` with
        measures ``fraction_encoding``, ``strength`` and ``peak_lag`` (and ``peak_lag_s``),
        one column per condition, then ``difference`` or ``range`` and ``p_value``.
    fig : matplotlib Figure, optional

    Returns
    -------
    matplotlib.figure.Figure
        Three panels, grouped bars per component (one bar per condition, label = condition):
        fraction of neurons encoding, encoding strength (mean held-out R² for ``any``, mean
        drop-one ΔR² per component) and peak lag; each group is annotated with its permutation
        p-value.
    """
    if not {"component", "measure"} <= set(table.index.names):
        raise ValueError("conditions() takes the (component, measure) table of compare_conditions")
    stat = next((c for c in ("difference", "range", "trend") if c in table.columns), None)
    conds = [c for c in table.columns if c not in ("difference", "range", "trend", "p_value")]
    measures = set(table.index.get_level_values("measure"))
    lag_measure = "peak_lag_s" if "peak_lag_s" in measures else "peak_lag"
    panels = [
        ("fraction_encoding", "fraction of neurons encoding"),
        ("strength", "encoding strength (R², ΔR²)"),
        (lag_measure, "peak lag (ms)" if lag_measure == "peak_lag_s" else "peak lag (samples)"),
    ]
    if fig is None:
        fig = _pyplot().figure(figsize=(11.5, 3.6), layout="constrained")
    axes = fig.subplots(1, 3)
    width = 0.8 / max(len(conds), 1)
    for ax, (measure, label) in zip(axes, panels, strict=True):
        sub = table.xs(measure, level="measure")
        comps = list(sub.index)
        scale = 1000.0 if measure == "peak_lag_s" else 1.0
        x = np.arange(len(comps))
        vals = sub[conds].to_numpy(float) * scale
        for j, c in enumerate(conds):
            pos = x + (j - (len(conds) - 1) / 2) * width
            color = PALETTE[j % len(PALETTE)]
            if measure.startswith("peak_lag"):
                # a lag is a position, not an amount: dots, not bars from zero
                ax.plot(pos, vals[:, j], "o", ms=7, color=color, label=str(c))
            else:
                ax.bar(pos, vals[:, j], width=width, color=color, label=str(c))
        finite = vals[np.isfinite(vals)]
        lo = min(0.0, finite.min()) if finite.size else 0.0
        hi = max(0.0, finite.max()) if finite.size else 1.0
        pad = 0.12 * (hi - lo if hi > lo else 1.0)
        for k, comp in enumerate(comps):
            p = float(sub.loc[comp, "p_value"]) if "p_value" in sub else np.nan
            text = _p_label(p)
            if text:
                ax.text(k, hi + 0.3 * pad, text, ha="center", va="bottom", fontsize="x-small")
        ax.set_ylim(lo - (pad if lo < 0 else 0), hi + 1.5 * pad)
        ax.set_xticks(x, [str(c) if c == "any" else f"c{c}" for c in comps])
        ax.set_xlabel("shared component")
        ax.set_ylabel(label)
        ax.axhline(0, color="0.6", lw=0.8)
        _tidy(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", frameon=False, title="condition")
    scheme = table.attrs.get("permutation")
    sub = f" ({stat}; labels permuted {scheme})" if stat and scheme else ""
    fig.suptitle(f"Condition comparison{sub}", fontsize="medium")
    return fig


# -- the study's analyses: groups, populations, days ----------------------------------------------
# (appended as a block; the functions above are not changed by it)
__all__ += ["groups", "learning", "populations"]


def _interval_bar(ax: Axes, x: float, row: pd.Series, color: Any, label: str | None) -> None:
    """An estimate with its interval over animals, and its permutation p-value above it."""
    lo, hi = row["ci_low"], row["ci_high"]
    ax.errorbar([x], [row["estimate"]], yerr=[[row["estimate"] - lo], [hi - row["estimate"]]],
                fmt="o", color=color, ms=6, capsize=4, lw=1.6, label=label)  # fmt: skip
    text = _p_label(float(row.get("p_value", np.nan)))
    if text:
        ax.annotate(text, (x, hi), xytext=(0, 4), textcoords="offset points", ha="center",
                    fontsize="x-small")  # fmt: skip


def groups(
    result: Any,
    *,
    component: Any = "any",
    measure: str = "fraction_encoding",
    group: Any = None,
    fig: Figure | None = None,
) -> Figure:
    """Encoding in a group of neurons against the rest, per animal and pooled.

    Parameters
    ----------
    result : GroupComparison
        From :func:`sharedrep.compare_groups` (a label column).
    component : "any" or int
        Component shown (default: encoding any component).
    measure : {"fraction_encoding", "strength", "odds_ratio"}
        Measure of the right panel (the left always shows fractions, or strengths for
        ``"strength"``).
    group : optional
        The tested group to show (default the first).
    fig : matplotlib Figure, optional

    Returns
    -------
    matplotlib.figure.Figure
        Left: per condition, the group's and the rest's value in each session (one line per
        session, joining rest to group). Right: the pooled estimate per condition with its
        interval over animals and permutation p-value, and the change with learning.
    """
    if result.attrs.get("kind") != "labels":
        raise ValueError("groups() draws a comparison of labelled groups (not a numeric column)")
    g = result.attrs["groups"][0] if group is None else group
    conds = list(result.attrs["conditions"])
    eff = result.effects.xs((g, component, measure), level=("group", "component", "measure"))
    ses = result.sessions[
        (result.sessions["group"] == g) & (result.sessions["component"] == component)
    ]
    value = "strength" if measure == "strength" else "fraction"
    if fig is None:
        fig = _pyplot().figure(figsize=(9.0, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    for c, cond in enumerate(conds):
        rows = ses[ses["condition"] == cond]
        x = np.array([3 * c, 3 * c + 1.0])
        for _, r in rows.iterrows():
            left.plot(x, [r[f"{value}_rest"], r[f"{value}_group"]], "-o", color=PALETTE[c],
                      alpha=0.6, ms=3, lw=1)  # fmt: skip
        left.plot(x, [eff.loc[cond, "rest_value"], eff.loc[cond, "group_value"]], "-s",
                  color="black", ms=6, lw=2)  # fmt: skip
    left.set_xticks([v for c in range(len(conds)) for v in (3 * c, 3 * c + 1)],
                    [f"{lab}\n{cond}" for cond in conds for lab in ("rest", str(g))],
                    fontsize="small")  # fmt: skip
    left.set_ylabel("fraction encoding" if value == "fraction" else "strength (ΔR²)")
    left.set_title(f"{result.attrs['by']} = {g} vs rest (component {component})",
                   fontsize="medium")  # fmt: skip
    _tidy(left)
    for c, cond in enumerate(conds):
        _interval_bar(right, c, eff.loc[cond], PALETTE[c], cond)
    labels = list(conds)
    if result.interaction is not None:
        row = result.interaction.loc[(g, component, measure)].rename({"change": "estimate"})
        _interval_bar(right, len(conds), row, "0.3", None)
        labels.append(f"change\n({conds[-1]} - {conds[0]})")
    right.set_xticks(range(len(labels)), labels, fontsize="small")
    null = 1.0 if measure == "odds_ratio" else 0.0
    right.axhline(null, color="0.6", lw=0.8)
    if measure == "odds_ratio":
        right.set_yscale("log")
    right.set_ylabel(
        {
            "fraction_encoding": "difference of fractions (MH)",
            "strength": "difference of strength",
            "odds_ratio": "odds ratio (MH)",
        }[measure]
    )
    ci = result.attrs.get("ci", 0.95)
    right.set_title(f"{100 * ci:g}% interval over animals; p: labels permuted within session",
                    fontsize="small")  # fmt: skip
    _tidy(right)
    fig.suptitle("Neuron groups", fontsize="medium")
    return fig


def populations(result: Any, *, fig: Figure | None = None) -> Figure:
    """Timing of populations recorded together: profiles, and the lead per animal.

    Parameters
    ----------
    result : PopulationComparison
        From :func:`sharedrep.compare_populations`.
    fig : matplotlib Figure, optional

    Returns
    -------
    matplotlib.figure.Figure
        Left: each population's mean response profile (normalised energy against lag, one
        line style per condition), its timing marked. Right: per animal, the difference
        (later population minus the first; > 0: the first leads) in each condition, joined
        across conditions, with the pooled difference and its interval over animals.
    """
    pops, conds = result.attrs["order"], list(result.attrs["conditions"])
    rate = result.attrs.get("rate")
    factor, unit = (1000.0 / rate, "ms") if rate else (1.0, "samples")
    if fig is None:
        fig = _pyplot().figure(figsize=(10.0, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    prof = result.profiles
    lags = np.asarray(prof.index.get_level_values("lag"), float) * factor
    styles = ["-", "--", ":", "-."]
    for c, cond in enumerate(conds):
        for p, pop in enumerate(pops):
            color = PALETTE[p % len(PALETTE)]
            left.plot(lags, prof[(cond, pop)].to_numpy(), styles[c % 4], color=color, lw=1.6,
                      label=f"{pop} ({cond})")  # fmt: skip
            t = result.timing.loc[(cond, pop), "timing"] * factor
            left.axvline(t, color=color, ls=styles[c % 4], lw=0.8, alpha=0.7)
    left.axvline(0, color="0.6", lw=0.8, ls=":")
    left.set_xlabel(f"lag ({unit}; < 0: neurons lead)")
    left.set_ylabel("response energy (normalised)")
    left.legend(frameon=False, fontsize="x-small")
    left.set_title("Response profiles; vertical lines: timing", fontsize="medium")
    _tidy(left)
    contrast = result.differences.index.get_level_values("contrast")[0]
    sub = result.subjects[result.subjects["contrast"] == contrast]
    x = np.arange(len(conds))
    for _, rows in sub.groupby("subject"):
        rows = rows.set_index("condition").reindex(conds)
        right.plot(x, rows["difference"].to_numpy() * factor, "-o", color="0.6", ms=3, lw=1)
    for c, cond in enumerate(conds):
        row = result.differences.loc[(cond, contrast)]
        row = pd.Series(
            {
                "estimate": row["difference"] * factor,
                "ci_low": row["ci_low"] * factor,
                "ci_high": row["ci_high"] * factor,
                "p_value": row["p_value"],
            }
        )
        _interval_bar(right, c + 0.15, row, PALETTE[c], None)
    right.axhline(0, color="0.6", lw=0.8)
    right.set_xticks(x, conds)
    right.set_ylabel(f"{contrast} ({unit}; > 0: {pops[0]} leads)")
    if result.change is not None:
        ch = result.change.loc[contrast]
        right.set_title(
            f"one line per animal; change {ch['change'] * factor:.3g} {unit} "
            f"({_p_label(float(ch['p_value'])) or 'p n/a'})",
            fontsize="small",
        )
    _tidy(right)
    fig.suptitle(f"Populations: {', '.join(pops)}", fontsize="medium")
    return fig


def learning(
    result: Any,
    measures: str | Sequence[str] = "fraction_encoding",
    *,
    group: Any = None,
    component: Any = "any",
    fig: Figure | None = None,
) -> Figure:
    """One line per animal across days, with the within-animal trend; a panel per measure.

    Parameters
    ----------
    result : LearningTrends
        From :func:`sharedrep.learning_trends`.
    measures : str or sequence of str
        Among ``"fraction_encoding"``, ``"strength"``, ``"timing"``, ``"peak_lag"``.
    group : optional
        Group row to draw (default: the first of the result's groups, ``"all"`` for
        ``peak_lag``); e.g. ``"m1 - thalamic_axon"`` for the thalamic lead.
    component : "any" or int
    fig : matplotlib Figure, optional

    Returns
    -------
    matplotlib.figure.Figure
        Per measure: one line per animal (its sessions in day order) and a thick line whose
        slope is the pooled within-animal trend, through the mean of all sessions; the title
        gives the slope per day, its interval over animals and the days-permutation p-value.
    """
    measures = [measures] if isinstance(measures, str) else list(measures)
    fig, axes = _grid(fig, len(measures), 3, (4.6, 3.4))
    for ax, measure in zip(axes, measures, strict=True):
        _learning_panel(ax, result, measure, group, component)
    fig.suptitle(f"Learning over {result.attrs.get('day', 'days')}", fontsize="medium")
    return fig


def _learning_panel(ax: Axes, result: Any, measure: str, group: Any, component: Any) -> None:
    s = result.sessions
    g = (("all" if measure == "peak_lag" else result.attrs["groups"][0]) if group is None
         else group)  # fmt: skip
    rows = s[(s["group"] == g) & (s["component"] == component) & (s["measure"] == measure)]
    if rows.empty:
        raise ValueError(f"no sessions for group {g!r}, component {component!r}, {measure!r}")
    rate = result.attrs.get("rate")
    timing = measure in ("timing", "peak_lag")
    factor = 1000.0 / rate if (timing and rate) else 1.0
    colors = _colors(rows["subject"].nunique())
    for i, (subject, r) in enumerate(rows.groupby("subject", sort=False)):
        r = r.sort_values("day")
        ax.plot(r["day"], r["value"] * factor, "-o", color=colors[i], ms=4, lw=1.3, label=subject)
    trend = result.trends.loc[(g, component, measure)]
    day = rows["day"].to_numpy(float)
    mid, mean = day.mean(), np.nanmean(rows["value"].to_numpy(float)) * factor
    xs = np.array([day.min(), day.max()])
    ax.plot(xs, mean + trend["slope"] * factor * (xs - mid), color="black", lw=2.6, label="trend")
    ax.set_xlabel(str(result.attrs.get("day", "day")))
    unit = " (ms)" if timing and rate else (" (samples)" if timing else "")
    ax.set_ylabel(f"{measure.replace('_', ' ')}{unit}")
    ci = result.attrs.get("ci", 0.95)
    ax.set_title(
        f"{g}, component {component}\n{trend['slope'] * factor:.3g}/day "
        f"[{trend['ci_low'] * factor:.3g}, {trend['ci_high'] * factor:.3g}] ({100 * ci:g}%), "
        f"{_p_label(float(trend['p_value']))}",
        fontsize="small",
    )
    ax.legend(frameon=False, fontsize="x-small", ncols=2)
    _tidy(ax)
