"""Steal straight from fitted scikit-learn estimators, and answer in their own parameter names.

Each adapter turns an estimator into (algorithm, model options, params) and maps the paper's λ back
to the estimator's native hyperparameter (docs/conventions.md, checked against scikit-learn fits in the tests):

==========================================  =============================================
estimator                                   mapping
==========================================  =============================================
Ridge(alpha), KernelRidge(alpha)            λ = alpha
Lasso(alpha)                                λ = 2n·alpha
ElasticNet(alpha, l1_ratio=r)               λ₁ = 2n·alpha·r,  λ₂ = n·alpha·(1 − r)
LogisticRegression(C, l1_ratio=r)           L2 (r = 0): λ = 1/(2C); L1 (r = 1): λ = 1/C;
                                            else λ₁ = r/C, λ₂ = (1 − r)/(2C)
LinearSVC(C), SVC(C)                        λ = 1/(2C)
LinearSVR(C), SVR(C)                        λ = 1/(2C)  (ε-insensitive losses, ε known)
NuSVR(C), NuSVC(nu)                         λ = 1/(2C), ε recovered; the equivalent SVC's C
MLPRegressor(alpha) / MLPClassifier(alpha)  λ = alpha / λ = alpha/2
SGDRegressor(alpha) / SGDClassifier(alpha)  λ = n·alpha / λ = n·alpha/2  (penalty="l2")
RidgeClassifier(alpha)                      λ = alpha (ridge on ±1 targets, one column per class)
RidgeCV, RidgeClassifierCV                  as Ridge / RidgeClassifier, at the chosen alpha_
LassoCV, ElasticNetCV                       as Lasso / ElasticNet, at alpha_ (and l1_ratio_)
LogisticRegressionCV                        as LogisticRegression, at C_ (and l1_ratio_)
LassoLars, LassoLarsIC, LassoLarsCV         as Lasso (at alpha_ for IC and CV); see _regressors
PoissonRegressor, GammaRegressor,           λ = n·alpha/2
TweedieRegressor(power, link)
HuberRegressor(alpha, epsilon)              λ = alpha (scale_ is a fitted parameter)
==========================================  =============================================

Search and meta-estimators (GridSearchCV, OneVsRestClassifier, …) are unwrapped in
:mod:`hypersteal.adapters._sklearn_meta`.

scikit-learn's objectives are means (1/n Σ) or carry ½ and C; the paper's are sums with no ½. For
example ``Lasso`` minimises (1/2n)‖y − Xw‖² + alpha‖w‖₁, which is (1/2n)(‖y − Xw‖² + 2n·alpha‖w‖₁).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import InputError, check_array
from ..kernels import KERNELS
from ..registry import LEARNERS, Native, native
from ..result import Status
from . import _regressors
from ._svr import linear_svr, nu_svc, nu_svr, svr
from ._weights import WEIGHTED, row_weights, svc_without_zero_weights

__all__ = ["steal_from_estimator", "SUPPORTED"]


def _linear_params(est):
    return {"coef": np.asarray(est.coef_, dtype=float), "intercept": np.atleast_1d(est.intercept_).astype(float)}


@dataclass(frozen=True)
class _NativeAt:
    """λ ↔ the estimator's own parameters on ``n`` rows (a mapping of :data:`hypersteal.registry.NATIVE`)."""

    mapping: Native
    n: int

    def __call__(self, lam: dict) -> dict:
        return self.mapping.to_native(lam, self.n)

    def inverse(self, values: dict) -> dict:
        return self.mapping.from_native(values, self.n)


def _to_native(estimator: str, algorithm: str, X) -> _NativeAt:
    return _NativeAt(native(estimator, algorithm), X.shape[0])


def _ridge(est, X):
    if getattr(est, "positive", False):
        raise InputError("Ridge(positive=True) is a constrained fit; its stationarity conditions are inequalities.")
    # one alpha per target is split into one learner per target before this (see _sklearn_meta)
    return "ridge", {}, _linear_params(est), _to_native("Ridge", "ridge", X)


