"""A self-contained HTML report of a ShaReD analysis: ``sr.report(model, cohort, "out/")``.

The report gathers the figures of :mod:`sharedrep.plot` with the numbers that matter (the
chosen rank and ridge, held-out R² with its standard error, the fraction of neurons encoding
each component, peak lags, condition differences with their p-values) and a methods paragraph
that states how each number was obtained. It is one HTML file whose images are embedded as
base64 ``data:`` URIs and whose style is inline: it opens offline, can be e-mailed or archived
with a paper, and loads nothing from the network. Next to it, the same figures as PNG files
(for slides) and every table as CSV (for further analysis).

The report computes nothing expensive itself: it shows what it is given. Held-out statistics
come from ``cv=`` (:func:`sharedrep.cross_validate`, or a :class:`~sharedrep.ShaReDCV` passed
as the model), ``encoding=`` (:func:`sharedrep.encoding_map`), ``comparison=``
(:func:`sharedrep.compare_conditions`) and ``bootstrap=`` (:func:`sharedrep.bootstrap_loadings`).
A section whose input is missing says so and shows the call that would fill it. Without ``cv``
the R² shown is the in-sample R² of the model, labelled as such.

The module is named ``reporting`` so that ``sr.report`` can be the function without shadowing
a module of the same name.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import plot as _plot
from .data import Cohort, Session, as_cohort
from .plot import ALPHA, fmt_lag

__all__ = ["report"]

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1d2733;
  background:#f4f6f8;margin:0;line-height:1.45}
main{max-width:1120px;margin:0 auto;padding:28px 32px 60px;background:#fff;
  box-shadow:0 0 12px rgba(0,0,0,.06)}
h1{font-size:1.7em;margin:0 0 4px}
h2{font-size:1.25em;margin:34px 0 8px;padding-bottom:4px;border-bottom:2px solid #e3e8ee}
.sub{color:#5b6b7c;margin:0 0 18px;font-size:.92em}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(165px,1fr));gap:12px;
  margin:18px 0}
.card{background:#f0f4f9;border-radius:8px;padding:10px 14px}
.card .v{font-size:1.55em;font-weight:600;color:#0b4f8a}
.card .k{font-size:.8em;color:#5b6b7c;letter-spacing:.03em}
.card .n{font-size:.78em;color:#5b6b7c}
figure{margin:12px 0}
figure img{max-width:100%;height:auto;border:1px solid #e3e8ee;border-radius:4px}
figcaption{font-size:.88em;color:#3d4b5a;margin-top:4px}
table{border-collapse:collapse;font-size:.86em;margin:10px 0}
th,td{padding:4px 10px;border-bottom:1px solid #e3e8ee;text-align:right}
th{background:#f0f4f9}
td:first-child,th:first-child{text-align:left}
.note{background:#fff8e6;border-left:4px solid #f0b429;padding:8px 12px;font-size:.9em}
.methods{font-size:.93em;color:#26323e}
code{background:#f0f4f9;padding:1px 4px;border-radius:3px;font-size:.9em}
footer{margin-top:40px;font-size:.8em;color:#7b8a99}
"""


