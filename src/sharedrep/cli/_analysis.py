"""The statistics shared by demo, fit and report, and the summary printed at the end."""

from __future__ import annotations

from typing import Any

from ._console import _Console, _Steps


# -- the analysis shared by demo, fit and report ------------------------------------------------
def _statistics(
    model: Any,
    cohort: Any,
    steps: _Steps,
    *,
    null_size: int,
    null: str = "circular",
    fdr: float = 0.05,
    folds: int = 5,
    split: str = "auto",
    n_boot: int,
    n_perm: int,
    seed: int,
) -> tuple[Any, Any, Any]:
    """Encoding map, bootstrap bands and condition comparison, each when it applies."""
    from ..inference import bootstrap_loadings, compare_conditions, encoding_map

    encoding = boot = comparison = None
    if model.coef_.shape[1] == 0:  # rank 0 chosen: nothing shared to map, band or compare
        return encoding, boot, comparison
    if null_size:
        with steps.step("encoding map"):
            encoding = encoding_map(
                model, cohort, null=null, n_null=null_size, folds=folds, split=split, fdr=fdr,
                seed=seed,
            )  # fmt: skip
    if n_boot and len(cohort) >= 2:
        with steps.step("bootstrap bands"):
            # the encoding map's whole-session statistics spare a pass over the data
            stats = (
                [encoding.stats[n] for n in cohort.names]
                if encoding is not None and all(n in encoding.stats for n in cohort.names)
                else None
            )
            boot = bootstrap_loadings(model, cohort, n_boot=n_boot, seed=seed, stats=stats)
    if _n_conditions(cohort) >= 2 and encoding is not None and n_perm:
        with steps.step("condition comparison"):
            comparison = compare_conditions(
                model, cohort, encoding=encoding, n_perm=n_perm, seed=seed
            )
    return encoding, boot, comparison


def _study(model: Any, cohort: Any, steps: _Steps, cfg: Any, encoding: Any) -> dict[str, Any]:
    """Neuron groups, populations and days, as the configuration's study keys ask."""
    from ..errors import DataError
    from ..inference import compare_groups, compare_populations, learning_trends

    out: dict[str, Any] = {"groups": None, "populations": None, "trends": None}
    if not (cfg.groups or cfg.populations or cfg.days):
        return out
    if encoding is None and (cfg.groups or cfg.days):
        raise DataError(
            f"{cfg.source}: key 'groups'/'days': the comparison needs the encoding map; set "
            "null_size > 0"
        )
    common = {"n_perm": cfg.permutations or 1000, "n_boot": cfg.boot_animals, "seed": cfg.seed}
    features = None if cfg.timing_vars is None else list(cfg.timing_vars)
    with steps.step("groups, populations, days"):
        if cfg.groups:
            out["groups"] = [
                compare_groups(model, cohort, by, where=cfg.group_where, encoding=encoding,
                               **common)
                for by in cfg.groups
            ]  # fmt: skip
        if cfg.populations:
            out["populations"] = compare_populations(
                model, cohort, cfg.populations, features=features, **common
            )
        if cfg.days:
            out["trends"] = learning_trends(
                model, cohort, cfg.days, by=cfg.populations, features=features,
                encoding=encoding, **common,
            )  # fmt: skip
    return out


def _n_conditions(cohort: Any) -> int:
    labels = {s.condition for s in cohort}
    return 0 if None in labels else len(labels)


def _summary(
    console: _Console, model: Any, cohort: Any, cv: Any, encoding: Any, bootstrap: Any = None
) -> None:
    """The numbers that matter, as a few lines of text; a null result first, loudly."""
    from ..plot import fmt_lag, fmt_value
    from ..reporting import encoding_caveats, null_findings, peak_lag_table

    d, a = model.coef_.shape[1], model.alpha
    comps = "component" if d == 1 else "components"
    prov = getattr(model, "__dict__", {}).get("cv_provenance_")
    if prov is not None and (prov.get("n_components"), prov.get("alpha")) != (d, a):
        prov = None  # it belonged to another model
    best = None
    if cv is not None:
        row = cv.summary.loc[(d, a)]
        finite = cv.summary["r2"][cv.summary["r2"].notna()]
        best = float(finite.max()) if len(finite) else float("nan")
        console.say(
            f"Chosen by {cv.n_folds}-fold cross-validation ({cv.rule}): {d} shared {comps}, "
            f"alpha={a:g}; held-out R² = {fmt_value(row['r2'])} ± {fmt_value(row['se'], 2)} "
            "(SE over folds)"
        )
        per = cv.scores(d, a).session
        console.say(
            "Held-out R² per session: " + ", ".join(f"{k} {fmt_value(v)}" for k, v in per.items())
        )
    elif prov is not None:
        best = float(prov["summary"]["r2"].max())
        console.say(
            f"Chosen by {prov['folds']}-fold cross-validation ({prov['rule']}) when the model "
            f"was fitted: {d} shared {comps}, alpha={a:g}; held-out R² = "
            f"{fmt_value(prov['r2_heldout'])} ± {fmt_value(prov['se'], 2)} (SE over folds)"
        )
    else:
        console.say(f"Rank and ridge set by hand (not cross-validated): {d} {comps}, alpha={a:g}")
    if encoding is not None:
        frac = encoding.summary()
        console.say(
            f"Neurons encoding the shared representation (q < {encoding.fdr:g}): "
            + ", ".join(f"{k} {100 * v:.0f}%" for k, v in frac["any"].items())
        )
    for caveat in encoding_caveats(encoding):
        console.say(f"Note: {caveat}.")
    nulls = null_findings(best, encoding)
    if nulls:
        console.result("")
        console.result(
            "NULL RESULT: no evidence of a shared representation: " + "; ".join(nulls) + "."
        )
        console.result(
            "The components, filters and lags of this fit describe noise; do not read them as "
            "findings."
        )
        return
    if not d:
        return
    peaks = peak_lag_table(model, bootstrap)
    unit = "ms" if cohort.rate else "samples"
    scale = 1000.0 / cohort.rate if cohort.rate else 1.0
    shown = []
    for k, row in peaks.iterrows():
        flag = (
            ""
            if row["trusted"]
            else (" (at the window edge)" if row["at_edge"] else " (band spans 0)")
        )
        shown.append(f"c{k} {fmt_lag(scale * row['peak_lag'])}{flag}")
    console.say(f"Peak lag of each component ({unit}, < 0: neurons lead): " + ", ".join(shown))
