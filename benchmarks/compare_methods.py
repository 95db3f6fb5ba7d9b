"""ShaReD against the methods people use instead, on the same data, folds and design.

Usage::

    python benchmarks/compare_methods.py [--quick] [--out benchmarks/results] [--no-cebra]

Writes ``methods.csv`` (one row per dataset x method), ``methods.md`` (summary tables),
``speed.csv`` and PNG plots to ``--out``. See ``benchmarks/README.md`` for the design.

Every method is fitted on the training folds of the same per-session sufficient statistics
(whole trials per fold, the same fold index in every session), with the same lagged design (the
true lags of the simulation), the same behavior scaling and neuron z-scoring. Each method's
ridge penalty is tuned by inner cross-validation over the training folds (per session for the
per-session methods); the rank of the rank-limited methods is the true ``d``. CEBRA's
embedding is trained once per outer fold; only its linear stages are tuned by inner CV.
Numerical libraries run single-threaded so that wall times compare like with like.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import sharedrep as sr  # noqa: E402
from sharedrep import baselines as bl  # noqa: E402
from sharedrep.backend import cohort_stats  # noqa: E402
from sharedrep.features import TemporalExpansion  # noqa: E402
from sharedrep.simulate import principal_angles  # noqa: E402
from sharedrep.stats import pooled_feature_scale  # noqa: E402

#: encoding-neuron call: held-out R² above this (all methods; see README)
R2_THRESHOLD = 0.01

#: every simulated cohort: weak, heterogeneous encoders (median SNR 0.05, log-SNR sd 1), the
#: regime of calcium imaging in which calling encoding units is not trivial
SIM = {"snr": 0.05, "snr_spread": 1.0}

#: the base simulated configuration: small sessions, the regime ShaReD was made for
BASE = {"n_mice": 4, "n_trials": 12, "neurons": "small"}
NEURONS = {
    "small": {"n_axons": (5, 15), "n_m1": (10, 40)},
    "medium": {"n_axons": (10, 30), "n_m1": (25, 100)},
    "large": {"n_axons": (10, 60), "n_m1": (50, 300)},
}
AXES = {
    "n_mice": [2, 4, 8],
    "neurons": ["small", "medium", "large"],
    "n_trials": [6, 12, 24],
}


def configurations(quick: bool) -> list[dict]:
    """One-factor-at-a-time grid around :data:`BASE` (unique configurations)."""
    if quick:
        return [{"n_mice": 3, "n_trials": 8, "neurons": "small", "axis": "base"}]
    out, seen = [], set()
    for axis, values in AXES.items():
        for v in values:
            cfg = {**BASE, axis: v}
            key = tuple(sorted(cfg.items()))
            if key not in seen:
                seen.add(key)
                out.append({**cfg, "axis": axis})
    return out


def make_methods(d: int, lags, *, cebra: bool, quick: bool) -> list:
    """The compared methods, in report order."""
    methods = [
        bl.ShaReDMethod(d, lags=lags),
        bl.PerSessionRRR(d),
        bl.PerSessionRidge(d),
        bl.PooledRidge(d),
        bl.TrialAverageCCA(d),
    ]
    if cebra and bl.cebra_available():
        methods.append(bl.CEBRAMultiSession(d, max_iterations=10 if quick else 300))
    return methods


# -- scoring ------------------------------------------------------------------------------------
def design_root(stats, expansion) -> tuple[np.ndarray, np.ndarray]:
    """Pooled-std column scale ``(q,)`` and Cholesky root of the pooled standardized design
    covariance: the metric in which subspaces are compared (what the data identify)."""
    sd = expansion.column_scale(pooled_feature_scale(stats))
    cov = sum(s.centered()[0] for s in stats) / sum(s.total().count[0] for s in stats)
    cov = cov * np.outer(1 / sd, 1 / sd)
    q = cov.shape[0]
    return sd, np.linalg.cholesky(cov + 1e-10 * np.trace(cov) / q * np.eye(q))


def max_angle(estimate, truth_W, sd, root) -> float:
    """Largest principal angle (degrees) in the design metric; mean over sessions for dicts."""
    if estimate is None:
        return np.nan
    if isinstance(estimate, dict):
        return float(np.mean([max_angle(e, truth_W, sd, root) for e in estimate.values()]))
    est = root.T @ (estimate * sd[:, None])
    true = root.T @ (truth_W * sd[:, None])
    return float(principal_angles(est, true).max())


def average_precision(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the precision-recall curve of ranking units by ``score`` (ties broken by
    order); the fraction of positives for a random ranking."""
    ok = np.isfinite(score)
    score, label = score[ok], label[ok]
    order = np.argsort(-score, kind="stable")
    hits = label[order].astype(float)
    if hits.sum() == 0:
        return np.nan
    precision = np.cumsum(hits) / np.arange(1, hits.size + 1)
    return float(np.sum(precision * hits) / hits.sum())


