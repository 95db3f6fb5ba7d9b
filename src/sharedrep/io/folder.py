"""Folders of sessions.

:func:`load_cohort` reads a folder holding **one file per session**, ``*.npz`` and/or ``*.nwb``
(no subfolders), in sorted file-name order, into a :class:`~sharedrep.data.Cohort`. Each
session is named after its file name without the suffix (unique within a folder); the file's
own session id is kept in ``metadata["session_id"]``. All sessions must share their behavioral
feature names and sampling rate; a mismatch is an error naming the files. For example::

    reaching/
        m1_stevenson2011.npz
        s1_area2.npz

Errors about a file (missing module, unknown series name, no overlap in time, mismatched
rates, an unreadable file) are :class:`~sharedrep.errors.DataError` whose message starts with
the file's path and names the missing or inconsistent part."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..data import Cohort, Session
from ..errors import DataError
from .npz import read_npz
from .nwb import read_nwb

_READERS = {".npz": "npz", ".nwb": "nwb"}


def _session_files(folder: Path) -> list[Path]:
    """The session files (``*.npz``, ``*.nwb``) of a folder, in sorted name order."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _READERS and p.is_file())


def load_cohort(
    folder: str | os.PathLike[str],
    *,
    pattern: str | None = None,
    conditions: Mapping[str, str] | None = None,
    nwb: Mapping[str, Any] | None = None,
    nan_policy: str = "raise",
) -> Cohort:
    """Read a folder of sessions, one file per session (layout in the module docstring).

    Parameters
    ----------
    folder : str or path-like
    pattern : str, optional
        Glob of the files to read (default: ``*.npz`` and ``*.nwb``).
    conditions : mapping of str to str, optional
        Condition of each session, by session name (file name without suffix).
    nwb : mapping, optional
        Keyword arguments for :func:`read_nwb` (``behavior``, ``neural``, ``bin_size``, ...).
    nan_policy : {"raise", "omit"}

    Returns
    -------
    Cohort
        Sessions in sorted file-name order.

    Raises
    ------
    DataError
        No session file, a file that cannot be read (named), or sessions whose behavioral
        features or sampling rates differ (the files are named).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder at {folder}")
    if pattern is None:
        files = _session_files(folder)
    else:
        files = sorted(p for p in folder.glob(pattern) if p.is_file())
    if not files:
        raise DataError(f"{folder}: no session files ({pattern or '*.npz, *.nwb'})")
    conditions = dict(conditions or {})
    unknown = sorted(set(conditions) - {p.stem for p in files})
    if unknown:
        raise DataError(f"{folder}: conditions given for sessions without a file: {unknown}")
    sessions = []
    for p in files:
        kind = _READERS.get(p.suffix.lower())
        cond = conditions.get(p.stem)
        if kind == "npz":
            sessions.append(read_npz(p, condition=cond, nan_policy=nan_policy))
        elif kind == "nwb":
            sessions.append(read_nwb(p, condition=cond, nan_policy=nan_policy, **dict(nwb or {})))
        else:
            raise DataError(f"{p}: unknown session file type {p.suffix!r} (use .npz or .nwb)")
    _check_consistent(files, sessions)
    return Cohort(sessions)


def _check_consistent(files: Iterable[Path], sessions: Sequence[Session]) -> None:
    files = list(files)
    ref_file, ref = files[0], sessions[0]
    for f, s in zip(files[1:], sessions[1:], strict=True):
        if s.feature_names != ref.feature_names:
            raise DataError(
                f"{f}: behavioral features {list(s.feature_names)} differ from "
                f"{list(ref.feature_names)} in {ref_file}; every session needs the same ones"
            )
    rates = {str(f): s.rate for f, s in zip(files, sessions, strict=True) if s.rate is not None}
    if len(set(rates.values())) > 1:
        listed = ", ".join(f"{f}: {r:.6g} Hz" for f, r in rates.items())
        raise DataError(
            f"mismatched rates: {listed}; lags are counted in samples, so every session needs "
            "the same sampling rate"
        )
