"""Lazy array sources: recordings read from disk chunk by chunk, never loaded whole.

A source is a 2-D ``(n_samples, n_columns)`` array-like with ``shape``, ``dtype``, ``ndim``
and ``__getitem__``, so :class:`~sharedrep.Session` keeps it by reference and the statistics
pass reads it by row slices (peak memory is set by the chunk size, not the recording length).
Unlike an open ``np.memmap``, ``h5py.Dataset`` or ``zarr.Array``, a source holds no open handle:
it stores where the data are (a path and a dataset name) and opens them for each read. Hence

- it pickles as that reference, so a ``dask.distributed`` worker reads its own chunks straight
  from shared storage instead of receiving the data through the scheduler;
- a file or store that disappears while a fit runs is an error naming the path
  (:class:`~sharedrep.errors.SourceError`), never silently read as zeros (zarr reads missing
  chunks of an open array as its fill value);
- every read checks that the stored array still has the shape and dtype it had when the source
  was opened (a file replaced by a shorter or wider one is named, not read), and a zarr read
  checks that every chunk it touches is stored (a missing chunk file is an error, not rows of
  fill values; ``open_zarr(..., missing_chunks="fill")`` accepts arrays written without their
  empty chunks);
- memory-mapped pages are released after each chunk, so resident memory stays bounded too.

Opening per read costs a file open and a metadata read (well under a millisecond for ``.npy``
and HDF5, about a millisecond for zarr), negligible against a chunk of megabytes.

Examples
--------
>>> import numpy as np, sharedrep as sr, tempfile, os
>>> d = tempfile.mkdtemp()
>>> np.save(os.path.join(d, "x.npy"), np.zeros((1000, 2)))
>>> np.save(os.path.join(d, "y.npy"), np.ones((1000, 30)))
>>> s = sr.Session(sr.open_npy(os.path.join(d, "x.npy")), sr.open_npy(os.path.join(d, "y.npy")))
>>> s.n_samples, s.n_neurons
(1000, 30)
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path
from typing import Any

import numpy as np

from ._dtypes import check_dtype
from .errors import DataError, SourceError

__all__ = [
    "ArraySource",
    "HDF5Source",
    "MemmapSource",
    "ZarrSource",
    "open_hdf5",
    "open_npy",
    "open_zarr",
    "portable",
]


#: what a zarr source does with a chunk absent from its store (see :func:`open_zarr`)
MISSING_CHUNKS = ("raise", "fill")


def _product(ranges: list[range]) -> list[tuple[int, ...]]:
    """Every combination of the ranges' values (``itertools.product`` as a list)."""
    from itertools import product

    return list(product(*ranges))


def _chunk_stored(arr: Any, store: Any, path: str | None, coords: tuple[int, ...]) -> bool:
    """Whether the chunk (or shard) at grid ``coords`` of a zarr array is in its store."""
    meta = getattr(arr, "metadata", None)
    if meta is not None and hasattr(meta, "encode_chunk_key"):  # zarr 3 (formats 2 and 3)
        key = meta.encode_chunk_key(coords)
        if isinstance(store, str):
            return Path(store, path or "", key).exists()
        from zarr.core.sync import sync

        return bool(sync(arr.store_path.store.exists(f"{arr.store_path.path}/{key}".lstrip("/"))))
    key = arr._chunk_key(coords)  # zarr 2
    return key in (arr.chunk_store if arr.chunk_store is not None else arr.store)


