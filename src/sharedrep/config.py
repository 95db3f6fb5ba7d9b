"""The TOML configuration of ``sharedrep fit``: keys, defaults and validation.

A configuration is a TOML file of top-level keys (an example is ``examples/fit.toml``).
Relative paths are relative to the folder of the configuration file. Exactly one of ``folder``,
``files`` and ``dataset`` says where the sessions are; every other key has a default. Model
files (``model.npz`` of an earlier fit) found in ``folder`` are never read as sessions.

Keys
----
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# imported on use (read_config): ``sharedrep --help`` needs only the key table below
_READERS = (".npz", ".nwb")

__all__ = ["KEYS", "ConfigError", "FitConfig", "keys_help", "read_config"]


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


#: every key: (type description, default, meaning). The order is the order of the help text.
KEYS: dict[str, tuple[str, Any, str]] = {
    "folder": (
        "path",
        None,
        "folder holding one session file per session (*.npz, *.nwb), read in name order",
    ),
    "files": ("list of paths", None, "session files (*.npz, *.nwb), instead of folder"),
    "variables": (
        "list of str",
        None,
        "behavioral variables to use, in this order (default: all, as in the files)",
    ),
    "conditions": (
        "table",
        None,
        "condition label per session name, overriding the files' (e.g. {m1 = 'naive'})",
    ),
    "rescale": (
        "table",
        None,
        "factor multiplying a session's behavior, to bring units in line (m to cm: {m1 = 100})",
    ),
    "nwb": (
        "table",
        None,
        "options for reading NWB files: behavior, neural, bin_size, trials, resample",
    ),
    "lags": (
        "list of int or {min, max}",
        {"min": -5, "max": 5},
        "lags in samples (< 0: neural activity leads behavior); {min, max} is inclusive",
    ),
    "n_basis": ("int", None, "raised-cosine basis functions per variable (default: none)"),
    "ranks": (
        "list of int",
        [0, 1, 2, 3, 4, 5, 6],
        "numbers of shared components to try (0: intercepts and nuisance regressors alone, the "
        "null model a shared component must beat)",
    ),
    "alphas": ("list of float", [1.0, 10.0, 100.0, 1000.0], "ridge penalties to try"),
    "folds": ("int", 5, "cross-validation folds (whole segments; >= 2)"),
    "rule": ("str", "1se", "choice of rank and ridge: '1se' (one-standard-error) or 'max'"),
    "objective": ("str", "variance", "'variance' or 'correlation'"),
    "zscore": ("bool", True, "z-score each neuron within its session"),
    "weights": ("str", "equal", "session weights: 'equal', 'neurons' or 'samples'"),
    "null_size": (
        "int",
        1000,
        "circular shifts (or permutations) in the encoding-map null; 0 skips the encoding map",
    ),
    "null": ("str", "circular", "encoding-map null: 'circular' shifts or 'segments'"),
    "fdr": ("float", 0.05, "false discovery rate of the encoding map (Benjamini-Hochberg)"),
    "bootstrap": ("int", 200, "bootstrap resamples of sessions for filter bands; 0 skips"),
    "permutations": (
        "int",
        1000,
        "condition-label permutations of the condition comparison (when >= 2 conditions)",
    ),
    "seed": ("int", 0, "random seed of the bootstrap and permutations"),
    "output": ("path", "sharedrep-out", "output folder: model.npz, tables/, index.html"),
    "title": ("str", "ShaReD analysis", "title of the report"),
}

# -- keys added by issue 13: the Python API's options (one block, so that keys other branches
# -- add elsewhere merge cleanly) -------------------------------------------------------------
KEYS.update(
    {
        "dataset": (
            "str or table",
            None,
            "a public example dataset instead of folder/files, downloaded once and checked by "
            "SHA-256 (sr.datasets): 'reaching' or 'v1_gratings', or a table with options, "
            "e.g. {name = 'v1_gratings', covariates = ['running_speed', 'pupil_z']}",
        ),
        "nan_policy": (
            "str",
            "raise",
            "NaN or inf in the data: 'raise' (an error naming the session) or 'omit' (those "
            "samples are left out, and counted in a warning)",
        ),
        "n_restarts": (
            "int",
            0,
            "extra random starts of the optimiser, the best kept (the objective is not "
            "concave: try 5 when sessions share little)",
        ),
        "backend": (
            "str",
            None,
            "where the statistics run: 'serial' (this process) or 'dask' (the cluster of "
            "'cluster', else a local one); default: 'dask' when cluster is set, else 'serial'",
        ),
        "cluster": (
            "str or table",
            None,
            "a dask cluster: a scheduler address ('tcp://host:8786') or the options of a "
            "local one ({n_workers = 4, threads_per_worker = 1}); needs sharedrep[cluster]",
        ),
    }
)
# -- keys added by issue 10: trial-based recordings (one block) --------------------------------
KEYS.update(
    {
        "edges": (
            "str or table",
            "drop",
            "lag windows that reach beyond a trial: 'drop' (the sample is left out) or 'zero' "
            "(behavior outside the trial counts as no event: for event regressors); per "
            "variable or pattern, e.g. {'grating_*_onset' = 'zero'}",
        ),
        "split": (
            "str",
            "auto",
            "cross-validation folds: 'auto' (trials interleaved over the recording, contiguous "
            "blocks for sessions without trials), 'interleaved' or 'blocks'",
        ),
        "drift": (
            "int",
            0,
            "smooth functions of recording time (cubic B-splines) fitted per session as "
            "nuisance regressors: slow drifts of each neuron's baseline; 0: none",
        ),
        "covariates": (
            "list of str",
            None,
            "behavioral variables to use as private covariates of each session (fitted at lag "
            "0, never part of the shared representation), e.g. ['running_speed', 'pupil_z']",
        ),
    }
)

#: options of each dataset's fetcher that a configuration may set
_DATASET_OPTIONS = {
    "reaching": ("sessions",),
    "v1_gratings": ("mice", "covariates"),
}
#: options of a local dask cluster (distributed.LocalCluster) a configuration may set
_CLUSTER_OPTIONS = ("n_workers", "threads_per_worker", "processes", "memory_limit")

#: the keys that say where the sessions are (exactly one is given)
_SOURCES = ("folder", "files", "dataset")
# -- the study's analyses: neuron groups, populations, days (one block; see _study_options) ----
STUDY_KEYS: dict[str, tuple[str, Any, str]] = {
    "groups": (
        "str or list of str",
        None,
        "neuron_info columns whose groups are compared (compare_groups), e.g. 'thalamus_driven'",
    ),
    "group_where": (
        "str",
        None,
        "query selecting the neurons compared in groups, e.g. \"population == 'm1'\"",
    ),
    "populations": (
        "str",
        None,
        "neuron_info column of populations recorded together, timed (compare_populations)",
    ),
    "days": ("str", None, "session metadata key of the day: trends over days (learning_trends)"),
    "timing_vars": (
        "list of str",
        None,
        "behavioral variables that time populations and days (default: all)",
    ),
    "boot_animals": (
        "int",
        1000,
        "bootstrap resamples of animals for the intervals of groups, populations and days",
    ),
}
KEYS.update(STUDY_KEYS)

#: keys of a fixed set of values (``split`` too: its values are sharedrep.folds.SPLITS)
_CHOICES = {
    "rule": ("1se", "max"),
    "objective": ("variance", "correlation"),
    "weights": ("equal", "neurons", "samples"),
    "null": ("circular", "segments"),
    "nan_policy": ("raise", "omit"),
}
#: integer keys and their smallest value
_AT_LEAST = {
    "folds": 2,
    "null_size": 0,
    "bootstrap": 0,
    "permutations": 0,
    "n_restarts": 0,
    "drift": 0,
    "boot_animals": 10,
}
#: keys holding a non-empty string (or none, for those whose default is none)
_STRINGS = ("output", "title", "group_where", "populations", "days")


def keys_help(width: int = 79) -> str:
    """The key table as plain text (for ``sharedrep fit --help`` and this module's docs)."""
    import textwrap

    lines = []
    for key, (kind, default, meaning) in KEYS.items():
        shown = "required*" if key in _SOURCES else f"default {_toml(default)}"
        lines.append(f"  {key:<14}{kind}; {shown}")
        lines += [f"  {'':<14}{line}" for line in textwrap.wrap(meaning, max(width - 16, 40))]
    lines.append("  * exactly one of folder, files and dataset")
    return "\n".join(lines)


def _toml(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


__doc__ = (__doc__ or "") + "\n::\n\n" + keys_help() + "\n"


@dataclass(frozen=True)
class FitConfig:
    """A validated configuration (paths resolved against the configuration's folder).

    Attributes
    ----------
    source : Path
        The configuration file.
    folder : Path or None
    files : tuple of Path
        Session files (listed from ``folder`` when it is given: ``*.npz`` and ``*.nwb``).
    variables : tuple of str or None
    conditions : dict of str to str
    rescale : dict of str to float
        Behavior scale factor per session name.
    nwb : dict
        Keyword arguments of :func:`sharedrep.io.read_nwb`.
    lags : tuple of int
    n_basis : int or None
    ranks : tuple of int
    alphas : tuple of float
    folds, null_size, bootstrap, permutations, seed : int
    rule, objective, weights, null, title : str
    zscore : bool
    fdr : float
    output : Path
    dataset : dict or None
        ``{"name": ..., **fetcher options}`` when the sessions come from :mod:`sharedrep.datasets`.
    nan_policy : str
    n_restarts : int
    backend : str
        ``"serial"`` or ``"dask"``.
    cluster : str, dict or None
        Scheduler address, or options of a local cluster.
    ignored : tuple of Path
        Files of ``folder`` that look like sessions but are sharedrep model files (not read).
    edges : str or dict
    split : str
    drift : int
    covariates : tuple of str or None
        Trial-based options (see ``sharedrep fit --help``).
    groups : tuple of str
        ``neuron_info`` columns compared by :func:`sharedrep.compare_groups`.
    group_where : str or None
    populations, days : str or None
        Column of populations (:func:`sharedrep.compare_populations`) and metadata key of the
        day (:func:`sharedrep.learning_trends`).
    timing_vars : tuple of str or None
    boot_animals : int
    """

    source: Path
    folder: Path | None
    files: tuple[Path, ...]
    variables: tuple[str, ...] | None
    conditions: dict[str, str]
    rescale: dict[str, float]
    nwb: dict[str, Any]
    lags: tuple[int, ...]
    n_basis: int | None
    ranks: tuple[int, ...]
    alphas: tuple[float, ...]
    folds: int
    rule: str
    objective: str
    zscore: bool
    weights: str
    null_size: int
    null: str
    fdr: float
    bootstrap: int
    permutations: int
    seed: int
    output: Path
    title: str
    # -- issue 13 keys
    dataset: dict[str, Any] | None = None
    nan_policy: str = "raise"
    n_restarts: int = 0
    backend: str = "serial"
    cluster: str | dict[str, Any] | None = None
    ignored: tuple[Path, ...] = ()
    # -- issue 10 keys
    edges: str | dict[str, str] = "drop"
    split: str = "auto"
    drift: int = 0
    covariates: tuple[str, ...] | None = None
    groups: tuple[str, ...] = ()
    group_where: str | None = None
    populations: str | None = None
    days: str | None = None
    timing_vars: tuple[str, ...] | None = None
    boot_animals: int = 1000

    def model_params(self) -> dict[str, Any]:
        """Parameters of :class:`~sharedrep.ShaReD` other than rank and ridge."""
        return {
            "lags": list(self.lags),
            "n_basis": self.n_basis,
            "objective": self.objective,
            "zscore": self.zscore,
            "weights": self.weights,
            "n_restarts": self.n_restarts,
            "edges": self.edges,
            "drift": self.drift,
        }


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def read_config(path: str | os.PathLike[str], *, output: str | None = None) -> FitConfig:
    """Read and validate a ``sharedrep fit`` configuration.

    Parameters
    ----------
    path : str or path-like
        TOML file.
    output : str, optional
        Overrides the ``output`` key (relative to the current folder, like a command-line
        argument).

    Returns
    -------
    FitConfig

    Raises
    ------
    ConfigError
        Unreadable TOML, an unknown key (with the closest known one), a value of the wrong type
        or out of range, both or neither of ``folder`` and ``files``, a folder without session
        files, a file that does not exist. The message starts with the file and names the key.
    """
    path = Path(path)
    src = str(path)
    if path.is_dir():
        hint = path / "fit.toml"
        raise ConfigError(
            f"{src} is a folder; sharedrep fit takes a TOML configuration file"
            + (
                f": did you mean {hint}?"
                if hint.is_file()
                else f' (e.g. {hint} with the line folder = "."; sharedrep fit --help lists '
                "the keys)"
            )
        )
    if not path.is_file():
        raise ConfigError(f"{src}: no such configuration file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{src}: not valid TOML ({err})") from None
    base = path.resolve().parent

    def fail(key: str, what: str) -> ConfigError:
        return ConfigError(f"{src}: key '{key}': {what}")

    for key in raw:
        if key not in KEYS:
            close = difflib.get_close_matches(key, list(KEYS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(
                f"{src}: unknown key '{key}'{hint}; see 'sharedrep fit --help' for the keys"
            )
    cfg = {k: raw.get(k, default) for k, (_, default, _) in KEYS.items()}

    # -- data ---------------------------------------------------------------------------------
    if sum(cfg[k] is not None for k in _SOURCES) != 1:
        raise ConfigError(
            f"{src}: give exactly one of 'folder' (a folder of session files), 'files' "
            "(a list of session files) and 'dataset' (a public example dataset)"
        )
    folder = None
    ignored: tuple[Path, ...] = ()
    if cfg["dataset"] is not None:
        files = ()
    elif cfg["folder"] is not None:
        if not isinstance(cfg["folder"], str):
            raise fail("folder", f"expected a path (string), got {cfg['folder']!r}")
        folder = (base / cfg["folder"]).resolve()
        if not folder.is_dir():
            raise fail("folder", f"no folder at {folder}")
        files, ignored = _folder_files(folder)
        if not files:
            what = " (only sharedrep model files, which are not sessions)" if ignored else ""
            raise fail("folder", f"{folder} holds no session files (*.npz, *.nwb){what}")
    else:
        listed = cfg["files"]
        if not (isinstance(listed, list) and listed and all(isinstance(f, str) for f in listed)):
            raise fail("files", f"expected a non-empty list of paths, got {listed!r}")
        files = tuple((base / f).resolve() for f in listed)
        for f in files:
            if not f.is_file():
                raise fail("files", f"no file at {f}")
            if f.suffix.lower() not in _READERS:
                raise fail("files", f"{f} is not a session file (.npz or .nwb)")
            if is_model_file(f):
                raise fail("files", f"{f} is a sharedrep model file, not a session")
    variables = cfg["variables"]
    if variables is not None:
        if not (
            isinstance(variables, list) and variables and all(isinstance(v, str) for v in variables)
        ):
            raise fail("variables", f"expected a non-empty list of names, got {variables!r}")
        if len(set(variables)) != len(variables):
            raise fail("variables", f"duplicate names in {variables}")
        variables = tuple(variables)
    conditions = cfg["conditions"] or {}
    if not (isinstance(conditions, dict) and all(isinstance(v, str) for v in conditions.values())):
        raise fail("conditions", f"expected a table of session = 'label', got {conditions!r}")

    rescale = cfg["rescale"] or {}
    if not (
        isinstance(rescale, dict)
        and all(_is_num(v) and math.isfinite(v) and v > 0 for v in rescale.values())
    ):
        raise fail("rescale", f"expected a table of session = <positive factor>, got {rescale!r}")
    nwb = cfg["nwb"] or {}
    allowed = ("behavior", "neural", "bin_size", "trials", "resample", "out_of_range")
    if not isinstance(nwb, dict):
        raise fail("nwb", f"expected a table of reading options, got {nwb!r}")
    _check_options(fail, "nwb", nwb, allowed)

    # -- model --------------------------------------------------------------------------------
    lags = cfg["lags"]
    if isinstance(lags, dict):
        extra = set(lags) - {"min", "max"}
        if extra or not all(_is_int(lags.get(k)) for k in ("min", "max")):
            raise fail("lags", f"expected {{min = <int>, max = <int>}}, got {lags!r}")
        if lags["min"] > lags["max"]:
            raise fail("lags", f"min ({lags['min']}) is larger than max ({lags['max']})")
        lags = tuple(range(lags["min"], lags["max"] + 1))
    elif isinstance(lags, list) and lags and all(_is_int(v) for v in lags):
        if len(set(lags)) != len(lags):
            raise fail("lags", f"duplicate lags in {lags}")
        lags = tuple(sorted(lags))
    else:
        raise fail("lags", f"expected a list of integers or {{min, max}}, got {lags!r}")
    n_basis = cfg["n_basis"]
    if n_basis is not None and not (_is_int(n_basis) and 1 <= n_basis <= len(lags)):
        raise fail("n_basis", f"expected an integer in 1..{len(lags)} (the lags), got {n_basis!r}")
    ranks = cfg["ranks"]
    if not (isinstance(ranks, list) and ranks and all(_is_int(r) and r >= 0 for r in ranks)):
        raise fail("ranks", f"expected a non-empty list of integers >= 0, got {ranks!r}")
    alphas = cfg["alphas"]
    if not (isinstance(alphas, list) and alphas and all(_is_num(a) and a >= 0 for a in alphas)):
        raise fail("alphas", f"expected a non-empty list of numbers >= 0, got {alphas!r}")
    for key, values in (("ranks", ranks), ("alphas", [float(a) for a in alphas])):
        if len(set(values)) != len(values):
            raise fail(key, f"duplicate values in {cfg[key]}")
    for key, low in _AT_LEAST.items():
        if not (_is_int(cfg[key]) and cfg[key] >= low):
            raise fail(key, f"expected an integer >= {low}, got {cfg[key]!r}")
    if 0 < cfg["null_size"] < 19:
        raise fail("null_size", f"expected 0 (skip) or at least 19, got {cfg['null_size']}")
    if 0 < cfg["bootstrap"] < 10:
        raise fail("bootstrap", f"expected 0 (skip) or at least 10, got {cfg['bootstrap']}")
    from .folds import SPLITS  # imported on use, like the readers

    for key, choices in {**_CHOICES, "split": SPLITS}.items():
        if cfg[key] not in choices:
            raise fail(key, f"expected one of {list(choices)}, got {cfg[key]!r}")
    if not isinstance(cfg["zscore"], bool):
        raise fail("zscore", f"expected true or false, got {cfg['zscore']!r}")
    if not (_is_num(cfg["fdr"]) and 0 < cfg["fdr"] < 1):
        raise fail("fdr", f"expected a number between 0 and 1, got {cfg['fdr']!r}")
    if not _is_int(cfg["seed"]):
        raise fail("seed", f"expected an integer, got {cfg['seed']!r}")
    for key in _STRINGS:
        optional = KEYS[key][1] is None
        if not (isinstance(cfg[key], str) and cfg[key]) and not (optional and cfg[key] is None):
            raise fail(key, f"expected a non-empty string, got {cfg[key]!r}")
    out = Path(output).resolve() if output is not None else (base / cfg["output"]).resolve()
    extra = _issue13_keys(cfg, fail)
    return FitConfig(
        source=path,
        folder=folder,
        files=files,
        variables=variables,
        conditions=dict(conditions),
        rescale={k: float(v) for k, v in rescale.items()},
        nwb=dict(nwb),
        lags=lags,
        n_basis=n_basis,
        ranks=tuple(sorted(ranks)),
        alphas=tuple(sorted(float(a) for a in alphas)),
        folds=cfg["folds"],
        rule=cfg["rule"],
        objective=cfg["objective"],
        zscore=cfg["zscore"],
        weights=cfg["weights"],
        null_size=cfg["null_size"],
        null=cfg["null"],
        fdr=float(cfg["fdr"]),
        bootstrap=cfg["bootstrap"],
        permutations=cfg["permutations"],
        seed=cfg["seed"],
        output=out,
        title=cfg["title"],
        ignored=ignored,
        **extra,
        **_study_options(cfg, fail),
    )


def is_model_file(path: str | os.PathLike[str]) -> bool:
    """Whether a ``.npz`` file is a sharedrep model file (it has the model header member).

    Reads only the archive's table of contents, so listing a folder stays cheap.
    """
    from .persist import _HEADER  # imported on use, like the readers

    path = Path(path)
    if path.suffix.lower() != ".npz":
        return False
    try:
        with zipfile.ZipFile(path) as z:
            return f"{_HEADER}.npy" in z.namelist()  # np.savez names a member <key>.npy
    except (zipfile.BadZipFile, OSError):
        return False  # not a readable archive: the reader will say what is wrong with it


def _folder_files(folder: Path) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """The session files of a folder (``*.npz``, ``*.nwb``, in name order) and, apart, the
    sharedrep model files among them (a fit's ``model.npz``), which are never sessions."""
    from .io.folder import _session_files

    found = _session_files(folder)
    models = tuple(f for f in found if is_model_file(f))
    return tuple(f for f in found if f not in models), models


def _check_options(
    fail: Any,
    key: str,
    given: Any,
    allowed: Any,
    what: str = "options",
    *,
    also: tuple[str, ...] = (),
    of: str = "",
) -> None:
    """Refuse the entries of the table ``given`` that are neither ``allowed`` nor ``also``."""
    unknown = sorted(set(given) - {*allowed, *also})
    if unknown:
        raise fail(key, f"unknown {what} {unknown}{of}; allowed: {list(allowed)}")


def _issue13_keys(cfg: dict[str, Any], fail: Any) -> dict[str, Any]:
    """Validate the keys of the issue-13 block; returns FitConfig fields."""
    dataset = cfg["dataset"]
    if dataset is not None:
        from .io.datasets import DATASETS

        if isinstance(dataset, str):
            dataset = {"name": dataset}
        if not isinstance(dataset, dict) or not isinstance(dataset.get("name"), str):
            raise fail("dataset", f"expected a name or a table with 'name', got {dataset!r}")
        name = dataset["name"]
        if name not in DATASETS:
            raise fail("dataset", f"unknown dataset {name!r}; datasets: {sorted(DATASETS)}")
        _check_options(
            fail, "dataset", dataset, _DATASET_OPTIONS[name], also=("name",), of=f" for {name!r}"
        )
        for key, value in dataset.items():
            if key != "name" and not (
                isinstance(value, str)
                or (isinstance(value, list) and all(isinstance(v, str) for v in value))
            ):
                raise fail("dataset", f"option {key!r}: expected a name or a list of names")
        dataset = dict(dataset)
    cluster = cfg["cluster"]
    if cluster is not None:
        if isinstance(cluster, dict):
            _check_options(fail, "cluster", cluster, _CLUSTER_OPTIONS, "local-cluster options")
        elif not (isinstance(cluster, str) and cluster):
            raise fail(
                "cluster", f"expected a scheduler address or a table of options, got {cluster!r}"
            )
    backend = cfg["backend"]
    if backend is None:
        backend = "dask" if cluster is not None else "serial"
    if backend not in ("serial", "dask"):
        raise fail("backend", f"expected one of ['serial', 'dask'], got {backend!r}")
    if backend == "serial" and cluster is not None:
        raise fail("backend", "'serial' with a 'cluster': remove one of them")
    return {
        **_trial_keys(cfg, fail),
        "dataset": dataset,
        "nan_policy": cfg["nan_policy"],
        "n_restarts": cfg["n_restarts"],
        "backend": backend,
        "cluster": cluster,
    }


def _trial_keys(cfg: dict[str, Any], fail: Any) -> dict[str, Any]:
    """Validate the keys of the issue-10 block (trial-based recordings); FitConfig fields."""
    from .features import EDGES

    edges = cfg["edges"]
    if isinstance(edges, dict):
        bad = {k: v for k, v in edges.items() if v not in EDGES}
        if bad:
            raise fail("edges", f"each variable's rule must be one of {list(EDGES)}, got {bad}")
    elif edges not in EDGES:
        raise fail("edges", f"expected one of {list(EDGES)} or a table of them, got {edges!r}")
    covariates = cfg["covariates"]
    if covariates is not None:
        if not (isinstance(covariates, list) and all(isinstance(c, str) for c in covariates)):
            raise fail("covariates", f"expected a list of variable names, got {covariates!r}")
        overlap = sorted(set(covariates) & set(cfg["variables"] or ()))
        if overlap:
            raise fail(
                "covariates",
                f"{overlap} are also in 'variables': a variable is either shared behavior or "
                "a private covariate",
            )
        covariates = tuple(covariates)
    return {
        "edges": dict(edges) if isinstance(edges, dict) else edges,
        "split": cfg["split"],
        "drift": cfg["drift"],
        "covariates": covariates,
    }


def _study_options(cfg: dict[str, Any], fail: Any) -> dict[str, Any]:
    """The validated study keys (groups, group_where, populations, days, timing_vars)."""
    groups = cfg["groups"]
    if isinstance(groups, str):
        groups = [groups]
    if groups is not None and not (
        isinstance(groups, list) and groups and all(isinstance(g, str) and g for g in groups)
    ):
        raise fail("groups", f"expected a column name or a list of them, got {cfg['groups']!r}")
    features = cfg["timing_vars"]
    if features is not None and not (
        isinstance(features, list) and features and all(isinstance(f, str) for f in features)
    ):
        raise fail("timing_vars", f"expected a list of variable names, got {features!r}")
    return {
        "groups": tuple(groups or ()),
        "group_where": cfg["group_where"],
        "populations": cfg["populations"],
        "days": cfg["days"],
        "timing_vars": None if features is None else tuple(features),
        "boot_animals": cfg["boot_animals"],
    }