def _lasso(est, X):
    if getattr(est, "positive", False):
        raise InputError("Lasso(positive=True) is a constrained fit; its stationarity conditions are inequalities.")
    return "lasso", {}, _linear_params(est), _to_native("Lasso", "lasso", X)


def _elastic_net(est, X):
    if getattr(est, "positive", False):
        raise InputError("ElasticNet(positive=True) is a constrained fit; stationarity gives inequalities only.")
    algorithm = {0: "ridge", 1: "lasso"}.get(est.l1_ratio, "elastic_net")  # the ends are ridge and the lasso
    return algorithm, {}, _linear_params(est), _to_native("ElasticNet", algorithm, X)


def _kernel_options(est, X, gamma_attr="gamma"):
    kernel = est.kernel
    if callable(kernel):
        raise TypeError(
            f"{type(est).__name__} was fitted with a callable kernel, which hypersteal cannot evaluate safely; "
            "refit with kernel='precomputed' and pass the Gram matrix as X."
        )
    opts = {"kernel": kernel}
    gamma = getattr(est, gamma_attr, None)
    if kernel in ("rbf", "poly", "sigmoid", "laplacian", "chi2"):
        if gamma == "scale":
            gamma = 1.0 / (X.shape[1] * X.var()) if X.var() > 0 else 1.0
        elif gamma == "auto" or gamma is None:
            gamma = 1.0 / X.shape[1]
        opts["gamma"] = float(gamma)
    if kernel in ("poly",):
        opts["degree"] = est.degree
    if kernel in ("poly", "sigmoid"):
        opts["coef0"] = float(est.coef0)
    return opts


def _kernel_ridge(est, X):
    """KernelRidge: ‖y − Kα‖² + alpha·αᵀKα, so λ = alpha. Kernels that :mod:`hypersteal.kernels` does not
    name (``cosine``, ``chi2``, ``additive_chi2``, the alias ``polynomial``) are evaluated exactly as
    KernelRidge does (``pairwise_kernels(X, metric=kernel, filter_params=True, gamma=…, degree=…,
    coef0=…)``) and attacked as ``kernel="precomputed"``. Like KernelRidge, ``kernel_params`` is
    ignored for string kernels (scikit-learn passes it to callable kernels only)."""
    dual = {"dual_coef": np.asarray(est.dual_coef_, dtype=float)}
    to_native = _to_native("KernelRidge", "kernel_ridge", X)
    if callable(est.kernel) or est.kernel in KERNELS:
        return "kernel_ridge", _kernel_options(est, X), dual, to_native
    from sklearn.metrics.pairwise import PAIRWISE_KERNEL_FUNCTIONS, pairwise_kernels

    if est.kernel not in PAIRWISE_KERNEL_FUNCTIONS:
        raise InputError(f"KernelRidge(kernel={est.kernel!r}) is not a kernel scikit-learn knows.")
    K = pairwise_kernels(X, metric=est.kernel, filter_params=True, gamma=est.gamma, degree=est.degree,
                         coef0=est.coef0)
    return "kernel_ridge", {"kernel": "precomputed"}, dual, to_native, K


def _logistic(est, X):
    penalty = getattr(est, "penalty", "deprecated")
    r = est.l1_ratio if penalty in ("deprecated", "elasticnet") else {"l1": 1.0, "l2": 0.0}.get(penalty)
    if penalty is None or penalty == "none" or not np.isfinite(est.C):
        raise InputError("This LogisticRegression has no penalty (C=inf or penalty=None): there is no λ to steal.")
    r = 0.0 if r is None else float(r)
    opts = {}
    params = _linear_params(est)
    if est.solver == "liblinear" and est.fit_intercept:
        opts["intercept_scaling"] = float(est.intercept_scaling)
    algorithm = {0.0: "logistic_l2", 1.0: "logistic_l1"}.get(r, "logistic_elastic_net")
    return algorithm, opts, params, _to_native("LogisticRegression", algorithm, X)


