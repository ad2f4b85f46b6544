"""Steal straight from fitted scikit-learn estimators, and answer in their own parameter names.

Each adapter turns an estimator into (algorithm, model options, params) and maps the paper's λ back
to the estimator's native hyperparameter (DESIGN §2, checked against scikit-learn fits in the tests):

==========================================  =============================================
estimator                                   mapping
==========================================  =============================================
Ridge(alpha), KernelRidge(alpha)            λ = alpha
Lasso(alpha)                                λ = 2n·alpha
ElasticNet(alpha, l1_ratio=r)               λ₁ = 2n·alpha·r,  λ₂ = n·alpha·(1 − r)
LogisticRegression(C, l1_ratio=r)           L2 (r = 0): λ = 1/(2C); L1 (r = 1): λ = 1/C;
                                            else λ₁ = r/C, λ₂ = (1 − r)/(2C)
LinearSVC(C), SVC(C)                        λ = 1/(2C)
MLPRegressor(alpha) / MLPClassifier(alpha)  λ = alpha / λ = alpha/2
SGDRegressor(alpha) / SGDClassifier(alpha)  λ = n·alpha / λ = n·alpha/2  (penalty="l2")
==========================================  =============================================

scikit-learn's objectives are means (1/n Σ) or carry ½ and C; the paper's are sums with no ½. For
example ``Lasso`` minimises (1/2n)‖y − Xw‖² + alpha‖w‖₁, which is (1/2n)(‖y − Xw‖² + 2n·alpha‖w‖₁).
"""

from __future__ import annotations

import warnings

import numpy as np

from .._lazy import is_lazy
from .._validation import InputError, check_array
from ..attack import rejudge, steal, steal_stacked
from ..kernels import KERNELS
from ..result import Status
from .solvers import gap_intervals, gradient_bound, refine

__all__ = ["steal_from_estimator", "SUPPORTED"]


def _linear_params(est):
    return {"coef": np.asarray(est.coef_, dtype=float), "intercept": np.atleast_1d(est.intercept_).astype(float)}


def _n(X):
    return X.shape[0]


def _refuse_class_weight(est):
    if getattr(est, "class_weight", None) is not None:
        raise InputError(
            f"{type(est).__name__} was fitted with class_weight={est.class_weight!r}: the weights change the "
            "loss, and stationarity cannot account for them. Refit with class_weight=None to steal λ."
        )


def _ridge(est, X):
    if getattr(est, "positive", False):
        raise InputError("Ridge(positive=True) is a constrained fit; its stationarity conditions are inequalities.")
    alpha = np.atleast_1d(est.alpha)
    if alpha.size > 1:
        raise InputError("Ridge with one alpha per target is several learners; steal each target separately.")
    return "ridge", {}, _linear_params(est), lambda lam: {"alpha": lam["lambda"]}


def _lasso(est, X):
    if getattr(est, "positive", False):
        raise InputError("Lasso(positive=True) is a constrained fit; its stationarity conditions are inequalities.")
    n = _n(X)
    return "lasso", {}, _linear_params(est), lambda lam: {"alpha": lam["lambda"] / (2 * n)}


def _elastic_net(est, X):
    if getattr(est, "positive", False):
        raise InputError("ElasticNet(positive=True) is a constrained fit; stationarity gives inequalities only.")
    n, r = _n(X), est.l1_ratio
    if r in (0, 0.0):
        return "ridge", {}, _linear_params(est), lambda lam: {"alpha": lam["lambda"] / n, "l1_ratio": 0.0}
    if r == 1:
        return "lasso", {}, _linear_params(est), lambda lam: {"alpha": lam["lambda"] / (2 * n), "l1_ratio": 1.0}

    def native(lam):
        l1, l2 = lam["lambda_l1"], lam["lambda_l2"]
        alpha = l1 / (2 * n) + l2 / n
        return {"alpha": alpha, "l1_ratio": (l1 / (2 * n)) / alpha if alpha else float("nan")}

    return "elastic_net", {}, _linear_params(est), native


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
    to_native = lambda lam: {"alpha": lam["lambda"]}  # noqa: E731
    if callable(est.kernel) or est.kernel in KERNELS:
        return "kernel_ridge", _kernel_options(est, X), dual, to_native
    from sklearn.metrics.pairwise import PAIRWISE_KERNEL_FUNCTIONS, pairwise_kernels

    if est.kernel not in PAIRWISE_KERNEL_FUNCTIONS:
        raise InputError(f"KernelRidge(kernel={est.kernel!r}) is not a kernel scikit-learn knows.")
    K = pairwise_kernels(X, metric=est.kernel, filter_params=True, gamma=est.gamma, degree=est.degree,
                         coef0=est.coef0)
    return "kernel_ridge", {"kernel": "precomputed"}, dual, to_native, K