@dataclass
class _Doc:
    """The report being assembled: HTML blocks, files written, key numbers."""

    out: Path
    dpi: int
    blocks: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def h2(self, text: str, anchor: str) -> None:
        self.blocks.append(f'<h2 id="{anchor}">{html.escape(text)}</h2>')

    def p(self, text_html: str, cls: str | None = None) -> None:
        attr = f' class="{cls}"' if cls else ""
        self.blocks.append(f"<p{attr}>{text_html}</p>")

    def note(self, text_html: str) -> None:
        self.p(text_html, "note")

    def figure(self, fig: Any, name: str, caption: str) -> None:
        """Embed a figure as a base64 PNG (and write it to ``figures/<name>.png``)."""
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=self.dpi, bbox_inches="tight", facecolor="white")
        plt.close(fig)
        data = buf.getvalue()
        path = self.out / "figures" / f"{name}.png"
        path.write_bytes(data)
        self.files.append(f"figures/{name}.png")
        b64 = base64.b64encode(data).decode("ascii")
        self.blocks.append(
            f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    def table(self, df: pd.DataFrame, name: str | None, *, index: bool = True, fmt: str = "{:.3g}"):
        """Show a table (and write it to ``tables/<name>.csv`` when named)."""
        if name is not None:
            self.csv(df, name, index=index)
        shown = df.copy()
        for c in shown.columns:
            if pd.api.types.is_float_dtype(shown[c]):
                shown[c] = [("" if not np.isfinite(v) else fmt.format(v)) for v in shown[c]]
            elif shown[c].dtype == object:  # a missing label (e.g. no condition) shows blank
                shown[c] = ["" if v is None else v for v in shown[c]]
        self.blocks.append(shown.to_html(index=index, border=0, escape=True, na_rep=""))

    def csv(self, df: pd.DataFrame, name: str, *, index: bool = True) -> None:
        """Write a table without showing it."""
        df.to_csv(self.out / "tables" / f"{name}.csv", index=index)
        self.files.append(f"tables/{name}.csv")


def _e(x: Any) -> str:
    return html.escape(str(x))


def _num(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _card(key: str, value: str, note: str = "") -> str:
    n = f'<div class="n">{_e(note)}</div>' if note else ""
    return (
        f'<div class="card"><div class="k">{_e(key)}</div><div class="v">{_e(value)}</div>{n}</div>'
    )


def _param_text(v: Any) -> str:
    if isinstance(v, np.ndarray | range):
        v = list(np.asarray(v).tolist())
    return repr(v)


def _lag_text(lags: np.ndarray, rate: float | None) -> str:
    lo, hi = int(lags.min()), int(lags.max())
    text = f"{lo}..{hi} samples"
    if rate:
        text += f" ({1000 * lo / rate:g} to {1000 * hi / rate:g} ms)"
    return text


def _unwrap(model: Any, cv: Any) -> tuple[Any, Any]:
    """A ShaReDCV gives its refitted model and its cross-validation results."""
    best = getattr(model, "__dict__", {}).get("best_estimator_")
    if best is not None:
        return best, cv if cv is not None else model.cv_results_
    return model, cv


def report(
    model: Any,
    cohort: Cohort | Session | list[Session],
    out_dir: str | os.PathLike[str],
    *,
    cv: Any = None,
    encoding: Any = None,
    comparison: pd.DataFrame | None = None,
    bootstrap: Any = None,
    title: str = "ShaReD analysis",
    dpi: int = 110,
    groups: Any = None,
    populations: Any = None,
    trends: Any = None,
) -> Path:
    """Write a self-contained HTML report of a fitted model, with figures and tables.

    Parameters
    ----------
    model : ShaReD or ShaReDCV
        Fitted on (or with readouts for) every session of ``cohort``. A ``ShaReDCV`` also
        provides ``cv``.
    cohort : Cohort, Session or list of Session
        The sessions to report on.
    out_dir : str or path-like
        Folder to write into (created if needed): ``index.html``, ``figures/*.png`` and
        ``tables/*.csv``. Files of the same names are replaced; nothing else is touched.
    cv : CVResults, optional
        From :func:`sharedrep.cross_validate`: the cross-validation curve, held-out R² per
        session and neuron, and the chosen rank and ridge.
    encoding : EncodingMap, optional
        From :func:`sharedrep.encoding_map`: the encoding map and fraction of neurons encoding.
    comparison : pandas.DataFrame, optional
        From :func:`sharedrep.compare_conditions`.
    bootstrap : xarray.Dataset, optional
        From :func:`sharedrep.bootstrap_loadings`: confidence bands on the filters and peak
        lags.
    title : str
        Title of the report.
    dpi : int
        Resolution of the figures (dots per inch).
    groups : GroupComparison or list of them, optional
        From :func:`sharedrep.compare_groups`: encoding in labelled groups of neurons.
    populations : PopulationComparison, optional
        From :func:`sharedrep.compare_populations`: timing of populations recorded together.
    trends : LearningTrends, optional
        From :func:`sharedrep.learning_trends`: trends over days.

    Returns
    -------
    pathlib.Path
        Path of ``index.html``.

    Examples
    --------
    >>> import sharedrep as sr
    >>> cohort, truth = sr.simulate.cohort(n_sessions=3, n_samples=800, seed=0)
    >>> model = sr.ShaReD(3, lags=truth.lags).fit(cohort)
    >>> path = sr.report(model, cohort, "report")  # doctest: +SKIP
    """
    from . import __version__

    model, cv = _unwrap(model, cv)
    model._check_fitted()
    cohort = as_cohort(cohort)
    missing = [s.name for s in cohort if s.name not in model.session_fits_]
    if missing:
        raise KeyError(
            f"the model has no readout for sessions {missing}; fit it on them or call "
            "model.fit_readout(session) first"
        )
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    doc = _Doc(out, dpi)
    rate = cohort.rate
    d = int(model.coef_.shape[1])
    alpha = float(model.alpha)

    # -- the numbers that matter ----------------------------------------------------------------
    heldout = None
    if cv is not None and (d, alpha) in cv.summary.index:
        row = cv.summary.loc[(d, alpha)]
        heldout = (float(row["r2"]), float(row["se"]))
        scores = cv.scores(d, alpha)
        r2_label = f"held-out R² ({cv.n_folds}-fold CV)"
    else:
        scores = model.score(cohort)
        r2_label = "in-sample R²"
    peaks = _peak_lags(model, bootstrap, rate)
    cards = [
        _card("sessions", str(len(cohort)), f"{len({s.subject for s in cohort})} subjects"),
        _card("neurons", str(sum(s.n_neurons for s in cohort)), "recorded in total"),
        _card(
            "shared components",
            str(d),
            f"chosen by CV ({cv.rule})"
            if cv is not None and cv.n_components == d and cv.alpha == alpha
            else "set by the user",
        ),
        _card(f"ridge {ALPHA}", f"{alpha:g}", "on Φ'Φ (summed samples)"),
    ]
    if heldout is not None:
        cards.append(_card("held-out R²", f"{heldout[0]:.3f}", f"± {heldout[1]:.3f} SE over folds"))
    else:
        cards.append(_card("in-sample R²", f"{scores.pooled:.3f}", "not cross-validated"))
    if encoding is not None:
        frac = float(np.mean(encoding.neurons["encodes"]))
        cards.append(
            _card("neurons encoding", f"{100 * frac:.0f}%", f"q < {encoding.fdr:g} (BH), any comp.")
        )
    unit = "ms" if rate else "samples"
    factor = 1000.0 / rate if rate else 1.0
    cards.append(
        _card(
            "peak lags",
            ", ".join(fmt_lag(factor * v) for v in peaks["peak_lag"]),
            f"{unit}, components 0..{d - 1}",
        )
    )
    sub = (
        f"Shared Representation Discovery &middot; {len(cohort)} sessions &middot; "
        f"behavior: {_e(', '.join(cohort.feature_names))} &middot; generated "
        f"{_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} by sharedrep {_e(__version__)}"
    )
    head = [f"<h1>{_e(title)}</h1>", f'<p class="sub">{sub}</p>']
    head.append('<div class="cards">' + "".join(cards) + "</div>")
    doc.p(_methods(model, cohort, cv, encoding, comparison, bootstrap), "methods")

    # -- data ----------------------------------------------------------------------------------
    doc.h2("Sessions", "sessions")
    table = cohort.to_frame()
    if rate:
        table["duration_s"] = [s.n_samples / rate for s in cohort]
    table["samples_used"] = [model.session_fits_[s.name].n_samples for s in cohort]
    weights = getattr(model, "session_weights_", None)
    if weights is not None:
        table["weight"] = weights.reindex(table.index).to_numpy()
    r2_col = "r2_heldout" if heldout is not None else "r2_in_sample"
    table[r2_col] = scores.session.reindex(table.index).to_numpy()
    doc.table(table, "sessions")
    doc.p(
        "<em>samples_used</em>: samples whose whole lag window lies inside one segment "
        "(the others are left out, never zero-padded). <em>weight</em>: the session's weight "
        f"in the shared objective. <em>{r2_col}</em>: mean {r2_label} over the session's "
        "neurons."
    )

    # -- cross-validation ------------------------------------------------------------------------
    doc.h2("Model selection", "cv")
    if cv is not None:
        doc.figure(
            _plot.cv_curve(cv).figure,
            "cv_curve",
            f"Held-out R² (pooled over sessions) against the number of shared components, "
            f"one line per ridge penalty; error bars: ± 1 SE over {cv.n_folds} folds of whole "
            f"segments. Star: the chosen model ({cv.rule} rule).",
        )
        summ = cv.summary.reset_index()
        grid = summ.pivot(index="n_components", columns="alpha", values="r2")
        grid.columns = [f"{ALPHA}={a:g}" for a in grid.columns]
        doc.table(grid, None, fmt="{:.4f}")
        doc.csv(cv.summary, "cv_summary")
        doc.csv(cv.session, "cv_sessions", index=False)
        doc.csv(cv.neuron, "cv_neurons", index=False)
    else:
        doc.note(
            "Not cross-validated: the rank and ridge were set by hand and the R² below is "
            "in-sample. Pass <code>cv=sr.cross_validate(cohort, ...)</code> (or fit a "
            "<code>sr.ShaReDCV</code>) for held-out numbers."
        )

    # -- filters -----------------------------------------------------------------------------
    doc.h2("The shared representation: temporal filters", "filters")
    source = bootstrap if bootstrap is not None else model
    doc.figure(
        _plot.filters(source),
        "filters",
        "Each component's filter over lags, one line per behavioral variable, in units of the "
        "variable's pooled standard deviation. Negative lags: neural activity leads behavior."
        + (" Shaded: bootstrap band over sessions." if bootstrap is not None else ""),
    )
    doc.table(peaks, "peak_lags")
    loadings = model.loadings_.to_dataframe().reset_index()
    if bootstrap is not None:
        for k in ("lower", "upper", "se"):
            if k in bootstrap:
                loadings[k] = bootstrap[k].transpose(*model.loadings_.dims).to_numpy().ravel()
    doc.csv(loadings, "loadings", index=False)
    if bootstrap is None:
        doc.note(
            "No confidence bands: pass <code>bootstrap=sr.bootstrap_loadings(model, cohort)"
            "</code> for bootstrap-over-sessions bands on the filters and peak lags."
        )

    # -- R² per session --------------------------------------------------------------------------
    doc.h2(f"{r2_label[0].upper()}{r2_label[1:]} per session", "r2")
    doc.figure(
        _plot.session_r2(
            cv if heldout is not None else scores,
            conditions={s.name: s.condition for s in cohort if s.condition},
            ylabel=f"{r2_label} per neuron",
        ).figure,
        "session_r2",
        f"{r2_label} of every neuron (dots) and the mean of each session (bar).",
    )
    doc.csv(scores.neuron.rename("r2").reset_index(), "r2_per_neuron", index=False)

    # -- encoding map ------------------------------------------------------------------------
    doc.h2("Encoding map", "encoding")
    if encoding is not None:
        doc.figure(
            _plot.encoding_map(encoding),
            "encoding_map",
            f"Per session, one row per neuron (sorted by held-out R²): held-out R² of the shared "
            f"model and each component's unique contribution (drop-one ΔR²). Dots: significant "
            f"at FDR {encoding.fdr:g} (Benjamini-Hochberg within session; {encoding.null} "
            f"null, W cross-fitted by {encoding.cross_fit}).",
        )
        doc.table(encoding.summary(), "encoding_summary", fmt="{:.2f}")
        doc.csv(encoding.neurons, "encoding_neurons", index=False)
        doc.csv(encoding.components, "encoding_components", index=False)
    else:
        doc.note(
            "Not computed: pass <code>encoding=sr.encoding_map(model, cohort)</code> for each "
            "neuron's held-out R², the unique contribution of each component and FDR-controlled "
            "p-values."
        )

    # -- conditions ----------------------------------------------------------------------------
    conds = sorted({str(s.condition) for s in cohort if s.condition})
    if comparison is not None or len(conds) > 1:
        doc.h2("Condition comparison", "conditions")
    if comparison is not None:
        attrs = comparison.attrs
        doc.figure(
            _plot.conditions(comparison),
            "conditions",
            "Per condition and component: fraction of neurons encoding, encoding strength and "
            f"peak lag; p-values from {attrs.get('n_perm', '?')} permutations of condition "
            f"labels ({attrs.get('permutation', '?')}).",
        )
        doc.table(comparison, "conditions", fmt="{:.3g}")
    elif len(conds) > 1:
        doc.note(
            f"The cohort has conditions {conds}; pass <code>comparison=sr.compare_conditions("
            "model, cohort, encoding=encoding)</code> to compare them."
        )

    _study_sections(doc, cohort, groups, populations, trends)

    # -- model and reproducibility -------------------------------------------------------------
    doc.h2("Model and software", "model")
    params = pd.DataFrame(
        {"value": [_param_text(v) for v in model.get_params().values()]},
        index=pd.Index(list(model.get_params()), name="parameter"),
    )
    doc.table(params, None)
    doc.p(
        f"Optimiser: {model.n_iter_} iterations, converged: {model.converged_}. "
        f"Software: sharedrep {_e(__version__)}, python {_e(sys.version.split()[0])}, "
        f"numpy {_e(np.__version__)}, pandas {_e(pd.__version__)}."
    )
    doc.p(
        "Files next to this report: "
        + ", ".join(f'<a href="{_e(f)}">{_e(f)}</a>' for f in doc.files)
        + "."
    )

    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_CSS}</style></head><body><main>"
        + "\n".join(head + doc.blocks)
        + "<footer>sharedrep report: self-contained (figures embedded), works offline.</footer>"
        + "</main></body></html>"
    )
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def _peak_lags(model: Any, bootstrap: Any, rate: float | None) -> pd.DataFrame:
    """Peak lag of each component in samples (and ms), with its bootstrap interval if given."""
    from .inference import peak_lag

    pk = peak_lag(model.loadings_).to_numpy().astype(float)
    out = pd.DataFrame({"peak_lag": pk}, index=pd.Index(np.arange(pk.size), name="component"))
    if bootstrap is not None and "peak_lag_lower" in bootstrap:
        out["lower"] = bootstrap["peak_lag_lower"].to_numpy().astype(float)
        out["upper"] = bootstrap["peak_lag_upper"].to_numpy().astype(float)
    if rate:
        for c in list(out.columns):
            out[f"{c}_ms"] = 1000.0 * out[c] / rate
    return out


