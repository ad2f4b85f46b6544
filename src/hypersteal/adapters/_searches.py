"""Search and CV estimators: the plain estimator each refit stands for, and where the stolen value sits among
the values a search tried.

A CV estimator refit on all the data at its chosen hyperparameters is the plain estimator at those values:
each is read as a stand-in of its plain class, with the values it searched.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .._validation import InputError

__all__ = ["CV_ESTIMATORS", "grid_notes"]


def _cv_ridge(est):
    if np.ndim(est.alpha_) and np.size(est.alpha_) > 1 and not hasattr(est, "classes_"):
        alpha = np.asarray(est.alpha_, dtype=float)  # alpha_per_target: one learner per target
    else:
        alpha = float(np.ravel(est.alpha_)[0])
    view = SimpleNamespace(alpha=alpha, positive=False, coef_=est.coef_, intercept_=est.intercept_,
                           fit_intercept=est.fit_intercept)
    kind = "Ridge"
    if hasattr(est, "classes_"):
        view.classes_, view.class_weight, kind = est.classes_, getattr(est, "class_weight", None), "RidgeClassifier"
    return kind, view, {"alpha": np.ravel(np.asarray(est.alphas, dtype=float))}


def _cv_lasso(est, enet=False):
    view = SimpleNamespace(alpha=float(est.alpha_), positive=est.positive, coef_=est.coef_, intercept_=est.intercept_,
                           max_iter=est.max_iter, n_iter_=est.n_iter_)
    alphas = np.asarray(est.alphas_, dtype=float)
    searched = {}
    if enet:
        ratios = np.atleast_1d(np.asarray(est.l1_ratio, dtype=float))
        view.l1_ratio = float(est.l1_ratio_)
        if alphas.ndim == 2:  # one path per l1_ratio: the alphas searched with the chosen one
            alphas = alphas[int(np.flatnonzero(ratios == est.l1_ratio_)[0])]
        searched["l1_ratio"] = ratios
    searched["alpha"] = alphas
    return ("ElasticNet" if enet else "Lasso"), view, searched


def _cv_logistic(est):
    if not getattr(est, "refit", True):
        raise InputError(
            "LogisticRegressionCV(refit=False) keeps the average of the folds' coefficients, which is the minimum of "
            "no single fit; refit with refit=True (the default) to steal C."
        )
    C = np.unique(np.ravel(est.C_))
    if C.size > 1:
        raise InputError(
            f"This LogisticRegressionCV chose a different C per class ({np.ravel(est.C_)}); steal each class's "
            "binary model separately (LogisticRegression(C=C_[k]) on y == classes_[k])."
        )
    r = getattr(est, "l1_ratio_", None)
    r = np.ravel(r)[0] if r is not None and np.size(r) else None
    view = SimpleNamespace(C=float(C[0]), l1_ratio=0.0 if r is None else float(r), penalty="deprecated",
                           solver=est.solver, fit_intercept=est.fit_intercept, intercept_scaling=est.intercept_scaling,
                           class_weight=est.class_weight, coef_=est.coef_, intercept_=est.intercept_,
                           classes_=est.classes_)
    if getattr(est, "penalty", "deprecated") in ("l1", "l2"):
        view.penalty = est.penalty
    searched = {"C": np.asarray(est.Cs_, dtype=float)}
    ratios = getattr(est, "l1_ratios_", None)
    if ratios is not None and np.size(ratios) and not any(v is None for v in np.ravel(ratios)):
        searched["l1_ratio"] = np.asarray(ratios, dtype=float)
    return "LogisticRegression", view, searched


def _cv_lasso_lars(est):
    """LassoLarsIC: the path's knot of least AIC/BIC; LassoLarsCV: the alpha of least CV error, refit on all
    rows (the path stopped at alpha_). Both leave LassoLars's minimum at alpha_."""
    view = SimpleNamespace(alpha=float(est.alpha_), positive=est.positive, coef_=est.coef_, intercept_=est.intercept_,
                           max_iter=est.max_iter, n_iter_=est.n_iter_)
    searched = getattr(est, "cv_alphas_", None)  # CV: the union of the folds' knots; IC: the path's own knots
    return "LassoLars", view, {"alpha": np.asarray(est.alphas_ if searched is None else searched, dtype=float)}


#: CV estimator class name → (plain class name, stand-in at the chosen values, searched values by native name)
CV_ESTIMATORS = {
    "RidgeCV": _cv_ridge,
    "RidgeClassifierCV": _cv_ridge,
    "LassoCV": _cv_lasso,
    "ElasticNetCV": lambda est: _cv_lasso(est, enet=True),
    "LogisticRegressionCV": _cv_logistic,
    "LassoLarsIC": _cv_lasso_lars,
    "LassoLarsCV": _cv_lasso_lars,
}


def _consistent(name, vals, result, to_native):
    """The searched values of a single-λ learner's ``name`` that its interval of consistent λ allows."""
    if len(result.intervals) != 1 or any(lo > hi for lo, hi in result.intervals.values()):
        return None
    key, (lo, hi) = next(iter(result.intervals.items()))
    with np.errstate(divide="ignore", invalid="ignore"):
        ends = [to_native({key: np.float64(e)}).get(name, np.nan) for e in (lo, hi)]
    a, b = np.nanmin(ends), np.nanmax(ends)
    if not (np.isfinite(a) or np.isfinite(b)):
        return None
    a = a if np.isfinite(a) else -np.inf
    b = b if np.isfinite(b) else np.inf
    return vals[(vals >= a * (1 - 1e-9)) & (vals <= b * (1 + 1e-9))]


def grid_notes(searched: dict, result, to_native=None):
    """Where the stolen value sits among the values a search tried: ``native[name + "_grid_index"]``."""
    for name, values in searched.items():
        if name not in result.native:
            continue
        vals = np.unique(np.asarray(values, dtype=float))
        if not vals.size:
            continue
        v = result.native[name]
        span = f"{vals.size} value(s) from {vals[0]:.4g} to {vals[-1]:.4g}"
        if not np.isfinite(v):
            ok = None if to_native is None else _consistent(name, vals, result, to_native)
            which = "" if ok is None else (
                f"; the searched values consistent with the model: {', '.join(f'{x:.4g}' for x in ok)}" if ok.size
                else "; none of the searched values is consistent with the model")
            result.warnings.append(f"the search tried {name} among {span}; the stolen {name} is undetermined{which}.")
            continue
        positive = np.all(vals > 0) and v > 0
        dist = np.abs(np.log(vals) - np.log(v)) if positive else np.abs(vals - v)
        i = int(np.argmin(dist))
        rel = abs(vals[i] - v) / max(abs(vals[i]), 1e-300)
        tol = max(1e-4, 10 * result.residual)
        if rel > tol:
            result.warnings.append(
                f"the stolen {name} = {v:.6g} is none of the searched values ({span}; nearest {vals[i]:.6g}): the "
                "model's parameters were not fitted at a searched value, or the fit is not a minimum."
            )
            continue
        result.native[f"{name}_grid_index"] = i
        where = f"searched value {i + 1} of {vals.size} in ascending order ({vals[0]:.4g} … {vals[-1]:.4g})"
        if vals.size > 1 and i in (0, vals.size - 1):
            where += f"; at the {'low' if i == 0 else 'high'} edge of the grid: the best value may lie beyond it"
        result.warnings.append(f"{name} = {v:.6g} is {where}.")
