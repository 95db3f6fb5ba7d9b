"""Public example recordings, fetched on demand and checked by SHA-256 (``sr.datasets``).

===========================  ==================================================================
fetcher                      recordings
===========================  ==================================================================
:func:`fetch_reaching`       two monkeys reaching, continuous, 50 ms bins: 171 neurons in
                             motor cortex (M1; Stevenson et al. 2011) and 52 in somatosensory
                             area 2 (Miller lab; Benjamin et al. 2018), hand position and
                             velocity; 2.7 MB, from KordingLab/spykesML
:func:`fetch_v1_gratings`    seven mice, two-photon V1 L2/3, trial-cut: 128 trials x 49
                             samples at 16 Hz (1 s before to 2 s after a drifting grating in
                             one of 8 directions), 18-74 neurons per mouse, running speed and
                             pupil; four GAT3-edited and three control mice (Park et al.
                             2024); 15 MB, from surlab/Park_et_al
===========================  ==================================================================

Each file is downloaded the first time a fetcher asks for it, from its public repository at a
pinned commit (:func:`registry` lists repository, commit, path and SHA-256 of every file), and
checked against its SHA-256 before it is used: a file that fails the check is refused with a
:class:`~sharedrep.errors.SourceError` and never cached. Nothing is downloaded at import, and
nothing is downloaded again once cached. The downloads are done by `pooch
<https://www.fatiando.org/pooch>`_.

Where files live
----------------
The cache is the user's cache folder (``pooch.os_cache("sharedrep")``: ``~/.cache/sharedrep``
on Linux, ``~/Library/Caches/sharedrep`` on macOS), overridden by the ``data_home`` argument or
the ``SHAREDREP_DATA_DIR`` environment variable, in that order. Files are kept under
``<cache>/<source>/<file name>`` (``park_et_al/...``, ``spykesml/...``).

``mirror`` (or ``SHAREDREP_DATA_MIRROR``) replaces the public origin by a base URL that holds
the files in that same layout: ``https://`` for an institutional mirror, or ``file://`` for a
folder on disk (a copy shared in the lab, an offline machine). Mirrored files pass the same
SHA-256 check.

What the fetchers return
------------------------
A :class:`~sharedrep.data.Cohort` read from the ORIGINAL ``.mat`` files, one session per
recording, with the sampling rate, subject, condition, segments (trials) and, in
``session.metadata``: ``source`` (who recorded it), ``citation`` (what to cite), ``license``,
``url``, ``repository``, ``commit``, ``sha256``, ``source_file`` (the cached path), ``session_id``,
``area`` and dataset-specific keys (``direction_deg``: the grating direction of each trial;
``indicator``). Values are exactly those of the original files (nothing is filtered, rescaled or
z-scored here); cite the original authors when you use them.
"""

from __future__ import annotations

import os
import re
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data import Cohort, Session
from ..errors import DataError, SourceError

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

#: environment variable overriding the cache folder
ENV_DATA_DIR = "SHAREDREP_DATA_DIR"
#: environment variable naming a mirror (base URL) of the files, in the cache's layout
ENV_MIRROR = "SHAREDREP_DATA_MIRROR"


@dataclass(frozen=True)
class RemoteFile:
    """One public file: where it comes from and its checksum.

    Attributes
    ----------
    key : str
        ``<source>/<file name>``: its place in the cache and in a mirror.
    dataset : str
        Name of the fetcher's dataset (``"v1_gratings"``, ``"reaching"``).
    session : str
        Name of the session read from it.
    repository : str
        GitHub ``owner/name``.
    commit : str
        Full commit hash the file is pinned to.
    path : str
        Path of the file in the repository.
    sha256 : str
        SHA-256 of the file's bytes (hex).
    """

    key: str
    dataset: str
    session: str
    repository: str
    commit: str
    path: str
    sha256: str

    @property
    def url(self) -> str:
        """The file at its pinned commit (GitHub's raw-content URL)."""
        return f"https://raw.githubusercontent.com/{self.repository}/{self.commit}/{self.path}"


