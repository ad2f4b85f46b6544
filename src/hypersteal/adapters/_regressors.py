"""Adapters of scikit-learn regressors beyond the paper's: each turns a fitted estimator into (algorithm, model
options, params, map to its native names), as :data:`hypersteal.adapters.sklearn.SUPPORTED` expects.

==========================================  =============================================
estimator                                   mapping
==========================================  =============================================
LassoLars(alpha)                            λ = 2n·alpha (the Lasso's objective, solved by LARS)
PoissonRegressor(alpha), GammaRegressor,    λ = n·alpha/2 (half the deviance per row; link and power
TweedieRegressor(power, link)               are model options of the objective)
HuberRegressor(alpha, epsilon)              λ = alpha (σ = scale_ is a fitted parameter)
==========================================  =============================================
"""

from __future__ import annotations

from .._validation import InputError

__all__ = ["lasso_lars", "glm", "huber"]


def _plan(estimator: str, algorithm: str, est, X, options=None, fitted=None):
    """The adapter's answer for a linear model read from ``coef_`` and ``intercept_`` (and ``fitted``: other
    fitted parameters by name)."""
    from .sklearn import _linear_params, _to_native  # sklearn.py registers this module's adapters

    params = {**_linear_params(est), **(fitted or {})}
    return algorithm, dict(options or {}), params, _to_native(estimator, algorithm, X)


def lasso_lars(est, X):
    """LassoLars, LassoLarsIC, LassoLarsCV: (1/2n)‖y − Xw − c‖² + alpha‖w‖₁, the Lasso's objective, whose
    minimum LARS follows exactly along the path of alpha (so λ = 2n·alpha, exact up to round-off)."""
    if getattr(est, "positive", False):
        raise InputError(f"{type(est).__name__}(positive=True) is a constrained fit; its stationarity conditions "
                         "are inequalities.")
    if getattr(est, "jitter", None) is not None:
        raise InputError(f"{type(est).__name__}(jitter={est.jitter}) fitted y plus uniform noise that it does not "
                         "keep: the parameters are a minimum for targets this call cannot see. Refit with "
                         "jitter=None to steal alpha.")
    return _plan("LassoLars", "lasso", est, X)


#: scikit-learn's GLM class → (learner, its model options read from the estimator)
_GLMS = {
    "PoissonRegressor": ("poisson_regression", lambda est: {}),
    "GammaRegressor": ("gamma_regression", lambda est: {}),
    "TweedieRegressor": ("tweedie_regression", lambda est: {"power": float(est.power), "link": est.link}),
}


def glm(est, X):
    """PoissonRegressor, GammaRegressor, TweedieRegressor: (1/n)Σ_i ½ d_p(y_i, μ_i) + (alpha/2)‖w‖², which is the
    objective of :mod:`hypersteal.objectives.glm` divided by n at λ = n·alpha/2."""
    kind = type(est).__name__
    algorithm, options = _GLMS[kind]
    return _plan(kind, algorithm, est, X, options(est))


def huber(est, X):
    """HuberRegressor: Σ_i (σ + σ·H_ε((y_i − x_iᵀw − c)/σ)) + alpha‖w‖², minimised over w, c and σ = scale_: the
    paper's form as it stands, λ = alpha."""
    return _plan("HuberRegressor", "huber_regression", est, X, {"epsilon": float(est.epsilon)},
                 {"scale": float(est.scale_)})