def _linear_svc(est, X):
    if est.penalty != "l2":
        raise InputError("LinearSVC(penalty='l1') is not supported yet; only its L2 penalty is supported.")
    algo = "svm_hinge" if est.loss == "hinge" else "svm_squared_hinge"
    opts = {"intercept_scaling": float(est.intercept_scaling)} if est.fit_intercept else {"fit_intercept": False}
    return algo, opts, _linear_params(est), _to_native("LinearSVC", algo, X)


def _svc_one_vs_one(est, K, y):
    """Every pair (i, j) of an ovo SVC is a binary SVM on the points of classes i and j, all with
    the same C: returns (Gram block, labels, params, rows) per pair for the stacked attack, from the Gram
    matrix ``K`` of all training points (evaluated once). libsvm's pair decision is positive for
    class i; its coefficients are dual_coef_[j − 1] on class i's support vectors and dual_coef_[i]
    on class j's."""
    y = np.asarray(y)
    k = len(est.classes_)
    a_all = np.zeros((max(k - 1, 1), K.shape[0]))
    a_all[:, est.support_] = est.dual_coef_
    pairs, p = [], 0
    for i in range(k):
        for j in range(i + 1, k):
            rows = np.flatnonzero((y == est.classes_[i]) | (y == est.classes_[j]))
            # coefficients of the pair: class i's points in row j − 1, class j's in row i
            a = np.where(y[rows] == est.classes_[i], a_all[j - 1, rows], a_all[i, rows])
            labels = np.where(y[rows] == est.classes_[i], 1, -1)
            pairs.append((K[np.ix_(rows, rows)], labels, {"dual_coef": a, "intercept": float(est.intercept_[p])},
                          rows))
            p += 1
    return pairs


def _libsvm_params(est, X) -> dict:
    """A binary libsvm fit's representer weights on every training row (``dual_coef_`` placed at ``support_``, 0
    elsewhere) and its intercept."""
    a = np.zeros(X.shape[0])
    a[est.support_] = np.asarray(est.dual_coef_, dtype=float).ravel()
    return {"dual_coef": a, "intercept": float(np.ravel(est.intercept_)[0])}


def _svc(est, X):
    if len(est.classes_) > 2:  # one-vs-one: the pairs are stacked (see _leaf_problems)
        opts = _kernel_options(est, X)
        return "kernel_svm_hinge", {**opts, "fit_intercept": True}, None, _to_native("SVC", "kernel_svm_hinge", X)
    opts = _kernel_options(est, X)
    params = _libsvm_params(est, X)
    if opts["kernel"] == "linear":
        return "svm_hinge", {"fit_intercept": True}, {"coef": est.coef_, "intercept": params["intercept"]}, \
            _to_native("SVC", "svm_hinge", X)
    return "kernel_svm_hinge", {**opts, "fit_intercept": True}, params, _to_native("SVC", "kernel_svm_hinge", X)


def _mlp(est, X):
    params = {"coefs": [np.asarray(W, dtype=float) for W in est.coefs_],
              "intercepts": [np.asarray(b, dtype=float) for b in est.intercepts_]}
    opts = {"activation": est.activation}
    if getattr(est, "loss", "squared_error") not in ("squared_error", "log_loss"):
        raise InputError(f"{type(est).__name__}(loss={est.loss!r}) is not supported; only the squared error "
                         "(MLPRegressor) and the cross-entropy (MLPClassifier).")
    if hasattr(est, "classes_"):
        if getattr(est, "out_activation_", "") not in ("logistic", "softmax"):
            raise InputError(f"MLPClassifier with output {est.out_activation_!r} (multi-label) is not supported.")
        return "mlp_classification", opts, params, _to_native("MLPClassifier", "mlp_classification", X)
    return "mlp_regression", opts, params, _to_native("MLPRegressor", "mlp_regression", X)