_PARK = ("surlab/Park_et_al", "bdff7ce60297cc5cdcb46687645f43e80f8d719c")
_SPYKES = ("KordingLab/spykesML", "ff2b1830ae07909e5f1a0811445ca3fd5732dc6f")
_V1_FILES = {  # mouse -> (recording, sha256)
    "mrcuts24": (
        "230803_mrcuts24_fov1_grat-000",
        "832214faef26d711bb98f820b1a2d3d5dfcfc412e319a387c128a95c86a43da6",
    ),
    "mrcuts25": (
        "230803_mrcuts25_fov6_grat-000",
        "ed4e01cf205e93791205b3b78bc441b4071847eed8788b3faaeebf50b987416b",
    ),
    "mrcuts26": (
        "230804_mrcuts26_fov5_grat-000",
        "816a21ce2fdb4039fa13e35d0173cf77fad3f5293ea95ef3d90e2614432c38a2",
    ),
    "mrcuts27": (
        "230804_mrcuts27_fov3_grat-000",
        "f0e3910cbd32f90a3f2a5487d3b715acfc0023ef1dbf8c0d3984dea20100f34a",
    ),
    "mrcuts28": (
        "230809_mrcuts28_fov4_grat-000",
        "b3935f05ced3dbd4f47a3035afd877d926a9ec8b149362d278b503ee562bcd18",
    ),
    "mrcuts29": (
        "230810_mrcuts29_fov2_grat-000",
        "f41552cfe0fa95404b7367e21b84bec3edbce2941fc4d3ed4ef80a8f4c867c91",
    ),
    "mrcuts30": (
        "230814_mrcuts30_fov1_grat-000",
        "797a6b9fd9892178717c17172ae2a0d35bf1b6625417acce61d61fc997cc6955",
    ),
}
#: the study's between-animal groups (from the publication; the files do not say)
V1_CONDITIONS = {
    "mrcuts24": "gat3_edited",
    "mrcuts25": "gat3_edited",
    "mrcuts26": "gat3_edited",
    "mrcuts27": "gat3_edited",
    "mrcuts28": "control",
    "mrcuts29": "control",
    "mrcuts30": "control",
}
#: grating directions of the protocol (degrees); one onset regressor each
V1_DIRECTIONS = (0, 45, 90, 135, 180, 225, 270, 315)
#: the two non-stimulus variables, which may be returned as private covariates instead
V1_COVARIATES = ("running_speed", "pupil_z")

_REGISTRY: dict[str, RemoteFile] = {}
for _mouse, (_rec, _sha) in _V1_FILES.items():
    _name = f"{_rec}_data.mat"
    _REGISTRY[f"park_et_al/{_name}"] = RemoteFile(
        f"park_et_al/{_name}", "v1_gratings", _mouse, *_PARK, f"sample-data/glm/{_name}", _sha
    )
for _session, _name, _sha in (
    (
        "m1_stevenson2011",
        "m1_stevenson_2011.mat",
        "cb1af830e34f5094e5c542ad4adfaca66dea05514680940016173b35fa6aad94",
    ),
    (
        "s1_area2",
        "s1_data.mat",
        "f6bbe27135636b944e0b715778dadae41dccf043c26cb880d0191665ca9e7dde",
    ),
):
    _REGISTRY[f"spykesml/{_name}"] = RemoteFile(
        f"spykesml/{_name}", "reaching", _session, *_SPYKES, f"data/{_name}", _sha
    )

_PARK_CITATION = (
    "Park et al. (2024), 'Astrocytic modulation of population encoding in mouse visual cortex "
    "via GABA transporter 3 revealed by multiplexed CRISPR/Cas9 gene editing' (Sur lab, MIT); "
    "code and sample data: https://github.com/surlab/Park_et_al"
)
_REACHING_AUTHORS = {
    "m1_stevenson2011": "Stevenson et al. 2011",
    "s1_area2": "Miller lab S1 area 2 reaching",
}
_REACHING_CITATION = {
    "m1_stevenson2011": (
        "Stevenson IH et al. (2011), 'Statistical assessment of the stability of neural "
        "movement representations', J Neurophysiol 106:764-774; as distributed by Benjamin AS "
        "et al. (2018), Front Comput Neurosci 12:56 (https://github.com/KordingLab/spykesML)"
    ),
    "s1_area2": (
        "Miller lab (Northwestern) S1 area 2 reaching data, as used and distributed by Benjamin "
        "AS et al. (2018), 'Modern machine learning as a benchmark for fitting neural "
        "responses', Front Comput Neurosci 12:56 (https://github.com/KordingLab/spykesML)"
    ),
}
_LICENSE = "MIT (repository license)"


