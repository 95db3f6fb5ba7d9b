"""Where the statistics pass runs: in this process (serial) or on a ``dask.distributed`` cluster.

The statistics of a session are sums over its samples, so they split into independent tasks,
one per chunk of rows, whose results add. Every backend runs the same function,
:func:`sharedrep.stats.compute_stats`, on ``(session, row range)`` tasks about one shift per
session; the in-process backend does one pass per session, several sessions at a time in
threads (one BLAS thread each), the dask backend submits
every chunk of every session as a task and sums the results in a tree on the cluster, so only
one :class:`~sharedrep.stats.SessionStats` per session travels back.

``dask`` is an optional dependency (``pip install sharedrep[cluster]``); it is imported only
when a dask backend is asked for.

Examples
--------
>>> import sharedrep as sr
>>> client = sr.use_cluster(n_workers=2)          # doctest: +SKIP
>>> model = sr.ShaReD(3, lags=range(-5, 6)).fit(cohort)   # runs on the cluster  # doctest: +SKIP
>>> client.close()                                 # back to serial             # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np

from ._threads import single_blas_thread
from .data import Cohort, Session
from .errors import SharedRepWarning
from .features import TemporalExpansion
from .folds import cohort_fold_labels
from .stats import SessionStats, Shifts, chunk_ranges, compute_stats, stats_shift

__all__ = [
    "DaskBackend",
    "SerialBackend",
    "cohort_stats",
    "get_backend",
    "use_cluster",
    "use_serial",
]

#: fan-in of the tree that sums chunk statistics on the cluster
TREE_FAN_IN = 8


def _sum_stats(*parts: SessionStats) -> SessionStats:
    """Sum of statistics of one session taken about the same shift."""
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def session_shift_task(
    session: Session, expansion: TemporalExpansion, chunk_size: int | None, drift: int
) -> Shifts:
    """Task: the shifts of a session's sums (reads its first chunk)."""
    return stats_shift(session, expansion, chunk_size=chunk_size, drift=drift)


def chunk_stats_task(
    session: Session,
    expansion: TemporalExpansion,
    rows: tuple[int, int] | None,
    shift: Shifts | None,
    folds: np.ndarray | None,
    n_folds: int | None,
    gram: bool,
    chunk_size: int | None,
    drift: int = 0,
    out: np.ndarray | None = None,
) -> SessionStats:
    """Task: statistics of rows ``[start, stop)`` of a session about its shifts.

    With ``rows`` and ``shift`` None: the whole session in one pass (the serial backend's task),
    its ``phi_phi`` accumulated in ``out`` when given (see :func:`compute_stats`).
    """
    return compute_stats(
        session,
        expansion,
        folds=folds,
        n_folds=n_folds,
        gram=gram,
        chunk_size=chunk_size,
        rows=rows,
        shift=shift,
        drift=drift,
        out=out,
    )


class SerialBackend:
    """Run everything in this process, one session after the other (the default)."""

    name = "serial"

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> list[Any]:
        """``[fn(*args) for args in zip(*iterables)]``, in threads when there are cores to use.

        The tasks (fold fits, null statistics) are independent, so the results are those of
        the plain loop; each thread runs single-threaded BLAS.
        """
        args = list(zip(*iterables, strict=True))
        workers = min(len(args), os.cpu_count() or 1)
        if workers < 2:
            return [fn(*a) for a in args]
        with single_blas_thread(), ThreadPoolExecutor(workers) as pool:
            return list(pool.map(lambda a: fn(*a), args))

    def cohort_stats(
        self,
        cohort: Cohort,
        expansion: TemporalExpansion,
        *,
        folds: Sequence[np.ndarray] | None = None,
        n_folds: int | None = None,
        gram: bool = False,
        chunk_size: int | None = None,
        drift: int = 0,
    ) -> list[SessionStats]:
        """Statistics of every session, one chunked pass each (see :func:`compute_stats`).

        With several sessions and cores, sessions are computed in parallel threads, each with
        single-threaded BLAS: numpy releases the GIL in the products and in the memory-bound
        gathers around them, so both use every core (BLAS threads alone leave the gathers on
        one). Memory is then one chunk per thread.

        The sessions' ``phi_phi`` are slices of one ``(S, K, q, q)`` array, so that a fit that
        owns these statistics standardizes them in place (:func:`~sharedrep.stats.standardize`
        with ``overwrite=True``) instead of copying ``S q^2`` floats. (Keeping one session's
        statistics therefore keeps every session's Grams.)
        """
        whole = partial(
            chunk_stats_task, expansion=expansion, rows=None, shift=None,
            n_folds=n_folds, gram=gram, chunk_size=chunk_size, drift=drift,
        )  # fmt: skip
        labels, n_folds = _fold_args(cohort, folds, n_folds)
        whole = partial(whole, n_folds=n_folds)
        q = expansion.n_columns(len(cohort.feature_names))
        grams = np.empty((len(cohort), 1 if n_folds is None else n_folds, q, q))
        return self.map(lambda s, f, g: whole(s, folds=f, out=g), cohort, labels, grams)

    def __repr__(self) -> str:
        return "SerialBackend()"


