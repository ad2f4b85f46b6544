"""Parsing uploaded datasets (CSV, Parquet, npz) with type checks; errors carry an HTTP status.

Nothing is unpickled: npz files are read with ``allow_pickle=False`` (object arrays are refused).
"""

from __future__ import annotations

import gzip
import io
import zipfile
from dataclasses import dataclass, field

import numpy as np

__all__ = ["UploadError", "Parsed", "parse_upload"]

_MAX_CLASSES_LISTED = 20


class UploadError(Exception):
    """A rejected upload: ``status`` is the HTTP status (413, 415, 422), ``message`` says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Parsed:
    X: np.ndarray
    y: np.ndarray
    feature_names: list
    fmt: str
    target: str | None
    meta: dict = field(default_factory=dict)


def _detect(data: bytes, filename: str | None) -> tuple[str, bool]:
    """(format, gzipped) from the file name, else from the first bytes."""
    name = (filename or "").lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    for suffix, fmt in ((".csv", "csv"), (".txt", "csv"), (".tsv", "csv"), (".parquet", "parquet"),
                        (".pq", "parquet"), (".npz", "npz")):
        if name.endswith(suffix):
            return fmt, gz
    if data[:2] == b"\x1f\x8b":
        return "csv", True
    if data[:4] == b"PK\x03\x04":
        return "npz", False
    if data[:4] == b"PAR1":
        return "parquet", False
    raise UploadError(
        415, f"Unsupported file {filename!r}: upload a .csv (optionally .csv.gz), .parquet or .npz file."
    )


def _gunzip(data: bytes, limit: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            out = fh.read(limit + 1)
    except (OSError, EOFError) as exc:
        raise UploadError(422, f"The file is not valid gzip ({exc}).") from None
    if len(out) > limit:
        raise UploadError(413, f"The decompressed file is larger than the limit of {limit} bytes.")
    return out


def _frame_to_arrays(frame, target: str | None, fmt: str):
    if target is None or target == "":
        raise UploadError(422, f"Name the target column with the form field 'target' (columns: "
                               f"{', '.join(map(str, frame.columns[:50]))}).")
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        raise UploadError(422, "Column names must be unique.")
    frame.columns = columns
    if target not in frame.columns:
        raise UploadError(422, f"There is no column {target!r}; columns: {', '.join(columns[:50])}.")
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    y_col = frame.pop(target)
    bad = [c for c in frame.columns if not (is_numeric_dtype(frame[c].dtype) or is_bool_dtype(frame[c].dtype))]
    if bad:
        raise UploadError(422, f"Feature column(s) {bad[:20]} are not numeric; encode them (e.g. one-hot) first.")
    try:
        X = frame.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise UploadError(422, f"Features could not be read as numbers ({exc}).") from None
    if is_bool_dtype(y_col.dtype):
        y = y_col.to_numpy(dtype=np.int64)
    elif is_numeric_dtype(y_col.dtype):
        y = y_col.to_numpy(dtype=float) if y_col.isna().any() else y_col.to_numpy()
    else:
        if y_col.isna().any():
            raise UploadError(422, f"The target column {target!r} has missing values.")
        y = y_col.astype(str).to_numpy(dtype=str)
    return X, y, list(frame.columns)


def _read_npz(data: bytes):
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as f:
            files = set(f.files)
            if not {"X", "y"} <= files:
                raise UploadError(422, f"An npz upload must hold arrays 'X' and 'y'; it holds {sorted(files)}.")
            X, y = f["X"], f["y"]
            names = f["feature_names"] if "feature_names" in files else None
    except UploadError:
        raise
    except ValueError as exc:  # object arrays need pickle: refused
        raise UploadError(422, f"The npz file could not be read without pickle ({exc}).") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
        raise UploadError(422, f"The file is not a valid npz archive ({exc}).") from None
    if X.dtype.kind not in "biuf":
        raise UploadError(422, f"X must be numeric, got dtype {X.dtype}.")
    if X.ndim != 2:
        raise UploadError(422, f"X must be 2-D (rows × features), got shape {X.shape}.")
    if y.ndim != 1:
        raise UploadError(422, f"y must be 1-D, got shape {y.shape}.")
    if y.dtype.kind not in "biufU":
        raise UploadError(422, f"y must hold numbers or strings, got dtype {y.dtype}.")
    if y.dtype.kind == "b":
        y = y.astype(np.int64)
    if names is None or names.shape != (X.shape[1],):
        names = [f"x{j}" for j in range(X.shape[1])]
    else:
        names = [str(v) for v in names.tolist()]
    return X.astype(float), y, names


def parse_upload(data: bytes, filename: str | None, target: str | None, *, max_bytes: int, max_rows: int,
                 max_columns: int) -> Parsed:
    """Parse and check an uploaded dataset; raise :class:`UploadError` on any problem."""
    if not data:
        raise UploadError(422, "The uploaded file is empty.")
    fmt, gz = _detect(data, filename)
    if gz:
        data = _gunzip(data, 4 * max_bytes)
    if fmt == "npz":
        X, y, names = _read_npz(data)
        target = target or None
    else:
        import pandas as pd

        try:
            if fmt == "csv":
                frame = pd.read_csv(io.BytesIO(data), sep=None, engine="python")
            else:
                frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pandas/pyarrow raise many types for a bad file
            raise UploadError(422, f"The {fmt} file could not be parsed ({type(exc).__name__}: {exc}).") from None
        X, y, names = _frame_to_arrays(frame, target, fmt)
    n, d = X.shape
    if n < 2 or d < 1:
        raise UploadError(422, f"A dataset needs at least 2 rows and 1 feature; got {n} × {d}.")
    if n > max_rows or d > max_columns:
        raise UploadError(413, f"{n} rows × {d} features exceeds the limit of {max_rows} × {max_columns}.")
    if y.shape[0] != n:
        raise UploadError(422, f"y has {y.shape[0]} values for {n} rows.")
    if not np.all(np.isfinite(X)):
        raise UploadError(422, "The features hold missing or infinite values; impute or drop them first.")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise UploadError(422, "The target holds missing or infinite values.")
    meta = _target_meta(y)
    return Parsed(X=np.ascontiguousarray(X, dtype=float), y=y, feature_names=names, fmt=fmt, target=target, meta=meta)


def _target_meta(y: np.ndarray) -> dict:
    numeric = y.dtype.kind in "iuf"
    classes, counts = np.unique(y, return_counts=True)
    meta = {"target_kind": "numeric" if numeric else "labels", "n_distinct": int(classes.size)}
    if classes.size <= _MAX_CLASSES_LISTED:
        meta["classes"] = classes.tolist()
        meta["class_counts"] = counts.tolist()
    return meta