def encoding_scores(r2: list[np.ndarray], truth_enc: list[np.ndarray]) -> dict:
    """Precision, recall and average precision of the calls ``R² > R2_THRESHOLD``."""
    score, label = np.concatenate(r2), np.concatenate(truth_enc)
    call = np.nan_to_num(score, nan=-np.inf) > R2_THRESHOLD
    tp = int(np.sum(call & label))
    return {
        "precision": tp / call.sum() if call.sum() else np.nan,
        "recall": tp / label.sum() if label.sum() else np.nan,
        "avg_precision": average_precision(score, label),
        "chance_precision": float(label.mean()),
    }


# -- running ------------------------------------------------------------------------------------
def evaluate(method, cohort, stats, expansion, *, folds, grid) -> tuple[bl.CVResult, float]:
    t0 = time.perf_counter()
    res = bl.cross_validate(method, cohort, stats, expansion, grid=grid, folds=folds)
    return res, time.perf_counter() - t0


def simulated(quick: bool, cebra: bool, n_folds: int, seeds) -> pd.DataFrame:
    grid = (1.0, 100.0, 1e4) if quick else bl.ALPHA_GRID
    rows = []
    for cfg in configurations(quick):
        for seed in seeds:
            cohort, truth = sr.simulate.lever_task(
                n_mice=cfg["n_mice"],
                n_trials=cfg["n_trials"],
                seed=seed,
                **SIM,
                **NEURONS[cfg["neurons"]],
            )
            expansion = TemporalExpansion(truth.lags)
            stats = cohort_stats(cohort, expansion, n_folds=n_folds)
            sd, root = design_root(stats, expansion)
            enc = [truth.encoding_units(s.name) for s in cohort]
            d = truth.n_components
            # CEBRA (minutes per fold on a CPU) runs on the first seed only
            use_cebra = cebra and seed == seeds[0]
            for method in make_methods(d, truth.lags, cebra=use_cebra, quick=quick):
                # CEBRA is trained on outer fold 0 only (minutes per fold on a CPU)
                folds = [0] if isinstance(method, bl.CEBRAMultiSession) else None
                res, secs = evaluate(method, cohort, stats, expansion, folds=folds, grid=grid)
                angles = [max_angle(sub, truth.W, sd, root) for sub in res.subspaces]
                row = {
                    "data": "simulated",
                    "axis": cfg["axis"],
                    "n_mice": cfg["n_mice"],
                    "neurons": cfg["neurons"],
                    "neurons_per_mouse": float(np.mean([s.n_neurons for s in cohort])),
                    "n_trials": cfg["n_trials"],
                    "seed": seed,
                    "method": method.name,
                    "folds_evaluated": "0" if folds else f"all {n_folds}",
                    "max_angle_deg": float(np.mean(angles)),
                    "heldout_r2": res.pooled_r2(),
                    "cv_seconds": secs,
                    **encoding_scores(res.neuron_r2(), enc),
                }
                # the angle at the best alpha of the grid (fold 0, one alpha for all sessions):
                # how much of a method's angle is due to tuning alpha for prediction
                best = []
                for a in grid if not isinstance(method, bl.PerSessionRidge) else ():
                    method.alpha = a
                    method.fit(cohort, stats, expansion, exclude=(0,))
                    best.append(max_angle(method.subspace_, truth.W, sd, root))
                finite = [b for b in best if np.isfinite(b)]
                row["max_angle_best_alpha_deg"] = min(finite) if finite else np.nan
                if folds:  # ShaReD's numbers on the same single fold, for a paired comparison
                    ref, _ = evaluate(
                        bl.ShaReDMethod(d, lags=truth.lags),
                        cohort,
                        stats,
                        expansion,
                        folds=folds,
                        grid=grid,
                    )
                    row["shared_r2_same_folds"] = ref.pooled_r2()
                    row["shared_angle_same_folds"] = max_angle(ref.subspaces[0], truth.W, sd, root)
                rows.append(row)
                if isinstance(method, bl.ShaReDMethod):
                    rows.append(shared_encoding_map(row, cohort, truth, res, n_folds, quick))
                print(
                    f"  {cfg} seed={seed} {method.name:22s} angle={row['max_angle_deg']:5.1f} "
                    f"R2={row['heldout_r2']:.3f} AP={row['avg_precision']:.2f} ({secs:.1f}s)",
                    flush=True,
                )
    return pd.DataFrame(rows)