# -- where files live -----------------------------------------------------------------------------
def cache_folder(data_home: str | os.PathLike[str] | None = None) -> Path:
    """The folder the fetchers cache files in.

    Parameters
    ----------
    data_home : str or path-like, optional
        Use this folder. Default: the ``SHAREDREP_DATA_DIR`` environment variable if set,
        else the user's cache folder (``pooch.os_cache("sharedrep")``).

    Returns
    -------
    pathlib.Path
        The folder (not created here).
    """
    if data_home is not None:
        return Path(data_home).expanduser()
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("sharedrep")).expanduser()


def registry() -> Any:
    """Every file the fetchers can download: origin, pinned commit and checksum.

    Returns
    -------
    pandas.DataFrame
        Index ``key`` (``<source>/<file name>``, the file's place in the cache); columns
        ``dataset``, ``session``, ``repository``, ``commit``, ``path``, ``url``, ``sha256``.
    """
    import pandas as pd

    rows = [
        {
            "key": f.key,
            "dataset": f.dataset,
            "session": f.session,
            "repository": f.repository,
            "commit": f.commit,
            "path": f.path,
            "url": f.url,
            "sha256": f.sha256,
        }
        for f in _REGISTRY.values()
    ]
    return pd.DataFrame(rows).set_index("key")


def _copy_local(url: str, output_file: Any, pooch: Any) -> None:
    """A pooch downloader for ``file://`` URLs: copy the file (the SHA-256 check follows)."""
    parsed = urllib.parse.urlparse(url)
    src = Path(urllib.request.url2pathname(parsed.path))
    if not src.is_file():
        raise SourceError(f"the mirror has no file at {src} (from {url})")
    if hasattr(output_file, "write"):
        with open(src, "rb") as f:
            shutil.copyfileobj(f, output_file)
    else:
        shutil.copyfile(src, output_file)


def fetch_file(
    key: str,
    *,
    data_home: str | os.PathLike[str] | None = None,
    mirror: str | None = None,
    progressbar: bool = False,
) -> Path:
    """The local path of one registered file, downloaded and checked if not cached yet.

    Parameters
    ----------
    key : str
        A key of :func:`registry` (``"spykesml/s1_data.mat"``, ...).
    data_home : str or path-like, optional
        Cache folder (see :func:`cache_folder`).
    mirror : str, optional
        Base URL replacing the public origin (``https://...`` or ``file:///...``); the file
        is looked up at ``<mirror>/<key>``. Default: ``SHAREDREP_DATA_MIRROR`` if set.
    progressbar : bool
        Draw a download progress bar (tqdm) on stderr.

    Returns
    -------
    pathlib.Path
        The cached file; its SHA-256 equals the registry's.

    Raises
    ------
    KeyError
        Unknown key.
    SourceError
        The download failed, or the file fails its SHA-256 check (it is then not cached: a
        corrupted download, or a source that changed), or the mirror has no such file.
    """
    if key not in _REGISTRY:
        raise KeyError(f"no registered file {key!r}; known: {sorted(_REGISTRY)}")
    import pooch

    entry = _REGISTRY[key]
    mirror = mirror if mirror is not None else os.environ.get(ENV_MIRROR) or None
    url = f"{mirror.rstrip('/')}/{key}" if mirror else entry.url
    local = url.startswith("file:")
    folder = cache_folder(data_home)
    fetcher = pooch.create(
        path=folder,
        base_url="",
        registry={key: f"sha256:{entry.sha256}"},
        urls={key: url},
        retry_if_failed=0 if local else 2,
    )
    downloader = _copy_local if local else pooch.HTTPDownloader(progressbar=progressbar)
    logger = pooch.get_logger()
    level = logger.level
    if local:  # pooch announces every "download"; a local copy is not worth a line
        logger.setLevel("WARNING")
    try:
        path = fetcher.fetch(key, downloader=downloader)
    except SourceError:
        raise
    except ValueError as err:
        if "hash" not in str(err).lower():
            raise
        found = re.search(r"got '?([0-9a-f]{64})", str(err))
        raise SourceError(
            f"{url}: fails its SHA-256 check (expected {entry.sha256}, got "
            f"{found.group(1) if found else 'another'}); the file was not cached. The download "
            "was corrupted or the source changed: try again, and if it persists check the "
            f"source ({entry.repository} @ {entry.commit[:12]}: {entry.path})"
        ) from None
    except OSError as err:  # requests' errors are OSErrors: no network, HTTP 404, ...
        raise SourceError(
            f"could not download {url} ({type(err).__name__}: {err}); check the connection, or "
            f"set {ENV_MIRROR} to a folder or server holding a copy (file:///path/to/copy)"
        ) from None
    finally:
        logger.setLevel(level)
    return Path(path)