#: SGD's (loss, penalty) → learner; SGD minimises the mean loss + alpha·R(w), named by :data:`registry.NATIVE`
_SGD = {
    ("squared_error", "l2"): "ridge", ("squared_error", "l1"): "lasso", ("squared_error", "elasticnet"): "elastic_net",
    ("log_loss", "l2"): "logistic_l2", ("log_loss", "l1"): "logistic_l1",
    ("log_loss", "elasticnet"): "logistic_elastic_net",
    ("hinge", "l2"): "svm_hinge", ("squared_hinge", "l2"): "svm_squared_hinge",
    ("epsilon_insensitive", "l2"): "svr_epsilon_insensitive",
    ("squared_epsilon_insensitive", "l2"): "svr_squared_epsilon_insensitive",
}


def _sgd(est, X):
    if getattr(est, "average", False):
        raise InputError(f"{type(est).__name__}(average=True) returns averaged iterates, no stationary point.")
    kind = "SGDClassifier" if hasattr(est, "classes_") else "SGDRegressor"
    algorithm = _SGD.get((est.loss, est.penalty))
    if algorithm is None or (kind == "SGDRegressor") != LEARNERS[algorithm].regression:
        pairs = [f"loss={loss!r} with penalty={pen!r}" for (loss, pen), a in _SGD.items()
                 if (kind == "SGDRegressor") == LEARNERS[a].regression]
        raise InputError(f"{kind}(loss={est.loss!r}, penalty={est.penalty!r}) is not supported; supported: "
                         f"{'; '.join(pairs)}.")
    options = {"epsilon": float(est.epsilon)} if "epsilon" in est.loss else {}  # the ε-insensitive losses' ε
    return algorithm, options, _linear_params(est), _to_native(kind, algorithm, X)


def _dead_layer(est, X):
    """The first hidden ReLU layer whose units are all inactive on every row of X, or None."""
    a = X
    for layer, (W, b) in enumerate(zip(est.coefs_[:-1], est.intercepts_[:-1])):
        a = np.maximum(a @ W + b, 0.0)
        if not np.any(a > 0):
            return layer
    return None


def _ridge_classifier(est, X):
    """RidgeClassifier: ridge regression on targets ±1 (one column per class; one column for two classes),
    so λ = alpha; the targets are encoded by :func:`_encode_pm1`."""
    if getattr(est, "positive", False):
        raise InputError("RidgeClassifier(positive=True) is a constrained fit; its stationarity conditions are "
                         "inequalities.")
    return "ridge", {}, _linear_params(est), _to_native("RidgeClassifier", "ridge", X)


def _encode_pm1(est, y):
    """The ±1 targets RidgeClassifier regresses on (scikit-learn's LabelBinarizer(neg_label=-1))."""
    y = np.asarray(y)
    classes = np.asarray(est.classes_)
    if y.ndim == 2:  # multi-label indicator matrix
        return np.where(y > 0, 1.0, -1.0)
    if len(classes) == 2:
        return np.where(y == classes[1], 1.0, -1.0)[:, None]
    return np.where(y[:, None] == classes[None, :], 1.0, -1.0)


#: estimator class name → adapter
SUPPORTED = {
    "Ridge": _ridge,
    "Lasso": _lasso,
    "ElasticNet": _elastic_net,
    "KernelRidge": _kernel_ridge,
    "LogisticRegression": _logistic,
    "LinearSVC": _linear_svc,
    "SVC": _svc,
    "MLPRegressor": _mlp,
    "MLPClassifier": _mlp,
    "SGDRegressor": _sgd,
    "SGDClassifier": _sgd,
    "RidgeClassifier": _ridge_classifier,
    "LinearSVR": linear_svr,
    "SVR": svr,
    "NuSVR": nu_svr,
    "NuSVC": nu_svc,
    "LassoLars": _regressors.lasso_lars,
    "PoissonRegressor": _regressors.glm,
    "GammaRegressor": _regressors.glm,
    "TweedieRegressor": _regressors.glm,
    "HuberRegressor": _regressors.huber,
}

