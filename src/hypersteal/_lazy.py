"""Data bigger than memory: Dask arrays and DataFrames, reduced chunk by chunk in one pass.

Every loss gradient hypersteal needs is a sum over rows, so for a Dask X it is computed per
row-chunk with the same numpy code and summed: one pass, memory bounded by a few chunks, on the
default scheduler or whatever ``dask.distributed.Client`` is active. Dask is imported lazily.
The linear learners also take chunks that are scipy.sparse matrices (e.g.
``da.from_array(X_csr, chunks=(100_000, -1), asarray=False)``), reduced as they are, never densified.
"""

from __future__ import annotations

import numpy as np

from ._validation import InputError

__all__ = ["is_lazy", "as_row_chunks", "chunk_sum", "lazy_classes", "sparse_chunks", "refuse_sparse_chunks"]


def is_lazy(a) -> bool:
    """True for Dask arrays, DataFrames and Series."""
    return type(a).__module__.split(".")[0] == "dask"


def sparse_chunks(X) -> bool:
    """True for a Dask array whose chunks are scipy.sparse matrices (as its meta says)."""
    from scipy.sparse import issparse

    return issparse(getattr(X, "_meta", None))


def refuse_sparse_chunks(name: str):
    """The error for sparse Dask chunks given to a learner that needs dense ones."""
    return InputError(
        f"{name} takes dense Dask chunks, and X's chunks are scipy.sparse matrices (the linear learners take them "
        "as they are); densify them with X.map_blocks(lambda b: b.toarray(), dtype=float) if the dense chunks fit "
        "in memory."
    )


def _to_array(a, name):
    import dask.dataframe as dd

    if isinstance(a, (dd.DataFrame, dd.Series)):
        a = a.to_dask_array(lengths=True)
    if a.ndim == 1 and name == "X":
        raise InputError("X must be 2-D, got a 1-D Dask array; reshape a single feature with X.reshape(-1, 1).")
    if a.ndim not in ((2,) if name == "X" else (1, 2)):
        raise InputError(f"{name} must be {'2-D' if name == 'X' else '1-D or 2-D'}, got {a.ndim}-D.")
    if a.dtype.kind not in "fiub" and name == "X":
        raise TypeError(f"X must hold numbers, got dtype {a.dtype}; encode categorical columns first.")
    return a


def as_row_chunks(X, y):
    """Dask X (n, d) and y with the same row chunks and whole rows in every chunk."""
    import dask.array as da

    X = _to_array(X, "X")
    y = _to_array(y, "y") if is_lazy(y) else da.from_array(np.asarray(y), chunks=(X.chunks[0],) + (-1,) * (
        np.ndim(y) - 1))
    if np.isnan(X.shape[0]) or np.isnan(y.shape[0]):
        raise InputError("The Dask arrays have unknown chunk sizes; call compute_chunk_sizes() first.")
    if X.shape[0] != y.shape[0]:
        raise InputError(f"X has {X.shape[0]} rows but y has {y.shape[0]}; pass one target per row of X.")
    X = X.rechunk({1: -1})
    y = y.rechunk((X.chunks[0],) + tuple((s,) for s in y.shape[1:]))
    return X, y


def lazy_classes(y) -> np.ndarray:
    """The distinct labels of a Dask y (a pass over y only)."""
    import dask.array as da

    return np.asarray(da.unique(y).compute())


def chunk_sum(fn, X, y):
    """Σ over row chunks of ``fn(X_chunk, y_chunk)`` (numpy arrays), computed in one pass."""
    import dask

    xs = X.to_delayed().ravel()
    ys = y.to_delayed().ravel()
    parts = [dask.delayed(fn)(xb, yb) for xb, yb in zip(xs, ys, strict=True)]
    while len(parts) > 1:  # pairwise tree: partial sums never pile up in memory
        parts = [dask.delayed(np.add)(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    return np.asarray(dask.compute(parts[0])[0])
