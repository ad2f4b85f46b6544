"""Reading training data and parameter files: CSV/Parquet/npz data (dense or scipy.sparse X), npz/JSON parameters.

Nothing here unpickles: npz files are opened with ``allow_pickle=False`` and JSON is plain data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ._validation import InputError

__all__ = ["load_data", "save_data", "load_params", "save_params", "load_skops", "load_sample_weight"]


def _show(path) -> str:
    """A path as a message shows it: whole when short, its ends when long."""
    text = str(path)
    return repr(text) if len(text) <= 120 else repr(f"{text[:40]}…{text[-40:]}") + f" ({len(text)} characters)"


def _check_file(path, what: str, flag: str) -> Path:
    """The file ``path`` as a Path, or an InputError that names the problem and the fix."""
    text = str(path)
    if not text.strip():
        raise InputError(f"The {what} path is empty; pass a file with {flag}.")
    path = Path(text)
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except OSError as exc:  # e.g. ENAMETOOLONG: os.stat fails before any file is looked at
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"The {what} path {_show(text)} cannot be used: {reason.lower()}; pass a shorter path "
                         f"with {flag} (most systems allow 255 characters per name, 4096 in all).") from None
    if not exists:
        raise InputError(f"{what.capitalize()} {_show(text)} does not exist; check the path given to {flag}.")
    if is_dir:
        raise InputError(f"{_show(text)} is a directory; pass a file with {flag}"
                         + (" (or a folder of .parquet files, or a glob such as 'data/*.parquet')."
                            if what == "data file" else "."))
    if path.stat().st_size == 0:
        raise InputError(f"{what.capitalize()} {_show(text)} is empty (0 bytes); pass the file that holds the "
                         f"{'training data' if what == 'data file' else what.split()[0]}.")
    return path


def _open_npz(path: Path, expected: str):
    """np.load of an .npz archive without pickle, with a message for files that are no npz archive."""
    import zipfile

    if not zipfile.is_zipfile(path):
        raise InputError(f"{path.name} is not an .npz archive (numpy.savez writes one); save {expected} with "
                         f"numpy.savez('{path.name}', ...), or give the file the extension of its real format.")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path.name} is not a readable .npz archive ({exc}); write it again with "
                         "numpy.savez.") from None


def _npz_array(f, key: str, path: Path):
    try:
        return f[key]
    except ValueError:  # an object array: loading it would need pickle, which hypersteal never does
        raise InputError(f"Array {key!r} of {path.name} holds Python objects, which would need unpickling; save "
                         "numeric arrays (e.g. numpy.asarray(a, dtype=float)).") from None


def _is_parquet_folder(text: str) -> bool:
    try:
        return Path(text).is_dir() and any(Path(text).glob("*.parquet"))
    except OSError:  # e.g. a name over the system's limit: _check_file says so
        return False


#: the arrays ``scipy.sparse.save_npz`` writes for each format hypersteal reads
_SPARSE_KEYS = {"csr": ("data", "indices", "indptr", "shape", "format"),
                "csc": ("data", "indices", "indptr", "shape", "format"),
                "coo": ("data", "row", "col", "shape", "format")}
_NPZ_LAYOUTS = ("arrays 'X' and 'y' (dense X), or a sparse X's arrays 'data', 'indices', 'indptr', 'shape', "
                "'format' (as scipy.sparse.save_npz writes them) and 'y'")


def load_data(path, target: str | None = None, *, exclude=()):
    """Load training data: returns X (n, d) and y.

    CSV and Parquet need ``target`` (the name of the target column; every other column is a
    feature and must be numeric, except the columns named in ``exclude``, e.g. a weight column).
    An npz file holds arrays ``X`` and ``y``, or a sparse X as the arrays
    :func:`scipy.sparse.save_npz` writes (``data``, ``indices``, ``indptr``, ``shape``,
    ``format``: csr or csc; ``data``, ``row``, ``col``, ``shape``, ``format``: coo) beside ``y``
    (:func:`save_data` writes either); a sparse X is returned as a ``scipy.sparse.csr_matrix``
    (csc as a ``csc_matrix``), checked without ever being densified. A folder of Parquet files or a
    glob (``"big/*.parquet"``) is read lazily with Dask.

    Raises
    ------
    InputError
        For a missing, empty, unreadable or malformed file, with a message that says how to fix it.
    """
    text = str(path)
    if any(ch in text for ch in "*?[") or _is_parquet_folder(text):
        return _load_parquet_lazily(text, target)
    path = _check_file(path, "data file", "--data")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    if suffix == ".npz":
        with _open_npz(path, "arrays X and y") as f:
            files = set(f.files)
            if "X" not in files and "format" in files:
                return _sparse_from_npz(f, files, path)
            missing = {"X", "y"} - files
            if missing:
                raise InputError(f"{path.name} must hold {_NPZ_LAYOUTS}; missing {sorted(missing)} "
                                 f"(it holds {sorted(files)}). hypersteal.io.save_data(path, X, y) writes either.")
            try:
                X = _npz_array(f, "X", path)
            except InputError:
                raise InputError(f"Array 'X' of {path.name} holds Python objects (a scipy.sparse matrix saved with "
                                 "numpy.savez?), which would need unpickling; write the file with "
                                 "hypersteal.io.save_data(path, X, y), which stores a sparse X's arrays.") from None
            y = _npz_array(f, "y", path)
        if X.ndim != 2 or X.shape[0] == 0:
            raise InputError(f"Array 'X' of {path.name} has shape {X.shape}; save one row per training example "
                             "(n, d) with n ≥ 1.")
        return X, y
    if suffix not in (".csv", ".csv.gz", ".txt", ".parquet", ".pq"):
        raise InputError(f"Unsupported data file {path.name!r}: use .csv, .csv.gz, .parquet or .npz.")
    import pandas as pd

    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = _read_csv(path)
    except (ImportError, InputError):
        raise
    except Exception as exc:  # parser errors differ between pandas, pyarrow and csv versions
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"Could not parse {path.name} as {suffix.lstrip('.').upper()} ({why}); check its "
                         "format.") from None
    if target is None:
        raise InputError(f"Name the target column of {path.name} with --target (columns: "
                         f"{', '.join(map(str, frame.columns))}).")
    if target not in frame.columns:
        from ._validation import suggest

        raise InputError(
            f"{path.name} has no column {target!r}.{suggest(target, map(str, frame.columns))} "
            f"Columns: {', '.join(map(str, frame.columns))}."
        )
    if len(frame) == 0:
        raise InputError(f"{path.name} has a header but no data rows; pass the file with the training rows.")
    y = frame.pop(target).to_numpy()
    frame = frame.drop(columns=[c for c in exclude if c in frame.columns])
    _check_numeric_columns(frame, path.name)
    return frame.to_numpy(dtype=float), y


def load_sample_weight(source, data=None) -> np.ndarray:
    """The per-row weights a model was fitted with: a file (``.npy``; or ``.csv`` / ``.txt`` with one number per
    row, a header line allowed), or else the name of a column of the CSV or Parquet ``data`` file.

    Raises
    ------
    InputError
        For a missing file or column, or values that are not numbers.
    """
    text = str(source)
    path = Path(text)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".npy":
            try:
                w = np.load(path, allow_pickle=False)
            except ValueError as exc:
                raise InputError(f"{path.name} is not a plain .npy array of numbers ({exc}); save the weights with "
                                 "numpy.save(path, w).") from None
        elif suffix in (".csv", ".txt", ".gz"):
            import pandas as pd

            frame = pd.read_csv(path, header=None)
            if frame.shape[1] != 1:
                raise InputError(f"{path.name} has {frame.shape[1]} columns; a weights file holds one number per row.")
            column = pd.to_numeric(frame.iloc[:, 0], errors="coerce")
            if len(column) and np.isnan(column.iloc[0]) and not np.isnan(column.iloc[1:]).any():
                column = column.iloc[1:]  # a header line
            w = column.to_numpy(dtype=float)
        else:
            raise InputError(f"Unsupported weights file {path.name!r}: use .npy, or .csv / .txt with one number per "
                             "row.")
    else:
        if data is None or Path(str(data)).suffix.lower() not in (".csv", ".gz", ".txt", ".parquet", ".pq"):
            raise InputError(f"No weights file {_show(text)}, and a weight column can be named only in CSV or Parquet "
                             "data; pass a .npy or .csv file of weights, or the name of a column of --data.")
        import pandas as pd

        data = Path(str(data))
        frame = pd.read_parquet(data) if data.suffix.lower() in (".parquet", ".pq") else _read_csv(data)
        if text not in frame.columns:
            from ._validation import suggest

            raise InputError(f"No weights file {_show(text)} and no column of that name in {data.name}."
                             f"{suggest(text, map(str, frame.columns))} Columns: "
                             f"{', '.join(map(str, frame.columns))}.")
        w = pd.to_numeric(frame[text], errors="coerce").to_numpy(dtype=float)
    w = np.asarray(w)
    if w.dtype.kind not in "biuf" or w.ndim != 1:
        raise InputError(f"The sample weights of {_show(text)} must be one number per row; got "
                         f"{w.dtype} values of shape {w.shape}.")
    w = w.astype(float)
    if np.isnan(w).any():
        raise InputError(f"The sample weights of {_show(text)} hold values that are not numbers; pass one number "
                         "per row.")
    return w


def _sparse_from_npz(f, files: set, path: Path):
    """A sparse X and y from the arrays of an npz file, every array checked before scipy sees it (bounds,
    lengths, dtypes): a malformed file gets a message, not an index error deep inside scipy."""
    import scipy.sparse as sp

    name = path.name
    fmt = _npz_array(f, "format", path)
    if fmt.ndim != 0 or fmt.dtype.kind not in "SU":
        raise InputError(f"Array 'format' of {name} must be one string (csr, csc or coo), got an array of dtype "
                         f"{fmt.dtype} and shape {fmt.shape}; write the file with hypersteal.io.save_data(path, X, y).")
    fmt = fmt.item()
    fmt = fmt.decode("ascii", "replace") if isinstance(fmt, bytes) else str(fmt)
    if fmt not in _SPARSE_KEYS:
        raise InputError(f"{name} holds a sparse X in format {fmt!r}; hypersteal reads csr, csc and coo: save "
                         "X.tocsr() instead.")
    missing = sorted((set(_SPARSE_KEYS[fmt]) | {"y"}) - files)
    if missing:
        fix = (" (scipy.sparse.save_npz stores X alone)" if missing == ["y"] else "")
        raise InputError(f"{name} holds a sparse {fmt} X but no array {', '.join(map(repr, missing))}{fix}; write X "
                         "and y together with hypersteal.io.save_data(path, X, y).")
    shape = _npz_array(f, "shape", path)
    if shape.shape != (2,) or shape.dtype.kind not in "iu":
        raise InputError(f"Array 'shape' of {name} must be two integers (rows, columns), got {shape.tolist()!r}.")
    n, d = (int(v) for v in shape)
    if n < 1 or d < 1:
        raise InputError(f"The sparse X of {name} has shape ({n}, {d}); save one row per training example and at "
                         "least one feature.")
    data = _npz_array(f, "data", path)
    if data.ndim != 1 or data.dtype.kind not in "fiub":
        raise InputError(f"Array 'data' of {name} must be a 1-D array of numbers (the stored values), got dtype "
                         f"{data.dtype} and shape {data.shape}.")
    if fmt == "coo":
        index = {"row": (n, "rows"), "col": (d, "columns")}
    else:
        index = {"indices": (d, "columns") if fmt == "csr" else (n, "rows")}
    arrays = {}
    for key, (bound, what) in index.items():
        a = _integer_array(f, key, path, len(data))
        if len(a) and (int(a.min()) < 0 or int(a.max()) >= bound):
            bad = int(a.min()) if int(a.min()) < 0 else int(a.max())
            raise InputError(f"Array {key!r} of {name} holds index {bad}, outside X's {bound} {what} (shape "
                             f"{n} × {d}); the file is corrupt or its 'shape' is wrong.")
        arrays[key] = a
    if fmt == "coo":
        X = sp.coo_matrix((data, (arrays["row"], arrays["col"])), shape=(n, d)).tocsr()
    else:
        major = n if fmt == "csr" else d
        indptr = _integer_array(f, "indptr", path, major + 1)
        if indptr[0] != 0 or indptr[-1] != len(data) or np.any(indptr[1:] < indptr[:-1]):
            raise InputError(f"Array 'indptr' of {name} must rise from 0 to the number of stored values "
                             f"({len(data)}) without decreasing; the file is corrupt.")
        cls = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
        X = cls((data, arrays["indices"], indptr), shape=(n, d))
    y = _npz_array(f, "y", path)
    if y.ndim == 0 or len(y) != n:
        raise InputError(f"Array 'y' of {name} has shape {y.shape} but X has {n} rows; save one target per row.")
    return X, y


def _integer_array(f, key: str, path: Path, length: int) -> np.ndarray:
    a = _npz_array(f, key, path)
    if a.ndim != 1 or a.dtype.kind not in "iu" or len(a) != length:
        raise InputError(f"Array {key!r} of {path.name} must be a 1-D integer array of length {length}, got dtype "
                         f"{a.dtype} and shape {a.shape}; the file is corrupt or not written by "
                         "scipy.sparse.save_npz / hypersteal.io.save_data.")
    return a


def save_data(path, X, y, *, compressed: bool = False) -> None:
    """Write training data as an npz file that :func:`load_data` (and ``hypersteal steal --data``) reads.

    A dense X is stored as array ``X``; a scipy.sparse X as the arrays :func:`scipy.sparse.save_npz`
    writes (csr and csc kept, any other format as csr), never densified; ``y`` beside it. Labels must be
    numbers or strings: nothing is pickled.
    """
    import scipy.sparse as sp

    y = np.asarray(y)
    if y.dtype == object:
        raise InputError("y holds Python objects, which npz files can only store by pickling; pass numbers or "
                         "strings (e.g. numpy.asarray(y, dtype=str)).")
    if sp.issparse(X):
        X = X if X.format in ("csr", "csc") else X.tocsr()
        arrays = {"data": X.data, "indices": X.indices, "indptr": X.indptr, "shape": np.array(X.shape),
                  "format": np.array(X.format)}
    else:
        X = np.asarray(X)
        if X.dtype == object:
            raise InputError("X holds Python objects; pass a numeric array or a scipy.sparse matrix.")
        arrays = {"X": X}
    (np.savez_compressed if compressed else np.savez)(path, y=y, **arrays)


def _read_csv(path: Path):
    import pandas as pd

    try:  # the delimiter is sniffed (comma, semicolon, tab, ...)
        return pd.read_csv(path, sep=None, engine="python")
    except pd.errors.EmptyDataError:
        raise InputError(f"{path.name} holds no columns (only blank lines); pass the CSV with the training data.") \
            from None
    except Exception:  # the sniffer fails on e.g. one-column files: a plain comma-separated read decides
        return pd.read_csv(path)


def _check_numeric_columns(frame, name: str) -> None:
    """Every feature column numeric; otherwise name the first offending column and one of its values."""
    import pandas as pd

    for c in frame.columns:
        col = frame[c]
        if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
            continue
        values = col.dropna()
        example = f" (e.g. {str(values.iloc[0])!r})" if len(values) else ""
        others = [str(o) for o in frame.columns if o != c and not pd.api.types.is_numeric_dtype(frame[o].dtype)]
        more = f"; so do {', '.join(map(repr, others))}" if others else ""
        raise InputError(
            f"Feature column {str(c)!r} of {name} holds text{example}{more}; encode it as numbers (e.g. one-hot) "
            "the way the model was trained, or drop it."
        )


def _load_parquet_lazily(pattern: str, target: str | None):
    """Parquet files bigger than memory: a Dask DataFrame, read chunk by chunk when the attack runs."""
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("Reading many Parquet files lazily needs Dask: pip install 'hypersteal[dask]'.") from None
    try:
        frame = dd.read_parquet(pattern)
    except (OSError, ValueError) as exc:
        raise InputError(f"Could not read Parquet data {pattern!r} ({exc}).") from None
    if target is None or target not in frame.columns:
        raise InputError(f"Name the target column with --target (columns: {list(frame.columns)}).")
    features = [c for c in frame.columns if c != target]
    bad = [c for c in features if not np.issubdtype(frame[c].dtype, np.number)]
    if bad:
        raise InputError(f"Feature column(s) {bad} are not numeric; encode them the way the model was trained.")
    arr = frame[[*features, target]].to_dask_array(lengths=True).astype(float)  # one set of row chunks
    return arr[:, :-1], arr[:, -1]


def _indexed(files, stem):
    keys = sorted((int(m.group(1)), k) for k in files if (m := re.fullmatch(rf"{stem}_(\d+)", k)))
    return [k for _, k in keys]


def load_params(path) -> dict:
    """Load a parameter file: npz (arrays ``coef``, ``intercept``, ``dual_coef``, or ``coefs_0``,
    ``coefs_1``, … and ``intercepts_0``, … for MLPs) or JSON with the same keys (lists for MLPs)."""
    path = _check_file(path, "parameter file", "--params")
    if path.suffix.lower() == ".json":
        try:
            raw = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path.name} is not valid JSON ({exc}).") from None
        if not isinstance(raw, dict):
            raise InputError(f"{path.name} must hold a JSON object such as {{\"coef\": [...], \"intercept\": 0}}.")
        params = {}
        for k, v in raw.items():
            try:
                if k in ("coefs", "intercepts"):
                    params[k] = [np.asarray(a, dtype=float) for a in v]
                else:
                    params[k] = np.asarray(v, dtype=float)
            except (TypeError, ValueError):
                raise InputError(f"{path.name}: {k!r} must hold numbers (a number or nested lists of numbers of "
                                 "one shape).") from None
        return params
    if path.suffix.lower() == ".npz":
        with _open_npz(path, "the parameters (e.g. coef=..., intercept=...)") as f:
            files = list(f.files)
            params = {k: _npz_array(f, k, path) for k in files if not re.fullmatch(r"(coefs|intercepts)_\d+", k)}
            for stem in ("coefs", "intercepts"):
                keys = _indexed(files, stem)
                if keys:
                    params[stem] = [_npz_array(f, k, path) for k in keys]
        return params
    raise InputError(f"Unsupported parameter file {path.name!r}: use .npz or .json.")


def save_params(path, params: dict) -> None:
    """Write params as npz (MLP layer lists become ``coefs_0``, ``coefs_1``, …)."""
    flat = {}
    for k, v in params.items():
        if isinstance(v, (list, tuple)):
            flat.update({f"{k}_{i}": np.asarray(a) for i, a in enumerate(v)})
        else:
            flat[k] = np.asarray(v)
    np.savez(path, **flat)


def _skops_estimator(path: Path) -> str | None:
    """The class name of the estimator in a .skops file (a Pipeline's last step), read from the
    file's JSON schema without loading anything; None if the schema does not say."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            node = json.loads(z.read("schema.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    if node.get("__class__") == "Pipeline":
        try:
            steps = node["content"]["content"]["steps"]["content"]
            node = steps[-1]["content"][1]
        except (KeyError, IndexError, TypeError):
            return None
    name = node.get("__class__")
    return name if isinstance(name, str) else None


def load_skops(path, trusted=()):
    """Load a scikit-learn estimator saved with skops — never with pickle.

    An estimator hypersteal does not support is refused first, by the class name in the file's
    schema. Otherwise skops lists the types in the file it does not trust by default; unless every
    one of them is in ``trusted`` (what the user vouches for), the file is refused with the list.
    """
    text = str(path)
    if Path(text[-300:]).suffix.lower() in (".pkl", ".pickle", ".joblib"):
        raise InputError(
            f"{Path(text[-300:]).name} looks like a pickle; hypersteal never unpickles files. Save the estimator "
            "with skops.io.dump(estimator, 'model.skops') instead."
        )
    path = _check_file(path, "model file", "--model")
    try:
        import skops.io as sio
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("Reading .skops files needs skops: pip install 'hypersteal[skops]'.") from None
    name = _skops_estimator(path)
    if name is not None:
        from .adapters import SUPPORTED

        if name not in SUPPORTED:
            raise InputError(f"{path.name} holds a {name}, which hypersteal does not support; supported "
                             f"estimators: {', '.join(SUPPORTED)} (or a Pipeline ending in one).")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise InputError(f"{path.name} is not a readable skops file ({exc}); save the estimator with "
                         "skops.io.dump(estimator, 'model.skops').") from None
    missing = sorted(set(untrusted) - set(trusted))
    if missing:
        flags = " ".join(f"--trust {t}" for t in missing)
        raise InputError(
            f"{path.name} holds types skops does not trust: {', '.join(missing)}. Inspect the file; if you trust "
            f"its source, allow them explicitly ({flags})."
        )
    return sio.load(path, trusted=list(untrusted))
