"""What a report must say: how the rank was chosen, null results, peak lags to distrust."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import plot as _plot
from ..plot import fmt_lag, fmt_value

__all__ = ["encoding_caveats", "null_findings", "peak_lag_table"]


@dataclass(frozen=True)
class _Choice:
    """What the report knows about the choice of rank and ridge."""

    how: str  # "cv" (results given), "provenance" (kept by the model), "user"
    summary: pd.DataFrame | None = None
    rule: str | None = None
    n_folds: int | None = None
    r2: float | None = None
    se: float | None = None
    best_r2: float | None = None
    cv: Any = None  # CVResults when given
    provenance: Mapping[str, Any] | None = None
    split: str = "whole segments (trials), or contiguous blocks in sessions without segments"

    @property
    def grid(self) -> tuple[list[int], list[float]]:
        idx = self.summary.index
        return (
            sorted(int(d) for d in idx.get_level_values(0).unique()),
            sorted(float(a) for a in idx.get_level_values(1).unique()),
        )


def _choice(model: Any, cv: Any) -> _Choice:
    d, alpha = int(model.coef_.shape[1]), float(model.alpha)
    if cv is not None and (d, alpha) in cv.summary.index:
        row = cv.summary.loc[(d, alpha)]
        finite = cv.summary["r2"][np.isfinite(cv.summary["r2"].to_numpy())]
        return _Choice(
            "cv",
            cv.summary,
            cv.rule,
            cv.n_folds,
            float(row["r2"]),
            float(row["se"]),
            float(finite.max()) if finite.size else float("nan"),
            cv=cv,
            split=cv.split,
        )
    prov = getattr(model, "__dict__", {}).get("cv_provenance_")
    # a provenance is trusted only for the model it was made for (a refit drops the claim)
    if isinstance(prov, Mapping) and (prov.get("n_components"), prov.get("alpha")) == (d, alpha):
        summary = prov["summary"]
        finite = summary["r2"][np.isfinite(summary["r2"].to_numpy())]
        return _Choice(
            "provenance",
            summary,
            prov.get("rule"),
            prov.get("folds"),
            float(prov["r2_heldout"]),
            float(prov["se"]),
            float(finite.max()) if finite.size else float("nan"),
            provenance=prov,
            split=str(prov.get("fold_scheme", _Choice.split)).split(";")[0],
        )
    return _Choice("user")


def _unwrap(model: Any, cv: Any) -> tuple[Any, Any]:
    """A ShaReDCV gives its refitted model and its cross-validation results."""
    best = getattr(model, "__dict__", {}).get("best_estimator_")
    if best is not None:
        return best, cv if cv is not None else model.cv_results_
    return model, cv


# -- what must be said ---------------------------------------------------------------------------
def null_findings(best_heldout_r2: float | None, encoding: Any = None) -> list[str]:
    """Sentences saying that the data show no shared representation, if they do not.

    Parameters
    ----------
    best_heldout_r2 : float or None
        The highest pooled held-out R² over the cross-validation grid (None: not
        cross-validated).
    encoding : EncodingMap, optional

    Returns
    -------
    list of str
        Empty when neither test fails: the best held-out R² is above 0 and some neuron
        encodes the representation at the FDR level.
    """
    out = []
    if best_heldout_r2 is not None and not best_heldout_r2 > 0:
        out.append(
            f"the best held-out R² over the cross-validation grid is {fmt_value(best_heldout_r2)}"
            " (≤ 0): no rank and ridge predicts held-out neural activity better than each "
            "neuron's own mean"
        )
    testable = _testable_sessions(encoding)
    if encoding is not None and testable:
        tested = encoding.neurons[encoding.neurons["session"].isin(testable)]
        if not bool(np.any(tested["encodes"])):
            out.append(
                f"no neuron encodes the shared representation at FDR {encoding.fdr:g} "
                f"({len(tested)} neurons tested, {encoding.null} null)"
            )
    return out


def _testable_sessions(encoding: Any) -> list[str]:
    """Sessions whose null is large enough for a p-value to pass the FDR level at all."""
    if encoding is None:
        return []
    n_null = encoding.sessions["n_null"].astype(float)
    return [str(s) for s in n_null.index[1.0 / (n_null + 1.0) < encoding.fdr]]


def encoding_caveats(encoding: Any) -> list[str]:
    """Sentences on sessions whose encoding test cannot reach significance (too small a null).

    Parameters
    ----------
    encoding : EncodingMap or None

    Returns
    -------
    list of str
        One sentence per group of such sessions (empty when every session can).
    """
    if encoding is None:
        return []
    untestable = sorted(set(map(str, encoding.sessions.index)) - set(_testable_sessions(encoding)))
    if not untestable:
        return []
    n = encoding.sessions.loc[untestable, "n_null"].astype(int)
    return [
        f"with {', '.join(map(str, sorted(set(n))))} null samples no p-value can go below "
        f"{1 / (n.max() + 1):.2g}, so no neuron of {', '.join(untestable)} can pass FDR "
        f"{encoding.fdr:g}: the encoding map says nothing about them (use a larger null)"
    ]


def peak_lag_table(model: Any, bootstrap: Any = None) -> pd.DataFrame:
    """Peak lag of each component, its bootstrap interval and whether to trust it.

    Parameters
    ----------
    model : ShaReD
    bootstrap : xarray.Dataset, optional
        From :func:`sharedrep.bootstrap_loadings`.

    Returns
    -------
    pandas.DataFrame
        Index ``component``; ``peak_lag`` (samples), ``lower`` / ``upper`` (bootstrap interval
        of the peak, with a bootstrap), ``at_edge``, ``band_spans_zero``, ``trusted`` (see
        :func:`sharedrep.plot.peak_info`), and the lags in milliseconds (``*_ms``) when the
        sampling rate is known.
    """
    rate = _rate_of(model.loadings_)
    info = _plot.peak_info(bootstrap if bootstrap is not None else model)
    out = info[["peak_lag"]].copy()
    if bootstrap is not None and "peak_lag_lower" in bootstrap:
        out["lower"] = bootstrap["peak_lag_lower"].to_numpy().astype(float)
        out["upper"] = bootstrap["peak_lag_upper"].to_numpy().astype(float)
    if rate:
        for c in list(out.columns):
            out[f"{c}_ms"] = 1000.0 * out[c] / rate
    for c in ("at_edge", "band_spans_zero", "trusted"):
        out[c] = info[c].to_numpy()
    return out


def _rate_of(loadings: Any) -> float | None:
    if "lag_s" not in loadings.coords:
        return None
    lag, lag_s = loadings["lag"].to_numpy(), loadings["lag_s"].to_numpy()
    nz = np.flatnonzero(lag != 0)
    return float(lag[nz[0]] / lag_s[nz[0]]) if nz.size else None


def _peak_headline(peaks: pd.DataFrame, rate: float | None, null: bool) -> tuple[str, str]:
    """The peak-lag card: trusted lags only (a dash for the others), and why they are out."""
    unit = "ms" if rate else "samples"
    factor = 1000.0 / rate if rate else 1.0
    if null:
        return "not shown", "no shared representation is supported (see the banner)"
    if peaks.empty:
        return "none", "no shared component"
    trusted = peaks["trusted"].to_numpy(bool)
    value = ", ".join(
        fmt_lag(factor * v) if ok else "\N{EN DASH}"
        for v, ok in zip(peaks["peak_lag"].to_numpy(), trusted, strict=True)
    )
    note = f"{unit}, components 0..{len(peaks) - 1}"
    if not trusted.all():
        why = [
            f"c{k} " + ("at the window edge" if row["at_edge"] else "band spans 0")
            for k, row in peaks[~trusted].iterrows()
        ]
        note += f"; left out: {', '.join(why)}"
    return value, note
