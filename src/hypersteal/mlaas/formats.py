"""What an uploaded dataset file holds: CSV (optionally gzipped), Parquet or npz, checked against the platform's
limits before its data is read; errors carry an HTTP status.

This module runs inside the parser processes of :mod:`.uploads` (never in the server). Before any data is
read, sizes are checked from what the file declares, against ``max_dataset_bytes`` (the decompressed
size), ``max_rows`` and ``max_columns``:

* npz: the zip directory's decompressed size of each member, then each member's ``.npy`` header (dtype,
  shape; a shape needing more bytes than the member holds is refused). A ``.npy`` file is refused by its
  magic bytes whatever its name. Object arrays are refused (nothing is unpickled).
* Parquet: the footer's row and column counts and uncompressed size.
* gzip: decompressed as a stream that stops at the byte cap.
* CSV: the header line (delimiter, column count, duplicate names) before pandas reads the rows.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

__all__ = ["UploadError", "Parsed", "Limits", "parse_file", "write_dataset"]

_MAX_CLASSES_LISTED = 20
#: Largest |value| accepted: XᵀX of rows up to 10⁸ values this size stays below float64's 1.8e308.
_MAX_MAGNITUDE = 1e100
_NPY_MAGIC = b"\x93NUMPY"


class UploadError(Exception):
    """A rejected upload: ``status`` is the HTTP status (413, 415, 422, 503), ``message`` says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Limits:
    """What an upload may hold: rows, feature columns, and bytes once decompressed (float64 features)."""

    max_rows: int
    max_columns: int
    max_bytes: int


@dataclass
class Parsed:
    X: np.ndarray
    y: np.ndarray
    feature_names: list
    fmt: str
    target: str | None
    meta: dict = field(default_factory=dict)


def _mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def _detect(head: bytes, filename: str | None) -> tuple[str, bool]:
    """(format, gzipped) from the file name, else from the first bytes."""
    name = (filename or "").lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    for suffix, fmt in ((".csv", "csv"), (".txt", "csv"), (".tsv", "csv"), (".parquet", "parquet"),
                        (".pq", "parquet"), (".npz", "npz")):
        if name.endswith(suffix):
            return fmt, gz
    if head[:2] == b"\x1f\x8b":
        return "csv", True
    if head[:4] == b"PK\x03\x04" or head[:6] == _NPY_MAGIC:
        return "npz", False
    if head[:4] == b"PAR1":
        return "parquet", False
    raise UploadError(
        415, f"Unsupported file {filename!r}: upload a .csv (optionally .csv.gz), .parquet or .npz file."
    )


def _check_shape(n: int, d: int, limits: Limits) -> None:
    if n > limits.max_rows or d > limits.max_columns:
        raise UploadError(413, f"{n} rows × {d} features exceeds the limit of {limits.max_rows} × "
                               f"{limits.max_columns}.")
    if n * d * 8 > limits.max_bytes:
        raise UploadError(413, f"{n} rows × {d} features take {_mib(n * d * 8)} as float64, over the limit "
                               f"of {_mib(limits.max_bytes)}.")


# ------------------------------------------------------------------------------------------------ npz
def _npy_header(fh) -> tuple[tuple, np.dtype]:
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    return shape, dtype


