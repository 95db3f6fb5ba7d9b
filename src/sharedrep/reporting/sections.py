"""The sections of a report, in page order, and its methods paragraph."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import plot as _plot
from ..data import Cohort
from ..plot import ALPHA, fmt_value
from ._page import _Doc, _e, _lag_text, _param_text
from .checks import _Choice, encoding_caveats
from .provenance import input_files, software_versions


def _sessions_section(doc, model, cohort, scores, r2_name, r2_label, encoding) -> None:
    doc.h2("Sessions", "sessions")
    table = cohort.to_frame()
    if cohort.rate:
        table["duration_s"] = [s.n_samples / cohort.rate for s in cohort]
    table["samples_used"] = [model.session_fits_[s.name].n_samples for s in cohort]
    if any(getattr(s, "covariate_names", ()) for s in cohort):
        table["covariates"] = [", ".join(getattr(s, "covariate_names", ())) for s in cohort]
    weights = getattr(model, "session_weights_", None)
    if weights is not None:
        table["weight"] = weights.reindex(table.index).to_numpy()
    table[r2_name] = scores.session.reindex(table.index).to_numpy()
    crossfit = ""
    if encoding is not None:
        per = encoding.neurons.groupby("session")["r2_crossfit"].mean()
        table["r2_crossfit"] = per.reindex(table.index).to_numpy()
        crossfit = (
            " <em>r2_crossfit</em>: mean cross-fitted R² of the encoding map (W fitted without "
            "the session)."
        )
    doc.table(table, "sessions")
    doc.p(
        "<em>samples_used</em>: samples whose whole lag window lies inside one segment "
        "(the others are left out, never zero-padded). <em>weight</em>: the session's weight "
        f"in the shared objective. <em>{r2_name}</em>: mean {r2_label} over the session's "
        f"neurons.{crossfit}"
    )


def _selection_section(doc: _Doc, choice: _Choice, noise_ceiling: Any) -> None:
    doc.h2("Model selection", "cv")
    if choice.how == "user":
        doc.note(
            "Not cross-validated: the rank and ridge were set by hand and the R² below is "
            "in-sample. Pass <code>cv=sr.cross_validate(cohort, ...)</code> (or fit a "
            "<code>sr.ShaReDCV</code>), or run <code>sharedrep fit</code>, for held-out numbers."
        )
        return
    grid_d, grid_a = choice.grid
    when = "" if choice.how == "cv" else " when the model was fitted (kept in its model file)"
    prov = choice.provenance or {}
    best = prov.get("best")
    if best is None and choice.cv is not None:
        s = choice.cv.summary
        fin = s[np.isfinite(s["r2"].to_numpy())]
        if not fin.empty:
            top = fin["r2"].idxmax()
            best = {"n_components": top[0], "alpha": top[1], "r2_heldout": fin.loc[top, "r2"]}
    best_text = (
        f"; the highest held-out R² of the grid was {fmt_value(best['r2_heldout'])} "
        f"(d = {int(best['n_components'])}, {ALPHA} = {float(best['alpha']):g})"
        if best is not None
        else ""
    )
    chosen = choice.summary[choice.summary["chosen"].astype(bool)]
    d_c, a_c = chosen.index[0] if len(chosen) else (None, None)
    doc.p(
        f"The rank and ridge were chosen by {choice.n_folds}-fold cross-validation{when} over "
        f"{choice.split}, with "
        f"the {'one-standard-error' if choice.rule == '1se' else 'best-score'} rule, among "
        f"d ∈ {{{', '.join(map(str, grid_d))}}} and {ALPHA} ∈ "
        f"{{{', '.join(f'{a:g}' for a in grid_a)}}}: d = {d_c}, {ALPHA} = {a_c:g}, held-out "
        f"R² = {fmt_value(choice.r2)} ± {fmt_value(choice.se, 2)} (SE over folds){best_text}."
        if d_c is not None
        else "The cross-validation grid has no chosen point."
    )
    caption = (
        "Held-out R² (pooled over sessions) against the number of shared components, one "
        f"line per ridge penalty; error bars: ± 1 SE over {choice.n_folds} folds of "
        f"{choice.split}. Star: the chosen model ({choice.rule} rule). Dashed: R² = 0, predicting "
        "each neuron's mean."
    )
    source = choice.cv if choice.cv is not None else choice.provenance
    doc.figure(_plot.cv_curve(source, noise_ceiling=_scalar(noise_ceiling)), "cv_curve", caption)
    grid = choice.summary.reset_index().pivot(index="n_components", columns="alpha", values="r2")
    grid.columns = [f"{ALPHA}={a:g}" for a in grid.columns]
    doc.table(grid, None, digits=4)
    doc.csv(choice.summary.rename(columns={"r2": "r2_heldout"}), "cv_summary")
    if choice.cv is not None:
        doc.csv(choice.cv.session.rename(columns={"r2": "r2_heldout"}), "cv_sessions", index=False)
        doc.csv(choice.cv.neuron.rename(columns={"r2": "r2_heldout"}), "cv_neurons", index=False)


def _scalar(noise_ceiling: Any) -> float | None:
    return (
        None
        if isinstance(noise_ceiling, Mapping) or noise_ceiling is None
        else float(noise_ceiling)
    )


def _trials_section(doc, model, cohort, d: int) -> None:
    """Event-locked data: each component over the trial, as neurons carry it (when it applies)."""
    if d == 0 or not all(s.trial_time is not None for s in cohort):
        return
    doc.h2("The shared components over the trial", "trials")
    doc.figure(
        _plot.trial_average(model, cohort),
        "trial_average",
        "Each component against the time from the trial's event (Session.trial_time). Thin "
        "lines: each session's neurons, their activity with the fitted intercepts and nuisance "
        "terms removed and projected by the pseudo-inverse of the session's readout, averaged "
        "over trials (band: ± 1 SE over trials); thick: the mean per condition; dashed: the "
        "latent predicted from behavior. Latents in units of their pooled standard deviation.",
    )


def _filters_section(doc, model, bootstrap, peaks, d: int, null: bool) -> None:
    doc.h2("The shared representation: temporal filters", "filters")
    if d == 0:
        doc.note("The model has no shared component: there are no filters to show.")
        return
    if null:
        doc.p(
            "The data show no shared representation (see the banner at the top): these "
            "filters are fitted to noise, and their shapes and peaks mean nothing.",
            "alert",
        )
    source = bootstrap if bootstrap is not None else model
    doc.figure(
        _plot.filters(source),
        "filters",
        "Each component's filter over lags, one line per behavioral variable, in units of the "
        "variable's pooled standard deviation. Negative lags: neural activity leads behavior."
        + (" Shaded: bootstrap band over sessions." if bootstrap is not None else ""),
    )
    doc.table(peaks, "peak_lags")
    flagged = peaks[~peaks["trusted"].to_numpy(bool)]
    if len(flagged):
        reasons = []
        for k, row in flagged.iterrows():
            why = (
                "is at the edge of the lag window"
                if row["at_edge"]
                else ("has a bootstrap band that spans 0 for every variable")
            )
            reasons.append(f"component {k} {why}")
        doc.note(
            "Peak lags not to be read as timings (left out of the key numbers): "
            + "; ".join(reasons)
            + ". A peak at the window's edge may lie outside it: widen the lags."
        )
    loadings = model.loadings_.to_dataframe().reset_index()
    if bootstrap is not None:
        for k in ("lower", "upper", "se"):
            if k in bootstrap:
                loadings[k] = bootstrap[k].transpose(*model.loadings_.dims).to_numpy().ravel()
    doc.csv(loadings, "loadings", index=False)
    if bootstrap is None:
        doc.note(
            "No confidence bands. For bootstrap-over-sessions bands on the filters and peak "
            "lags: in Python pass <code>bootstrap=sr.bootstrap_loadings(model, cohort)</code>; "
            "with <code>sharedrep fit</code> set <code>bootstrap = 200</code> in the "
            "configuration, with <code>sharedrep report</code> pass <code>--bootstrap 200"
            "</code> (two or more sessions)."
        )


def _r2_section(doc, cohort, choice, scores, r2_name, r2_label, noise_ceiling) -> None:
    doc.h2(f"{r2_label[0].upper()}{r2_label[1:]} per session", "r2")
    source = choice.cv if choice.how == "cv" else scores
    doc.figure(
        _plot.session_r2(
            source,
            conditions={s.name: s.condition for s in cohort if s.condition},
            ylabel=f"{r2_label} per neuron",
            noise_ceiling=noise_ceiling,
        ),
        "session_r2",
        f"{r2_label} of every neuron (dots) and the mean of each session (bar); dashed: "
        "R² = 0 (each neuron's mean)"
        + (" and the noise ceiling." if noise_ceiling is not None else "."),
    )
    if choice.how == "provenance":
        doc.note(
            "In-sample R²: the held-out numbers are those of the cross-validation at fit time "
            "(above); <code>sharedrep report</code> does not repeat it."
        )
    doc.csv(scores.neuron.rename(r2_name).reset_index(), "r2_per_neuron", index=False)


def _encoding_section(doc: _Doc, encoding: Any) -> None:
    doc.h2("Encoding map", "encoding")
    if encoding is None:
        doc.note(
            "Not computed. For each neuron's cross-fitted R², the unique contribution of each "
            "component and FDR-controlled p-values: in Python pass <code>encoding="
            "sr.encoding_map(model, cohort)</code>; with <code>sharedrep fit</code> set "
            "<code>null_size = 1000</code> in the configuration, with <code>sharedrep report"
            "</code> pass <code>--null-size 1000</code>."
        )
        return
    for caveat in encoding_caveats(encoding):
        doc.note(_e(caveat[0].upper() + caveat[1:]) + ".")
    doc.figure(
        _plot.encoding_map(encoding),
        "encoding_map",
        "Per session, one row per neuron (sorted by cross-fitted R²): cross-fitted R² of the "
        "shared model (first column, its own colour scale) and each component's unique "
        "contribution (drop-one ΔR², a second scale). Grey: below 0. Dots: significant at "
        f"FDR {encoding.fdr:g} (Benjamini-Hochberg within session; {encoding.null} null, W "
        f"cross-fitted by {encoding.cross_fit}).",
    )
    doc.table(encoding.summary(), "encoding_summary", digits=2)
    doc.csv(encoding.neurons, "encoding_neurons", index=False)
    doc.csv(encoding.components, "encoding_components", index=False)


def _conditions_section(doc: _Doc, cohort: Cohort, comparison: Any, encoding: Any) -> None:
    conds = sorted({str(s.condition) for s in cohort if s.condition})
    if comparison is None and len(conds) < 2:
        return
    doc.h2("Condition comparison", "conditions")
    if comparison is None:
        doc.note(
            f"The cohort has conditions {_e(conds)}. To compare them: in Python pass "
            "<code>comparison=sr.compare_conditions(model, cohort, encoding=encoding)</code>; "
            "<code>sharedrep fit</code> and <code>sharedrep report</code> compare them when the "
            "encoding map is computed (<code>null_size</code>, <code>--null-size</code>) and "
            "permutations are asked for (<code>permutations</code>, <code>--permutations</code>)."
        )
        return
    attrs = comparison.attrs
    floor = _plot._smallest_p(comparison, encoding)
    floor_text = ""
    if floor is not None:
        scheme = attrs.get("permutation", "")
        units = (
            "animals between conditions"
            if scheme == "between-subject"
            else ("sessions within each animal")
        )
        floor_text = (
            f" Labels are permuted {scheme} ({units}): {floor[1]} distinct labellings, so no "
            f"p-value can be below {floor[0]:.2g}, whatever the data."
        )
    doc.figure(
        _plot.conditions(comparison, encoding=encoding),
        "conditions",
        "Per condition and component: fraction of neurons encoding (dashed: the FDR level), "
        "cross-fitted R² of the shared model and ΔR² of each component (separate axes), and "
        "peak lag; bars: the condition, dots: its sessions. p-values from "
        f"{attrs.get('n_perm', '?')} permutations of condition labels "
        f"({attrs.get('permutation', '?')}).{floor_text}",
    )
    if floor is not None and floor[0] >= 0.05:
        doc.note(
            f"With this design the smallest attainable p-value is {floor[0]:.2g}: no difference "
            "can reach p < 0.05 here. More animals, or the same animals in each condition "
            "(permutations within animal), are needed."
        )
    doc.table(comparison, "conditions")


def _model_section(doc: _Doc, model: Any, cohort: Cohort, inputs: Any) -> None:
    doc.h2("Model and software", "model")
    params = pd.DataFrame(
        {"value": [_param_text(v) for v in model.get_params().values()]},
        index=pd.Index(list(model.get_params()), name="parameter"),
    )
    doc.table(params, None)
    doc.p(f"Optimiser: {model.n_iter_} iterations, converged: {model.converged_}.")
    files = input_files(cohort, inputs)
    if len(files):
        doc.p("Input files (SHA-256 of their bytes, to check that a rerun reads the same data):")
        doc.table(files, "input_files", index=False)
    else:
        doc.p("Input files: none recorded (sessions built in Python).")
    doc.p("Software:")
    doc.table(software_versions(), "software")
    doc.p(
        "Files next to this report: "
        + ", ".join(f'<a href="{_e(f)}">{_e(f)}</a>' for f in doc.files)
        + "."
    )


def _methods(model, cohort, choice: _Choice, encoding, comparison, bootstrap) -> str:
    """One paragraph saying how every number of the report was obtained."""
    rate = cohort.rate
    p = len(cohort.feature_names)
    lags = model.expansion_.lags
    basis = (
        f", projected on {model.n_basis} raised-cosine basis functions per variable"
        if model.n_basis
        else ""
    )
    d = int(model.coef_.shape[1])
    parts = [
        f"<strong>Methods.</strong> ShaReD fitted one shared representation of "
        f"{d} component{'s' * (d != 1)} to {len(cohort)} sessions "
        f"({sum(s.n_neurons for s in cohort)} neurons) from {p} behavioral variables at lags "
        f"{_lag_text(lags, rate)}{basis}. Behavior was centred per session and scaled by the "
        f"pooled standard deviation; neurons were {'z-scored' if model.zscore else 'centred'} "
        f"per session; ridge {ALPHA} = {model.alpha:g}; objective “{_e(model.objective)}”; session "
        f"weights “{_e(model.weights if isinstance(model.weights, str) else 'explicit')}”."
    ]
    trial_text = _trial_methods(model, cohort)
    if trial_text:
        parts.append(trial_text)
    if choice.how != "user":
        grid_d, grid_a = choice.grid
        parts.append(
            f"Rank and ridge were chosen by {choice.n_folds}-fold cross-validation over "
            f"{_e(choice.split)} (the same fold index in every session), among "
            f"d ∈ {{{', '.join(map(str, grid_d))}}} and "
            f"{ALPHA} ∈ {{{', '.join(f'{a:g}' for a in grid_a)}}} with the "
            f"{'one-standard-error' if choice.rule == '1se' else 'best-score'} rule; held-out R² "
            "(<em>r2_heldout</em>) is the mean over sessions of the mean over neurons."
        )
    if encoding is not None:
        parts.append(
            f"Encoding p-values come from a {encoding.null} null with W cross-fitted by "
            f"{encoding.cross_fit} (so that W never saw the neurons it is tested on), "
            f"Benjamini-Hochberg FDR {encoding.fdr:g} within session; <em>r2_crossfit</em> is "
            "the held-out R² with that W."
        )
    if bootstrap is not None:
        parts.append(
            f"Filter bands: {100 * bootstrap.attrs.get('ci', 0.95):g}% percentile intervals over "
            f"{bootstrap.attrs.get('n_boot', '?')} bootstrap resamples of sessions."
        )
    if comparison is not None:
        parts.append(
            f"Conditions were compared with {comparison.attrs.get('n_perm', '?')} permutations "
            f"of condition labels ({_e(comparison.attrs.get('permutation', '?'))})."
        )
    return " ".join(parts)


def _trial_methods(model: Any, cohort: Any) -> str:
    """How trial edges, covariates and drift entered the model, and what the nuisance took."""
    ex = model.expansion_
    if ex.zero_edges is None:
        edges = (
            "Samples whose lag window reached beyond their trial were left out"
            if any(s.segments is not None for s in cohort)
            else ""
        )
    else:
        zero = [f for f, z in zip(model.feature_names_, ex.zero_edges, strict=True) if z]
        edges = (
            f"Behavior outside a trial counted as zero (no event) for {_e(', '.join(zero))}, so "
            "that samples near a trial's start kept their full lag window"
        )
    fits = [model.session_fits_[s.name] for s in cohort if s.name in model.session_fits_]
    names = sorted({n for f in fits for n in f.nuisance_names if not n.startswith("drift")})
    nuisance = ""
    if names or model.drift:
        what = []
        if names:
            what.append(f"covariates {_e(', '.join(names))}")
        if model.drift:
            what.append(f"{model.drift} smooth functions of recording time (cubic B-splines)")
        share = getattr(model, "nuisance_explained_", None)
        took = (
            f"; in sample they took {100 * float(share.mean()):.3g}% of the neural variance on "
            f"average (range {100 * float(share.min()):.3g}-{100 * float(share.max()):.3g}% "
            "over sessions)"
            if share is not None and len(share)
            else ""
        )
        nuisance = (
            f"Each session's private nuisance regressors ({' and '.join(what)}) were fitted with "
            f"the shared model and never entered W{took}"
        )
    text = ". ".join(t for t in (edges, nuisance) if t)
    return text + "." if text else ""