def _logistic(est, X):
    _refuse_class_weight(est)
    penalty = getattr(est, "penalty", "deprecated")
    r = est.l1_ratio if penalty in ("deprecated", "elasticnet") else {"l1": 1.0, "l2": 0.0}.get(penalty)
    if penalty is None or penalty == "none" or not np.isfinite(est.C):
        raise InputError("This LogisticRegression has no penalty (C=inf or penalty=None): there is no λ to steal.")
    r = 0.0 if r is None else float(r)
    opts = {}
    params = _linear_params(est)
    if est.solver == "liblinear" and est.fit_intercept:
        opts["intercept_scaling"] = float(est.intercept_scaling)
    C = float(est.C)
    if r == 0.0:
        return "logistic_l2", opts, params, lambda lam: {"C": 1 / (2 * lam["lambda"])}
    if r == 1.0:
        return "logistic_l1", opts, params, lambda lam: {"C": 1 / lam["lambda"]}

    def native(lam):
        l1, l2 = lam["lambda_l1"], lam["lambda_l2"]
        return {"C": 1 / (l1 + 2 * l2), "l1_ratio": l1 / (l1 + 2 * l2)}

    del C
    return "logistic_elastic_net", opts, params, native


def _linear_svc(est, X):
    _refuse_class_weight(est)
    if est.penalty != "l2":
        raise InputError("LinearSVC(penalty='l1') is not supported yet; only the L2 penalty of DESIGN §2.")
    algo = "svm_hinge" if est.loss == "hinge" else "svm_squared_hinge"
    opts = {"intercept_scaling": float(est.intercept_scaling)} if est.fit_intercept else {"fit_intercept": False}
    return algo, opts, _linear_params(est), lambda lam: {"C": 1 / (2 * lam["lambda"])}


def _svc_one_vs_one(est, X, y):
    """Every pair (i, j) of an ovo SVC is a binary SVM on the points of classes i and j, all with
    the same C: returns (data, params) per pair for the stacked attack. libsvm's pair decision is
    positive for class i; its coefficients are dual_coef_[j − 1] on class i's support vectors and
    dual_coef_[i] on class j's."""
    y = np.asarray(y)
    k = len(est.classes_)
    starts = np.concatenate([[0], np.cumsum(est.n_support_)])
    pairs, p = [], 0
    for i in range(k):
        for j in range(i + 1, k):
            rows = np.flatnonzero((y == est.classes_[i]) | (y == est.classes_[j]))
            si, sj = slice(starts[i], starts[i + 1]), slice(starts[j], starts[j + 1])
            sv = np.concatenate([est.support_[si], est.support_[sj]])
            coef = np.concatenate([est.dual_coef_[j - 1, si], est.dual_coef_[i, sj]])
            a = np.zeros(X.shape[0])
            a[sv] = coef
            labels = np.where(y[rows] == est.classes_[i], 1, -1)
            pairs.append((X[rows], labels, {"dual_coef": a[rows], "intercept": float(est.intercept_[p])}))
            p += 1
    return pairs


def _svc(est, X):
    _refuse_class_weight(est)
    if len(est.classes_) > 2:  # one-vs-one: the pairs are stacked by steal_from_estimator
        opts = _kernel_options(est, X)
        return "kernel_svm_hinge", {**opts, "fit_intercept": True}, None, lambda lam: {"C": 1 / (2 * lam["lambda"])}
    a = np.zeros(X.shape[0])
    a[est.support_] = np.asarray(est.dual_coef_, dtype=float).ravel()
    opts = _kernel_options(est, X)
    params = {"dual_coef": a, "intercept": float(np.ravel(est.intercept_)[0])}
    if opts["kernel"] == "linear":
        return "svm_hinge", {"fit_intercept": True}, {"coef": est.coef_, "intercept": params["intercept"]}, \
            lambda lam: {"C": 1 / (2 * lam["lambda"])}
    return "kernel_svm_hinge", {**opts, "fit_intercept": True}, params, lambda lam: {"C": 1 / (2 * lam["lambda"])}