def _read_npz(path: str, limits: Limits):
    with open(path, "rb") as fh:
        head = fh.read(6)
    if head == _NPY_MAGIC:
        raise UploadError(422, "This is a single .npy array, not an npz archive: save X and y together with "
                               "numpy.savez(file, X=X, y=y).")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise UploadError(422, f"The file is not a valid npz archive ({exc}).") from None
    with zf:
        members = {i.filename[:-4] if i.filename.endswith(".npy") else i.filename: i for i in zf.infolist()}
        if not {"X", "y"} <= set(members):
            raise UploadError(422, f"An npz upload must hold arrays 'X' and 'y'; it holds {sorted(members)[:20]}.")
        wanted = [k for k in ("X", "y", "feature_names") if k in members]
        total = sum(members[k].file_size for k in wanted)
        if total > limits.max_bytes:
            raise UploadError(413, f"The npz arrays decompress to {_mib(total)}, over the limit of "
                                   f"{_mib(limits.max_bytes)}.")
        headers = {}
        for key in wanted:
            info = members[key]
            try:
                with zf.open(info) as fh:
                    shape, dtype = _npy_header(fh)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, NotImplementedError) as exc:
                raise UploadError(422, f"Array {key!r} of the npz file has no valid .npy header ({exc}).") from None
            if dtype.hasobject:
                raise UploadError(422, f"Array {key!r} holds Python objects, which would need pickle: refused.")
            claimed = math.prod(shape) * dtype.itemsize
            if claimed > info.file_size:
                raise UploadError(422, f"Array {key!r} claims shape {shape} ({_mib(claimed)}) but the archive "
                                       f"holds {_mib(info.file_size)} for it: the file is corrupt.")
            headers[key] = (shape, dtype)
        (x_shape, x_dtype), (y_shape, y_dtype) = headers["X"], headers["y"]
        if x_dtype.kind not in "biuf":
            raise UploadError(422, f"X must be numeric, got dtype {x_dtype}.")
        if len(x_shape) != 2:
            raise UploadError(422, f"X must be 2-D (rows × features), got shape {x_shape}.")
        if len(y_shape) != 1:
            raise UploadError(422, f"y must be 1-D, got shape {y_shape}.")
        if y_dtype.kind not in "biufU":
            raise UploadError(422, f"y must hold numbers or strings, got dtype {y_dtype}.")
        _check_shape(x_shape[0], x_shape[1], limits)
        arrays = {}
        for key in wanted:
            try:
                with zf.open(members[key]) as fh:
                    arrays[key] = np.lib.format.read_array(fh, allow_pickle=False)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
                raise UploadError(422, f"Array {key!r} of the npz file could not be read ({exc}).") from None
    X, y, names = arrays["X"], arrays["y"], arrays.get("feature_names")
    if y.dtype.kind == "b":
        y = y.astype(np.int64)
    if names is None or names.shape != (X.shape[1],):
        names = [f"x{j}" for j in range(X.shape[1])]
    else:
        names = [str(v) for v in names.tolist()]
    return X.astype(float), y, names


# ------------------------------------------------------------------------------------------------ tables
def _read_text(path: str, gz: bool, limits: Limits) -> bytes:
    if not gz:
        size = os.path.getsize(path)
        if size > limits.max_bytes:
            raise UploadError(413, f"The file holds {_mib(size)}, over the limit of {_mib(limits.max_bytes)}.")
        with open(path, "rb") as fh:
            return fh.read()
    chunks, total = [], 0
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(2**20):  # a stream that stops at the cap whatever the file claims
                total += len(chunk)
                if total > limits.max_bytes:
                    raise UploadError(413, f"The file decompresses to more than the limit of "
                                           f"{_mib(limits.max_bytes)}.")
                chunks.append(chunk)
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise UploadError(422, f"The file is not valid gzip ({exc}).") from None
    return b"".join(chunks)


def _read_csv(data: bytes, target: str | None, limits: Limits):
    end = data.find(b"\n")
    header = (data if end < 0 else data[:end]).rstrip(b"\r")
    body = b"" if end < 0 else data[end + 1:]
    try:
        header_text = header.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadError(422, "The CSV header is not UTF-8 text.") from None
    sep = max(",\t;|", key=header_text.count)
    if header_text.count(sep) + 1 > limits.max_columns + 1:
        raise UploadError(413, f"The CSV file has {header_text.count(sep) + 1} columns, over the limit of "
                               f"{limits.max_columns} features.")
    names = next(csv.reader([header_text], delimiter=sep), [])
    seen, dup = set(), set()
    for n in names:
        (dup if n in seen else seen).add(n)
    if dup:
        raise UploadError(422, f"Column names must be unique; {sorted(set(dup))[:10]} appear more than once.")
    if not body.strip():
        raise UploadError(422, "The CSV file has a header but no data rows.")
    if body.count(b"\n") > limits.max_rows + 1:
        raise UploadError(413, f"The CSV file has more than {limits.max_rows} rows, the limit.")
    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(data), sep=sep, engine="c", nrows=limits.max_rows + 1)
    except Exception as exc:  # pandas raises many types for a bad file
        raise UploadError(422, f"The csv file could not be parsed ({type(exc).__name__}: {exc}).") from None
    return frame


