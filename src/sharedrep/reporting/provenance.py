"""Provenance of an analysis: its input files (with SHA-256) and every software version."""

from __future__ import annotations

import hashlib
import os
import platform
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..data import Cohort

__all__ = ["input_files", "software_versions"]


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def input_files(
    cohort: Cohort, files: Sequence[str | os.PathLike[str]] | None = None
) -> pd.DataFrame:
    """The input files of an analysis with their size and SHA-256.

    Parameters
    ----------
    cohort : Cohort
        Sessions whose ``metadata["source_file"]`` names the file they were read from (the
        readers and fetchers set it).
    files : sequence of path, optional
        Files to list instead (e.g. the configuration and the session files of a fit).

    Returns
    -------
    pandas.DataFrame
        One row per file: ``file``, ``session`` (when known), ``bytes``, ``sha256`` (``""``
        for a file that no longer exists).
    """
    if files is not None:
        pairs = [(str(f), "") for f in files]
    else:
        pairs = [
            (str(s.metadata["source_file"]), s.name)
            for s in cohort
            if s.metadata.get("source_file")
        ]
    rows = []
    for f, name in dict.fromkeys(pairs):
        p = Path(f)
        ok = p.is_file()
        rows.append(
            {
                "file": f,
                "session": name,
                "bytes": p.stat().st_size if ok else 0,
                "sha256": _sha256_file(p) if ok else "",
            }
        )
    return pd.DataFrame(rows, columns=["file", "session", "bytes", "sha256"])


def software_versions() -> pd.DataFrame:
    """Versions of Python, sharedrep and every dependency (required and optional).

    Returns
    -------
    pandas.DataFrame
        Index ``package``; column ``version`` (``"not installed"`` for a missing optional
        one); the BLAS library numpy uses, as threadpoolctl reports it.
    """
    import importlib.metadata as md

    from .. import __version__

    names = ["numpy", "scipy", "pandas", "xarray", "matplotlib", "tqdm", "threadpoolctl", "pooch"]
    try:
        for req in md.requires("sharedrep") or []:
            extra = re.search(r'extra == "(\w+)"', req)
            if extra and extra.group(1) in ("test", "benchmark"):
                continue
            name = re.match(r"[A-Za-z0-9_.\-]+", req).group(0)
            if name != "sharedrep" and name not in names:
                names.append(name)
    except md.PackageNotFoundError:  # running from a source tree
        pass
    names += [n for n in ("hdmf", "h5py", "distributed", "zarr") if n not in names]
    rows = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "sharedrep": __version__,
    }
    for n in names:
        try:
            rows[n] = md.version(n)
        except md.PackageNotFoundError:
            rows[n] = "not installed"
    try:
        from threadpoolctl import threadpool_info

        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if blas:
            rows["BLAS"] = f"{blas[0].get('internal_api')} {blas[0].get('version')}"
    except Exception:  # threadpoolctl inspects native libraries: never fail a report over it
        pass
    return pd.DataFrame({"version": rows}).rename_axis("package")