_KERNEL_KEYS = ("kernel", "gamma", "degree", "coef0")


@dataclass
class Problem:
    """One learner's attack: what :func:`hypersteal.steal` receives, and the map to native names."""

    algorithm: str
    options: dict
    X: Any
    y: Any
    params: dict
    to_native: Callable
    weights: str = ""  # how known sample weights entered ("", "sum", "mean", "rows")
    #: weighted fits: |Σ w_i r_i| / Σ w_i |r_i|, the unpenalised intercept's equation (no λ in it)
    intercept_residual: float = 0.0
    #: the loss's known row weights, passed to the attack as they are (weights == "rows")
    sample_weight: np.ndarray | None = None


def as_precomputed(problem: Problem) -> Problem:
    """A kernel problem on its Gram matrix (kernel="precomputed"), so that sub-problems with different
    kernel options (gamma="scale" on different rows) share one objective."""
    if not problem.algorithm.startswith("kernel_") or problem.options.get("kernel") == "precomputed":
        return problem
    from ..kernels import Kernel

    o = problem.options
    K = Kernel(o.get("kernel", "rbf"), gamma=o.get("gamma"), degree=o.get("degree", 3),
               coef0=o.get("coef0", 1.0))(check_array(problem.X, "X"))
    options = {k: v for k, v in o.items() if k not in _KERNEL_KEYS}
    return Problem(problem.algorithm, {"kernel": "precomputed", **options}, K, problem.y, problem.params,
                   problem.to_native, problem.weights, problem.intercept_residual, problem.sample_weight)


def leaf_problems(kind: str, est, X, y, sample_weight=None) -> list[Problem]:
    """The attack(s) of one fitted plain estimator (``kind`` names its class; ``est`` may be a stand-in).

    Several problems share λ: the one-vs-one pairs of a multi-class SVC.
    """
    from ..kernels import Kernel

    if kind == "SVC" and sample_weight is not None and np.any(np.asarray(sample_weight) == 0):
        est = svc_without_zero_weights(est, sample_weight)
    plan = SUPPORTED[kind](est, X)
    algorithm, options, params, to_native = plan[:4]
    if len(plan) > 4:  # the adapter evaluated the Gram matrix itself: attack it as kernel="precomputed"
        X, options = plan[4], {**options, "kernel": "precomputed"}
    if kind == "RidgeClassifier":
        y_labels, y = y, _encode_pm1(est, y)
    else:
        y_labels = y
    weights = row_weights(kind, est, y_labels, sample_weight, X.shape[0])
    if weights is not None and kind in WEIGHTED:
        return [_weighted(kind, algorithm, options, X, y, params, to_native, weights)]
    how = "rows" if weights is not None else ""
    if kind == "SGDClassifier" and algorithm.startswith("logistic") and len(est.classes_) > 2:
        # one-vs-rest: a binary logistic regression per class (not a softmax), all with the same alpha
        coef, intercept = np.atleast_2d(params["coef"]), np.atleast_1d(params["intercept"])
        labels = np.asarray(y)
        return [Problem(algorithm, options, X, (labels == c).astype(int), {"coef": coef[i], "intercept": intercept[i]},
                        to_native, how, sample_weight=None if weights is None else
                        (weights[:, i] if weights.ndim == 2 else weights))
                for i, c in enumerate(est.classes_)]
    if kind == "SVC" and len(est.classes_) > 2:
        o = options
        K = Kernel(o["kernel"], gamma=o.get("gamma"), degree=o.get("degree", 3), coef0=o.get("coef0", 1.0))(X)
        # libsvm's dual coefficients satisfy the reduced form 2λα_i = y_i w_i γ_i by construction (α_i y_i in
        # [0, C w_i]): the full form K(g + 2λα) = 0 is never the better-conditioned choice, so it is not built per pair
        shared = {"kernel": "precomputed", "fit_intercept": True, "form": "reduced"}
        return [Problem(algorithm, shared, Kp, yp, p, to_native, how,
                        sample_weight=None if weights is None else weights[rows])
                for Kp, yp, p, rows in _svc_one_vs_one(est, K, y)]
    return [Problem(algorithm, options, X, y, params, to_native, how, sample_weight=weights)]


