"""Command line: ``sharedrep <command>``.

Commands: ``demo`` (simulate, fit, report), ``simulate`` (write a folder of session files),
``fit`` (a TOML configuration: cross-validation, model, statistics, report), ``report`` (a
report of a saved model on sessions), ``info`` (versions). ``sharedrep <command> --help``
documents each.

Exit codes (stable, for scripts): 0 success; 1 unexpected failure (a bug: the traceback is
printed); 2 a user mistake (bad arguments, configuration, data or model file), with a one-line
message on stderr that names the argument, key, file or session; 130 interrupted (Ctrl-C).
Progress bars go to stderr, only when it is a terminal and ``--quiet`` is not given.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EXIT_CODES = """exit codes:
  0    success
  1    unexpected failure (a bug; the traceback is printed)
  2    user mistake: bad arguments, configuration, data or model file (one-line message)
  130  interrupted"""


# -- output helpers -----------------------------------------------------------------------------
class _Console:
    """Messages on stdout, progress bars and warnings on stderr; ``quiet`` silences both."""

    def __init__(self, command: str, quiet: bool) -> None:
        self.command = command
        self.quiet = quiet
        self._shown: set[str] = set()

    def say(self, text: str = "") -> None:
        if not self.quiet:
            self._write(text, sys.stdout)

    def result(self, text: str) -> None:
        """Printed even with ``--quiet`` (where the outputs are)."""
        self._write(text, sys.stdout)

    def _write(self, text: str, file: Any) -> None:
        from tqdm import tqdm

        tqdm.write(text, file=file)  # does not break a progress bar that is being drawn

    def bar(self, total: int, desc: str, unit: str = "step") -> Any:
        from tqdm import tqdm

        # steps take unequal times: their rate and ETA would mislead, elapsed time does not
        fmt = "{desc:<22}{bar:30} {n_fmt}/{total_fmt} steps [{elapsed}]" if unit == "step" else None
        # disable=None: drawn only when stderr is a terminal (no bars in logs or pipes)
        return tqdm(
            total=total,
            desc=desc,
            unit=unit,
            bar_format=fmt,
            disable=True if self.quiet else None,
            file=sys.stderr,
            leave=False,
            dynamic_ncols=True,
        )

    def warning(self, message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        """``warnings.showwarning`` replacement: one line, naming the command."""
        from tqdm import tqdm

        name = getattr(category, "__name__", "Warning")
        tag = "warning" if name in ("SharedRepWarning", "UserWarning") else name
        line = f"sharedrep {self.command}: {tag}: {message}"
        if line in self._shown:  # the same finding, met again in another fold or resample
            return
        self._shown.add(line)
        tqdm.write(line, file=sys.stderr)


class _Steps:
    """A progress bar over the named steps of a command (one tick per step)."""

    def __init__(self, console: _Console, steps: Sequence[str]) -> None:
        self.console = console
        self.bar = console.bar(len(steps), steps[0] if steps else "")
        self.t0 = time.perf_counter()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.bar.set_description(name)
        t = time.perf_counter()
        yield
        self.bar.update(1)
        self.console.say(f"  {name}: {time.perf_counter() - t:.1f} s")

    def close(self) -> None:
        self.bar.close()


# -- data ---------------------------------------------------------------------------------------
def _read_sessions(files: Sequence[Path], console: _Console, nwb: dict[str, Any] | None = None):
    """Read session files (one session each, named by file stem) with a progress bar."""
    from .io import read_npz, read_nwb

    sessions = []
    bar = console.bar(len(files), "reading sessions", unit="file")
    for f in files:
        bar.set_postfix_str(f.name)
        if f.suffix.lower() == ".nwb":
            sessions.append(read_nwb(f, **dict(nwb or {})))
        else:
            sessions.append(read_npz(f))
        bar.update(1)
    bar.close()
    return sessions


def _select(
    sessions_in: Sequence[Any],
    variables: Sequence[str] | None,
    conditions: dict[str, str],
    source: str,
    rescale: dict[str, float] | None = None,
):
    """Keep the named behavioral variables (in that order), rescale, set condition labels."""
    import pandas as pd

    from .data import Cohort, Session
    from .errors import DataError

    rescale = dict(rescale or {})
    names = [s.name for s in sessions_in]
    for key, table in (("conditions", conditions), ("rescale", rescale)):
        unknown = sorted(set(table) - set(names))
        if unknown:
            raise DataError(
                f"{source}: key '{key}': no session named {unknown}; sessions are {names}"
            )
    sessions = []
    for s in sessions_in:
        factor = rescale.get(s.name, 1.0)
        if (variables is not None and tuple(variables) != s.feature_names) or factor != 1.0:
            variables_s = list(s.feature_names) if variables is None else list(variables)
            missing = [v for v in variables_s if v not in s.feature_names]
            if missing:
                raise DataError(
                    f"{source}: session {s.name!r} lacks behavioral variables {missing} "
                    f"(asked for {variables_s}; it has {list(s.feature_names)})"
                )
            idx = [s.feature_names.index(v) for v in variables_s]
            values = np.asarray(s.behavior, dtype=float)[:, idx] * factor
            behavior = (
                pd.DataFrame(values, index=s.time, columns=variables_s)
                if s.time is not None
                else values
            )
            s = Session(
                behavior,
                s.neural,
                s.segments,
                name=s.name,
                subject=s.subject,
                condition=s.condition,
                feature_names=variables_s,
                neuron_names=s.neuron_names,
                rate=s.rate,
                metadata=s.metadata,
                neuron_info=s.neuron_info,
                nan_policy=s.nan_policy,
            )
        if s.name in conditions:
            s = s.replace(condition=conditions[s.name])
        sessions.append(s)
    return Cohort(sessions)


def _data_files(paths: Sequence[str]) -> list[Path]:
    """Session files from command-line arguments: files, or folders of ``*.npz``/``*.nwb``."""
    from .errors import DataError
    from .io.folder import _session_files

    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = _session_files(p)
            if not found:
                raise DataError(f"{p}: no session files (*.npz, *.nwb) in this folder")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"no file or folder at {p}")
    return files


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
    n_boot: int,
    n_perm: int,
    seed: int,
) -> tuple[Any, Any, Any]:
    """Encoding map, bootstrap bands and condition comparison, each when it applies."""
    from .inference import bootstrap_loadings, compare_conditions, encoding_map

    encoding = boot = comparison = None
    if null_size:
        with steps.step("encoding map"):
            encoding = encoding_map(
                model, cohort, null=null, n_null=null_size, folds=folds, fdr=fdr, seed=seed
            )
    if n_boot and len(cohort) >= 2:
        with steps.step("bootstrap bands"):
            boot = bootstrap_loadings(model, cohort, n_boot=n_boot, seed=seed)
    if _n_conditions(cohort) >= 2 and encoding is not None and n_perm:
        with steps.step("condition comparison"):
            comparison = compare_conditions(
                model, cohort, encoding=encoding, n_perm=n_perm, seed=seed
            )
    return encoding, boot, comparison


def _study(model: Any, cohort: Any, steps: _Steps, cfg: Any, encoding: Any) -> dict[str, Any]:
    """Neuron groups, populations and days, as the configuration's study keys ask."""
    from .errors import DataError
    from .inference import compare_groups, compare_populations, learning_trends

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