class ArraySource:
    """Base class: a 2-D array read lazily from storage, one slice at a time.

    Subclasses implement :meth:`_read` (open, read ``key``, close) and :meth:`_exists`.
    One-dimensional stored arrays are presented as one column ``(n_samples, 1)``.

    Attributes
    ----------
    location : str
        Human-readable location (file and dataset) used in every error message.
    shape : tuple of int
        ``(n_samples, n_columns)``.
    dtype : numpy.dtype
    """

    ndim = 2

    def __init__(self, location: str, shape: tuple[int, ...], dtype: Any) -> None:
        self.location = location
        self.dtype = np.dtype(dtype)
        if len(shape) not in (1, 2):
            raise DataError(f"{location}: expected a 1-D or 2-D array, got shape {tuple(shape)}")
        check_dtype(self.dtype, location)
        self._column = len(shape) == 1
        self._stored = (tuple(int(v) for v in shape), self.dtype)
        self.shape = (int(shape[0]), 1) if self._column else (int(shape[0]), int(shape[1]))

    def _check_unchanged(self, shape: tuple[int, ...], dtype: Any) -> None:
        """Refuse to read an array whose shape or dtype changed since the source was opened."""
        now = (tuple(int(v) for v in shape), np.dtype(dtype))
        if now != self._stored:
            raise SourceError(
                f"{self.location} changed since it was opened: it held shape {self._stored[0]} "
                f"of {self._stored[1]}, it now holds {now[0]} of {now[1]} (the file was "
                "replaced or rewritten); build the session again from the new file"
            )

    def __len__(self) -> int:
        return self.shape[0]

    def _read(self, key: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _exists(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, key: Any) -> np.ndarray:
        """Read ``key`` (row slice, optionally with a column index) into memory."""
        if isinstance(key, tuple):
            if len(key) != 2:
                raise IndexError(f"{self.location}: index with [rows, columns], got {key!r}")
            rows, cols = key
        else:
            rows, cols = key, slice(None)
        try:
            out = np.asarray(self._read(rows))
            vanished = not self._exists()
        except SourceError:
            raise
        except (OSError, KeyError, ValueError) as err:
            raise SourceError(f"cannot read {self.location}: {err}") from err
        if vanished:  # removed while we read: what we got may be fill values, not data
            raise SourceError(f"{self.location} disappeared while it was being read")
        if self._column:
            out = out.reshape((*out.shape, 1))
        return out[:, cols] if out.ndim == 2 else out[cols]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location}, shape={self.shape}, dtype={self.dtype})"