def _weighted(kind, algorithm, options, X, y, params, to_native, w):
    """Σ w_i (y_i − x_iᵀW − c)² is the unweighted squared loss of the rows √w_i·x_i and targets
    √w_i·(y_i − c) with no intercept: the weights' stationarity equations are exactly those of the fit.
    The unpenalised intercept's own equation Σ w_i r_i = 0 holds no λ; its relative residual is kept
    to be reported (weights other than those of the fit usually break it)."""
    if algorithm not in ("ridge", "lasso", "elastic_net"):
        raise InputError(f"{kind} fitted with weights is supported only with its squared loss, not {algorithm}.")
    if WEIGHTED[kind] == "mean":  # scikit-learn's coordinate descent rescales the weights to sum to n
        w = w * (len(w) / w.sum())
    X = check_array(X, "X")
    Y = check_array(y, "y", ndim=(1, 2))
    c = np.atleast_1d(np.asarray(params.get("intercept", 0.0), dtype=float))
    s = np.sqrt(w)
    Xw = X * s[:, None]
    Yw = (Y - (c if Y.ndim == 2 else c[0])) * (s[:, None] if Y.ndim == 2 else s)
    coef = np.atleast_2d(params["coef"])
    intercept_residual = 0.0
    if np.any(c != 0):
        R = (Y if Y.ndim == 2 else Y[:, None]) - X @ coef.T - c
        wr = w[:, None] * R
        intercept_residual = float(np.max(np.abs(wr.sum(axis=0)) / np.maximum(np.abs(wr).sum(axis=0), 1e-300)))
    return Problem(algorithm, options, Xw, Yw, {"coef": params["coef"], "intercept": np.zeros_like(c)}, to_native,
                   WEIGHTED[kind], intercept_residual)


def leaf_notes(kind, est, X, result) -> list[str]:
    """Caveats that depend on the estimator, not on the equations (dead ReLU layers, max_iter, SGD), added to
    ``result.warnings``; returns those that should also be raised as Python warnings."""
    loud = []
    if kind.startswith("MLP") and est.activation == "relu" and _dead_layer(est, X) is not None:
        result.warnings.append(
            f"every unit of hidden layer {_dead_layer(est, X)} is inactive on every training point: the "
            "network is constant, its loss gradient is exactly 0, and its weights are a stationary point only "
            "for λ = 0 (the solver stopped early); λ cannot be stolen from this dead network."
        )
    if kind == "NuSVC":
        result.warnings.append(f"NuSVC has no C: native C is that of the SVC whose fit these parameters are "
                               f"(ν = {est.nu:g} fixed it through the data).")
    loud += flag_unconverged(kind, est, result)
    if result.status not in (Status.EXACT, Status.NOT_IDENTIFIABLE) and result.interval_source != "replay":
        msg = (
            f"{kind} is {result.residual:.2g} (relative residual) away from a stationary point; "
            f"the stolen λ is {result.status.value.replace('_', ' ')}."
        )
        if msg not in result.warnings:
            result.warnings.append(msg)
            loud.append(msg)
    return loud


