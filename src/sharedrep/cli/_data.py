"""Sessions for a command: files, folders or a public dataset, prepared as a configuration says."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._console import _Console


# -- data ---------------------------------------------------------------------------------------
def _read_sessions(
    files: Sequence[Path],
    console: _Console,
    nwb: dict[str, Any] | None = None,
    nan_policy: str = "raise",
):
    """Read session files (one session each, named by file stem) with a progress bar."""
    from ..io import read_npz, read_nwb

    sessions = []
    bar = console.bar(len(files), "reading sessions", unit="file")
    for f in files:
        bar.set_postfix_str(f.name)
        if f.suffix.lower() == ".nwb":
            sessions.append(read_nwb(f, nan_policy=nan_policy, **dict(nwb or {})))
        else:
            sessions.append(read_npz(f, nan_policy=nan_policy))
        bar.update(1)
    bar.close()
    return sessions


def _load(cfg: Any, console: _Console) -> list[Any]:
    """The sessions a configuration names: its files, or a public dataset (fetched once)."""
    if cfg.dataset is not None:
        from ..io.datasets import fetch

        options = {k: v for k, v in cfg.dataset.items() if k != "name"}
        console.say(f"Dataset {cfg.dataset['name']!r} (sr.datasets; downloaded on first use)")
        bars = not console.quiet and sys.stderr.isatty()  # no download bars in logs
        return list(fetch(cfg.dataset["name"], progressbar=bars, **options))
    for f in cfg.ignored:
        console.say(f"Not a session (a sharedrep model file, left out): {f}")
    return _read_sessions(cfg.files, console, cfg.nwb, cfg.nan_policy)


def _inputs(config: Path | None, cohort: Any) -> list[str]:
    """Files whose checksums the report lists: the configuration and the sessions' files."""
    files = [str(Path(config).resolve())] if config is not None else []
    files += [str(s.metadata["source_file"]) for s in cohort if s.metadata.get("source_file")]
    return list(dict.fromkeys(files))


@contextmanager
def _cluster(cfg: Any) -> Iterator[None]:
    """Run on the configuration's dask cluster (``backend = "dask"``), if any."""
    if cfg is None or cfg.backend != "dask":
        yield
        return
    from ..backend import use_cluster, use_serial

    cluster = cfg.cluster
    client = (
        use_cluster(cluster) if isinstance(cluster, str) else use_cluster(**dict(cluster or {}))
    )
    try:
        yield
    finally:
        client.close()
        use_serial()


def _select(
    sessions_in: Sequence[Any],
    variables: Sequence[str] | None,
    conditions: dict[str, str],
    source: str,
    rescale: dict[str, float] | None = None,
    covariates: Sequence[str] | None = None,
):
    """Move the named covariates out of the behavior, keep the named behavioral variables (in
    that order), rescale, set condition labels."""
    import numpy as np
    import pandas as pd

    from ..data import Cohort, Session
    from ..errors import DataError

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
        if covariates:
            missing = sorted(set(covariates) - set(s.feature_names))
            if missing:
                raise DataError(
                    f"{source}: key 'covariates': session {s.name!r} has no variables {missing}"
                    f" (it has {list(s.feature_names)})"
                )
            s = s.as_covariates(covariates)
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
                covariates=s.covariates,
                covariate_names=s.covariate_names or None,
                neuron_info=s.neuron_info,
                trial_time=s.trial_time,
                nan_policy=s.nan_policy,
            )
        if s.name in conditions:
            s = s.replace(condition=conditions[s.name])
        sessions.append(s)
    return Cohort(sessions)


def _data_files(paths: Sequence[str], console: _Console | None = None) -> list[Path]:
    """Session files from command-line arguments: files, or folders of ``*.npz``/``*.nwb``.

    Model files (``model.npz`` of a fit written into the data folder) are never sessions: in a
    folder they are left out (and said so), given by name they are an error.
    """
    from ..config import _folder_files, is_model_file
    from ..errors import DataError

    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found, models = _folder_files(p)
            for f in models:
                if console is not None:
                    console.say(f"Not a session (a sharedrep model file, left out): {f}")
            if not found:
                raise DataError(f"{p}: no session files (*.npz, *.nwb) in this folder")
            files.extend(found)
        elif p.is_file():
            if is_model_file(p):
                raise DataError(f"{p}: a sharedrep model file, not a session")
            files.append(p)
        else:
            raise FileNotFoundError(f"no file or folder at {p}")
    return files