class DaskBackend:
    """Run the statistics (and any :meth:`map`) as tasks on a ``dask.distributed`` cluster.

    Parameters
    ----------
    client : distributed.Client
        The cluster to use.
    progress : bool
        Show a progress bar while tasks run (``distributed.progress``: a text bar in a
        terminal, a widget in Jupyter).
    retries : int
        Times a task that *raised* is retried (``Client.submit(retries=...)``). Tasks lost with
        a worker that died are rescheduled by the scheduler whatever this is (up to
        ``distributed.scheduler.allowed-failures`` times).

    Notes
    -----
    Sessions whose arrays are memory-mapped, HDF5 datasets or zarr arrays are sent to workers
    as references (see :func:`sharedrep.sources.portable`): each worker reads its own chunks
    from storage that all workers see. Sessions held in memory are put in the graph once per
    session (recomputable if the worker holding them dies) and fetched by the workers that
    run their chunks.
    """

    name = "dask"

    def __init__(self, client: Any, *, progress: bool = True, retries: int = 0) -> None:
        self.client = client
        self.progress = progress
        self.retries = int(retries)

    def __repr__(self) -> str:
        return f"DaskBackend({self.client!r})"

    # -- running tasks --------------------------------------------------------------------
    def _watch(self, futures: Sequence[Any]) -> None:
        if self.progress and futures:
            from distributed import progress

            progress(futures)

    def _gather(self, futures: list[Any], watch: Sequence[Any] | None = None) -> list[Any]:
        try:
            self._watch(futures if watch is None else watch)
            return self.client.gather(futures)
        except BaseException:
            # one failed task fails the run: do not leave the others computing
            self.client.cancel(list(futures) + list(watch or []))
            raise

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> list[Any]:
        """``fn`` over the zipped arguments, one task each; results in order.

        ``fn`` must be importable on the workers (a module-level function).
        """
        # sessions travel as file references where they can (see sources.portable)
        args = [[_portable_arg(a) for a in it] for it in iterables]
        if not args or not args[0]:
            return []
        # the function goes to the workers once, not inside every task: it may carry the
        # data every task shares (a partial over a cohort's fold statistics, tens of MB)
        [shared_fn] = self.client.scatter([fn], broadcast=True, hash=False)
        futures = self.client.map(
            _call_recording_warnings, [shared_fn] * len(args[0]), *args,
            pure=False, retries=self.retries,
        )  # fmt: skip
        out = []
        for result, caught in self._gather(futures):
            for message, category in caught:  # a worker's warnings, shown here as in process
                warnings.warn(message, category, stacklevel=2)
            out.append(result)
        return out

    def submit_cohort_stats(
        self,
        cohort: Cohort,
        expansion: TemporalExpansion,
        *,
        folds: Sequence[np.ndarray] | None = None,
        n_folds: int | None = None,
        gram: bool = False,
        chunk_size: int | None = None,
        drift: int = 0,
    ) -> tuple[list[Any], list[Any]]:
        """Submit the statistics pass of a cohort; returns futures without waiting.

        Returns
        -------
        totals : list of distributed.Future
            One per session, in cohort order: its :class:`SessionStats` (sum of its chunks).
        chunks : list of distributed.Future
            Every per-chunk task (for progress bars and tests).
        """
        submit = self.client.submit
        totals, chunks = [], []
        labels, n_folds = _fold_args(cohort, folds, n_folds)
        for session, fold_of in zip(cohort, labels, strict=True):
            ref = _portable_session(session)
            if _in_memory(ref):
                # data in the graph once, as a task the scheduler can rerun if its worker dies
                ref = submit(_identity, ref, pure=False, key=f"session-data-{_token()}")
            if fold_of is not None:
                fold_of = submit(_identity, fold_of, pure=False, key=f"folds-{_token()}")
            shift = submit(
                session_shift_task, ref, expansion, chunk_size, drift,
                pure=False, retries=self.retries,
            )  # fmt: skip
            parts = [
                submit(
                    chunk_stats_task,
                    ref,
                    expansion,
                    rows,
                    shift,
                    fold_of,
                    n_folds,
                    gram,
                    chunk_size,
                    drift,
                    pure=False,
                    retries=self.retries,
                )
                for rows in chunk_ranges(session, expansion, chunk_size=chunk_size)
            ]
            chunks.extend(parts)
            level = parts
            while len(level) > 1:  # sum in a tree, on the cluster
                level = [
                    submit(_sum_stats, *level[i : i + TREE_FAN_IN], pure=False)
                    for i in range(0, len(level), TREE_FAN_IN)
                ]
            totals.append(level[0])
        return totals, chunks

    def cohort_stats(
        self,
        cohort: Cohort,
        expansion: TemporalExpansion,
        *,
        folds: Sequence[np.ndarray] | None = None,
        n_folds: int | None = None,
        gram: bool = False,
        chunk_size: int | None = None,
        drift: int = 0,
    ) -> list[SessionStats]:
        """Statistics of every session, computed chunk by chunk on the cluster.

        Equal to :meth:`SerialBackend.cohort_stats` up to the order of floating-point sums.
        """
        totals, chunks = self.submit_cohort_stats(
            cohort, expansion, folds=folds, n_folds=n_folds, gram=gram, chunk_size=chunk_size,
            drift=drift,
        )  # fmt: skip
        stats = self._gather(totals, watch=chunks)
        # names as the cohort gives them (a portable copy may carry the same name anyway)
        return [replace(st, name=s.name) for st, s in zip(stats, cohort, strict=True)]


