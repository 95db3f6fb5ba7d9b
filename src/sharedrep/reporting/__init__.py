"""A self-contained HTML report of a ShaReD analysis: ``sr.report(model, cohort, "out/")``.

The report gathers the figures of :mod:`sharedrep.plot` with the numbers that matter (the
chosen rank and ridge and how they were chosen, held-out R² with its standard error, the
fraction of neurons encoding each component, peak lags, condition differences with their
p-values) and a methods paragraph that states how each number was obtained. It is one HTML
file whose images are embedded as base64 ``data:`` URIs and whose style is inline: it opens
offline, can be e-mailed or archived with a paper, and loads nothing from the network. Next to
it, the same figures as PNG files (for slides) and every table as CSV (for further analysis).

What the report does so that it cannot mislead
----------------------------------------------
* **Null results are said first.** When the best held-out R² over the cross-validation grid
  is at most 0, or no neuron encodes the representation at the FDR level, a banner says so
  above the key numbers, peak lags are left out of them, and the filters are labelled as
  fits to data that carry no shared signal (:func:`null_findings`).
* **Peak lags are flagged** when the peak is at the edge of the lag window (the true peak may
  lie outside it) or when, with bootstrap bands, every variable's band spans zero at the peak;
  flagged lags are left out of the headline (:func:`peak_lag_table`).
* **How the rank was chosen** comes from the cross-validation results, or from the
  provenance a model keeps when :class:`~sharedrep.ShaReDCV` chose it (``cv_provenance_``,
  saved in the model file): grid, folds, rule, the chosen point and its held-out R² ± SE.
* **One name per kind of R²** in every table and figure: ``r2_heldout`` (cross-validation),
  ``r2_crossfit`` (encoding map: ``W`` fitted without the session scored) and
  ``r2_in_sample`` (readout fitted on the samples scored).
* **Conditions** are drawn with each session as a point and the smallest p-value the
  permutation design can give (:func:`sharedrep.inference.permutation.smallest_p_value`).
* **Data warnings** (unit mismatches, silent neurons, omitted samples, ...) given as
  ``warnings=``, kept in the model's provenance, or met while the report is made, are copied
  into it; "Model and software" lists the input files with their SHA-256 and the version of
  every dependency.

The report computes nothing expensive itself: it shows what it is given. Held-out statistics
come from ``cv=`` (:func:`sharedrep.cross_validate`, or a :class:`~sharedrep.ShaReDCV` passed
as the model), ``encoding=`` (:func:`sharedrep.encoding_map`), ``comparison=``
(:func:`sharedrep.compare_conditions`) and ``bootstrap=`` (:func:`sharedrep.bootstrap_loadings`).
A section whose input is missing says so and shows the call that would fill it. Without any
cross-validation the R² shown is the in-sample R² of the model, labelled as such.

The module is named ``reporting`` so that ``sr.report`` can be the function without shadowing
a module of the same name.
"""

from __future__ import annotations

import datetime as _dt
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import Cohort, Session, as_cohort
from ..errors import SharedRepWarning
from ..plot import ALPHA, fmt_value
from ._page import _CSS, _card, _Doc, _e
from .checks import (
    _choice,
    _peak_headline,
    _unwrap,
    encoding_caveats,
    null_findings,
    peak_lag_table,
)
from .provenance import input_files, software_versions
from .sections import (
    _conditions_section,
    _encoding_section,
    _filters_section,
    _methods,
    _model_section,
    _r2_section,
    _selection_section,
    _sessions_section,
    _trials_section,
)
from .study import _study_sections