def _summary(console: _Console, model: Any, cohort: Any, cv: Any, encoding: Any) -> None:
    """The numbers that matter, as a few lines of text."""
    d, a = model.coef_.shape[1], model.alpha
    if cv is not None:
        row = cv.summary.loc[(d, a)]
        console.say(
            f"Chosen by {cv.n_folds}-fold cross-validation ({cv.rule}): {d} shared components, "
            f"alpha={a:g}; held-out R² = {row['r2']:.3f} ± {row['se']:.3f} (SE over folds)"
        )
        per = cv.scores(d, a).session
        console.say("Held-out R² per session: " + ", ".join(f"{k} {v:.3f}" for k, v in per.items()))
    if encoding is not None:
        frac = encoding.summary()
        console.say(
            f"Neurons encoding the shared representation (q < {encoding.fdr:g}): "
            + ", ".join(f"{k} {100 * v:.0f}%" for k, v in frac["any"].items())
        )
    from .inference import peak_lag
    from .plot import fmt_lag

    pk = peak_lag(model.loadings_)
    unit = "ms" if cohort.rate else "samples"
    scale = 1000.0 / cohort.rate if cohort.rate else 1.0
    console.say(
        f"Peak lag of each component ({unit}, < 0: neurons lead): "
        + ", ".join(fmt_lag(scale * v) for v in pk.to_numpy())
    )


