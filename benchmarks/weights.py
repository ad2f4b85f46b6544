"""Known sample and class weights: the native value recovered from tight scikit-learn fits, with and without them.

    python benchmarks/weights.py            # prints a Markdown table (docs/estimators.md, section Weights)

Data: ``load_breast_cancer`` (569 rows, the first 8 standardised features, classes 212 / 357) for binary
models, the first 120 rows of ``load_iris`` (classes 50 / 50 / 20) for multi-class ones. Weights: ``"balanced"``
class weights, plus sample weights drawn uniformly from [0.2, 3] (seed 7). Each model is fitted at a tight
tolerance and stolen by ``steal_from_estimator(..., replay=False)`` with the weights (``sample_weight=`` passed,
``class_weight`` read from the estimator), and without them (no ``sample_weight``, the estimator's
``class_weight`` set to None on a copy). Columns: the relative error of the recovered C, the verdict, the
relative residual without the weights, the verdict without them, and the time of the weighted attack.
"""

from __future__ import annotations

import copy
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

import hypersteal


def models():
    yield "LogisticRegression(C=0.5, lbfgs)", LogisticRegression(C=0.5, tol=1e-12, max_iter=10**5), 0.5
    yield "LogisticRegression(C=0.5, liblinear)", LogisticRegression(C=0.5, solver="liblinear", tol=1e-12,
                                                                     max_iter=10**5), 0.5
    yield "LogisticRegression(C=0.5, saga, l1)", LogisticRegression(C=0.5, solver="saga", l1_ratio=1.0, tol=1e-12,
                                                                    max_iter=10**5), 0.5
    yield "LinearSVC(C=0.3, squared hinge)", LinearSVC(C=0.3, tol=1e-12, max_iter=10**6), 0.3
    yield "LinearSVC(C=0.3, hinge)", LinearSVC(C=0.3, loss="hinge", tol=1e-6, max_iter=10**5), 0.3
    yield "SVC(C=0.8, rbf)", SVC(C=0.8, tol=1e-10), 0.8


def main():
    warnings.simplefilter("ignore")
    X2, y2 = load_breast_cancer(return_X_y=True)
    X2 = StandardScaler().fit_transform(X2)[:, :8]
    X3, y3 = load_iris(return_X_y=True)
    X3, y3 = X3[:120], y3[:120]
    print("| model | data | C rel. error | verdict | residual without weights | verdict without | time |")
    print("|---|---|---|---|---|---|---|")
    for name, base, C in models():
        for label, X, y in (("binary", X2, y2), ("3 classes", X3, y3)):
            if "liblinear" in name and label != "binary":
                continue  # liblinear LogisticRegression is binary only in scikit-learn 1.9
            sw = np.random.default_rng(7).uniform(0.2, 3.0, len(y))
            est = copy.deepcopy(base).set_params(class_weight="balanced").fit(X, y, sample_weight=sw)
            t = time.perf_counter()
            r = hypersteal.steal_from_estimator(est, X, y, sample_weight=sw, replay=False)
            dt = time.perf_counter() - t
            blind_est = copy.copy(est)
            blind_est.class_weight = None
            blind = hypersteal.steal_from_estimator(blind_est, X, y, replay=False)
            err = abs(r.native["C"] / C - 1) if np.isfinite(r.native["C"]) else float("nan")
            print(f"| {name} | {label} | {err:.1e} | {r.status.value} | {blind.residual:.2g} | "
                  f"{blind.status.value} | {dt:.2f} s |")


if __name__ == "__main__":
    main()
