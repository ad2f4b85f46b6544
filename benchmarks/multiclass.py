"""Multi-class estimators on digits: one-vs-one SVC (45 pairs), one-vs-rest LinearSVC, multinomial logistic.

    python benchmarks/multiclass.py            # prints a Markdown table (docs/estimators.md)
    python benchmarks/run.py --only multiclass  # the same rows, into benchmarks/results.json

Data: ``load_digits`` (1 797 rows × 64 pixels, 10 classes), pixels / 16. Each model is fitted at a tight
tolerance and stolen by ``steal_from_estimator(est, X, y)``. Columns: the recovered native value and its
relative error, the verdict, the median attack time over ``repeats`` runs, and that time over one NumPy pass
``Aᵀ(Aw − y)`` over the matrix the attack works on, measured in the same run: X for linear models, the
1 797 × 1 797 Gram matrix for kernel ones (the attack's own cost grows with it, as does training's).
"""

from __future__ import annotations

import time
import warnings

import numpy as np


def models():
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC, LinearSVC

    yield "SVC(C=1, rbf), one-vs-one", SVC(C=1.0, tol=1e-8), "C", 1.0
    yield "SVC(C=0.1, linear), one-vs-one", SVC(C=0.1, kernel="linear", tol=1e-8), "C", 0.1
    yield "SVC(C=1, poly), one-vs-one", SVC(C=1.0, kernel="poly", tol=1e-8), "C", 1.0
    yield "LinearSVC(C=0.1), one-vs-rest", LinearSVC(C=0.1, tol=1e-10, max_iter=10**5), "C", 0.1
    yield "LogisticRegression(C=0.5), multinomial", LogisticRegression(C=0.5, tol=1e-10, max_iter=10**5), "C", 0.5


def _median(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, float(np.median(times))


def run(repeats: int = 3) -> list[dict]:
    from sklearn.datasets import load_digits
    from sklearn.metrics.pairwise import pairwise_kernels

    import hypersteal

    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    t = np.asarray(y, dtype=float)

    def one_pass(A):
        w = np.random.default_rng(0).standard_normal(A.shape[1])
        return _median(lambda: A.T @ (A @ w - t), 20)[1]

    rows = []
    print("| model | native | rel. error | verdict | time | ÷ one pass |")
    print("|---|---|---|---|---|---|")
    for name, est, key, true in models():
        est.fit(X, y)
        kernel = getattr(est, "kernel", "linear")
        gamma = 1.0 / (X.shape[1] * X.var())  # gamma="scale", as SVC sets it
        A = X if kernel == "linear" else pairwise_kernels(X, metric=kernel, gamma=gamma, degree=est.degree,
                                                           coef0=est.coef0, filter_params=True)
        base = one_pass(A)
        result, dt = _median(lambda est=est: hypersteal.steal_from_estimator(est, X, y), repeats)
        value = result.native[key]
        err = abs(value / true - 1)
        rows.append({"model": name, key: value, "true": true, "rel_error": err, "status": result.status.value,
                     "seconds": dt, "one_pass_seconds": base, "passes": dt / base})
        print(f"| {name} | {key} = {value:.12g} | {err:.1e} | {result.status.value} | {dt:.3f} s | "
              f"{dt / base:,.0f} |", flush=True)
    return rows


if __name__ == "__main__":
    run()