# -- commands -----------------------------------------------------------------------------------
def _demo(args: argparse.Namespace, console: _Console) -> int:
    from . import simulate
    from .reporting import report
    from .selection import ShaReDCV

    if args.sessions < 3:
        raise ValueError(
            f"--sessions must be at least 3 (two to fit, one new), got {args.sessions}"
        )
    out = Path(args.out)
    steps = _Steps(
        console,
        [
            "simulate",
            "cross-validate",
            "new animal",
            "encoding map",
            "bootstrap bands",
            "condition comparison",
            "report",
        ],
    )
    with steps.step("simulate"):
        cohort, truth = simulate.cohort(
            n_sessions=args.sessions, seed=args.seed, conditions=["naive", "expert"]
        )
    train, new = cohort[: len(cohort) - 1], cohort[len(cohort) - 1]
    console.say(f"Simulated {len(cohort)} sessions (seed {args.seed}):")
    console.say(cohort.to_frame().to_string())
    with steps.step("cross-validate"):
        search = ShaReDCV(
            n_components=range(1, 6), alpha=[1.0, 100.0], folds=5, lags=truth.lags
        ).fit(train)
    model, cv = search.best_estimator_, search.cv_results_
    angles = truth.angles(model) if model.coef_.shape[1] == truth.n_components else None
    with steps.step("new animal"):
        model.fit_readout(new)
        held = model.score(new).pooled
    encoding, boot, comparison = _statistics(
        model, train, steps, null_size=200, n_boot=50, n_perm=500, seed=args.seed
    )
    with steps.step("report"):
        path = report(
            model,
            train,
            out,
            cv=cv,
            encoding=encoding,
            comparison=comparison,
            bootstrap=boot,
            title="sharedrep demo: a simulated cohort",
        )
    steps.close()
    console.say("")
    _summary(console, model, train, cv, encoding)
    console.say(f"True number of shared components: {truth.n_components}")
    if angles is not None:
        console.say(
            "Principal angles to the true shared representation (deg): "
            + ", ".join(f"{a:.2f}" for a in angles)
        )
    console.say(
        f"New animal {new.name!r} (readout only, W unchanged): R² = {held:.3f}  "
        f"(noise ceiling {truth.snr / (1 + truth.snr):.3f})"
    )
    console.result(f"Wrote the report {path} and tables in {out / 'tables'}")
    return EXIT_OK


def _simulate(args: argparse.Namespace, console: _Console) -> int:
    from . import simulate
    from .io import write_npz

    conditions = [c for c in args.conditions.split(",") if c] if args.conditions else None
    out = Path(args.out)
    if out.exists() and any(out.glob("*.npz")) and not args.force:
        raise FileExistsError(
            f"{out} already holds .npz files; choose another --out or pass --force to replace them"
        )
    if args.lever:
        return _simulate_lever(args, console, out)
    cohort, truth = simulate.cohort(
        n_sessions=args.sessions,
        n_samples=args.samples,
        n_neurons=args.neurons,
        n_features=args.features,
        n_components=args.components,
        snr=args.snr,
        conditions=conditions,
        seed=args.seed,
    )
    out.mkdir(parents=True, exist_ok=True)
    bar = console.bar(len(cohort), "writing sessions", unit="file")
    for s in cohort:
        write_npz(s, out / f"{s.name}.npz")
        bar.update(1)
    bar.close()
    truth_file = out / "truth.json"
    truth_file.write_text(
        json.dumps(
            {
                "n_components": truth.n_components,
                "lags": truth.lags.tolist(),
                "feature_names": list(truth.feature_names),
                "snr": truth.snr,
                "W": truth.W.tolist(),
                "W_layout": "rows (feature, lag) in feature-major order; behavior units",
            },
            indent=1,
        )
    )
    lags = truth.lags
    config = out / "fit.toml"
    config.write_text(
        "# sharedrep fit configuration for this simulated cohort (see sharedrep fit --help)\n"
        'folder = "."\n'
        f"lags = {{min = {int(lags.min())}, max = {int(lags.max())}}}\n"
        f"ranks = {list(range(1, truth.n_components + 3))}\n"
        "alphas = [1.0, 100.0]\n"
        "folds = 5\n"
        "null_size = 200\n"
        "bootstrap = 50\n"
        'output = "results"\n'
    )
    console.say(cohort.to_frame().to_string())
    console.result(
        f"Wrote {len(cohort)} sessions to {out}, the ground truth to {truth_file} and a "
        f"configuration: run  sharedrep fit {config}"
    )
    return EXIT_OK