def _fold_args(
    cohort: Cohort, folds: Sequence[np.ndarray] | None, n_folds: int | None
) -> tuple[list[np.ndarray | None], int | None]:
    """Per-session fold labels and their number: as given, or the default rule's for
    ``n_folds`` folds (see :func:`sharedrep.folds.fold_labels`)."""
    if folds is None:
        if n_folds is None:
            return [None] * len(cohort), None
        return cohort_fold_labels(cohort, int(n_folds)), int(n_folds)
    folds = [np.asarray(f) for f in folds]
    if len(folds) != len(cohort):
        raise ValueError(f"{len(folds)} fold label arrays for {len(cohort)} sessions")
    return folds, int(n_folds) if n_folds is not None else max(int(f.max()) for f in folds) + 1


def _identity(x: Any) -> Any:
    return x


def _call_recording_warnings(fn: Callable[..., Any], *args: Any) -> tuple[Any, list]:
    """Task wrapper: ``fn(*args)`` and the warnings it raised (to re-emit on the client)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args)
    return result, [(str(w.message), w.category) for w in caught]


def _portable_arg(a: Any) -> Any:
    return _portable_session(a) if isinstance(a, Session) else a


def _token() -> str:
    import uuid

    return uuid.uuid4().hex


def _portable_session(session: Session) -> Session:
    """The session with memory-mapped / HDF5 arrays replaced by picklable references."""
    from .sources import portable  # file access stays out of this module's imports

    b, n = portable(session.behavior), portable(session.neural)
    if b is session.behavior and n is session.neural:
        return session
    # the same recording, read through another handle: a fingerprint already computed holds
    return session._copy(behavior=b, neural=n, _fingerprint=session.__dict__.get("_fingerprint"))


def _in_memory(session: Session) -> bool:
    return isinstance(session.behavior, np.ndarray) or isinstance(session.neural, np.ndarray)


# -- choosing a backend --------------------------------------------------------------------
_active: DaskBackend | None = None


def use_cluster(address: Any = None, *, progress: bool = True, **cluster_kwargs: Any) -> Any:
    """Run sharedrep's statistics on a ``dask.distributed`` cluster from now on.

    Every later fit, cross-validation and statistics pass that is not given an explicit
    ``backend`` uses this cluster, until the returned client is closed (or
    :func:`use_serial` is called). Requires ``pip install sharedrep[cluster]``.

    Parameters
    ----------
    address : str, distributed.Client or None
        Scheduler address (``"tcp://host:8786"``), an existing client, or None to start a
        ``LocalCluster`` on this machine.
    progress : bool
        Show a progress bar while the cluster works.
    **cluster_kwargs
        Passed to ``LocalCluster`` when ``address`` is None (``n_workers``,
        ``threads_per_worker``, ``processes``, ``memory_limit``, ...).

    Returns
    -------
    distributed.Client
        Usable as a context manager: leaving the ``with`` block closes it (and a local
        cluster it started) and fits run serially again.
    """
    global _active
    Client = _distributed().Client
    if isinstance(address, Client):
        client = address
    elif address is None:
        client = Client(**cluster_kwargs)  # starts a LocalCluster owned by the client
    else:
        if cluster_kwargs:
            raise TypeError(
                f"cluster keyword arguments {sorted(cluster_kwargs)} only apply to a new "
                "LocalCluster (address=None)"
            )
        client = Client(address)
    _active = DaskBackend(client, progress=progress)
    return client


def use_serial() -> None:
    """Forget the cluster set by :func:`use_cluster`: run in this process again."""
    global _active
    _active = None


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as err:
        raise ImportError(
            "the dask backend needs dask.distributed: pip install 'sharedrep[cluster]'"
        ) from err
    return distributed


def _alive(backend: DaskBackend | None) -> bool:
    return backend is not None and backend.client.status not in ("closing", "closed")


def get_backend(backend: Any = None) -> SerialBackend | DaskBackend:
    """Resolve a ``backend`` argument.

    Parameters
    ----------
    backend : None, "serial", "dask", distributed.Client, or a backend object
        None: the cluster set by :func:`use_cluster` if it is still open, else serial.
        ``"dask"``: that cluster, else the current default dask client, else a new
        ``LocalCluster`` (kept for later fits, as :func:`use_cluster` would).

    Returns
    -------
    SerialBackend or DaskBackend
    """
    global _active
    if isinstance(backend, SerialBackend | DaskBackend):
        return backend
    if backend is None:
        return _active if _alive(_active) else SerialBackend()
    if isinstance(backend, str):
        if backend == "serial":
            return SerialBackend()
        if backend == "dask":
            if _alive(_active):
                return _active
            distributed = _distributed()
            try:
                client = distributed.default_client()
            except ValueError:
                warnings.warn(
                    "backend='dask' with no cluster: starting a LocalCluster on this machine "
                    "(use sharedrep.use_cluster(address) to choose one)",
                    UserWarning,
                    stacklevel=3,
                )
                client = None
            use_cluster(client)
            return _active  # type: ignore[return-value]
        raise ValueError(f"backend must be 'serial', 'dask' or a dask Client, got {backend!r}")
    if hasattr(backend, "submit") and hasattr(backend, "gather"):
        return DaskBackend(backend)
    raise ValueError(f"backend must be 'serial', 'dask' or a dask Client, got {backend!r}")


def cohort_stats(
    cohort: Cohort,
    expansion: TemporalExpansion,
    *,
    folds: Sequence[np.ndarray] | None = None,
    n_folds: int | None = None,
    gram: bool = False,
    chunk_size: int | None = None,
    drift: int = 0,
    backend: Any = None,
) -> list[SessionStats]:
    """Statistics of every session, per fold when ``folds`` are given.

    Parameters
    ----------
    cohort : Cohort
    expansion : TemporalExpansion
    folds : sequence of ndarray of int, optional
        Per session, the fold (block) of each sample (see :func:`sharedrep.folds.fold_labels`).
    n_folds : int, optional
        Number of blocks (default: from the labels). Without ``folds``, the folds of the default
        rule (:func:`sharedrep.folds.fold_labels`, ``split="auto"``).
    gram, chunk_size, drift
        As in :func:`~sharedrep.stats.compute_stats`.
    backend : None, "serial", "dask" or distributed.Client
        Where the pass runs (see :func:`get_backend`); None: the cluster set by
        :func:`use_cluster`, else this process.

    Returns
    -------
    list of SessionStats
        One per session, in cohort order.
    """
    stats = get_backend(backend).cohort_stats(
        cohort, expansion, folds=folds, n_folds=n_folds, gram=gram, chunk_size=chunk_size,
        drift=drift,
    )  # fmt: skip
    for s, st in zip(cohort, stats, strict=True):
        n_out = int(st.omitted.sum())
        if n_out and not s.n_omitted:  # lazy sources: found while reading, said once here
            warnings.warn(
                f"session {s.name!r}: omitting {n_out} of {s.n_samples} samples with NaN or "
                "inf found while reading (nan_policy='omit')",
                SharedRepWarning,
                stacklevel=3,
            )
    return stats