def flag_unconverged(kind, est, result) -> list[str]:
    """A solver stopped by ``max_iter`` left no minimum: say so in the status (replay may still recover λ).
    Returns the message to raise as a warning (once)."""
    max_iter, n_iter = getattr(est, "max_iter", None), getattr(est, "n_iter_", None)
    if kind.startswith("SGD") or n_iter is None or max_iter is None or not 0 < max_iter <= np.max(n_iter):
        return []
    # liblinear, saga, L-BFGS … that hit max_iter may sit at a point that is exactly stationary for
    # another λ (seen: LinearSVC(tol=1e-12) stuck at the optimum of C/20): the residual cannot tell
    msg = (
        f"{kind} stopped at max_iter={max_iter} without converging: its parameters are not a minimum at its own "
        "hyperparameters, so stationarity cannot locate λ."
    )
    if msg in result.warnings:
        return []
    result.warnings.append(msg)
    if result.status is not Status.NOT_IDENTIFIABLE and result.interval_source != "replay":
        result.status = Status.NOT_A_MINIMUM
        result.identifiable = False
        result.lambdas = {k: float("nan") for k in result.lambdas}
    return [msg]


def steal_from_estimator(estimator, X, y, *, sample_weight=None, replay="auto", **options):
    """Steal the hyperparameters of a fitted scikit-learn estimator.

    Parameters
    ----------
    estimator : fitted estimator
        One of :data:`SUPPORTED`; a CV estimator (``RidgeCV``, ``RidgeClassifierCV``, ``LassoCV``,
        ``ElasticNetCV``, ``LogisticRegressionCV``); a fitted ``GridSearchCV`` / ``RandomizedSearchCV`` /
        ``HalvingGridSearchCV`` / ``HalvingRandomSearchCV`` (its ``best_estimator_``); a ``Pipeline`` (earlier
        steps, e.g. a ``ColumnTransformer``, transform X); or ``OneVsRestClassifier``, ``OneVsOneClassifier``,
        ``MultiOutputRegressor``, ``MultiOutputClassifier``, ``TransformedTargetRegressor``,
        ``CalibratedClassifierCV`` around any of these.
    X, y : array-like
        The training data the estimator was fitted on (X as the estimator received it, a DataFrame for a
        ``ColumnTransformer``).
    replay : "auto", False, or seconds
        Where the stationarity conditions give no exact answer (default tolerances, SGD, Adam, a solver
        stopped at ``max_iter``), train the estimator again at candidate values and keep the one that
        reproduces its parameters (:mod:`hypersteal.adapters.replay`); tens of trainings, for at most
        ``REPLAY_BUDGET`` (60) seconds with "auto", or the seconds given. False: never.
    sample_weight : array-like of shape (n,), optional
        The ``sample_weight`` the estimator was fitted with. Weights enter the loss, so a weighted fit is
        recovered exactly only with them: ``Ridge``, ``RidgeClassifier``, ``Lasso``, ``ElasticNet``,
        ``LogisticRegression``, ``LinearSVC``, ``SVC``, ``SGDClassifier`` and their CV variants; others refuse.
        ``class_weight`` is read from the estimator and computed as it computes it.
    **options
        Passed to :func:`hypersteal.steal` (``identifiable_rtol``, ``margin_tol``).

    Returns
    -------
    StealResult or PerModelResult
        With ``.native`` in the estimator's own names, e.g. ``{"alpha": 0.3}`` or ``{"C": 2.5}``; for a
        search or CV estimator also ``"<name>_grid_index"``, the chosen value's position among the searched
        values (ascending). Sub-models sharing λ (one-vs-rest, one-vs-one, outputs, folds) are stacked into one
        answer; sub-models with their own values (a CV estimator inside a meta-estimator) come back as a
        :class:`~hypersteal.adapters._sklearn_meta.PerModelResult`, one result per sub-model.
    """
    from ._sklearn_meta import resolve, steal_groups

    if replay not in ("auto", True, False) and not (
            isinstance(replay, (int, float)) and not isinstance(replay, bool) and replay > 0):
        raise InputError(f"replay must be 'auto', False or a number of seconds > 0, got {replay!r}.")
    groups = resolve(estimator, X, y, sample_weight)
    result, loud = steal_groups(groups, options, replay=replay)
    for msg in loud:
        warnings.warn(msg, stacklevel=2)
    return result