def _simulate_lever(args: argparse.Namespace, console: _Console, out: Path) -> int:
    """``sharedrep simulate --lever``: the lever-push study, with neuron metadata and days."""
    from . import simulate
    from .io import write_npz

    cohort, truth = simulate.lever_task(
        n_mice=args.mice, days=args.days, n_trials=(20, 30), n_axons=(20, 40), n_m1=(40, 80),
        seed=args.seed,
    )  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    for s in cohort:
        write_npz(s, out / f"{s.name}.npz")
    lags = truth.lags
    study = (
        'groups = "thalamus_driven"\n'
        "group_where = \"population == 'm1'\"\n"
        'populations = "population"\n'
        'timing_vars = ["lever_pos", "lever_vel"]\n' + ('days = "day"\n' if args.days else "")
    )
    config = out / "fit.toml"
    config.write_text(
        "# sharedrep fit configuration for this simulated lever-push study (sharedrep fit --help)\n"
        'folder = "."\n'
        f"lags = {{min = {int(lags.min())}, max = {int(lags.max())}}}\n"
        f"ranks = [{truth.n_components - 1}, {truth.n_components}, {truth.n_components + 1}]\n"
        "alphas = [1.0, 100.0]\n"
        'null = "segments"\n'
        "null_size = 100\n"
        "bootstrap = 0\n"
        "permutations = 400\n"
        "boot_animals = 400\n" + study + 'output = "results"\n'
    )
    console.say(cohort.to_frame().to_string())
    console.result(
        f"Wrote {len(cohort)} sessions of {args.mice} mice to {out} and a configuration: run  "
        f"sharedrep fit {config}"
    )
    return EXIT_OK


def _fit(args: argparse.Namespace, console: _Console) -> int:
    from .config import read_config
    from .reporting import report
    from .selection import ShaReDCV

    cfg = read_config(args.config, output=args.out)
    steps = _Steps(
        console,
        [
            "read sessions",
            "cross-validate",
            "encoding map",
            "bootstrap bands",
            "condition comparison",
            *(["groups, populations, days"] if cfg.groups or cfg.populations or cfg.days else []),
            "report",
        ],
    )
    with steps.step("read sessions"):
        sessions = _read_sessions(cfg.files, console, cfg.nwb)
        cohort = _select(sessions, cfg.variables, cfg.conditions, str(cfg.source), cfg.rescale)
    console.say(f"{len(cohort)} sessions, behavior {list(cohort.feature_names)}:")
    console.say(cohort.to_frame().to_string())
    with steps.step("cross-validate"):
        search = ShaReDCV(
            n_components=list(cfg.ranks),
            alpha=list(cfg.alphas),
            folds=cfg.folds,
            rule=cfg.rule,
            **cfg.model_params(),
        ).fit(cohort)
    model, cv = search.best_estimator_, search.cv_results_
    encoding, boot, comparison = _statistics(
        model,
        cohort,
        steps,
        null_size=cfg.null_size,
        null=cfg.null,
        fdr=cfg.fdr,
        folds=cfg.folds,
        n_boot=cfg.bootstrap,
        n_perm=cfg.permutations,
        seed=cfg.seed,
    )
    study = _study(model, cohort, steps, cfg, encoding)
    out = cfg.output
    with steps.step("report"):
        path = report(
            model,
            cohort,
            out,
            cv=cv,
            encoding=encoding,
            comparison=comparison,
            bootstrap=boot,
            title=cfg.title,
            **study,
        )
        model_file = model.save(out / "model.npz")
        # a record of the run; its relative paths are those of the original file
        (out / "config.toml").write_text(
            f"# copy of {Path(cfg.source).resolve()} (relative paths are relative to its "
            "folder), used by this fit\n" + Path(cfg.source).read_text(encoding="utf-8"),
            encoding="utf-8",
        )
    steps.close()
    console.say("")
    _summary(console, model, cohort, cv, encoding)
    console.result(
        f"Wrote the model {model_file}, the report {path} and tables in {out / 'tables'}"
    )
    return EXIT_OK