class MemmapSource(ArraySource):
    """A ``.npy`` file, or raw binary with a given dtype, shape and offset, memory-mapped per read.

    Parameters
    ----------
    path : str or Path
        File name.
    dtype, shape : optional
        For raw binary files (no ``.npy`` header); read from the header when omitted.
    offset : int
        Byte offset of the first element in a raw file.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        dtype: Any = None,
        shape: tuple[int, ...] | None = None,
        offset: int = 0,
    ) -> None:
        self.path = str(Path(path).resolve())
        self.offset = int(offset)
        self.raw = dtype is not None
        if self.raw:
            if shape is None:
                raise ValueError(f"{self.path}: a raw memory-mapped file needs its shape")
            dt, shp = np.dtype(dtype), tuple(int(s) for s in shape)
        else:
            try:
                header = np.load(self.path, mmap_mode="r")  # reads the header, maps lazily
            except (OSError, ValueError) as err:
                raise SourceError(f"cannot open {self.path} as a .npy file: {err}") from err
            shp, dt = header.shape, header.dtype
            fortran = not header.flags.c_contiguous
            del header
            if fortran and len(shp) == 2:
                # rows of a Fortran-ordered file are strided across the whole file
                raise DataError(
                    f"{self.path} is stored in Fortran order; a row chunk would touch the "
                    "whole file. Save it C-ordered (np.save(path, np.ascontiguousarray(a)))"
                )
        super().__init__(self.path, shp, dt)
        self._stored_shape = shp

    def _map(self) -> np.memmap:
        if self.raw:
            return np.memmap(
                self.path, dtype=self.dtype, mode="r", shape=self._stored_shape, offset=self.offset
            )
        return np.load(self.path, mmap_mode="r")

    def _read(self, key: Any) -> np.ndarray:
        # a copy, and no reference kept to the map: it is unmapped on return, so its pages
        # leave the resident set and memory stays at one chunk whatever the file size
        mapped = self._map()
        self._check_unchanged(mapped.shape, mapped.dtype)
        return np.array(mapped[key])

    def _exists(self) -> bool:
        return os.path.exists(self.path)


class ZarrSource(ArraySource):
    """A zarr array, reopened for each read.

    Parameters
    ----------
    store : str, Path or zarr store
        The store (a local directory, or anything ``zarr.open_array`` accepts and that pickles).
    path : str, optional
        Array path inside the store (e.g. ``"neural"`` in a group).
    """

    def __init__(
        self, store: Any, path: str | None = None, *, missing_chunks: str = "raise"
    ) -> None:
        if missing_chunks not in MISSING_CHUNKS:
            raise ValueError(
                f"missing_chunks must be one of {MISSING_CHUNKS}, got {missing_chunks!r}"
            )
        self.store = str(Path(store).resolve()) if isinstance(store, str | os.PathLike) else store
        self.path = path
        self.missing_chunks = missing_chunks
        self._where = f"{self.store}" + (f" [{path}]" if path else "")
        arr = self._open()
        super().__init__(f"zarr array {self._where}", arr.shape, arr.dtype)

    def _open(self) -> Any:
        import zarr  # optional dependency: the [cluster] extra

        try:
            return zarr.open_array(store=self.store, path=self.path or "", mode="r")
        except (OSError, KeyError, ValueError) as err:
            # zarr raises FileNotFoundError, or its own *NotFoundError (KeyError/ValueError-like)
            raise SourceError(f"cannot open zarr array {self._where}: {err}") from err
        except Exception as err:
            if "NotFound" in type(err).__name__:
                raise SourceError(f"zarr array {self._where} not found: {err}") from err
            raise

    def _read(self, key: Any) -> np.ndarray:
        arr = self._open()
        self._check_unchanged(arr.shape, arr.dtype)
        if self.missing_chunks == "raise":
            self._check_chunks(arr, key)
        return np.asarray(arr[key])

    def _check_chunks(self, arr: Any, key: Any) -> None:
        """Refuse a read that touches a chunk absent from the store (zarr would fill it)."""
        n = self._stored[0][0]
        grid = getattr(arr, "shards", None) or arr.chunks  # stored objects: shards if sharded
        if isinstance(key, slice):
            rows = range(n)[key]  # lazy: no index array for a long recording
            if not len(rows):
                return
            step = rows.step if rows.step > 0 else -rows.step
            if step == 1:
                lo, hi = min(rows[0], rows[-1]), max(rows[0], rows[-1])
                blocks = list(range(lo // grid[0], hi // grid[0] + 1))
            else:
                blocks = sorted({r // grid[0] for r in rows})
        elif isinstance(key, int | np.integer):
            blocks = [(int(key) % n) // grid[0]] if n else []
        else:
            blocks = np.unique((np.asarray(key, dtype=np.int64) % max(n, 1)) // grid[0]).tolist()
        across = [range(-(-m // c)) for m, c in zip(arr.shape[1:], grid[1:], strict=True)]
        for i in blocks:
            for rest in _product(across):
                coords = (i, *rest)
                if _chunk_stored(arr, self.store, self.path, coords):
                    continue
                lo = i * grid[0]
                hi = min(lo + grid[0], arr.shape[0]) - 1
                raise SourceError(
                    f"{self.location}: chunk {'.'.join(map(str, coords))} (samples {lo}..{hi}) "
                    "is missing from the store, so zarr would read its values as the fill "
                    "value. Restore the store (an interrupted copy?); if the array was written "
                    "without the chunks that hold only the fill value (zarr's "
                    "write_empty_chunks=False), open it with open_zarr(..., missing_chunks='fill')"
                )

    def _exists(self) -> bool:
        if not isinstance(self.store, str):
            return True  # a remote store: zarr.open_array above already checked it
        meta = Path(self.store, self.path or "")
        return (meta / "zarr.json").exists() or (meta / ".zarray").exists()


class HDF5Source(ArraySource):
    """A dataset in an HDF5 file (NWB files are HDF5), opened for each read.

    Parameters
    ----------
    file : str or Path
        HDF5/NWB file.
    dataset : str
        Dataset path inside the file, e.g. ``"acquisition/Position/pos/data"``.
    """

    def __init__(self, file: str | os.PathLike, dataset: str) -> None:
        self.file = str(Path(file).resolve())
        self.dataset = dataset
        location = f"HDF5 dataset {self.file}::{dataset}"
        self.location = location
        ds_shape, ds_dtype = self._with(lambda ds: (ds.shape, ds.dtype))
        super().__init__(location, ds_shape, ds_dtype)

    def _with(self, fn: Any) -> Any:
        import h5py  # optional: the [nwb] / [cluster] extras bring it

        with h5py.File(self.file, "r") as f:
            if self.dataset not in f:
                raise SourceError(f"{self.location}: no dataset {self.dataset!r} in the file")
            return fn(f[self.dataset])

    def _read(self, key: Any) -> np.ndarray:
        def read(ds: Any) -> np.ndarray:
            self._check_unchanged(ds.shape, ds.dtype)
            return ds[key]

        return self._with(read)

    def _exists(self) -> bool:
        return os.path.exists(self.file)


def open_npy(path: str | os.PathLike) -> MemmapSource:
    """Lazily read a C-ordered ``.npy`` file (memory-mapped one chunk at a time).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    MemmapSource
        Shape ``(n_samples, n_columns)``; a 1-D file is one column.
    """
    return MemmapSource(path)


def open_zarr(store: Any, path: str | None = None, *, missing_chunks: str = "raise") -> ZarrSource:
    """Lazily read a zarr array (a local directory store, or any picklable zarr store).

    Parameters
    ----------
    store : str, Path or zarr store
    path : str, optional
        Array inside a group, e.g. ``"neural"``.
    missing_chunks : {"raise", "fill"}
        A chunk absent from the store: ``"raise"`` (default) refuses the read with a
        :class:`~sharedrep.errors.SourceError` naming the chunk and its samples (a store copied
        incompletely would otherwise read as rows of the fill value); ``"fill"`` reads it as
        the fill value, as zarr does, for arrays written without the chunks that hold only the
        fill value (zarr's ``write_empty_chunks=False``, its default since zarr 3).

    Returns
    -------
    ZarrSource
    """
    return ZarrSource(store, path, missing_chunks=missing_chunks)


def open_hdf5(file: Any, dataset: str | None = None) -> HDF5Source:
    """Lazily read an HDF5 (e.g. NWB) dataset.

    Parameters
    ----------
    file : str, Path or h5py.Dataset
        File name, or an open ``h5py.Dataset`` (e.g. ``timeseries.data`` of a pynwb object read
        with ``NWBHDF5IO``), whose file and name are taken.
    dataset : str, optional
        Dataset path inside the file (required with a file name).

    Returns
    -------
    HDF5Source
    """
    if dataset is None:
        if not (hasattr(file, "file") and hasattr(file, "name")):
            raise ValueError("open_hdf5 needs a dataset path, or an h5py.Dataset")
        return HDF5Source(file.file.filename, file.name)
    return HDF5Source(file, dataset)


def portable(a: Any) -> Any:
    """A version of an array that pickles as a reference, when one exists.

    ``np.memmap`` (C-contiguous) becomes a :class:`MemmapSource` and ``h5py.Dataset`` an
    :class:`HDF5Source`; anything else is returned unchanged (in-memory arrays pickle by value,
    zarr arrays pickle as their store).
    """
    if isinstance(a, np.memmap) and getattr(a, "filename", None) and a.flags.c_contiguous:
        buf = a._mmap
        if buf is not None:
            # byte offset of this view in the file: map start + position inside the map
            base = np.frombuffer(buf, dtype=np.uint8)
            start = a.offset - a.offset % mmap.ALLOCATIONGRANULARITY
            offset = start + (a.ctypes.data - base.ctypes.data)
            return MemmapSource(a.filename, dtype=a.dtype, shape=a.shape, offset=offset)
    if type(a).__module__.startswith("h5py") and hasattr(a, "file"):
        return HDF5Source(a.file.filename, a.name)
    return a
