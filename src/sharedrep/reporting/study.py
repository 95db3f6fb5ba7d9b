"""Report sections for the study's analyses: neuron groups, populations, learning over days."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import plot as _plot
from ..data import Cohort
from ._page import _Doc, _e


def _study_sections(doc: _Doc, cohort: Cohort, groups: Any, populations: Any, trends: Any) -> None:
    """Sections for neuron groups, populations and days, when given or when the data have them."""
    columns = sorted({str(c) for s in cohort if s.neuron_info is not None for c in s.neuron_info})
    has_days = any("day" in s.metadata for s in cohort)
    if groups is not None or columns:
        doc.h2("Neuron groups", "groups")
        items = groups if isinstance(groups, list | tuple) else [groups] if groups else []
        for i, result in enumerate(items):
            _groups_section(doc, result, i)
        if not items:
            doc.note(
                f"The neurons carry metadata ({', '.join(_e(c) for c in columns)}); pass "
                "<code>groups=sr.compare_groups(model, cohort, by=..., encoding=encoding)</code> "
                "to compare encoding between labelled groups."
            )
    if populations is not None:
        _populations_section(doc, populations)
    elif "population" in columns:
        doc.h2("Populations", "populations")
        doc.note(
            "The sessions hold several populations; pass <code>populations=sr."
            "compare_populations(model, cohort, features=[...])</code> to compare their timing."
        )
    if trends is not None:
        _trends_section(doc, trends)
    elif has_days:
        doc.h2("Learning over days", "days")
        doc.note(
            "The sessions carry a day; pass <code>trends=sr.learning_trends(model, cohort, "
            "encoding=encoding)</code> for trends within animal."
        )


def _study_table(table: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return table[[c for c in cols if c in table.columns]]


def _groups_section(doc: _Doc, result: Any, i: int) -> None:
    a = result.attrs
    name = f"groups_{a['by']}" if i == 0 else f"groups_{a['by']}_{i}"
    if a["kind"] == "labels":
        doc.figure(
            _plot.groups(result),
            name,
            f"{a['by']} = {a['groups'][0]} against the other neurons: fraction encoding any "
            "component in each session (left, one line per session) and the Mantel-Haenszel "
            "difference per condition with its interval over animals (right).",
        )
    eff = result.effects.xs("any", level="component")
    doc.table(
        _study_table(eff, ["group_value", "rest_value", "estimate", "ci_low", "ci_high",
                           "p_value", "p_animals", "n_group", "n_rest"]),
        name,
    )  # fmt: skip
    doc.csv(result.effects, f"{name}_all_components")
    doc.csv(result.sessions, f"{name}_sessions", index=False)
    doc.csv(result.subjects, f"{name}_subjects", index=False)
    if result.interaction is not None:
        scheme = _e(a["interaction_permutation"])
        doc.p(f"Change with learning (last condition minus first; {scheme}):")
        doc.table(result.interaction.xs("any", level="component"), f"{name}_interaction")
    left_out = []
    if a.get("where"):
        left_out.append(f"{a['n_unselected']} neurons outside <code>{_e(a['where'])}</code>")
    if a.get("n_missing"):
        left_out.append(f"{a['n_missing']} without a {_e(a['by'])} label")
    if a.get("n_silent"):
        left_out.append(f"{a['n_silent']} without variance")
    doc.p(
        f"<em>p_value</em>: {_e(a['permutation'])} ({a['n_perm']} permutations); "
        f"<em>p_animals</em> and the interval: {_e(a['interval'])}. Encoding: q &lt; {a['fdr']:g} "
        f"({_e(a['null'])} null, W cross-fitted by {_e(a['cross_fit'])})."
        + (f" Left out: {', '.join(left_out)}." if left_out else "")
    )


def _populations_section(doc: _Doc, result: Any) -> None:
    a = result.attrs
    doc.h2("Populations", "populations")
    doc.figure(
        _plot.populations(result),
        "populations",
        f"Response profiles of {', '.join(a['order'])} over {', '.join(a['features'])} (left) "
        "and the timing difference per animal and condition with its interval over animals "
        "(right; > 0: the first population leads).",
    )
    doc.table(result.differences, "population_differences")
    if result.change is not None:
        doc.p(f"Change with learning ({_e(a['change_permutation'])}):")
        doc.table(result.change, "population_change")
    doc.csv(result.timing, "population_timing")
    doc.csv(result.shares, "population_shares")
    doc.csv(result.sessions, "population_sessions", index=False)
    doc.csv(result.neurons, "population_neurons", index=False)
    doc.p(
        "Timing of a population: the mean over its neurons (weighted by the square of their "
        "response energy) of the peak lag of each neuron's response, seen through the pooled "
        f"covariance of the lagged behavior. <em>p_value</em>: {_e(a['permutation'])} "
        f"({a['n_perm']} permutations); interval and <em>p_animals</em>: {_e(a['interval'])}."
    )


def _trends_section(doc: _Doc, result: Any) -> None:
    a = result.attrs
    doc.h2("Learning over days", "days")
    groups = a["groups"]
    contrast = next(
        (g for g in result.trends.index.get_level_values("group") if " - " in str(g)), None
    )
    doc.figure(
        _plot.learning(result, ["fraction_encoding", "strength"], group=groups[0]),
        "learning",
        f"Per animal (one line each) across {a['day']}: fraction of {groups[0]} neurons encoding "
        "any component and their strength, with the pooled within-animal trend.",
    )
    if contrast is not None:
        doc.figure(
            _plot.learning(result, ["fraction_encoding", "timing"], group=contrast),
            "learning_difference",
            f"The difference {contrast} across {a['day']}, per animal, with its trend.",
        )
    shown = result.trends.xs("any", level="component", drop_level=False)
    doc.table(
        _study_table(shown, ["slope", "ci_low", "ci_high", "p_value", "p_animals", "first",
                             "last"]),
        "trends",
    )  # fmt: skip
    doc.csv(result.trends, "trends_all_components")
    doc.csv(result.sessions, "trends_sessions", index=False)
    doc.p(
        f"<em>slope</em>: change per {_e(a['day'])} within animal; <em>p_value</em>: "
        f"{_e(a['permutation'])} ({a['n_perm']} permutations); interval and "
        f"<em>p_animals</em>: {_e(a['interval'])}."
    )
