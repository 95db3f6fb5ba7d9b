"""Figures of the study's analyses: neuron groups, populations, learning over days."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._style import PALETTE, _colors, _finish, _grid, _p_label, _pyplot, _tidy


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
    return _finish(fig)


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
    return _finish(fig)


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
    return _finish(fig)


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