__all__ = [
    "encoding_caveats",
    "input_files",
    "null_findings",
    "peak_lag_table",
    "report",
    "software_versions",
]


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
    warnings: Sequence[Any] = (),
    inputs: Sequence[str | os.PathLike[str]] | None = None,
    noise_ceiling: float | Mapping[str, float] | None = None,
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
        provides ``cv``; a model chosen by one keeps how it was chosen (``cv_provenance_``,
        saved in its model file), which the report uses when ``cv`` is not given.
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
    warnings : sequence of str or warnings.WarningMessage
        Data warnings of the analysis, copied into the report (with those kept in the model's
        provenance and those met while the report is made).
    inputs : sequence of path, optional
        Input files to list with their SHA-256 (default: the files the sessions were read
        from, ``metadata["source_file"]``).
    noise_ceiling : float or mapping of str to float, optional
        The best R² the data allow (cohort, or per session), drawn as a reference line.
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
    from .. import __version__

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
    choice = _choice(model, cv)
    nulls = null_findings(choice.best_r2 if choice.how != "user" else None, encoding)
    if choice.how == "cv":
        scores, met = cv.scores(d, alpha), []
        r2_name, r2_label = "r2_heldout", f"held-out R² ({choice.n_folds}-fold CV)"
    else:  # the one step of the report that reads the data: its warnings go into it too
        scores, met = _recording_warnings(model.score, cohort)
        r2_name, r2_label = "r2_in_sample", "in-sample R²"
    provenance = getattr(model, "__dict__", {}).get("cv_provenance_") or {}
    data_warnings = list(
        dict.fromkeys(
            [str(getattr(w, "message", w)) for w in warnings]
            + list(provenance.get("warnings", []))
            + met
        )
    )

    # -- the numbers that matter ----------------------------------------------------------------
    peaks = peak_lag_table(model, bootstrap) if d else pd.DataFrame()
    how_chosen = {
        "cv": f"chosen by CV ({choice.rule})",
        "provenance": f"chosen by CV ({choice.rule}) when fitted",
        "user": "set by the user",
    }[choice.how]
    cards = [
        _card("sessions", str(len(cohort)), f"{len({s.subject for s in cohort})} subjects"),
        _card("neurons", str(sum(s.n_neurons for s in cohort)), "recorded in total"),
        _card(
            "shared components",
            str(d),
            "not supported by the data" if nulls else how_chosen,
        ),
        _card(f"ridge {ALPHA}", f"{alpha:g}", "on Φ'Φ (summed samples)"),
    ]
    if choice.r2 is not None:
        cards.append(
            _card(
                "held-out R²",
                fmt_value(choice.r2),
                f"± {fmt_value(choice.se, 2)} SE over {choice.n_folds} folds",
            )
        )
    else:
        cards.append(_card("in-sample R²", fmt_value(scores.pooled), "not cross-validated"))
    if encoding is not None:
        frac = float(np.mean(encoding.neurons["encodes"]))
        cards.append(
            _card("neurons encoding", f"{100 * frac:.0f}%", f"q < {encoding.fdr:g} (BH), any comp.")
        )
    value, note = _peak_headline(peaks, rate, bool(nulls))
    cards.append(_card("peak lags", value, note))
    sub = (
        f"Shared Representation Discovery &middot; {len(cohort)} sessions &middot; "
        f"behavior: {_e(', '.join(cohort.feature_names))} &middot; generated "
        f"{_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} by sharedrep {_e(__version__)}"
    )
    head = [f"<h1>{_e(title)}</h1>", f'<p class="sub">{sub}</p>']
    if nulls:
        head.append(
            '<p class="alert"><strong>No evidence of a shared representation:</strong> '
            + "; ".join(_e(n) for n in nulls)
            + ". The components, filters and lags below are what the fit returns on such data, "
            "not findings.</p>"
        )
    head.append('<div class="cards">' + "".join(cards) + "</div>")
    if data_warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in data_warnings)
        head.append(
            f'<div class="warnings" id="data-warnings"><strong>Data warnings '
            f"({len(data_warnings)})</strong><ul>{items}</ul></div>"
        )
    doc.p(_methods(model, cohort, choice, encoding, comparison, bootstrap), "methods")

    _sessions_section(doc, model, cohort, scores, r2_name, r2_label, encoding)
    _selection_section(doc, choice, noise_ceiling)
    _filters_section(doc, model, bootstrap, peaks, d, bool(nulls))
    _trials_section(doc, model, cohort, d)
    _r2_section(doc, cohort, choice, scores, r2_name, r2_label, noise_ceiling)
    _encoding_section(doc, encoding)
    _conditions_section(doc, cohort, comparison, encoding)
    _study_sections(doc, cohort, groups, populations, trends)
    _model_section(doc, model, cohort, inputs)

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


def _recording_warnings(fn: Any, *args: Any) -> tuple[Any, list[str]]:
    """``fn(*args)`` and the data warnings it raised (each emitted again, once)."""
    with warnings.catch_warnings(record=True) as met:
        warnings.simplefilter("always", SharedRepWarning)
        result = fn(*args)
    texts = list(
        dict.fromkeys(str(w.message) for w in met if issubclass(w.category, SharedRepWarning))
    )
    for w in dict.fromkeys((w.category, str(w.message)) for w in met):
        warnings.warn(w[1], w[0], stacklevel=3)
    return result, list(dict.fromkeys(texts))
