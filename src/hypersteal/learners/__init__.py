"""Reference trainers: fit each learner at a given λ, to tight tolerance, in the paper's convention.

Every objective is written in the paper's convention (docs/conventions.md): losses are **sums** over the
rows, regularisers carry **no ½**, an intercept c is unpenalised unless ``intercept_scaling`` says
otherwise, and network biases are never penalised. :func:`train` returns the parameters with
scikit-learn's attribute names:

* linear models: ``{"coef": (d,) or (classes, d), "intercept": float or (classes,)}``
* kernel models: ``{"dual_coef": (n,), "intercept": float}``, f(x) = Σ_i dual_coef_i k(x_i, x) + c
* networks: ``{"coefs": [W_1 (d, h_1), …, W_L], "intercepts": [b_1, …, b_L]}``

============================ ============================================ =============================
algorithm                    objective                                    fitted by
============================ ============================================ =============================
ridge                        Σ(y − Xw − c)² + λ‖w‖²                        Ridge (cholesky)
lasso                        Σ(y − Xw − c)² + λ‖w‖₁                        Lasso, proximal Newton
elastic_net                  Σ(y − Xw − c)² + λ₁‖w‖₁ + λ₂‖w‖²              ElasticNet, proximal Newton
kernel_ridge                 ‖y − Kα‖² + λαᵀKα                              KernelRidge (precomputed K)
logistic_l2                  Σ CE(y, σ(Xw + c)) + λ‖w‖²                    LogisticRegression, Newton
logistic_l1                  Σ CE(y, σ(Xw + c)) + λ‖w‖₁                    proximal Newton
kernel_logistic_l2           Σ CE(y, σ(Kα + c)) + λαᵀKα                    Newton (representer form)
kernel_logistic_l1           Σ CE(y, σ(Kα + c)) + λ‖α‖₁                    proximal Newton
svm_squared_hinge            Σ max(0, 1 − y(Xw + c))² + λ‖w‖²              generalised Newton
svm_hinge                    Σ max(0, 1 − y(Xw + c)) + λ‖w‖²               smoothed Newton, KKT
kernel_svm_squared_hinge     Σ max(0, 1 − y(Kα + c))² + λαᵀKα              generalised Newton
kernel_svm_hinge             Σ max(0, 1 − y(Kα + c)) + λαᵀKα               SVC(kernel="precomputed"), KKT
mlp_regression               Σ‖y − f(x)‖² + λΣ_l‖W_l‖²                     MLPRegressor, L-BFGS, Newton
mlp_classification           Σ CE(y, σ/softmax f(x)) + λΣ_l‖W_l‖²          MLPClassifier, L-BFGS, Newton
============================ ============================================ =============================

"Newton" is this module's own damped (generalised) Newton method on the exact objective, "proximal
Newton" its L1 counterpart, and "KKT" an exact solve of the hinge's optimality system on support
sets found by libsvm (kernel) or by Newton's method on a Huber-smoothed hinge whose smoothing is
driven to 0 (linear; libsvm as fallback). They start from the scikit-learn fit where one exists
and stop when the relative stationarity residual ``‖∇F‖ / (‖∇loss‖ + ‖∇(λR)‖)`` falls below ``tol``
(default 1e-12); measured residuals are 1e-16…3e-10 on Diabetes, two-class Iris and synthetic data for λ = 1e-3…1e3.

Networks with ``activation="relu"`` are not differentiable where a unit's input crosses 0, and their
fits often stop at such a kink: the result is then as good as L-BFGS gets, with a ConvergenceWarning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy.special import logsumexp

from .._validation import InputError
from ..registry import LEARNERS
from . import hinge, mlp, smooth
from ._numerics import _HINGE, _LOGISTIC, _SQHINGE, _SQUARED, _single_blas_thread
from ._setup import ACTIVATIONS, DEFAULT_OPTIONS, _Setup, _setup
from .mlp import _mlp_output, _mlp_value_grad

__all__ = ["train", "objective_value", "DEFAULT_OPTIONS", "ACTIVATIONS"]


#: the trainer of each registered learner that has one: the function ``_fit_<name>`` of its module
_TRAINERS: dict[str, Callable[[_Setup], dict]] = {
    name: next(getattr(m, f"_fit_{name}") for m in (smooth, hinge, mlp) if hasattr(m, f"_fit_{name}"))
    for name in DEFAULT_OPTIONS
}

# =========================================================================== public API


@_single_blas_thread
def train(algorithm: str, X, y, lam, **options) -> dict:
    """Fit ``algorithm`` at regularisation ``lam``, to tight tolerance, in the paper's convention.

    Parameters
    ----------
    algorithm : str
        Any accepted spelling (``"ridge"``, ``"RR"``, ``"SVM-RHL"`` …); see the module docstring for
        each objective and the library that fits it.
    X : array-like of shape (n, d)
        Training features (for ``kernel="precomputed"``, the n × n Gram matrix).
    y : array-like of shape (n,) or (n, t)
        Targets (regression; ridge, kernel_ridge and mlp_regression take several columns) or class
        labels: any two labels, in sorted order with the second positive (cross-entropy learners use
        {0, 1}, hinge learners {−1, +1}); logistic_l2 and mlp_classification also take ≥ 3 classes.
    lam : float, or (λ1, λ2) for elastic_net
        The regularisation hyperparameter(s), > 0.
    **options
        ``fit_intercept`` (default True; False for kernel_ridge) fits an unpenalised intercept.
        ``intercept_scaling=s`` (logistic_l2, logistic_l1, svm_squared_hinge) penalises the intercept
        as liblinear does instead. Kernel learners: ``kernel`` ("rbf"), ``gamma`` (None = 1/d),
        ``degree`` (3), ``coef0`` (1.0). Networks: ``hidden_layer_sizes`` ((10,)), ``activation``
        ("tanh"), ``random_state`` (0). Iterative learners: ``tol`` (relative stationarity target,
        1e-12; libsvm's own tolerance 1e-10 for the hinge learners; unused by ridge/kernel_ridge)
        and ``max_iter``. Unknown options raise TypeError.

    Returns
    -------
    dict
        Linear models ``{"coef", "intercept"}``, kernel models ``{"dual_coef", "intercept"}``,
        networks ``{"coefs", "intercepts", "activation"}``; plain numpy arrays and floats.

    Warns
    -----
    ConvergenceWarning
        When an iterative fit stops far from its tolerance.

    Notes
    -----
    BLAS runs on one thread during the call (restored afterwards): the solvers factorise many
    small matrices, for which extra threads only add contention.
    """
    s = _setup(algorithm, X, y, lam, options, "train")
    return _TRAINERS[s.name](s)


def objective_value(algorithm: str, X, y, params: Mapping, lam, **options) -> float:
    """The paper's objective ``loss + Σ_k λ_k R_k`` at ``params``, computed independently of the fit.

    Takes the same options as :func:`train` (only ``intercept_scaling``, the kernel's options and
    ``activation`` change the value; the others are accepted and ignored, so one options dict serves
    both). ``intercept_scaling=s`` adds the intercept's penalty λ(c/s)² (L1: λ|c/s|).
    """
    s = _setup(algorithm, X, y, lam, options, "objective_value")
    name, X, Y, lam = s.name, s.X, s.y, s.lam
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}.")
    try:
        if LEARNERS[name].family == "mlp":
            Y2 = Y[:, None] if Y.ndim == 1 else Y
            coefs = [np.asarray(W, dtype=float) for W in params["coefs"]]
            inter = [np.asarray(b, dtype=float) for b in params["intercepts"]]
            return _mlp_value_grad(coefs, inter, X, Y2, lam, s.o["activation"], _mlp_output(name, Y2),
                                   grad=False)
        if "kernel" in s.o:
            a = np.asarray(params["dual_coef"], dtype=float)
            a = a.reshape(s.K.shape[0], -1) if a.ndim == 2 or Y.ndim == 2 else a
            F = s.K @ a + np.asarray(params.get("intercept", 0.0), dtype=float)
            if LEARNERS[name].penalty == "l1":
                reg = float(np.abs(a).sum())
            else:
                reg = float(np.sum(a * (s.K @ a)))
            w_pen = None
        else:
            W = np.asarray(params["coef"], dtype=float)
            c = np.asarray(params.get("intercept", 0.0), dtype=float)
            F = X @ W.T + c
            scaling = s.o.get("intercept_scaling")
            w_pen = W.ravel() if scaling is None else np.append(W.ravel(), np.ravel(c) / scaling)
    except KeyError as exc:
        raise InputError(f"params for {name} lack {exc.args[0]!r}; got keys {sorted(params)}.") from None
    if name == "logistic_l2" and Y.ndim == 2:
        return float(np.sum(logsumexp(F, axis=1) - np.sum(Y * F, axis=1))) + lam * float(w_pen @ w_pen)
    loss = {"squared": _SQUARED, "squared_hinge": _SQHINGE, "hinge": _HINGE, "logistic": _LOGISTIC}[
        LEARNERS[name].loss]
    value = loss.value(F, Y)
    if w_pen is None:
        return value + lam * reg
    penalty = LEARNERS[name].penalty
    if penalty == "elastic_net":
        return value + lam[0] * float(np.abs(w_pen).sum()) + lam[1] * float(w_pen @ w_pen)
    if penalty == "l1":
        return value + lam * float(np.abs(w_pen).sum())
    return value + lam * float(w_pen @ w_pen)