def shared_encoding_map(row, cohort, truth, res, n_folds, quick) -> dict:
    """ShaReD's own encoding calls: ``sharedrep.encoding_map`` (segment-permutation null,
    cross-fitted W, Benjamini-Hochberg FDR 0.05 within session) on a model fitted to all data
    with the median alpha chosen in the outer folds. Only precision and recall are reported
    (the calls are the point; R² and angle are ShaReD's row)."""
    alpha = float(np.median(res.alphas))
    model = sr.ShaReD(truth.n_components, lags=truth.lags, alpha=alpha).fit(cohort)
    t0 = time.perf_counter()
    em = sr.encoding_map(
        model, cohort, null="segments", n_null=50 if quick else 200, folds=n_folds, fdr=0.05
    )
    secs = time.perf_counter() - t0
    call = em.neurons["encodes"].to_numpy(bool)
    label = np.concatenate([truth.encoding_units(s.name) for s in cohort])
    tp = int(np.sum(call & label))
    return {
        **{
            k: row[k]
            for k in ("data", "axis", "n_mice", "neurons", "neurons_per_mouse", "n_trials", "seed")
        },
        "method": "ShaReD + encoding_map (FDR 0.05)",
        "folds_evaluated": row["folds_evaluated"],
        "max_angle_deg": np.nan,
        "heldout_r2": np.nan,
        "cv_seconds": secs,
        "precision": tp / call.sum() if call.sum() else np.nan,
        "recall": tp / label.sum(),
        "avg_precision": np.nan,
        "chance_precision": float(label.mean()),
    }


def speed(cebra: bool, quick: bool, repeats: int = 3) -> pd.DataFrame:
    """Wall time of one fit on all data (statistics pass included), relative to ShaReD's."""
    cfg = configurations(quick)[0] if quick else BASE
    cohort, truth = sr.simulate.lever_task(
        n_mice=cfg["n_mice"], n_trials=cfg["n_trials"], seed=0, **SIM, **NEURONS[cfg["neurons"]]
    )
    expansion = TemporalExpansion(truth.lags)
    rows = []
    for method in make_methods(truth.n_components, truth.lags, cebra=cebra, quick=quick):
        method.alpha = 100.0  # fixed: timing one fit, not the tuning
        n = 1 if isinstance(method, bl.CEBRAMultiSession) else repeats
        best = np.inf
        for _ in range(n):
            if isinstance(method, bl.CEBRAMultiSession):
                method._cache.clear()
            t0 = time.perf_counter()
            stats = cohort_stats(cohort, expansion)
            method.fit(cohort, stats, expansion)
            best = min(best, time.perf_counter() - t0)
        rows.append({"method": method.name, "fit_seconds": best})
    out = pd.DataFrame(rows)
    out["relative_to_shared"] = out["fit_seconds"] / out.loc[0, "fit_seconds"]
    return out


def load_reaching() -> sr.Cohort | None:
    """The two real reaching sessions (``sr.datasets.fetch_reaching``, downloaded once and
    cached), or None when they cannot be fetched (no network and no local copy)."""
    try:
        cohort = sr.datasets.fetch_reaching()
    except sr.SourceError as err:
        print(f"  {err}")
        return None
    # spike counts as float64, as the other methods take them
    return sr.Cohort(
        [
            sr.Session(
                np.asarray(s.behavior),
                np.asarray(s.neural, dtype=float),
                s.segments,
                name=s.name,
                subject=s.subject,
                feature_names=s.feature_names,
                rate=s.rate,
            )
            for s in cohort
        ]
    )