def _read_parquet(path: str, limits: Limits):
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        md = pf.metadata
        n, d = md.num_rows, md.num_columns
        raw = sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))
    except Exception as exc:  # pyarrow raises several types for a bad footer
        raise UploadError(422, f"The parquet file could not be parsed ({type(exc).__name__}: {exc}).") from None
    _check_shape(n, max(d - 1, 0), limits)
    if raw > limits.max_bytes:
        raise UploadError(413, f"The parquet data decompresses to {_mib(raw)}, over the limit of "
                               f"{_mib(limits.max_bytes)}.")
    try:
        return pf.read().to_pandas()
    except MemoryError:
        raise
    except Exception as exc:
        raise UploadError(422, f"The parquet file could not be parsed ({type(exc).__name__}: {exc}).") from None


def _frame_to_arrays(frame, target: str | None):
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
        X = frame.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise UploadError(422, f"Features could not be read as numbers ({exc}).") from None
    if y_col.isna().any():
        raise UploadError(422, f"The target column {target!r} has missing values; drop those rows first.")
    if is_bool_dtype(y_col.dtype):
        y = y_col.to_numpy(dtype=np.int64)
    elif is_numeric_dtype(y_col.dtype):
        y = y_col.to_numpy()
        if y.dtype.kind not in "iuf":  # pandas' nullable integer and float types
            y = y.astype(float)
    else:
        y = y_col.astype(str).to_numpy(dtype=str)
    return X, y, list(frame.columns)


def parse_file(path: str, filename: str | None, target: str | None, limits: Limits) -> Parsed:
    """Parse and check an uploaded file; raise :class:`UploadError` on any problem (in a parser process)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not head:
        raise UploadError(422, "The uploaded file is empty.")
    fmt, gz = _detect(head, filename)
    if fmt == "npz":
        X, y, names = _read_npz(path, limits)
        target = target or None
    else:
        if fmt == "csv":
            frame = _read_csv(_read_text(path, gz, limits), target, limits)
        else:
            frame = _read_parquet(path, limits)
        _check_shape(len(frame), max(frame.shape[1] - 1, 0), limits)
        X, y, names = _frame_to_arrays(frame, target)
    n, d = X.shape
    if n < 2 or d < 1:
        raise UploadError(422, f"A dataset needs at least 2 rows and 1 feature; got {n} × {d}.")
    _check_shape(n, d, limits)
    if y.shape[0] != n:
        raise UploadError(422, f"y has {y.shape[0]} values for {n} rows.")
    if not np.all(np.isfinite(X)):
        raise UploadError(422, "The features hold missing or infinite values; impute or drop them first.")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise UploadError(422, "The target holds missing or infinite values.")
    for name, values in (("features", X), ("target", y if y.dtype.kind in "iuf" else None)):
        big = 0.0 if values is None or values.size == 0 else float(np.max(np.abs(values)))
        if big > _MAX_MAGNITUDE:
            raise UploadError(422, f"The {name} reach {big:.3g}; squares and sums of such values overflow the "
                                   f"learners' float64 arithmetic: scale them below {_MAX_MAGNITUDE:g}.")
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


def write_dataset(path, X, y, feature_names) -> None:
    """The stored form of a dataset (read back by :meth:`Store.load_dataset`)."""
    with open(path, "wb") as fh:
        np.savez(fh, X=X, y=y, feature_names=np.asarray(feature_names, dtype=str))
