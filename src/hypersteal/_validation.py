"""Input checks shared by every public entry point.

All messages are built here so that they read alike: what was wrong, what was expected, and what
to do about it.  Bad values raise :class:`InputError` (a :class:`ValueError`), wrong types raise
:class:`TypeError`, as scikit-learn does.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

import numpy as np

__all__ = [
    "InputError",
    "check_array",
    "check_X_y",
    "check_binary_labels",
    "check_finite",
    "check_options",
    "check_positive",
    "suggest",
]


class InputError(ValueError):
    """A value passed to hypersteal is wrong; the message says what and how to fix it."""


def suggest(name: str, valid: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest valid name, or an empty string."""
    valid = [str(v) for v in valid]
    close = difflib.get_close_matches(str(name).lower(), [v.lower() for v in valid], n=1, cutoff=0.5)
    if not close:
        return ""
    lookup = {v.lower(): v for v in valid}
    return f" Did you mean {lookup[close[0]]!r}?"


def _is_lazy(a) -> bool:
    """True for arrays that should not be materialised here (Dask)."""
    return type(a).__module__.split(".")[0] == "dask"


def check_array(
    a, name: str, *, ndim: int | tuple[int, ...] = 2, allow_empty: bool = False, finite: bool = True
) -> np.ndarray:
    """Convert ``a`` to a float ndarray and check its dimensions and values.

    Parameters
    ----------
    a : array-like
        The input.
    name : str
        How the message refers to it (``"X"``, ``"params['coef']"``).
    ndim : int or tuple of int
        Accepted numbers of dimensions.
    finite : bool
        Refuse NaN and infinities here. ``False`` defers the check (an extra pass over a large X)
        to :func:`check_finite`, for callers whose results reveal them anyway.
    """
    if a is None:
        raise TypeError(f"{name} is required but got None; pass a numeric array.")
    if _is_sparse(a):
        raise InputError(
            f"{name} is a scipy.sparse matrix, which this learner does not take (the linear learners do); pass "
            f"{name}.toarray() if it fits in memory ({a.shape[0]} × {a.shape[1]} floats)."
        )
    if isinstance(a, (str, bytes, Mapping)):
        raise TypeError(f"{name} must be a numeric array, got {type(a).__name__}.")
    if hasattr(a, "to_numpy") and not _is_lazy(a):
        a = a.to_numpy()
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise InputError(
            f"{name} could not be read as a numeric array ({exc}); pass a rectangular array."
        ) from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} must hold numbers, got dtype {arr.dtype}; encode categorical columns first."
            ) from None
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got complex values.")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    ndims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if arr.ndim not in ndims:
        want = " or ".join(f"{k}-D" for k in ndims)
        hint = " Reshape a single feature with X.reshape(-1, 1)." if name == "X" and arr.ndim == 1 else ""
        raise InputError(f"{name} must be {want}, got an array of shape {arr.shape}.{hint}")
    if not allow_empty and arr.size == 0:
        raise InputError(f"{name} is empty (shape {arr.shape}); pass at least one value.")
    if finite:
        check_finite(arr, name)
    return arr


def _is_sparse(a) -> bool:
    return type(a).__module__.startswith("scipy.sparse")


def check_sparse(a, name: str, *, finite: bool = True):
    """A scipy.sparse matrix as a float64 CSR or CSC matrix, 2-D and non-empty (its stored values finite). A
    float64 CSR or CSC matrix (or array) is used as it is (no copy); other formats are converted to CSR, other
    dtypes to float64, once; nothing is densified."""
    import scipy.sparse as sp

    a = sp.csc_matrix(a) if getattr(a, "format", None) == "csc" else sp.csr_matrix(a)
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold numbers, got a sparse matrix of dtype {a.dtype}.")
    a = a.astype(np.float64, copy=False)
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"{name} is empty (shape {a.shape}); pass at least one value.")
    if finite:
        check_finite(a.data, name)
    return a


def check_finite(arr: np.ndarray, name: str) -> None:
    """Refuse NaN and infinite values, counting them in the message (a sparse matrix: its stored values)."""
    if _is_sparse(arr):
        arr = arr.data
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise InputError(
            f"{name} contains {bad} NaN or infinite value(s); impute or drop them before stealing."
        )


def check_X_y(X, y, *, y_ndim: tuple[int, ...] = (1,), finite_X: bool = True,
              accept_sparse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Check the training data: X is (n, d), y has n rows, both finite (X's check may be deferred). With
    ``accept_sparse``, a scipy.sparse X stays sparse (CSR or CSC, see :func:`check_sparse`)."""
    X = check_sparse(X, "X", finite=finite_X) if accept_sparse and _is_sparse(X) else \
        check_array(X, "X", ndim=2, finite=finite_X)
    y_arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if y_arr.ndim == 2 and y_arr.shape[1] == 1 and 2 not in y_ndim:
        y_arr = y_arr.ravel()
    if y_arr.dtype.kind in "OUSb" and y_arr.ndim == 1:
        y = y_arr  # labels are checked by the learner
        if len(y) and y.dtype.kind == "O" and any(v is None for v in y):
            raise InputError("y contains missing labels (None); drop those rows before stealing.")
    else:
        y = check_array(y_arr, "y", ndim=y_ndim)
    if y.shape[0] != X.shape[0]:
        raise InputError(
            f"X has {X.shape[0]} rows but y has {y.shape[0]}; pass one target per row of X."
        )
    return X, y


def check_binary_labels(y, *, encoding: tuple[float, float], algorithm: str) -> tuple[np.ndarray, np.ndarray]:
    """Map any two labels to ``encoding`` (negative, positive) in sorted order, as scikit-learn does.

    Returns the encoded labels and the original classes.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise InputError(f"{algorithm} needs one label per row (1-D y), got shape {y.shape}.")
    classes = np.unique(y)
    if len(classes) != 2:
        raise InputError(
            f"{algorithm} is a binary learner but y has {len(classes)} distinct label(s) "
            f"({_show(classes)}); pass exactly two classes, or use a multi-class model."
        )
    out = np.where(y == classes[1], encoding[1], encoding[0]).astype(float)
    return out, classes


def check_options(options: Mapping, valid: Iterable[str], *, where: str) -> None:
    """Refuse options a learner does not know, suggesting the closest valid one."""
    valid = sorted(valid)
    for key in options:
        if key not in valid:
            known = ", ".join(valid) if valid else "none"
            raise TypeError(
                f"{where} got an unknown option {key!r}.{suggest(key, valid)} Valid options: {known}."
            )


def check_positive(value, name: str, *, strict: bool = True) -> float:
    """Check a scalar is a finite positive number."""
    if isinstance(value, bool) or not np.isscalar(value) or not np.issubdtype(type(value), np.number):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r}).")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (strict and value == 0):
        bound = "> 0" if strict else ">= 0"
        raise InputError(f"{name} must be a finite number {bound}, got {value!r}.")
    return value


def _show(values, limit: int = 5) -> str:
    vals = [repr(v.item() if hasattr(v, "item") else v) for v in values[:limit]]
    return ", ".join(vals) + (", …" if len(values) > limit else "")