def _source_metadata(entry: RemoteFile, path: Path, authors: str, citation: str) -> dict[str, Any]:
    """Provenance of a session read from ``entry`` (the cached file at ``path``)."""
    return {
        "source": f"{authors}, as distributed in github {entry.repository} {entry.path}",
        "citation": citation,
        "license": _LICENSE,
        "url": entry.url,
        "repository": entry.repository,
        "commit": entry.commit,
        "sha256": entry.sha256,
        "source_file": str(path),
    }


def _select(names: Iterable[str] | None, known: Sequence[str], what: str) -> list[str]:
    if names is None:
        return list(known)
    chosen = [names] if isinstance(names, str) else list(names)
    unknown = [n for n in chosen if n not in known]
    if unknown or not chosen:
        raise ValueError(f"unknown {what} {unknown or chosen}; choose among {list(known)}")
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"{what} listed twice: {chosen}")
    return chosen


def _loadmat(path: Path) -> dict[str, Any]:
    import scipy.io

    try:
        return scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    except Exception as err:  # scipy raises several types for a damaged file
        raise DataError(
            f"{path}: not a readable MATLAB file ({type(err).__name__}: {err})"
        ) from None


# -- V1 gratings (Park et al. 2024) ---------------------------------------------------------------
def fetch_v1_gratings(
    mice: str | Iterable[str] | None = None,
    *,
    covariates: Sequence[str] = (),
    data_home: str | os.PathLike[str] | None = None,
    mirror: str | None = None,
    progressbar: bool = False,
) -> Cohort:
    """Seven mice viewing drifting gratings, two-photon V1 (Park et al. 2024), trial by trial.

    Each session is one mouse: 128 trials x 49 samples at 16 Hz (``dt`` 62.5 ms), each trial
    from 1 s before to 2 s after the onset of a grating drifting in one of 8 directions, back
    to back (trials are windows cut out of a longer recording: time is not continuous between
    them, and the session's segments are the trials). Behavior, in this order:
    ``grating_<deg>_onset`` for deg in 0, 45, ..., 315 (1 at the onset sample, 16 samples into
    each trial, of a trial with that direction; 0 elsewhere), ``running_speed`` and ``pupil_z``
    (as distributed). Neural: z-scored GCaMP fluorescence of each neuron, as distributed
    (float32). Condition: ``"gat3_edited"`` (astrocytic GAT3 knockout: mrcuts24-27) or
    ``"control"`` (mrcuts28-30), a between-animal design.

    Parameters
    ----------
    mice : str or iterable of str, optional
        Mice to read (``"mrcuts24"`` ... ``"mrcuts30"``; default all seven).
    covariates : sequence of {"running_speed", "pupil_z"}
        Return these as private covariates of each session (``Session.covariates``) instead of
        behavior: the shared behavior is then the stimulus onsets, and running and pupil are
        nuisance regressors fitted per mouse.
    data_home : str or path-like, optional
        Cache folder (see :func:`cache_folder`).
    mirror : str, optional
        Base URL of a copy of the files (see :func:`fetch_file`).
    progressbar : bool
        Draw download progress bars.

    Returns
    -------
    Cohort
        Sessions named by mouse, ``rate`` 16 Hz, ``segments`` = trial index (0..127),
        ``trial_time`` (seconds from grating onset, -1..2), ``metadata["direction_deg"]``
        (int, shape (128,)), ``session_id``, ``area``, ``indicator`` and the provenance keys
        of the module documentation.

    Raises
    ------
    SourceError
        A download failed or a file fails its SHA-256 check.
    DataError
        A file does not hold the documented structure (named).

    Examples
    --------
    >>> import sharedrep as sr
    >>> v1 = sr.datasets.fetch_v1_gratings(covariates=("running_speed", "pupil_z"))
    ... # doctest: +SKIP
    >>> v1[0].covariate_names  # doctest: +SKIP
    ('running_speed', 'pupil_z')
    """
    chosen = _select(mice, list(_V1_FILES), "mice")
    cov = _select(covariates, V1_COVARIATES, "covariates") if covariates else []
    sessions = []
    for mouse in chosen:
        rec = _V1_FILES[mouse][0]
        entry = _REGISTRY[f"park_et_al/{rec}_data.mat"]
        path = fetch_file(entry.key, data_home=data_home, mirror=mirror, progressbar=progressbar)
        sessions.append(_read_park(path, entry, mouse, rec, cov))
    return Cohort(sessions)


