"""Command line: ``sharedrep <command>``.

Exit codes: 0 success, 1 unexpected failure, 2 user mistake (bad arguments, bad data).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _demo(args: argparse.Namespace) -> int:
    from . import simulate
    from .estimator import ShaReD

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"Simulating {args.sessions} sessions (seed {args.seed}) ...")
    cohort, truth = simulate.cohort(n_sessions=args.sessions, seed=args.seed)
    train, new = cohort[: len(cohort) - 1], cohort[len(cohort) - 1]
    print(cohort.to_frame().to_string())
    t0 = time.perf_counter()
    model = ShaReD(truth.n_components, lags=truth.lags).fit(train)
    elapsed = time.perf_counter() - t0
    print(
        f"\nFitted {model!r} on {len(train)} sessions in {elapsed:.2f} s "
        f"({model.n_iter_} iterations, converged={model.converged_})."
    )
    angles = truth.angles(model)
    print(
        "Principal angles to the true shared representation (deg): "
        + ", ".join(f"{a:.2f}" for a in angles)
    )
    scores = model.score(train)
    print(f"In-sample R² per session: {scores.session.round(3).to_dict()}")
    model.fit_readout(new)
    print(
        f"New animal {new.name!r} (readout only, W unchanged): "
        f"R² = {model.score(new).pooled:.3f}  (noise ceiling {truth.snr / (1 + truth.snr):.3f})"
    )
    peak = model.loadings_.isel(lag=np.abs(model.loadings_).argmax("lag"))
    table = model.loadings_.to_dataframe().reset_index()
    table.to_csv(out / "loadings.csv", index=False)
    scores.neuron.to_csv(out / "r2_per_neuron.csv")
    print(f"\nPeak lag of each component's filter per feature:\n{peak.lag.to_pandas().to_string()}")
    print(f"\nWrote {out / 'loadings.csv'} and {out / 'r2_per_neuron.csv'}")
    return EXIT_OK


def _info(args: argparse.Namespace) -> int:
    import scipy
    import xarray

    print(f"sharedrep {__version__}")
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"xarray {xarray.__version__}"
    )
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The ``sharedrep`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="sharedrep",
        description="Shared Representation Discovery: one behavioral representation shared "
        "across animals, mapped onto each animal's own neurons.",
    )
    parser.add_argument("--version", action="version", version=f"sharedrep {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="simulate a cohort, fit ShaReD, print what was found",
        description="Simulate a cohort with known ground truth, fit ShaReD on "
        "all but one session, map the last one as a new animal.",
    )
    demo.add_argument(
        "--out", default="sharedrep-demo", help="output folder (default: %(default)s)"
    )
    demo.add_argument("--sessions", type=int, default=6, help="sessions to simulate (default: 6)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.set_defaults(run=_demo)
    info = sub.add_parser("info", help="versions of sharedrep and its dependencies")
    info.set_defaults(run=_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sharedrep`` command; returns the exit code."""
    from .errors import DataError

    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            return args.run(args)
    except (DataError, FileNotFoundError, ValueError, KeyError) as err:
        print(f"sharedrep {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
