"""Trial-cut recordings: cross-validated ShaReD on the V1 gratings, with and without the options.

Seven mice (two-photon V1, 128 trials x 49 samples at 16 Hz around grating onsets, Park et al.
2024, fetched by ``sr.datasets.fetch_v1_gratings``). Lags 0..32 samples (0-2 s). Configurations:

* ``drop, blocks``: the library's old defaults (lag windows that cross a trial start dropped,
  contiguous blocks of trials held out), all 10 variables as shared behavior;
* ``zero, blocks``: onsets zero-padded, running and pupil private covariates, contiguous blocks;
* ``zero, interleaved``: the same with the default split (trials interleaved over the recording);
* ``zero, interleaved, drift=8``: plus 8 smooth functions of recording time per session.

For each: held-out R² per rank (at the chosen ridge) ± SE over folds, the chosen point, and the
share of variance lost to the held-out blocks' means. Then leave-one-mouse-out transfer at the
chosen point of ``zero, interleaved``.

Usage::

    python benchmarks/v1_trials.py [--out benchmarks/results/v1_trials.md]

Offline: ``SHAREDREP_DATA_MIRROR=file:///path/to/copy`` serves the original files.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import sharedrep as sr
from _common import emit

RANKS = [0, 1, 2, 3, 4, 6, 8]
ALPHAS = [10.0, 100.0, 1000.0]
LAGS = range(0, 33)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    warnings.simplefilter("ignore", sr.SharedRepWarning)
    raw = sr.datasets.fetch_v1_gratings()
    private = raw.as_covariates(["running_speed", "pupil_z"])
    onsets = {"grating_*_onset": "zero"}
    configs = {
        "drop, blocks": (raw, {"split": "blocks"}, [r for r in RANKS if r]),
        "zero, blocks": (private, {"edges": onsets, "split": "blocks"}, RANKS),
        "zero, interleaved": (private, {"edges": onsets}, RANKS),
        "zero, interleaved, drift=8": (private, {"edges": onsets, "drift": 8}, RANKS),
    }
    header = "| configuration | " + " | ".join(f"d = {d}" for d in RANKS) + " | chosen | offset |"
    lines = [
        "### V1 gratings: held-out R² per rank (7 mice, 5 folds, lags 0..32)",
        "",
        "R² ± SE over folds at the chosen ridge; *offset*: share of the held-out variance lost "
        "to the held-out blocks' means at the chosen point. Command: "
        "`python benchmarks/v1_trials.py`.",
        "",
        header,
        "|---|" + "---:|" * (len(RANKS) + 2),
    ]
    chosen = {}
    for label, (cohort, params, ranks) in configs.items():
        t0 = time.perf_counter()
        cv = sr.cross_validate(cohort, n_components=ranks, alpha=ALPHAS, lags=LAGS, **params)
        t = time.perf_counter() - t0
        at = cv.summary.xs(cv.alpha, level="alpha")
        cells = [
            f"{at.loc[d, 'r2']:.4f} ± {at.loc[d, 'se']:.4f}" if d in at.index else "-"
            for d in RANKS
        ]
        best = cv.summary.loc[(cv.n_components, cv.alpha)]
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | d = {cv.n_components}, alpha = "
            f"{cv.alpha:g} | {best['offset']:.3f} |"
        )
        chosen[label] = cv
        print(label, f"{t:.1f} s", flush=True)
    cv = chosen["zero, interleaved"]
    tr = sr.transfer(
        private, [0.05, 0.1, 0.2, 0.5], n_components=cv.n_components, alpha=cv.alpha,
        lags=LAGS, edges=onsets,
    )  # fmt: skip
    lines += [
        "",
        f"### A new mouse: leave-one-mouse-out transfer (d = {cv.n_components}, alpha = "
        f"{cv.alpha:g}, {tr.split})",
        "",
        "| training fraction of the new mouse | trials | shared W | the mouse alone | difference "
        "± SE over mice | mice where shared wins |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for f, row in tr.summary.iterrows():
        trials = int(np.round(f * 20)) * 128 // 20
        lines.append(
            f"| {f:g} | ~{trials} | {row['shared']:.4f} | {row['individual']:.4f} | "
            f"{row['difference']:+.4f} ± {row['se']:.4f} | {row['wins']:.0%} |"
        )
    emit("\n".join([*lines, ""]), args.out)


if __name__ == "__main__":
    main()