def _mlp(est, X):
    params = {"coefs": [np.asarray(W, dtype=float) for W in est.coefs_],
              "intercepts": [np.asarray(b, dtype=float) for b in est.intercepts_]}
    opts = {"activation": est.activation}
    if getattr(est, "loss", "squared_error") not in ("squared_error", "log_loss"):
        raise InputError(f"{type(est).__name__}(loss={est.loss!r}) is not supported; only the squared error "
                         "(MLPRegressor) and the cross-entropy (MLPClassifier) of DESIGN §2.")
    if hasattr(est, "classes_"):
        if getattr(est, "out_activation_", "") not in ("logistic", "softmax"):
            raise InputError(f"MLPClassifier with output {est.out_activation_!r} (multi-label) is not supported.")
        return "mlp_classification", opts, params, lambda lam: {"alpha": 2 * lam["lambda"]}
    return "mlp_regression", opts, params, lambda lam: {"alpha": lam["lambda"]}


def _sgd(est, X):
    _refuse_class_weight(est)
    if est.penalty != "l2":
        raise InputError(f"{type(est).__name__}(penalty={est.penalty!r}) is not supported; only penalty='l2'.")
    if getattr(est, "average", False):
        raise InputError(f"{type(est).__name__}(average=True) returns averaged iterates, no stationary point.")
    n = _n(X)
    if hasattr(est, "classes_"):
        losses = {"log_loss": "logistic_l2", "hinge": "svm_hinge", "squared_hinge": "svm_squared_hinge"}
        if est.loss not in losses:
            raise InputError(f"SGDClassifier(loss={est.loss!r}) is not supported; use one of {sorted(losses)}.")
        return losses[est.loss], {}, _linear_params(est), lambda lam: {"alpha": 2 * lam["lambda"] / n}
    if est.loss != "squared_error":
        raise InputError(f"SGDRegressor(loss={est.loss!r}) is not supported; use loss='squared_error'.")
    return "ridge", {}, _linear_params(est), lambda lam: {"alpha": lam["lambda"] / n}


def _dead_layer(est, X):
    """The first hidden ReLU layer whose units are all inactive on every row of X, or None."""
    a = X
    for layer, (W, b) in enumerate(zip(est.coefs_[:-1], est.intercepts_[:-1])):
        a = np.maximum(a @ W + b, 0.0)
        if not np.any(a > 0):
            return layer
    return None


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
}


def _steal_stacked(algorithm, model_options, pairs, options):
    """One λ from several binary sub-problems (one-vs-one): their equations are stacked."""
    return steal_stacked(algorithm, pairs, **model_options, **options)


