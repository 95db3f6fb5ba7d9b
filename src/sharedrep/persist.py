"""Saving and loading fitted models: a versioned, checksummed, pickle-free file format.

Format (``format_version`` 1)
-----------------------------
A model file is a standard ``.npz`` archive (a zip of ``.npy`` members, readable with
``numpy.load(path, allow_pickle=False)``) holding:

``__header__``
    UTF-8 JSON as a ``uint8`` array: ``format`` (``"sharedrep.model"``), ``format_version``,
    ``model_class`` (``"ShaReD"``), ``sharedrep_version``, ``numpy_version``, ``created``
    (UTC, ISO 8601), ``params`` (``get_params()``), ``state`` (every other attribute of the
    model, learned attributes included) and ``arrays``: for each array member its dtype, shape
    and the SHA-256 of its bytes.
``__header_sha256__``
    SHA-256 of the header bytes (hex, as a ``uint8`` array).
``a0``, ``a1``, ...
    The numeric arrays the header refers to (``{"__type__": "ndarray", "key": "a3"}``).

A model chosen by :class:`~sharedrep.ShaReDCV` has a ``cv_provenance_`` attribute (a dict:
grid, folds, rule, chosen point and its held-out R² ± SE, the cross-validation summary table,
the data warnings of the fit; see :func:`sharedrep.selection.cv_provenance`); it is part of the
state like any other attribute, so the file says how the model was chosen.

Values in ``params`` and ``state`` are JSON (None, bool, int, float, str, lists) or tagged
objects ``{"__type__": ...}`` for tuples, ranges, dicts, numpy arrays, xarray DataArrays,
pandas Series / DataFrames / Index, :class:`~sharedrep.estimator.SessionFit` and
:class:`~sharedrep.features.TemporalExpansion`. A DataFrame (e.g. a session's
``neuron_info``) stores each column's dtype beside its values: text and categorical columns
as JSON strings with ``null`` where missing, pandas' nullable booleans and integers as floats
with NaN, restored to their dtypes on load (files without the dtypes load as before).
Loading builds only these types: nothing in a file is ever unpickled, imported or evaluated.

Checks on load, each a :class:`~sharedrep.errors.ModelFileError` naming the file: not a zip /
truncated / CRC error; no header (not a sharedrep model); a ``format_version`` newer than this
library reads (upgrade sharedrep); header checksum mismatch; an array member missing, with
another dtype or shape than announced, or whose SHA-256 differs (the file was modified or
corrupted); an object (pickled) array member; an unknown tagged type or parameter; a state
attribute that would shadow a method or property of the model class.

The checksums detect corruption and edits made without recomputing them; they are not a
signature against a deliberate forger, who could recompute them. Safety against code execution
does not rest on them but on reading with ``allow_pickle=False`` and decoding only the types
above.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ._dtypes import _is_missing
from ._files import atomic_write
from .errors import ModelFileError
from .estimator import SessionFit, ShaReD
from .features import TemporalExpansion

__all__ = ["FORMAT_VERSION", "load", "save_model"]

FORMAT = "sharedrep.model"
#: version of the file layout written by :func:`save_model`; :func:`load` reads up to this one
FORMAT_VERSION = 1
_MODEL_CLASSES: dict[str, type] = {"ShaReD": ShaReD}
_HEADER = "__header__"
_HEADER_SHA = "__header_sha256__"


# -- encoding ---------------------------------------------------------------------------------
class _Encoder:
    """Turns model attributes into JSON-able values plus a dict of numeric arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, a: np.ndarray, where: str) -> dict[str, Any]:
        a = np.asarray(a)
        if a.dtype.kind == "O":
            # object arrays would need pickle; only 1-D ones of strings (pandas labels, text
            # columns of neuron metadata, missing entries as null) are kept, as JSON lists
            flat = a.ravel().tolist()
            if a.ndim == 1 and all(isinstance(v, str) or _is_missing(v) for v in flat):
                return {
                    "__type__": "object_strings",
                    "values": [v if isinstance(v, str) else None for v in flat],
                }
            raise ModelFileError(
                f"cannot save {where}: an object array (dtype=object) cannot be stored "
                "without pickle"
            )
        if a.dtype.kind not in "biufcUSMm":
            raise ModelFileError(f"cannot save {where}: unsupported dtype {a.dtype}")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(a)
        return {"__type__": "ndarray", "key": key}

    def index(self, idx: pd.Index, where: str) -> dict[str, Any]:
        if isinstance(idx, pd.MultiIndex):
            return {
                "__type__": "multiindex",
                "names": list(idx.names),
                "levels": [
                    self.array(_index_values(idx.get_level_values(i)), f"{where} level {i}")
                    for i in range(idx.nlevels)
                ],
            }
        return {
            "__type__": "index",
            "name": idx.name,
            "values": self.array(_index_values(idx), where),
            "dtype": str(idx.dtype),
        }

    def __call__(self, v: Any, where: str) -> Any:
        if v is None or isinstance(v, bool | str):
            return v
        if isinstance(v, int | float) and not isinstance(v, np.generic):
            return v
        if isinstance(v, np.generic):
            if v.dtype.kind in "biuf":
                return {"__type__": "scalar", "dtype": v.dtype.str, "value": v.item()}
            raise ModelFileError(f"cannot save {where}: unsupported scalar {v!r}")
        if isinstance(v, range):
            return {"__type__": "range", "args": [v.start, v.stop, v.step]}
        if isinstance(v, list):
            return [self(x, f"{where}[{i}]") for i, x in enumerate(v)]
        if isinstance(v, tuple):
            return {
                "__type__": "tuple",
                "items": [self(x, f"{where}[{i}]") for i, x in enumerate(v)],
            }
        if isinstance(v, Mapping):
            bad = [k for k in v if not isinstance(k, str)]
            if bad:
                raise ModelFileError(f"cannot save {where}: mapping keys must be str, got {bad!r}")
            return {
                "__type__": "dict",
                "items": [[k, self(x, f"{where}[{k!r}]")] for k, x in v.items()],
            }
        if isinstance(v, np.ndarray):
            return self.array(v, where)
        if isinstance(v, xr.DataArray):
            return {
                "__type__": "dataarray",
                "name": v.name,
                "dims": list(v.dims),
                "values": self.array(v.values, f"{where}.values"),
                "coords": [
                    [k, list(c.dims), self.array(c.values, f"{where}.coords[{k!r}]")]
                    for k, c in v.coords.items()
                ],
                "attrs": self(dict(v.attrs), f"{where}.attrs"),
            }
        if isinstance(v, pd.Series):
            return {
                "__type__": "series",
                "name": self(v.name, f"{where}.name"),
                "values": self.array(v.to_numpy(), f"{where}.values"),
                "index": self.index(v.index, f"{where}.index"),
            }
        if isinstance(v, pd.DataFrame):
            return {
                "__type__": "dataframe",
                "columns": self.index(v.columns, f"{where}.columns"),
                "data": [
                    self.array(_column_values(v.iloc[:, j]), f"{where}[{j}]")
                    for j in range(v.shape[1])
                ],
                "dtypes": [str(t) for t in v.dtypes],
                "index": self.index(v.index, f"{where}.index"),
            }
        if isinstance(v, pd.Index):
            return self.index(v, where)
        if isinstance(v, SessionFit):
            return {
                "__type__": "SessionFit",
                "fields": {
                    f.name: self(getattr(v, f.name), f"{where}.{f.name}") for f in fields(v)
                },
            }
        if isinstance(v, TemporalExpansion):
            return {
                "__type__": "TemporalExpansion",
                "lags": self.array(v.lags, f"{where}.lags"),
                "n_basis": v.n_basis,
                "zero_edges": None if v.zero_edges is None else [bool(z) for z in v.zero_edges],
                "basis": None if v.basis is None else self.array(v.basis, f"{where}.basis"),
            }
        raise ModelFileError(
            f"cannot save {where}: values of type {type(v).__name__} are not part of the model "
            f"file format (version {FORMAT_VERSION})"
        )