def _report(args: argparse.Namespace, console: _Console) -> int:
    from .persist import load
    from .reporting import report

    cfg = None
    if args.config is not None:
        from .config import read_config

        cfg = read_config(args.config)
    if not args.data and cfg is None:
        raise ValueError("give session files or folders, or --config to read the fit's sessions")
    model = load(args.model)
    steps = _Steps(
        console,
        ["read sessions", "encoding map", "bootstrap bands", "condition comparison", "report"],
    )
    with steps.step("read sessions"):
        files = _data_files(args.data) if args.data else list(cfg.files)
        sessions = _read_sessions(files, console, cfg.nwb if cfg else None)
        # the fit's data preparation (variable order, unit rescaling, condition labels)
        cohort = _select(
            sessions,
            model.feature_names_,
            cfg.conditions if cfg else {},
            str(cfg.source if cfg else args.model),
            cfg.rescale if cfg else None,
        )
    for s in cohort:
        if s.name not in model.session_fits_:
            console.say(
                f"Session {s.name!r} is new to the model: fitting its readout (W unchanged)"
            )
            model.fit_readout(s)
    encoding, boot, comparison = _statistics(
        model,
        cohort,
        steps,
        null_size=args.null_size,
        folds=args.folds,
        n_boot=args.bootstrap,
        n_perm=args.permutations,
        seed=args.seed,
    )
    with steps.step("report"):
        path = report(
            model,
            cohort,
            args.out,
            encoding=encoding,
            comparison=comparison,
            bootstrap=boot,
            title=args.title,
        )
    steps.close()
    console.say("")
    _summary(console, model, cohort, None, encoding)
    console.result(f"Wrote the report {path}")
    return EXIT_OK


def _info(args: argparse.Namespace, console: _Console) -> int:
    import importlib.metadata as md
    import shutil

    def version(pkg: str) -> str:
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return "not installed"

    console.result(f"sharedrep {__version__}")
    console.result(f"python {sys.version.split()[0]}")
    for pkg in ("numpy", "scipy", "pandas", "xarray", "matplotlib", "tqdm", "pynwb", "pynapple"):
        console.result(f"{pkg} {version(pkg)}")
    browser = next(
        (
            shutil.which(b)
            for b in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(b)
        ),
        None,
    )
    console.result(f"headless browser (report test): {browser or 'none'}")
    return EXIT_OK


# -- parser -------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The ``sharedrep`` argument parser."""
    from .config import keys_help

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
        '  folds = 5\n  null_size = 1000\n  output = "results"\n\n' + EXIT_CODES,
    )
    fit.add_argument("config", help="TOML configuration file")
    fit.add_argument("--out", help="output folder (overrides the configuration's 'output')")
    fit.set_defaults(run=_fit)

    rep = command(
        "report",
        "write the report of a saved model on sessions",
        "Load a model file (written by sharedrep fit or model.save) and sessions, compute the "
        "encoding map, bootstrap bands and condition comparison, and write a report. Sessions "
        "unknown to the model get a readout fitted (W unchanged). With --config, the data are "
        "prepared as that fit configuration says (variables, rescale, conditions); without "
        "it, the files are used as they are. The R² shown is in-sample: held-out numbers come "
        "from sharedrep fit.",
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
    rep.set_defaults(run=_report)

    info = command(
        "info", "versions of sharedrep and its dependencies", "Print versions (for bug reports)."
    )
    info.set_defaults(run=_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sharedrep`` command; returns the exit code."""
    from .config import ConfigError
    from .errors import DataError

    args = build_parser().parse_args(argv)
    console = _Console(args.command, getattr(args, "quiet", False))
    user_errors = (
        ConfigError,
        DataError,
        FileNotFoundError,
        FileExistsError,
        IsADirectoryError,
        PermissionError,
        ValueError,
        KeyError,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = console.warning
            return args.run(args, console)
    except user_errors as err:
        text = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        text = " ".join(str(text).split())  # one line, whatever the message
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
