"""Calibration and power of the study's tests (groups, populations, days) on simulated cohorts.

The lever-push simulator (``sr.simulate.lever_task``) has a null version of each effect the
study asks about. For every null, cohorts are simulated and analysed as a lab would (one
ShaReD fit across conditions, the cross-fitted encoding map, then the test), and the table
gives the fraction of cohorts with p < 0.05, with its binomial standard error: a calibrated
test gives 0.05 ± 2 SE. ``p_value`` is the permutation test (labels within session, days
within animal); ``p_animals`` is the t test across animals that matches the reported interval
(its rejection rate under the null is one minus the interval's coverage of the true value 0).

Nulls (each cohort: 4 mice, naive and expert sessions or 4 days; everything else about
learning still changes: behavior, recruitment of thalamic axons):

* A, ``tag_enrichment=0, thalamic_lead=0``: no enrichment of encoding among tagged M1 neurons
  (compare_groups, per condition, and its interaction), no lead of the axons
  (compare_populations, per condition, and its change);
* B, ``tag_enrichment=0.25, thalamic_lead=0.05`` (both constant): the weak nulls of the
  interactions (an enrichment and a lead that exist but do not change with learning);
* C, ``days=4`` with a constant learning curve: no trend over days (learning_trends).

Power: the default effects (``tag_enrichment=(0.1, 0.4)``, ``thalamic_lead=(0.01, 0.07)``,
``days`` linear) at the default ``lever_task`` size, the fraction of cohorts with p < 0.01.

What is refitted per cohort: the simulation, one ShaReD fit (true rank and lags, one pass of
sufficient statistics) and the encoding map (leave-one-session-out W from the statistics, FFT
circular-shift null); every test then permutes labels of precomputed per-neuron summaries.

Usage::

    python benchmarks/calibration_study.py [--cohorts 200] [--power 20] [--jobs 2] [--out FILE]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import sharedrep as sr  # noqa: E402

#: a small cohort per null replicate (the tests' validity does not depend on the size)
SMALL = {"n_mice": 4, "n_trials": 20, "n_axons": (10, 20), "n_m1": (30, 60)}
MOVEMENT = ["lever_pos", "lever_vel"]
NULLS = {
    "A": {"tag_enrichment": 0.0, "thalamic_lead": 0.0},
    "B": {"tag_enrichment": 0.25, "thalamic_lead": 0.05},
    "C": {"days": 4, "learning_curve": [0.5] * 4},
}


def analyse(kind: str, seed: int, size: dict[str, Any], n_perm: int, n_null: int) -> dict:
    """Simulate one cohort of kind ``kind`` and return the p-values of its tests."""
    warnings.simplefilter("ignore")
    params = {**size, **NULLS.get(kind, {})}
    if kind == "power":
        params = dict(size)
    elif kind == "power-days":
        params = {**size, "days": 4}
    cohort, truth = sr.simulate.lever_task(seed=seed, **params)
    model = sr.ShaReD(truth.n_components, lags=truth.lags).fit(cohort)
    enc = sr.encoding_map(model, cohort, null="segments", n_null=n_null, seed=seed)
    out: dict[str, float] = {}
    common = {"n_perm": n_perm, "n_boot": 200, "seed": seed}
    if "days" in params:
        tr = sr.learning_trends(
            model, cohort, by="population", encoding=enc, features=MOVEMENT, **common
        ).trends
        tg = sr.learning_trends(
            model, cohort, by="thalamus_driven", where="population == 'm1'", encoding=enc,
            **common,
        ).trends  # fmt: skip
        rows = {
            "trend: fraction encoding (M1)": tr.loc[("m1", "any", "fraction_encoding")],
            "trend: lead (M1 - axon timing)": tr.loc[("m1 - thalamic_axon", "any", "timing")],
            "trend: enrichment (tagged - untagged)": tg.loc[
                ("True - False", "any", "fraction_encoding")
            ],
        }
        for name, row in rows.items():
            out[f"{name}|p_value"] = float(row["p_value"])
            out[f"{name}|p_animals"] = float(row["p_animals"])
        return out
    g = sr.compare_groups(
        model, cohort, "thalamus_driven", where="population == 'm1'", encoding=enc, **common
    )
    pop = sr.compare_populations(model, cohort, features=MOVEMENT, **common)
    eff = g.effects
    for cond in ("naive", "expert"):
        for measure in ("fraction_encoding", "strength"):
            row = eff.loc[(cond, True, "any", measure)]
            out[f"enrichment {measure} ({cond})|p_value"] = float(row["p_value"])
            out[f"enrichment {measure} ({cond})|p_animals"] = float(row["p_animals"])
        d = pop.differences.loc[(cond, "m1 - thalamic_axon")]
        out[f"lead ({cond})|p_value"] = float(d["p_value"])
        out[f"lead ({cond})|p_animals"] = float(d["p_animals"])
    for measure in ("fraction_encoding", "strength"):
        row = g.interaction.loc[(True, "any", measure)]
        out[f"enrichment change, {measure}|p_value"] = float(row["p_value"])
        out[f"enrichment change, {measure}|p_animals"] = float(row["p_animals"])
    ch = pop.change.loc["m1 - thalamic_axon"]
    out["lead change|p_value"] = float(ch["p_value"])
    out["lead change|p_animals"] = float(ch["p_animals"])
    return out


#: which rows of each null are tests of a true null (the others test effects that exist)
NULL_ROWS = {
    "A": ("enrichment fraction_encoding", "enrichment strength", "lead (",
          "enrichment change", "lead change"),
    "B": ("enrichment change", "lead change"),
    "C": ("trend:",),
}  # fmt: skip


def run(
    cohorts: int, power: int, jobs: int, n_perm: int, n_null: int, size: dict | None = None
) -> tuple[str, dict[str, dict[str, np.ndarray]]]:
    """Run the study; returns the markdown tables and the p-values per kind and test."""
    size = size or SMALL
    tasks = [(k, 1000 * i + j, size, n_perm, n_null) for i, k in enumerate(NULLS)
             for j in range(cohorts)]  # fmt: skip
    tasks += [("power", 90_000 + j, {}, n_perm, n_null) for j in range(power)]
    tasks += [("power-days", 95_000 + j, {"n_trials": (20, 30)}, n_perm, n_null)
              for j in range(power)]  # fmt: skip
    t0 = time.perf_counter()
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(analyse, *zip(*tasks, strict=True)))
    else:
        results = [analyse(*t) for t in tasks]
    elapsed = time.perf_counter() - t0
    collected: dict[str, dict[str, list[float]]] = {}
    for (kind, *_), res in zip(tasks, results, strict=True):
        for key, p in res.items():
            collected.setdefault(kind, {}).setdefault(key, []).append(p)
    arrays = {k: {t: np.array(v) for t, v in d.items()} for k, d in collected.items()}
    return _tables(arrays, cohorts, power, elapsed, jobs, n_perm, n_null, size), arrays


def _tables(arrays, cohorts, power, elapsed, jobs, n_perm, n_null, size) -> str:
    lines = [
        f"### Calibration of the study's tests ({cohorts} simulated cohorts per null; "
        f"lever_task {size}; encoding null: {n_null} permutations of whole trials; {n_perm} "
        f"label permutations; "
        f"{elapsed / 60:.1f} min on {jobs} processes)",
        "",
        "| null | test | cohorts | p_value < 0.05 | p_animals < 0.05 | within 0.05 ± 2 SE |",
        "|---|---|---:|---:|---:|---|",
    ]
    se = np.sqrt(0.05 * 0.95 / max(cohorts, 1))
    for kind, prefixes in NULL_ROWS.items():
        tests = sorted({t.split("|")[0] for t in arrays.get(kind, {})})
        for test in tests:
            if not test.startswith(prefixes):
                continue
            p = arrays[kind][f"{test}|p_value"]
            pa = arrays[kind][f"{test}|p_animals"]
            r, ra = np.nanmean(p < 0.05), np.nanmean(pa < 0.05)
            ok = "yes" if abs(r - 0.05) <= 2 * se else "no"
            lines.append(f"| {kind} | {test} | {p.size} | {r:.3f} | {ra:.3f} | {ok} |")
    lines += ["", f"2 SE at 0.05 over {cohorts} cohorts: ± {2 * se:.3f}.", ""]
    if power:
        lines += [
            f"### Power at the default size ({power} cohorts each; default lever_task; days: "
            "4 days, 20-30 trials)",
            "",
            "| test | p_value < 0.01 | p_value < 0.05 | p_animals < 0.05 |",
            "|---|---:|---:|---:|",
        ]
        for kind in ("power", "power-days"):
            for test in sorted({t.split("|")[0] for t in arrays.get(kind, {})}):
                p, pa = arrays[kind][f"{test}|p_value"], arrays[kind][f"{test}|p_animals"]
                lines.append(
                    f"| {test} | {np.mean(p < 0.01):.2f} | {np.mean(p < 0.05):.2f} | "
                    f"{np.mean(pa < 0.05):.2f} |"
                )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohorts", type=int, default=200, help="cohorts per null (default 200)")
    ap.add_argument("--power", type=int, default=20, help="cohorts for the power table")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--n-perm", type=int, default=400)
    ap.add_argument("--n-null", type=int, default=100)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    from _common import emit

    text, _ = run(args.cohorts, args.power, args.jobs, args.n_perm, args.n_null)
    emit(text, args.out, append=False)


if __name__ == "__main__":
    main()