def _column_values(col: pd.Series) -> np.ndarray:
    """A DataFrame column as a numpy array the format stores; its dtype is stored beside it.

    Text and categorical columns become object arrays of strings (missing: None); pandas'
    nullable numbers and booleans become float arrays with NaN where missing.
    """
    dtype = col.dtype
    if (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    ):
        return col.astype(object).to_numpy()
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return col.to_numpy(dtype=float, na_value=np.nan)
    return col.to_numpy()


def _restore_column(values: np.ndarray, dtype: str | None) -> Any:
    """Inverse of :func:`_column_values` for a stored dtype name (numpy dtypes are as read)."""
    if dtype is None or dtype == str(values.dtype):
        return values
    if dtype in ("str", "string", "category"):
        return pd.Series(values, dtype=dtype).array  # None is missing, never the text "None"
    if dtype in ("boolean", "Int64", "Int32", "Float64"):
        return pd.Series(values).astype(dtype).array
    return values


def _index_values(idx: pd.Index) -> np.ndarray:
    """Index labels as a numpy array that needs no pickle (strings become an object array)."""
    if idx.dtype.kind in "biufM":
        return idx.to_numpy()
    return idx.to_numpy(dtype=object)


def _sha256(a: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{a.dtype.str}|{a.shape}|".encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def save_model(model: Any, path: str | os.PathLike[str]) -> Path:
    """Write a model to ``path`` in the sharedrep model format (see the module docstring).

    The file is written to a temporary name in the same folder, synced to disk and renamed, so
    an interrupted or failed save never leaves a half-written file under ``path`` (a file
    already there keeps its content). It is created with the user's umask, like any file.

    Parameters
    ----------
    model : ShaReD
        Fitted or not; every attribute is saved (parameters and learned state).
    path : str or path-like
        Destination; used exactly as given (``.npz`` is suggested, not appended).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ModelFileError
        An attribute holds a value the format cannot store without pickle (named in the message).
    OutputError
        The file could not be written (full disk, read-only folder, ...): names it, with the
        cause; nothing is left under ``path``.
    """
    cls = type(model).__name__
    if _MODEL_CLASSES.get(cls) is not type(model):
        raise TypeError(f"save_model saves {sorted(_MODEL_CLASSES)} models, got {cls}")
    from . import __version__

    enc = _Encoder()
    params = model.get_params()
    state = {k: v for k, v in vars(model).items() if k not in params}
    if not isinstance(params.get("backend"), str | None):
        # a live cluster client says where the fit ran, not what it learned: not saved
        params["backend"] = None
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_class": cls,
        "sharedrep_version": __version__,
        "numpy_version": np.__version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "params": {k: enc(v, f"parameter {k!r}") for k, v in params.items()},
        "state": {k: enc(v, f"attribute {k!r}") for k, v in state.items()},
    }
    header["arrays"] = {
        k: {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": _sha256(a)}
        for k, a in enc.arrays.items()
    }
    raw = json.dumps(header, allow_nan=True).encode("utf-8")
    members = {
        _HEADER: np.frombuffer(raw, dtype=np.uint8),
        _HEADER_SHA: np.frombuffer(hashlib.sha256(raw).hexdigest().encode("ascii"), np.uint8),
        **enc.arrays,
    }
    path = Path(path)
    with atomic_write(path, "model file") as f:
        np.savez_compressed(f, allow_pickle=False, **members)
    return path


# -- decoding ---------------------------------------------------------------------------------
class _Decoder:
    def __init__(self, path: Path, archive: Any, specs: Mapping[str, Any]) -> None:
        self.path, self.archive, self.specs = path, archive, specs

    def fail(self, msg: str) -> ModelFileError:
        return ModelFileError(f"{self.path}: {msg}")

    def array(self, key: Any) -> np.ndarray:
        if not isinstance(key, str) or key not in self.specs:
            raise self.fail(f"the header refers to array {key!r}, which it does not describe")
        spec = self.specs[key]
        a = _member(self.path, self.archive, key, f"array member {key!r}")
        if a.dtype.str != spec.get("dtype") or list(a.shape) != list(spec.get("shape", [])):
            raise self.fail(
                f"array member {key!r} has dtype {a.dtype.str} and shape {list(a.shape)}, the "
                f"header says {spec.get('dtype')} and {spec.get('shape')}: the file was modified"
            )
        if _sha256(a) != spec.get("sha256"):
            raise self.fail(
                f"array member {key!r} fails its SHA-256 check: the file was modified or corrupted"
            )
        return a

    def index(self, v: Mapping[str, Any]) -> pd.Index:
        kind = v.get("__type__")
        if kind == "multiindex":
            return pd.MultiIndex.from_arrays(
                [self.values(lv) for lv in v["levels"]], names=v["names"]
            )
        if kind == "index":
            values = self.values(v["values"])
            dtype = v.get("dtype")
            # pandas' string dtypes ("str", "string") are restored as such; others follow numpy
            if dtype in ("str", "string"):
                return pd.Index(values, name=v["name"], dtype=dtype)
            return pd.Index(values, name=v["name"])
        raise self.fail(f"expected a pandas index, found {kind!r}")

    def values(self, v: Any) -> np.ndarray:
        if isinstance(v, Mapping) and v.get("__type__") == "object_strings":
            out = np.empty(len(v["values"]), dtype=object)
            out[:] = [None if x is None else str(x) for x in v["values"]]
            return out
        if isinstance(v, Mapping) and v.get("__type__") == "ndarray":
            return self.array(v.get("key"))
        raise self.fail(f"expected an array, found {v!r:.80}")

    def __call__(self, v: Any) -> Any:
        if v is None or isinstance(v, bool | int | float | str):
            return v
        if isinstance(v, list):
            return [self(x) for x in v]
        if not isinstance(v, Mapping) or "__type__" not in v:
            raise self.fail(f"unexpected value in header: {v!r:.80}")
        kind = v["__type__"]
        try:
            if kind in ("ndarray", "object_strings"):
                return self.values(v)
            if kind == "scalar":
                dtype = np.dtype(v["dtype"])
                if dtype.kind not in "biuf":
                    raise ValueError(f"scalar dtype {dtype} is not numeric")
                return dtype.type(v["value"])
            if kind == "range":
                return range(*(int(a) for a in v["args"]))
            if kind == "tuple":
                return tuple(self(x) for x in v["items"])
            if kind == "dict":
                return {str(k): self(x) for k, x in v["items"]}
            if kind == "dataarray":
                coords = {k: (tuple(dims), self.values(c)) for k, dims, c in v["coords"]}
                return xr.DataArray(
                    self.values(v["values"]),
                    dims=tuple(v["dims"]),
                    coords=coords,
                    name=v["name"],
                    attrs=self(v["attrs"]),
                )
            if kind == "series":
                return pd.Series(
                    self.values(v["values"]), index=self.index(v["index"]), name=self(v["name"])
                )
            if kind == "dataframe":
                columns = self.index(v["columns"])
                data = [self.values(c) for c in v["data"]]
                dtypes = v.get("dtypes", [None] * len(data))  # absent in older files
                data = [_restore_column(c, t) for c, t in zip(data, dtypes, strict=True)]
                frame = pd.DataFrame(dict(enumerate(data)), index=self.index(v["index"]))
                frame.columns = columns
                return frame
            if kind in ("index", "multiindex"):
                return self.index(v)
            if kind == "SessionFit":
                return SessionFit(**{k: self(x) for k, x in v["fields"].items()})
            if kind == "TemporalExpansion":
                zero = v.get("zero_edges")  # absent in files written before edges existed
                if zero is not None and not all(isinstance(z, bool) for z in zero):
                    raise self.fail("the stored zero_edges are not booleans")
                exp = TemporalExpansion(self.values(v["lags"]), v["n_basis"], zero)
                if v["basis"] is not None:
                    basis = self.values(v["basis"])
                    if exp.basis is None or basis.shape != exp.basis.shape:
                        raise self.fail("the stored temporal basis does not match n_basis")
                    # the basis the model was fitted with is authoritative, even if the
                    # library's construction of it changed since
                    object.__setattr__(exp, "basis", basis)
                return exp
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError) as err:
            raise self.fail(
                f"malformed {kind!r} entry in header ({type(err).__name__}: {err})"
            ) from None
        raise self.fail(
            f"unknown value type {kind!r} in header; the file may come from a newer sharedrep"
        )