def real(cebra: bool, quick: bool, n_folds: int) -> pd.DataFrame:
    cohort = load_reaching()
    if cohort is None:
        print("  the reaching recordings could not be fetched: real-data benchmark skipped")
        return pd.DataFrame()
    lags = range(-4, 3)  # 50 ms bins: activity leads hand movement by up to 200 ms
    d = 3
    expansion = TemporalExpansion(lags)
    stats = cohort_stats(cohort, expansion, n_folds=n_folds)
    grid = (1.0, 100.0, 1e4) if quick else bl.ALPHA_GRID
    rows = []
    for method in make_methods(d, lags, cebra=cebra, quick=quick):
        if isinstance(method, bl.TrialAverageCCA):
            rows.append({"data": "reaching", "method": method.name, "note": "no trials to align"})
            continue
        folds = [0] if isinstance(method, bl.CEBRAMultiSession) else None
        res, secs = evaluate(method, cohort, stats, expansion, folds=folds, grid=grid)
        r2 = res.neuron_r2()
        row = {
            "data": "reaching",
            "method": method.name,
            "folds_evaluated": "0" if folds else f"all {n_folds}",
            "heldout_r2": res.pooled_r2(),
            "cv_seconds": secs,
            "fraction_called_encoding": float(
                np.mean(np.nan_to_num(np.concatenate(r2), nan=-1) > R2_THRESHOLD)
            ),
        }
        for s, v in zip(cohort.names, r2, strict=True):
            row[f"r2_{s}"] = float(np.nanmean(v))
        if folds:
            ref, _ = evaluate(
                bl.ShaReDMethod(d, lags=lags), cohort, stats, expansion, folds=folds, grid=grid
            )
            row["shared_r2_same_folds"] = ref.pooled_r2()
        rows.append(row)
        print(f"  reaching {method.name:22s} R2={row['heldout_r2']:.3f} ({secs:.1f}s)", flush=True)
    return pd.DataFrame(rows)


