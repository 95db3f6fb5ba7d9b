"""The commands: demo, simulate, fit, report, info."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ._analysis import _statistics, _study, _summary
from ._console import EXIT_OK, _Console, _Steps
from ._data import _cluster, _data_files, _inputs, _load, _read_sessions, _select
from ._output import check_writable, output_folder


# -- commands -----------------------------------------------------------------------------------
def _demo(args: argparse.Namespace, console: _Console) -> int:
    if args.sessions < 3:
        raise ValueError(
            f"--sessions must be at least 3 (two to fit, one new), got {args.sessions}"
        )
    out = Path(args.out)
    with output_folder(out, "demo") as staging:
        return _demo_run(args, console, out, staging)


def _demo_run(args: argparse.Namespace, console: _Console, out: Path, staging: Path) -> int:
    from .. import simulate
    from ..reporting import report
    from ..selection import ShaReDCV

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
    ceiling = truth.snr / (1 + truth.snr)
    with steps.step("report"):
        report(
            model,
            train,
            staging,
            cv=cv,
            encoding=encoding,
            comparison=comparison,
            bootstrap=boot,
            title="sharedrep demo: a simulated cohort",
            warnings=console.warnings_,
            noise_ceiling=ceiling,
        )
    steps.close()
    console.say("")
    _summary(console, model, train, cv, encoding, boot)
    console.say(f"True number of shared components: {truth.n_components}")
    if angles is not None:
        console.say(
            "Principal angles to the true shared representation (deg): "
            + ", ".join(f"{a:.2f}" for a in angles)
        )
    console.say(
        f"New animal {new.name!r} (readout only, W unchanged): R² = {held:.3f}  "
        f"(noise ceiling {ceiling:.3f})"
    )
    console.result(f"Wrote the report {out / 'index.html'} and tables in {out / 'tables'}")
    return EXIT_OK


def _simulate(args: argparse.Namespace, console: _Console) -> int:
    from .. import simulate
    from ..io import write_npz

    conditions = [c for c in args.conditions.split(",") if c] if args.conditions else None
    out = Path(args.out)
    if out.exists() and any(out.glob("*.npz")) and not args.force:
        raise FileExistsError(
            f"{out} already holds .npz files; choose another --out or pass --force to replace them"
        )
    check_writable(out)  # before simulating: a read-only or full folder fails now
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
    from .. import simulate
    from ..io import write_npz

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
    from ..config import read_config

    cfg = read_config(args.config, output=args.out)
    console.config = str(cfg.source)
    # the output is checked (and locked) before anything is read or computed
    with output_folder(cfg.output, "fit") as staging, _cluster(cfg):
        return _fit_run(cfg, console, staging)


def _fit_run(cfg: Any, console: _Console, staging: Path) -> int:
    from ..reporting import report
    from ..selection import ShaReDCV

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
        sessions = _load(cfg, console)
        cohort = _select(
            sessions, cfg.variables, cfg.conditions, str(cfg.source), cfg.rescale, cfg.covariates
        )
    console.say(f"{len(cohort)} sessions, behavior {list(cohort.feature_names)}:")
    console.say(cohort.to_frame().to_string())
    with steps.step("cross-validate"):
        search = ShaReDCV(
            n_components=list(cfg.ranks),
            alpha=list(cfg.alphas),
            folds=cfg.folds,
            split=cfg.split,
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
        split=cfg.split,
        n_boot=cfg.bootstrap,
        n_perm=cfg.permutations,
        seed=cfg.seed,
    )
    study = _study(model, cohort, steps, cfg, encoding)
    out = cfg.output
    with steps.step("report"):
        report(
            model,
            cohort,
            staging,
            cv=cv,
            encoding=encoding,
            comparison=comparison,
            bootstrap=boot,
            title=cfg.title,
            warnings=console.warnings_,
            inputs=_inputs(cfg.source, cohort),
            **study,
        )
        model.save(staging / "model.npz")
        # a record of the run; its relative paths are those of the original file
        (staging / "config.toml").write_text(
            f"# copy of {Path(cfg.source).resolve()} (relative paths are relative to its "
            "folder), used by this fit\n" + Path(cfg.source).read_text(encoding="utf-8"),
            encoding="utf-8",
        )
    steps.close()
    console.say("")
    _summary(console, model, cohort, cv, encoding, boot)
    console.result(
        f"Wrote the model {out / 'model.npz'}, the report {out / 'index.html'} and tables in "
        f"{out / 'tables'}"
    )
    return EXIT_OK


def _report(args: argparse.Namespace, console: _Console) -> int:
    cfg = None
    if args.config is not None:
        from ..config import read_config

        cfg = read_config(args.config)
        console.config = str(cfg.source)
    if not args.data and cfg is None:
        raise ValueError("give session files or folders, or --config to read the fit's sessions")
    with output_folder(args.out, "report") as staging, _cluster(cfg):
        return _report_run(args, cfg, console, staging)


def _report_run(args: argparse.Namespace, cfg: Any, console: _Console, staging: Path) -> int:
    from ..persist import load
    from ..reporting import report

    model = load(args.model)
    steps = _Steps(
        console,
        ["read sessions", "encoding map", "bootstrap bands", "condition comparison", "report"],
    )
    nan_policy = args.nan_policy or (cfg.nan_policy if cfg else "raise")
    with steps.step("read sessions"):
        if args.data:
            files = _data_files(args.data, console)
            sessions = _read_sessions(files, console, cfg.nwb if cfg else None, nan_policy)
        else:
            sessions = _load(cfg, console)
        # the fit's data preparation (variable order, unit rescaling, condition labels)
        cohort = _select(
            sessions,
            model.feature_names_,
            cfg.conditions if cfg else {},
            str(cfg.source if cfg else args.model),
            cfg.rescale if cfg else None,
            cfg.covariates if cfg else None,
        )
    for s in cohort:
        if s.name not in model.session_fits_:
            console.say(
                f"Session {s.name!r} is new to the model: fitting its readout (W unchanged)"
            )
            model.fit_readout(s)
        elif not model.has_readout_for(s):  # the report's R² is of the readout on these data
            console.say(
                f"Session {s.name!r} is not the recording the model's readout {s.name!r} was "
                "fitted on: fitting its readout on this recording (W unchanged)"
            )
            model.fit_readout(s, replace=True)
    encoding, boot, comparison = _statistics(
        model,
        cohort,
        steps,
        null_size=args.null_size,
        folds=args.folds,
        split=cfg.split if cfg else "auto",
        n_boot=args.bootstrap,
        n_perm=args.permutations,
        seed=args.seed,
    )
    with steps.step("report"):
        report(
            model,
            cohort,
            staging,
            encoding=encoding,
            comparison=comparison,
            bootstrap=boot,
            title=args.title,
            warnings=console.warnings_,
            inputs=[str(Path(args.model).resolve()), *_inputs(cfg.source if cfg else None, cohort)],
        )
    steps.close()
    console.say("")
    _summary(console, model, cohort, None, encoding, boot)
    console.result(f"Wrote the report {Path(args.out) / 'index.html'}")
    return EXIT_OK


def _info(args: argparse.Namespace, console: _Console) -> int:
    import shutil

    from ..reporting import software_versions

    for package, version in software_versions()["version"].items():
        console.result(f"{package} {version}")
    browser = next(
        (
            shutil.which(b)
            for b in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(b)
        ),
        None,
    )
    console.result(f"headless browser (report test): {browser or 'none'}")
    from ..io.datasets import cache_folder

    console.result(f"example-data cache (sr.datasets): {cache_folder()}")
    return EXIT_OK
