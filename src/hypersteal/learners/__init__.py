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

from . import hinge, mlp, smooth
from ._numerics import _single_blas_thread
from ._setup import ACTIVATIONS, DEFAULT_OPTIONS, _Setup, _setup

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
    """The paper's objective ``loss + Σ_k λ_k R_k`` at ``params``: the value of the learner's objective
    (:mod:`hypersteal.objectives`, the one definition the attack uses too), with :func:`train`'s options.

    Takes the same options as :func:`train` (only ``intercept_scaling``, the kernel's options and
    ``activation`` change the value; the others are accepted and ignored, so one options dict serves
    both). ``intercept_scaling=s`` adds the intercept's penalty λ(c/s)² (L1: λ|c/s|).
    """
    from ..objectives import OBJECTIVES

    s = _setup(algorithm, X, y, lam, options, "objective_value")
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}.")
    cls = OBJECTIVES[s.name]
    model = {k: v for k, v in s.o.items() if k in cls.option_defaults and v is not None}
    if "fit_intercept" in model:
        model["fit_intercept"] = None  # the value uses whatever intercept params hold
    if s.K is not None:  # the Gram matrix _setup evaluated and checked: not evaluated twice
        model = {**model, "kernel": "precomputed"}
        X = s.K
    objective = cls(**model)
    data = objective.prepare(X, y)
    checked = objective.check_params(params, data)
    return objective.value(data, checked, np.atleast_1d(s.lam))