# -- reporting ----------------------------------------------------------------------------------
def summary(sim: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per configuration and method."""
    keys = ["axis", "n_mice", "neurons", "n_trials", "method"]
    cols = ["max_angle_deg", "heldout_r2", "precision", "recall", "avg_precision"]
    return sim.groupby(keys, sort=False)[cols].mean().reset_index()


def markdown(sim: pd.DataFrame, spd: pd.DataFrame, rl: pd.DataFrame, meta: dict) -> str:
    lines = [
        "# ShaReD vs alternatives",
        "",
        f"Produced by `{meta['command']}` on {meta['machine']} in {meta['minutes']:.1f} min.",
        "",
    ]
    base = _base_rows(sim)
    cfg = base.iloc[0]
    lines += [
        f"## Base configuration ({cfg['n_mice']} mice x 2 conditions, {cfg['neurons']} "
        f"sessions, {cfg['n_trials']} trials per session; mean over seeds)",
        "",
        "| method | max angle (deg) | fold-0 angle at best alpha | held-out R² | precision "
        "| recall "
        "| avg. precision |",
        "|---|---|---|---|---|---|---|",
    ]
    agg = base.groupby("method", sort=False)[
        [
            "max_angle_deg",
            "max_angle_best_alpha_deg",
            "heldout_r2",
            "precision",
            "recall",
            "avg_precision",
        ]
    ].mean()
    for m, r in agg.iterrows():
        note = " (fold 0 only)" if m == "CEBRA multi-session" else ""
        lines.append(
            f"| {m}{note} | {_f(r['max_angle_deg'], 1)} | "
            f"{_f(r['max_angle_best_alpha_deg'], 1)} | {_f(r['heldout_r2'], 3)} | "
            f"{_f(r['precision'], 2)} | {_f(r['recall'], 2)} | {_f(r['avg_precision'], 2)} |"
        )
    lines += [
        "",
        f"Chance precision (fraction of encoding units): {base['chance_precision'].mean():.2f}.",
        "",
    ]
    if "shared_r2_same_folds" in sim:
        ce = sim[sim["shared_r2_same_folds"].notna()]
        if len(ce):
            lines += [
                "CEBRA vs ShaReD on the same single fold, all simulated datasets: mean R² "
                f"{ce['heldout_r2'].mean():.3f} vs {ce['shared_r2_same_folds'].mean():.3f}; "
                f"mean max angle {ce['max_angle_deg'].mean():.1f} vs "
                f"{ce['shared_angle_same_folds'].mean():.1f} deg.",
                "",
            ]
    lines += ["## Along each axis (mean over seeds)", ""]
    s = summary(sim)
    for axis in AXES:
        sub = s[s["axis"].eq(axis) | _is_base(s, axis)]
        if sub.empty:
            continue
        pv = sub.pivot_table(
            index=axis,
            columns="method",
            values=["max_angle_deg", "heldout_r2", "avg_precision"],
            sort=False,
        )
        lines += [f"### {axis}", ""]
        for metric, label in [
            ("max_angle_deg", "max angle (deg)"),
            ("heldout_r2", "held-out R²"),
            ("avg_precision", "avg. precision"),
        ]:
            t = pv[metric]
            lines.append(f"{label}:")
            lines.append("")
            lines.append("| " + axis + " | " + " | ".join(t.columns) + " |")
            lines.append("|---" * (len(t.columns) + 1) + "|")
            for idx, r in t.iterrows():
                lines.append(
                    f"| {idx} | "
                    + " | ".join(_f(v, 1 if metric == "max_angle_deg" else 3) for v in r)
                    + " |"
                )
            lines.append("")
    lines += [
        "## Speed (one fit on all data, statistics pass included, base configuration)",
        "",
        "| method | seconds | relative to ShaReD |",
        "|---|---|---|",
    ]
    for _, r in spd.iterrows():
        lines.append(f"| {r['method']} | {r['fit_seconds']:.3f} | {r['relative_to_shared']:.2f} |")
    lines.append("")
    if len(rl):
        lines += [
            "## Real data: two reaching sessions (M1, S1 area 2), 5 contiguous-block folds",
            "",
            "| method | held-out R² | "
            + " | ".join(c[3:] for c in rl.columns if c.startswith("r2_"))
            + " | fraction R² > 0.01 |",
            "|---" * (3 + sum(c.startswith("r2_") for c in rl.columns)) + "|",
        ]
        for _, r in rl.iterrows():
            if pd.notna(r.get("note")):
                lines.append(
                    f"| {r['method']} | n/a ({r['note']}) |"
                    + " |" * (1 + sum(c.startswith("r2_") for c in rl.columns))
                )
                continue
            note = (
                " (fold 0 only; ShaReD on fold 0: " + _f(r.get("shared_r2_same_folds"), 3) + ")"
                if r.get("folds_evaluated") == "0"
                else ""
            )
            lines.append(
                f"| {r['method']}{note} | {_f(r['heldout_r2'], 3)} | "
                + " | ".join(_f(r[c], 3) for c in rl.columns if c.startswith("r2_"))
                + f" | {_f(r['fraction_called_encoding'], 2)} |"
            )
        lines.append("")
    lines += ["## Settings", ""] + [f"- {k}: {v}" for k, v in meta["settings"].items()] + [""]
    return "\n".join(lines)


def _base_rows(sim: pd.DataFrame) -> pd.DataFrame:
    """Rows of the base configuration (the only one in a quick run)."""
    mask = (
        (sim["n_mice"] == BASE["n_mice"])
        & (sim["n_trials"] == BASE["n_trials"])
        & (sim["neurons"] == BASE["neurons"])
    )
    if not mask.any():
        first = sim.iloc[0]
        mask = (sim["n_mice"] == first["n_mice"]) & (sim["n_trials"] == first["n_trials"])
    return sim[mask]


def _is_base(s: pd.DataFrame, axis: str) -> pd.Series:
    mask = s["axis"].eq("n_mice") & (s["n_mice"] == BASE["n_mice"])
    return mask & (axis != "n_mice")


def _f(v, digits: int) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def plots(sim: pd.DataFrame, spd: pd.DataFrame, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = summary(sim)
    files = []
    metrics = [
        ("max_angle_deg", "largest principal angle (deg)"),
        ("heldout_r2", "held-out R²"),
        ("avg_precision", "encoding units: avg. precision"),
        ("recall", f"encoding units: recall (R² > {R2_THRESHOLD})"),
    ]
    if not s["axis"].isin(list(AXES)).any():  # a quick run has no axes to plot
        metrics = []
    for metric, label in metrics:
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), sharey=True)
        for ax, axis in zip(axes, AXES, strict=True):
            sub = s[s["axis"].eq(axis) | _is_base(s, axis)]
            for m, g in sub.groupby("method", sort=False):
                if g[metric].isna().all():  # e.g. no subspace, or calls without R²
                    continue
                if m == "CEBRA multi-session":
                    m = "CEBRA multi-session (fold 0, seed 0)"
                order = list(AXES[axis])
                g = g.sort_values(axis, key=lambda c, o=order: c.map(o.index))
                ax.plot([str(v) for v in g[axis]], g[metric], marker="o", label=m)
            ax.set_xlabel(axis.replace("_", " "))
            ax.grid(alpha=0.3)
        axes[0].set_ylabel(label)
        axes[-1].legend(fontsize=7)
        fig.tight_layout()
        f = out / f"{metric}.png"
        fig.savefig(f, dpi=90)
        plt.close(fig)
        files.append(f)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.barh(spd["method"], spd["relative_to_shared"])
    ax.set_xscale("log")
    ax.set_xlabel("fit wall time relative to ShaReD")
    fig.tight_layout()
    f = out / "speed.png"
    fig.savefig(f, dpi=90)
    plt.close(fig)
    return [*files, f]


def run(out: Path, *, quick: bool = False, cebra: bool = True) -> dict:
    """Run the benchmark and write its outputs to ``out``; returns the tables."""
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    n_folds = 3 if quick else 5
    seeds = [0] if quick else [0, 1]
    warnings.filterwarnings("ignore", category=sr.SharedRepWarning)
    print("simulated cohorts", flush=True)
    sim = simulated(quick, cebra, n_folds, seeds)
    print("speed", flush=True)
    spd = speed(cebra, quick)
    print("real data", flush=True)
    rl = pd.DataFrame() if quick else real(cebra, quick, n_folds)
    sim.to_csv(out / "methods.csv", index=False)
    spd.to_csv(out / "speed.csv", index=False)
    if len(rl):
        rl.to_csv(out / "reaching.csv", index=False)
    used_cebra = cebra and bl.cebra_available()
    settings = {
        "folds": f"{n_folds} outer folds of whole trials (contiguous blocks for the real data)",
        "alpha": "tuned by inner CV over the training folds, grid "
        + ("1, 1e2, 1e4" if quick else "1e0..1e5 (x10)"),
        "rank": "true d = 4 for every rank-limited method (3 on the real data)",
        "seeds": f"{seeds} (CEBRA: first seed only, outer fold 0 only)",
        "simulation": f"lever_task with {SIM}; neurons per mouse {NEURONS}",
        "encoding call": f"held-out R² > {R2_THRESHOLD} (all methods); in addition ShaReD's own "
        "sharedrep.encoding_map (segment-permutation null, "
        + ("50" if quick else "200")
        + " permutations, cross-fitted W, BH FDR 0.05 within session)",
        "CEBRA": make_methods(4, (0,), cebra=True, quick=quick)[-1].settings()
        if used_cebra
        else "not run (cebra not importable or --no-cebra)",
    }
    meta = {
        "command": "python benchmarks/compare_methods.py" + (" --quick" if quick else ""),
        "machine": os.environ.get("BENCH_MACHINE", "this machine"),
        "minutes": (time.perf_counter() - t0) / 60,
        "settings": settings,
    }
    (out / "methods.md").write_text(markdown(sim, spd, rl, meta))
    # plots need matplotlib (extra [benchmark]); the tables are written without it
    pngs = plots(sim, spd, out) if importlib.util.find_spec("matplotlib") else []
    print(f"wrote {out} in {(time.perf_counter() - t0) / 60:.1f} min", flush=True)
    return {"simulated": sim, "speed": spd, "real": rl, "plots": pngs}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one small cohort, 3 folds")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--no-cebra", action="store_true", help="skip CEBRA (slowest method)")
    args = parser.parse_args(argv)
    run(args.out, quick=args.quick, cebra=not args.no_cebra)


if __name__ == "__main__":
    main()
