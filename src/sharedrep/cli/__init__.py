"""Command line: ``sharedrep <command>``.

Commands: ``demo`` (simulate, fit, report), ``simulate`` (write a folder of session files),
``fit`` (a TOML configuration: cross-validation, model, statistics, report), ``report`` (a
report of a saved model on sessions), ``info`` (versions). ``sharedrep <command> --help``
documents each.

Exit codes (stable, for scripts): 0 success; 1 unexpected failure (a bug: the traceback is
printed); 2 a user mistake (bad arguments, configuration, data or model file) or an I/O failure
(an output folder that is a file, read-only or on a full disk, a file that cannot be read), with
a one-line message on stderr that names the argument, key, file or session; 130 interrupted
(Ctrl-C). Progress bars go to stderr, only when it is a terminal and ``--quiet`` is not given.

Output folders (``fit``, ``report``, ``demo``) are checked before the analysis starts, locked
against a second run into the same folder, written to a staging folder and renamed into place
when complete (see :mod:`sharedrep.cli._output`): an interrupted run keeps the previous results.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import traceback
import warnings
from collections.abc import Sequence

# numpy and the library's modules are imported by the commands that need them, so that
# `sharedrep --help` starts in a fraction of a second
from .. import __version__
from ._commands import _demo, _fit, _info, _report, _simulate
from ._console import EXIT_CODES, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, _Console
from ._console import _cli_terms as _cli_terms

__all__ = ["EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]


# -- parser -------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The ``sharedrep`` argument parser."""
    from ..config import keys_help

    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="sharedrep",
        description=textwrap.fill(
            "Shared Representation Discovery: one behavioral representation shared across "
            "animals, mapped onto each animal's own neurons. 'sharedrep COMMAND --help' "
            "documents each command.",
            79,
        ),
        epilog=EXIT_CODES,
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"sharedrep {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, description: str, epilog: str = EXIT_CODES):
        p = sub.add_parser(
            name,
            help=help,
            description=textwrap.fill(description, 79),
            epilog=epilog,
            formatter_class=fmt,
        )
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or messages")
        return p

    demo = command(
        "demo",
        "simulate a cohort, fit ShaReD, write a report",
        "Simulate a cohort with known ground truth (two conditions), choose the rank and ridge "
        "by cross-validation on all but one session, map the last one as a new animal, compute "
        "the encoding map, bootstrap bands and condition comparison, and write a report.",
    )
    demo.add_argument(
        "--out", default="sharedrep-demo", help="output folder (default: %(default)s)"
    )
    demo.add_argument("--sessions", type=int, default=6, help="sessions to simulate (default: 6)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.set_defaults(run=_demo)

    sim = command(
        "simulate",
        "write a simulated cohort as a folder of session files",
        "Simulate a cohort that shares a known representation and write one .npz session file "
        "per session (the layout read by sharedrep fit and sr.load_cohort), the ground truth "
        "(truth.json) and a configuration to fit it (fit.toml).",
    )
    sim.add_argument("out", help="output folder")
    sim.add_argument("--sessions", type=int, default=6, help="number of sessions (default: 6)")
    sim.add_argument(
        "--samples", type=int, default=3000, help="samples per session (default: 3000)"
    )
    sim.add_argument("--neurons", type=int, default=40, help="neurons per session (default: 40)")
    sim.add_argument("--features", type=int, default=4, help="behavioral variables (default: 4)")
    sim.add_argument(
        "--components", type=int, default=3, help="true shared components (default: 3)"
    )
    sim.add_argument(
        "--snr", type=float, default=0.25, help="signal/noise variance (default: 0.25)"
    )
    sim.add_argument(
        "--conditions",
        default="",
        help="comma-separated condition labels assigned to sessions in turn, e.g. naive,expert",
    )
    sim.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    sim.add_argument(
        "--force", action="store_true", help="replace .npz files already in the folder"
    )
    sim.add_argument(
        "--lever",
        action="store_true",
        help="simulate the lever-push study instead (thalamic axons and M1 neurons with "
        "neuron_info, an optogenetic tag, naive/expert or --days); the configuration runs "
        "groups, populations and days",
    )
    sim.add_argument("--mice", type=int, default=4, help="--lever: mice (default: 4)")
    sim.add_argument("--days", type=int, default=None, help="--lever: days 1..N per mouse")
    sim.set_defaults(run=_simulate)

    fit = command(
        "fit",
        "fit ShaReD as a TOML configuration says; write model, tables and report",
        "Read the sessions, choose the rank and ridge by cross-validation over whole segments, "
        "refit, compute the encoding map (null_size > 0), bootstrap bands (bootstrap > 0) and "
        "the condition comparison (when sessions have two or more conditions), and write "
        "model.npz, tables/*.csv, figures/*.png and index.html to the output folder.",
        epilog="configuration keys (TOML; relative paths are relative to the file):\n"
        + keys_help()
        + '\n\nexample:\n  folder = "sessions"\n  variables = ["hand_x", "hand_y"]\n'
        "  lags = {min = -5, max = 5}\n  ranks = [1, 2, 3, 4, 5]\n  alphas = [1.0, 100.0]\n"
        '  folds = 5\n  null_size = 1000\n  output = "results"\n\n'
        'example data instead of a folder (downloaded once):  dataset = "reaching"\n\n'
        + EXIT_CODES,
    )
    fit.add_argument("config", help="TOML configuration file (e.g. FOLDER/fit.toml)")
    fit.add_argument("--out", help="output folder (overrides the configuration's 'output')")
    fit.set_defaults(run=_fit)

    rep = command(
        "report",
        "write the report of a saved model on sessions",
        "Load a model file (written by sharedrep fit or model.save) and sessions, compute the "
        "encoding map, bootstrap bands and condition comparison, and write a report. Sessions "
        "unknown to the model get a readout fitted (W unchanged). With --config, the data are "
        "prepared as that fit configuration says (variables, rescale, conditions); without "
        "it, the files are used as they are. The R² per session is in-sample; how the rank "
        "and ridge were chosen, and their held-out R², come from the cross-validation of "
        "sharedrep fit, kept in the model file. Model files in a data folder are left out.",
    )
    rep.add_argument("model", help="model file (model.npz)")
    rep.add_argument(
        "data", nargs="*", help="session files or folders of them (default: --config's)"
    )
    rep.add_argument(
        "--config",
        help="the fit's TOML configuration: its sessions, variables, rescale and conditions "
        "prepare the data as the fit did",
    )
    rep.add_argument(
        "--out", default="sharedrep-report", help="output folder (default: %(default)s)"
    )
    rep.add_argument("--null-size", type=int, default=1000, help="encoding-map null size; 0 skips")
    rep.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples; 0 skips")
    rep.add_argument("--permutations", type=int, default=1000, help="condition permutations")
    rep.add_argument("--folds", type=int, default=5, help="folds of the held-out R² (default: 5)")
    rep.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    rep.add_argument("--title", default="ShaReD analysis", help="report title")
    rep.add_argument(
        "--nan-policy",
        choices=("raise", "omit"),
        default=None,
        help="NaN/inf in the data: raise an error, or omit those samples (default: the "
        "configuration's nan_policy, else raise)",
    )
    rep.set_defaults(run=_report)

    info = command(
        "info", "versions of sharedrep and its dependencies", "Print versions (for bug reports)."
    )
    info.set_defaults(run=_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sharedrep`` command; returns the exit code."""
    from ..config import ConfigError
    from ..errors import DataError

    args = build_parser().parse_args(argv)
    config = getattr(args, "config", None)
    console = _Console(args.command, getattr(args, "quiet", False), config)
    user_errors = (
        ConfigError,
        DataError,
        FileNotFoundError,
        FileExistsError,
        IsADirectoryError,
        PermissionError,
        ValueError,
        KeyError,
        OSError,  # I/O failures: full disk, read-only folder, a file in the way, ...
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = console.warning
            return args.run(args, console)
    except user_errors as err:
        text = err.args[0] if isinstance(err, KeyError) and err.args else _message(err)
        text = " ".join(str(text).split())  # one line, whatever the message
        text = _cli_terms(text, console.config)
        print(f"sharedrep {args.command}: error: {text}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"sharedrep {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # a bug: say so, with the traceback for the report
        traceback.print_exc()
        print(
            f"sharedrep {args.command}: internal error ({type(err).__name__}: {err}); "
            "please report it with the output of 'sharedrep info'",
            file=sys.stderr,
        )
        return EXIT_FAILURE


def _message(err: BaseException) -> str:
    """An error's message; an OSError's as "cause: file" rather than "[Errno 28] ...: 'file'"."""
    if isinstance(err, OSError) and type(err).__str__ is OSError.__str__ and err.strerror:
        where = f": {err.filename}" if err.filename else ""
        return f"{err.strerror}{where}"
    return str(err)