def steal_from_estimator(estimator, X, y, *, replay="auto", **options):
    """Steal the hyperparameters of a fitted scikit-learn estimator (or a Pipeline ending in one).

    Parameters
    ----------
    estimator : fitted estimator
        One of :data:`SUPPORTED`, or a ``Pipeline`` whose last step is (earlier steps transform X).
    X, y : array-like
        The training data the estimator was fitted on.
    replay : "auto" or False
        Where the stationarity conditions give no exact answer (default tolerances, SGD, Adam, a solver
        stopped at ``max_iter``), train the estimator again at candidate values and keep the one that
        reproduces its parameters (:mod:`hypersteal.adapters.solvers`); tens of trainings. False: never.
    **options
        Passed to :func:`hypersteal.steal` (``identifiable_rtol``, ``margin_tol``).

    Returns
    -------
    StealResult
        With ``.native`` in the estimator's own names, e.g. ``{"alpha": 0.3}`` or ``{"C": 2.5}``.
    """
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if hasattr(estimator, "steps"):  # Pipeline: transform X through the earlier steps
        try:
            check_is_fitted(estimator)
        except NotFittedError:
            raise InputError("This Pipeline is not fitted yet; call fit(X, y) first, then steal.") from None
        X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    name = type(estimator).__name__
    if name not in SUPPORTED:
        raise TypeError(
            f"{name} is not supported. Supported estimators: {', '.join(SUPPORTED)} (or a Pipeline ending in one)."
        )
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise InputError(f"This {name} is not fitted yet; call fit(X, y) first, then steal.") from None
    if not is_lazy(X):
        X = check_array(X, "X")
    expected = getattr(estimator, "n_features_in_", X.shape[1])
    if X.shape[1] != expected:
        raise InputError(
            f"X has {X.shape[1]} features but this {name} was fitted on {expected}; pass the training data it was "
            "fitted on (after the same preprocessing)."
        )
    plan = SUPPORTED[name](estimator, X)
    algorithm, model_options, params, to_native = plan[:4]
    if len(plan) > 4:  # the adapter evaluated the Gram matrix itself: attack it as kernel="precomputed"
        X = plan[4]
    if name == "SVC" and len(estimator.classes_) > 2:
        result = _steal_stacked("kernel_svm_hinge", model_options, _svc_one_vs_one(estimator, X, y), options)
    else:
        bound = None if is_lazy(X) else gradient_bound(estimator, X.shape[0])
        result = steal(algorithm, X, y, params, bound=bound, **model_options, **options)
        gap = None if is_lazy(X) or algorithm not in ("lasso", "elastic_net") else gap_intervals(
            estimator, X, y, result.estimate)
        if gap is not None:
            result = rejudge(result, *gap, identifiable_rtol=options.get("identifiable_rtol", 1e-6))
        _flag_unconverged(estimator, result)
        if not is_lazy(X) and plan_kind(plan) == "direct":
            result = refine(result, estimator, X, y, to_native, mode=replay)
    lambdas = {k: np.float64(v) for k, v in result.lambdas.items()}  # NaN where not identifiable
    with np.errstate(divide="ignore", invalid="ignore"):
        result.native = {k: float(v) for k, v in to_native(lambdas).items()}
        if len(result.intervals) == 1 and len(result.native) == 1:
            (k, (lo, hi)), = result.intervals.items()
            ends = [to_native({k: np.float64(v)}) for v in (lo, hi)]
            (name_, a), (_, b) = next(iter(ends[0].items())), next(iter(ends[1].items()))
            result.native_intervals = {name_: (float(min(a, b)), float(max(a, b)))} if lo <= hi else {}
    if name.startswith("MLP") and estimator.activation == "relu" and _dead_layer(estimator, X) is not None:
        result.warnings.append(
            f"every unit of hidden layer {_dead_layer(estimator, X)} is inactive on every training point: the "
            "network is constant, its loss gradient is exactly 0, and its weights are a stationary point only "
            "for λ = 0 (the solver stopped early); λ cannot be stolen from this dead network."
        )
    if result.status not in (Status.EXACT, Status.NOT_IDENTIFIABLE) and result.interval_source != "replay":
        msg = (
            f"{name} is {result.residual:.2g} (relative residual) away from a stationary point; "
            f"the stolen λ is {result.status.value.replace('_', ' ')}."
        )
        result.warnings.append(msg)
        warnings.warn(msg, stacklevel=2)
    return result


def _flag_unconverged(estimator, result):
    """A solver stopped by ``max_iter`` left no minimum: say so in the status (replay may still recover λ)."""
    name = type(estimator).__name__
    max_iter, n_iter = getattr(estimator, "max_iter", None), getattr(estimator, "n_iter_", None)
    if name.startswith("SGD") or n_iter is None or max_iter is None or not 0 < max_iter <= np.max(n_iter):
        return
    # liblinear, saga, L-BFGS … that hit max_iter may sit at a point that is exactly stationary for
    # another λ (seen: LinearSVC(tol=1e-12) stuck at the optimum of C/20): the residual cannot tell
    msg = (
        f"{name} stopped at max_iter={max_iter} without converging: its parameters are not a minimum at its own "
        "hyperparameters, so stationarity cannot locate λ."
    )
    result.warnings.append(msg)
    warnings.warn(msg, stacklevel=3)
    if result.status is not Status.NOT_IDENTIFIABLE:
        result.status = Status.NOT_A_MINIMUM
        result.identifiable = False
        result.lambdas = {k: float("nan") for k in result.lambdas}


def plan_kind(plan) -> str:
    """"direct" when the estimator's parameters were attacked as they are (replayable), else "derived"."""
    return "derived" if len(plan) > 4 else "direct"
