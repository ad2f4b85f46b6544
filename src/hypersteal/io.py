"""Reading training data and parameter files: CSV/Parquet/npz data, npz/JSON parameters.

Nothing here unpickles: npz files are opened with ``allow_pickle=False`` and JSON is plain data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ._validation import InputError

__all__ = ["load_data", "load_params", "save_params", "load_skops"]


def load_data(path, target: str | None = None):
    """Load training data: returns X (n, d) and y.

    CSV and Parquet need ``target`` (the name of the target column; every other column is a
    feature). An npz file holds arrays ``X`` and ``y``.
    """
    if any(ch in str(path) for ch in "*?[") or (Path(path).is_dir() and any(Path(path).glob("*.parquet"))):
        return _load_parquet_lazily(str(path), target)
    path = Path(path)
    if not path.exists():
        raise InputError(f"Data file {str(path)!r} does not exist.")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            missing = {"X", "y"} - set(f.files)
            if missing:
                raise InputError(f"{path.name} must hold arrays 'X' and 'y'; missing {sorted(missing)}.")
            return f["X"], f["y"]
    import pandas as pd

    if suffix in (".csv", ".csv.gz", ".txt"):
        frame = pd.read_csv(path, sep=None, engine="python")
    elif suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    else:
        raise InputError(f"Unsupported data file {path.name!r}: use .csv, .parquet or .npz.")
    if target is None:
        raise InputError(f"Name the target column of {path.name} with --target (columns: {list(frame.columns)}).")
    if target not in frame.columns:
        from ._validation import suggest

        raise InputError(
            f"{path.name} has no column {target!r}.{suggest(target, map(str, frame.columns))} "
            f"Columns: {', '.join(map(str, frame.columns))}."
        )
    y = frame.pop(target).to_numpy()
    bad = [c for c in frame.columns if not np.issubdtype(frame[c].dtype, np.number)]
    if bad:
        raise InputError(
            f"Feature column(s) {bad} of {path.name} are not numeric; encode them (e.g. one-hot) the way "
            "the model was trained."
        )
    return frame.to_numpy(dtype=float), y


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
    path = Path(path)
    if not path.exists():
        raise InputError(f"Parameter file {str(path)!r} does not exist.")
    if path.suffix.lower() == ".json":
        try:
            raw = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"{path.name} is not valid JSON ({exc}).") from None
        if not isinstance(raw, dict):
            raise InputError(f"{path.name} must hold a JSON object such as {{\"coef\": [...], \"intercept\": 0}}.")
        params = {}
        for k, v in raw.items():
            if k in ("coefs", "intercepts"):
                params[k] = [np.asarray(a, dtype=float) for a in v]
            else:
                params[k] = np.asarray(v, dtype=float)
        return params
    if path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as f:
            files = list(f.files)
            params = {k: f[k] for k in files if not re.fullmatch(r"(coefs|intercepts)_\d+", k)}
            for stem in ("coefs", "intercepts"):
                keys = _indexed(files, stem)
                if keys:
                    params[stem] = [f[k] for k in keys]
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


def load_skops(path, trusted=()):
    """Load a scikit-learn estimator saved with skops — never with pickle.

    skops lists the types in the file it does not trust by default; unless every one of them is in
    ``trusted`` (what the user vouches for), the file is refused with the list.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"Model file {str(path)!r} does not exist.")
    if path.suffix.lower() in (".pkl", ".pickle", ".joblib"):
        raise InputError(
            f"{path.name} looks like a pickle; hypersteal never unpickles files. Save the estimator with "
            "skops.io.dump(estimator, 'model.skops') instead."
        )
    try:
        import skops.io as sio
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("Reading .skops files needs skops: pip install 'hypersteal[skops]'.") from None
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise InputError(f"{path.name} is not a readable skops file ({exc}).") from None
    missing = sorted(set(untrusted) - set(trusted))
    if missing:
        flags = " ".join(f"--trust {t}" for t in missing)
        raise InputError(
            f"{path.name} holds types skops does not trust: {', '.join(missing)}. Inspect the file; if you trust "
            f"its source, allow them explicitly ({flags})."
        )
    return sio.load(path, trusted=list(untrusted))