def _struct_field(struct: Any, name: str, path: Path) -> Any:
    if not hasattr(struct, name):
        fields = list(getattr(struct, "_fieldnames", []))
        raise DataError(f"{path}: struct has no field {name!r} (fields: {fields[:8]} ...)")
    return getattr(struct, name)


def _trials(cell: Any, n_trials: int, n_time: int, what: str, path: Path) -> np.ndarray:
    """A MATLAB 1 x n_trials cell of n_time-sample traces, concatenated: (n_trials * n_time,)."""
    traces = list(np.atleast_1d(cell))
    if len(traces) != n_trials or any(np.shape(tr) != (n_time,) for tr in traces):
        shapes = sorted({np.shape(tr) for tr in traces})
        raise DataError(
            f"{path}: {what} should be {n_trials} traces of {n_time} samples, got "
            f"{len(traces)} traces of shapes {shapes[:3]}"
        )
    return np.concatenate([np.asarray(tr) for tr in traces])


def _read_park(path: Path, entry: RemoteFile, mouse: str, rec: str, cov: list[str]) -> Session:
    """One mouse from its original Park et al. ``.mat`` file (structs ``D``, ``TE``, ``t``)."""
    mat = _loadmat(path)
    missing = [k for k in ("D", "TE", "t") if k not in mat]
    if missing:
        raise DataError(f"{path}: variables {missing} are missing (keys: {sorted(mat)})")
    D, TE = mat["D"], mat["TE"]
    t = np.asarray(mat["t"], dtype=float).ravel()
    direction = np.asarray(_struct_field(TE, "direction", path)).ravel()
    n_trials, n_time = direction.size, t.size
    if int(_struct_field(TE, "nTrials", path)) != n_trials:
        raise DataError(f"{path}: TE.nTrials disagrees with the {n_trials} trial directions")
    dt = float(_struct_field(TE, "dt", path))
    if not np.allclose(np.diff(t), dt, rtol=1e-6, atol=1e-9):
        raise DataError(f"{path}: trial times t are not spaced by TE.dt = {dt} s")
    onset = np.flatnonzero(np.isclose(t, 0.0, atol=1e-9))
    if onset.size != 1:
        raise DataError(f"{path}: trial times t should contain the onset (0 s) once")
    bad = sorted(set(direction.tolist()) - set(V1_DIRECTIONS))
    if bad:
        raise DataError(f"{path}: unexpected grating directions {bad} (protocol: {V1_DIRECTIONS})")
    neurons = sorted(
        (f for f in D._fieldnames if re.fullmatch(r"neuron\d+", f)), key=lambda f: int(f[6:])
    )
    if not neurons:
        raise DataError(f"{path}: struct D holds no neuron<i> fields")
    neural = np.column_stack(
        [_trials(getattr(D, f), n_trials, n_time, f"D.{f}", path) for f in neurons]
    ).astype(np.float32)
    T = n_trials * n_time
    onsets = np.zeros((T, len(V1_DIRECTIONS)))
    rows = np.arange(n_trials) * n_time + int(onset[0])
    onsets[rows, [V1_DIRECTIONS.index(int(d)) for d in direction]] = 1.0
    extra = {
        "running_speed": _trials(
            _struct_field(D, "speed", path), n_trials, n_time, "D.speed", path
        ),
        "pupil_z": _trials(
            _struct_field(D, "pupil_zscore", path), n_trials, n_time, "D.pupil_zscore", path
        ),
    }
    shared = [c for c in V1_COVARIATES if c not in cov]
    behavior = np.column_stack([onsets, *(extra[c].astype(float) for c in shared)])
    names = [f"grating_{d}_onset" for d in V1_DIRECTIONS] + shared
    metadata = {
        "session_id": rec,
        "area": "V1 L2/3",
        "indicator": "GCaMP, z-scored fluorescence (as distributed)",
        "direction_deg": direction.astype(np.int64),
        **_source_metadata(entry, path, "Park et al. 2024 (surlab)", _PARK_CITATION),
    }
    return Session(
        behavior,
        neural,
        np.repeat(np.arange(n_trials), n_time),
        name=mouse,
        subject=mouse,
        condition=V1_CONDITIONS[mouse],
        feature_names=names,
        neuron_names=neurons,
        rate=1.0 / dt,
        metadata=metadata,
        covariates=np.column_stack([extra[c].astype(float) for c in cov]) if cov else None,
        covariate_names=cov or None,
        trial_time=np.tile(t, n_trials),
    )