def _member(path: Path, archive: Any, key: str, what: str) -> np.ndarray:
    """Read one member; every failure becomes a ModelFileError naming the file."""
    try:
        return archive[key]
    except KeyError:
        raise ModelFileError(f"{path}: {what} is missing (file truncated or edited)") from None
    except ValueError as err:
        if "allow_pickle" in str(err):  # numpy refuses object members without pickle
            raise ModelFileError(
                f"{path}: {what} holds pickled Python objects; model files never contain "
                "pickles, so this file was not written by sharedrep or was tampered with"
            ) from None
        raise ModelFileError(f"{path}: {what} is corrupted ({err})") from None
    except Exception as err:  # zipfile and numpy raise many types for a damaged member
        raise ModelFileError(f"{path}: {what} is corrupted ({type(err).__name__}: {err})") from None


def _read_header(path: Path, archive: Any) -> dict[str, Any]:
    names = set(archive.files)
    if _HEADER not in names:
        raise ModelFileError(
            f"{path}: not a sharedrep model file (no {_HEADER!r} member; members: "
            f"{sorted(names)[:8]})"
        )
    raw = _member(path, archive, _HEADER, "the model header")
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError(f"header member has dtype {raw.dtype} and shape {raw.shape}")
        raw_bytes = raw.tobytes()
        header = json.loads(raw_bytes.decode("utf-8"))
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError
        raise ModelFileError(f"{path}: unreadable model header ({err})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise ModelFileError(f"{path}: not a sharedrep model file (format {found!r})")
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{path}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        from . import __version__

        raise ModelFileError(
            f"{path}: written by sharedrep {header.get('sharedrep_version', '?')} in model format "
            f"version {version}; this sharedrep ({__version__}) reads format versions up to "
            f"{FORMAT_VERSION}. Upgrade sharedrep to load it"
        )
    # the version is checked before the checksum: a newer format may checksum differently
    digest = _member(path, archive, _HEADER_SHA, "the header checksum")
    try:
        expected = digest.tobytes().decode("ascii")
    except (ValueError, AttributeError) as err:
        raise ModelFileError(f"{path}: unreadable header checksum ({err})") from None
    if hashlib.sha256(raw_bytes).hexdigest() != expected:
        raise ModelFileError(
            f"{path}: the model header fails its SHA-256 check: the file was modified or corrupted"
        )
    for key in ("model_class", "params", "state", "arrays"):
        if key not in header:
            raise ModelFileError(f"{path}: model header lacks {key!r}")
    return header


def load(path: str | os.PathLike[str]) -> Any:
    """Load a model saved by :func:`save_model` (or ``model.save``).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ShaReD
        With the saved parameters and every learned attribute: ``predict``, ``transform`` and
        ``score`` give the same results as the saved model.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ModelFileError
        The file is not a sharedrep model, comes from a newer format version, is truncated,
        corrupted or modified, or contains a pickle (see the module docstring).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as err:  # zipfile / numpy raise many types for a damaged archive
        raise ModelFileError(
            f"{path}: not a readable model file; it is truncated or not an .npz archive ({err})"
        ) from None
    if not hasattr(archive, "files"):  # a bare .npy file
        raise ModelFileError(f"{path}: not a sharedrep model file (a single .npy array)")
    with archive:
        header = _read_header(path, archive)
        cls = _MODEL_CLASSES.get(header["model_class"])
        if cls is None:
            raise ModelFileError(
                f"{path}: unknown model class {header['model_class']!r}; this sharedrep loads "
                f"{sorted(_MODEL_CLASSES)}"
            )
        dec = _Decoder(path, archive, header["arrays"])
        try:
            params = {k: dec(v) for k, v in header["params"].items()}
            state = {k: dec(v) for k, v in header["state"].items()}
        except (RecursionError, AttributeError) as err:  # absurd nesting, or not a mapping
            raise ModelFileError(f"{path}: malformed model header ({err})") from None
        unknown = sorted(set(params) - set(cls._param_names()))
        if unknown:
            raise ModelFileError(
                f"{path}: parameters {unknown} are unknown to this version of {cls.__name__}"
            )
        model = cls(**params)
        for key, value in state.items():
            # state may only add data attributes: never shadow a method or property
            if (
                not (isinstance(key, str) and key.isidentifier())
                or key.startswith("__")
                or hasattr(cls, key)
            ):
                raise ModelFileError(f"{path}: invalid attribute name {key!r} in header")
            setattr(model, key, value)
    return model