def _methods(model, cohort, cv, encoding, comparison, bootstrap) -> str:
    """One paragraph saying how every number of the report was obtained."""
    rate = cohort.rate
    p = len(cohort.feature_names)
    lags = model.expansion_.lags
    basis = (
        f", projected on {model.n_basis} raised-cosine basis functions per variable"
        if model.n_basis
        else ""
    )
    parts = [
        f"<strong>Methods.</strong> ShaReD fitted one shared representation of "
        f"{model.coef_.shape[1]} components to {len(cohort)} sessions "
        f"({sum(s.n_neurons for s in cohort)} neurons) from {p} behavioral variables at lags "
        f"{_lag_text(lags, rate)}{basis}. Behavior was centred per session and scaled by the "
        f"pooled standard deviation; neurons were {'z-scored' if model.zscore else 'centred'} "
        f"per session; ridge {ALPHA} = {model.alpha:g}; objective “{_e(model.objective)}”; session "
        f"weights “{_e(model.weights if isinstance(model.weights, str) else 'explicit')}”."
    ]
    if cv is not None:
        grid_d = sorted(cv.summary.index.get_level_values(0).unique())
        grid_a = sorted(cv.summary.index.get_level_values(1).unique())
        parts.append(
            f"Rank and ridge were chosen by {cv.n_folds}-fold cross-validation over whole "
            "segments, or contiguous blocks in sessions without segments (the same fold index "
            "in every session), among "
            f"d ∈ {{{', '.join(map(str, grid_d))}}} and "
            f"{ALPHA} ∈ {{{', '.join(f'{a:g}' for a in grid_a)}}} with the "
            f"{'one-standard-error' if cv.rule == '1se' else 'best-score'} rule; held-out R² "
            "is the mean over sessions of the mean over neurons."
        )
    if encoding is not None:
        parts.append(
            f"Encoding p-values come from a {encoding.null} null with W cross-fitted by "
            f"{encoding.cross_fit} (so that W never saw the neurons it is tested on), "
            f"Benjamini-Hochberg FDR {encoding.fdr:g} within session."
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


# -- the study's analyses: groups, populations, days (appended block) --------------------------
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