# -- reaching (spykesML) --------------------------------------------------------------------------
REACHING_SESSIONS = ("m1_stevenson2011", "s1_area2")
REACHING_BIN_S = 0.05


def fetch_reaching(
    sessions: str | Iterable[str] | None = None,
    *,
    data_home: str | os.PathLike[str] | None = None,
    mirror: str | None = None,
    progressbar: bool = False,
) -> Cohort:
    """Two monkeys reaching: motor cortex (M1) and somatosensory area 2, continuous, 50 ms bins.

    ``m1_stevenson2011``: 171 M1 neurons, 15,536 bins (Stevenson et al. 2011).
    ``s1_area2``: 52 area-2 neurons, 35,129 bins (Miller lab; Benjamin et al. 2018). Both as
    distributed in the public repository KordingLab/spykesML. Behavior: ``hand_x``,
    ``hand_y``, ``hand_vx``, ``hand_vy`` (hand position and velocity; the M1 file's third,
    all-zero coordinate is left out); neural: spike counts per bin (float32). The two are
    different animals, areas and labs, and their kinematics are in units about 100x apart
    (as distributed: M1 in metres, area 2 in centimetres); ShaReD's unit-mismatch warning
    flags it, and multiplying the M1 behavior by 100 brings them in line.

    Parameters
    ----------
    sessions : str or iterable of str, optional
        ``"m1_stevenson2011"`` and/or ``"s1_area2"`` (default both).
    data_home : str or path-like, optional
        Cache folder (see :func:`cache_folder`).
    mirror : str, optional
        Base URL of a copy of the files (see :func:`fetch_file`).
    progressbar : bool
        Draw download progress bars.

    Returns
    -------
    Cohort
        Continuous sessions (no segments), ``rate`` 20 Hz; the M1 session keeps the file's
        bin times (``session.time``, seconds).

    Raises
    ------
    SourceError
        A download failed or a file fails its SHA-256 check.
    DataError
        A file does not hold the documented structure (named).
    """
    chosen = _select(sessions, REACHING_SESSIONS, "sessions")
    entries = {f.session: f for f in _REGISTRY.values() if f.dataset == "reaching"}
    out = []
    for name in chosen:
        entry = entries[name]
        path = fetch_file(entry.key, data_home=data_home, mirror=mirror, progressbar=progressbar)
        reader = _read_m1 if name == "m1_stevenson2011" else _read_s1
        out.append(reader(path, entry))
    return Cohort(out)


