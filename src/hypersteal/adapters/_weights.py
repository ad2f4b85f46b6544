"""Known loss weights of a scikit-learn fit: which estimators take them, and the per-row weights each computes
from ``sample_weight`` and its ``class_weight``."""

from __future__ import annotations

import numpy as np

from .._validation import InputError, check_array

__all__ = ["WEIGHTED", "ROW_WEIGHTED", "check_weights", "row_weights", "svc_without_zero_weights"]

#: estimators whose loss is a squared error, where known sample weights fold into the rows exactly:
#: "sum" — Σ w_i r_i² as given; "mean" — scikit-learn rescales the weights to sum to n first
WEIGHTED = {"Ridge": "sum", "RidgeClassifier": "sum", "Lasso": "mean", "ElasticNet": "mean"}

#: estimators whose known row weights (sample_weight times class_weight) enter the attack's loss Σ w_i ℓ_i as they
#: are, and how their ``class_weight="balanced"`` counts the classes: "weighted" — Σ sample_weight per class
#: (liblinear, and LogisticRegression's every solver), "rows" — rows per class, sample_weight ignored (libsvm's
#: SVC, SGD); None — no class_weight (regressors). Every one of them multiplies C (or the loss row) by the weight,
#: so λ's native mapping is unchanged: liblinear and libsvm minimise ½‖w‖² + C Σ w_i ℓ_i; LogisticRegression's
#: L-BFGS / Newton / SAG solvers (1/S) Σ w_i ℓ_i + ‖w‖²/(2CS) with S = Σ w_i, the same minimum; SGD the mean of
#: w_i ℓ_i + alpha·R(w); KernelRidge Σ w_i (y_i − K_iα)² + alpha·αᵀKα (its dual solves (WK + alpha·I)α =
#: Wy).
ROW_WEIGHTED = {"LogisticRegression": "weighted", "LinearSVC": "weighted", "SVC": "rows", "SGDClassifier": "rows",
                "SGDRegressor": None, "KernelRidge": None}


def svc_without_zero_weights(est, sample_weight):
    """libsvm drops the rows of weight 0 before training, and scikit-learn's ``support_`` then counts the rows
    that remain: a copy of ``est`` whose ``support_`` indexes all the rows (the dropped rows have α = 0)."""
    import copy

    view = copy.copy(est)
    view.support_ = np.flatnonzero(np.asarray(sample_weight) > 0)[est.support_]
    return view


def row_weights(kind, est, y_labels, sample_weight, n):
    """Known per-row weights of the loss (sample_weight times class_weight, computed as ``kind`` computes them),
    or None. One-vs-rest SGD and liblinear (LinearSVC, > 2 classes) weigh class k's rows by class_weight[k] in class
    k's sub-problem only, the rest by 1: then one weight per row and class, (n, classes)."""
    class_weight = getattr(est, "class_weight", None) if kind == "RidgeClassifier" or kind in ROW_WEIGHTED else None
    if sample_weight is None and not class_weight:
        return None
    if kind not in WEIGHTED and kind not in ROW_WEIGHTED:
        raise InputError(
            f"{kind} with sample_weight: weights change the loss, and hypersteal takes them into account only for "
            f"{', '.join([*WEIGHTED, *ROW_WEIGHTED])} and their CV variants. Steal from a fit without weights."
        )
    w = np.ones(n)
    if sample_weight is not None:
        w = w * sample_weight
    if class_weight and kind == "RidgeClassifier":
        from sklearn.utils.class_weight import compute_sample_weight

        w = w * compute_sample_weight(class_weight, y_labels)
    elif class_weight:
        from sklearn.utils.class_weight import compute_class_weight

        classes = np.asarray(est.classes_)
        y_labels = np.asarray(y_labels)
        counted = sample_weight if ROW_WEIGHTED[kind] == "weighted" else None
        try:
            per_class = compute_class_weight(class_weight, classes=classes, y=y_labels, sample_weight=counted)
        except ValueError as e:
            raise InputError(f"{kind}'s class_weight={class_weight!r} does not fit these labels ({e}); pass the y "
                             "the estimator was fitted on.") from None
        idx = np.searchsorted(classes, y_labels)
        if kind in ("SGDClassifier", "LinearSVC") and len(classes) > 2:  # one-vs-rest: the rest keep weight 1
            W = np.ones((n, len(classes)))
            W[np.arange(n), idx] = per_class[idx]
            return w[:, None] * W
        w = w * per_class[idx]
    return w


def check_weights(sample_weight, n):
    """sample_weight as a 1-D float array of n non-negative values (None stays None)."""
    if sample_weight is None:
        return None
    w = check_array(sample_weight, "sample_weight", ndim=(1,))
    if w.shape[0] != n:
        raise InputError(f"sample_weight has {w.shape[0]} values but X has {n} rows; pass one weight per row.")
    if np.any(w < 0):
        raise InputError("sample_weight holds negative values; scikit-learn's weights are non-negative.")
    return w
