"""Public example recordings as cohorts: ``sr.datasets.fetch_reaching()``, ``fetch_v1_gratings()``.

The fetchers live in :mod:`sharedrep.io.datasets` (with the other readers); this module is the
short name. See there for where files come from, how they are checked and where they are
cached.
"""

from .io.datasets import (
    DATASETS,
    ENV_DATA_DIR,
    ENV_MIRROR,
    RemoteFile,
    cache_folder,
    fetch,
    fetch_file,
    fetch_reaching,
    fetch_v1_gratings,
    registry,
)

__all__ = [
    "DATASETS",
    "ENV_DATA_DIR",
    "ENV_MIRROR",
    "RemoteFile",
    "cache_folder",
    "fetch",
    "fetch_file",
    "fetch_reaching",
    "fetch_v1_gratings",
    "registry",
]
