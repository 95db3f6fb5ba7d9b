"""The condition comparison figure: conditions as bars, sessions as points."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from itertools import pairwise

from ._style import MIN_FONT_PT, PALETTE, REF, TEXT_PT, _finish, _p_label, _pyplot, _tidy


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
    from ..inference.permutation import smallest_p_value

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
    stat = next((c for c in ("difference", "range", "trend") if c in table.columns), None)
    conds = [c for c in table.columns if c not in ("difference", "range", "trend", "p_value")]
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