def _matrix(mat: dict[str, Any], key: str, path: Path, rows: int | None = None) -> np.ndarray:
    if key not in mat:
        raise DataError(f"{path}: variable {key!r} is missing (keys: {sorted(mat)})")
    a = np.asarray(mat[key])
    if a.ndim != 2 or (rows is not None and a.shape[0] < rows):
        raise DataError(f"{path}: {key} has shape {a.shape}, expected a 2-D array")
    return a


_HAND = ["hand_x", "hand_y", "hand_vx", "hand_vy"]


def _read_m1(path: Path, entry: RemoteFile) -> Session:
    """``spikes`` (neurons x bins), ``handPos`` / ``handVel`` (3 x bins), ``time`` (1 x bins)."""
    mat = _loadmat(path)
    spikes = _matrix(mat, "spikes", path)
    pos, vel = _matrix(mat, "handPos", path, 2), _matrix(mat, "handVel", path, 2)
    n = spikes.shape[1]
    if pos.shape[1] != n or vel.shape[1] != n:
        raise DataError(
            f"{path}: spikes has {n} bins but handPos {pos.shape[1]} and handVel {vel.shape[1]}"
        )
    behavior: Any = np.column_stack([pos[0], pos[1], vel[0], vel[1]]).astype(float)
    if "time" in mat:
        time = np.asarray(mat["time"], dtype=float).ravel()
        step = float(np.median(np.diff(time))) if time.size > 1 else REACHING_BIN_S
        if time.size != n or abs(step - REACHING_BIN_S) > 1e-6:
            raise DataError(f"{path}: time has {time.size} bins {step:.6g} s apart")
        import pandas as pd

        behavior = pd.DataFrame(behavior, index=pd.Index(time, name="time"), columns=_HAND)
    return _reaching_session(
        path, entry, behavior, spikes.T, "monkey_M1", "stevenson2011", "M1", _HAND
    )


def _read_s1(path: Path, entry: RemoteFile) -> Session:
    """``spikes`` (bins x neurons), ``pos`` / ``vel`` (bins x 2)."""
    mat = _loadmat(path)
    spikes = _matrix(mat, "spikes", path)
    pos, vel = _matrix(mat, "pos", path), _matrix(mat, "vel", path)
    if not (pos.shape[0] == vel.shape[0] == spikes.shape[0]) or pos.shape[1] != 2:
        raise DataError(
            f"{path}: spikes {spikes.shape}, pos {pos.shape} and vel {vel.shape} disagree"
        )
    behavior = np.column_stack([pos, vel]).astype(float)
    return _reaching_session(
        path, entry, behavior, spikes, "monkey_S1", "area2", "S1 area 2", _HAND
    )


def _reaching_session(
    path: Path,
    entry: RemoteFile,
    behavior: Any,
    spikes: np.ndarray,
    subject: str,
    session_id: str,
    area: str,
    names: list[str],
) -> Session:
    provenance = _source_metadata(
        entry, path, _REACHING_AUTHORS[entry.session], _REACHING_CITATION[entry.session]
    )
    return Session(
        behavior,
        np.ascontiguousarray(spikes, dtype=np.float32),
        name=entry.session,
        subject=subject,
        feature_names=names,
        rate=1.0 / REACHING_BIN_S,
        metadata={"session_id": session_id, "area": area, **provenance},
    )


#: the fetchers by dataset name (``sharedrep fit``'s ``dataset`` key)
DATASETS = {"reaching": fetch_reaching, "v1_gratings": fetch_v1_gratings}


def fetch(name: str, **kwargs: Any) -> Cohort:
    """Fetch a dataset by name: ``fetch("reaching")`` is ``fetch_reaching()``.

    Parameters
    ----------
    name : {"reaching", "v1_gratings"}
    **kwargs
        Arguments of that fetcher.

    Returns
    -------
    Cohort
    """
    if name not in DATASETS:
        raise KeyError(f"no dataset {name!r}; datasets: {sorted(DATASETS)}")
    return DATASETS[name](**kwargs)
