"""Generalised linear models: Poisson, Gamma and Tweedie regression with an L2 penalty.

The mean is μ = h(η) of the linear predictor η = Xw + c, with a log link (μ = e^η) or the identity (μ = η). The
loss of a row is half the Tweedie unit deviance of power p — the negative log-likelihood up to a constant in y,
as the cross-entropy is logistic regression's — so that, in the paper's convention (a sum over rows, no ½ on
the penalty), each learner minimises ``Σ_i ½ d_p(y_i, μ_i) + λ‖w‖²``:

============  =====  ================================================================================
learner       p      ½ d_p(y, μ)
============  =====  ================================================================================
Tweedie       0      ½(y − μ)² (normal)
Poisson       1      y log(y/μ) − y + μ
Tweedie       (1,2)  y^{2−p}/((1−p)(2−p)) − y μ^{1−p}/(1−p) + μ^{2−p}/(2−p) (compound Poisson–Gamma)
Gamma         2      log(μ/y) + y/μ − 1
Tweedie       > 2    as for (1, 2) (positive stable; p = 3 is the inverse Gaussian)
============  =====  ================================================================================

With respect to μ the derivative is μ^{−p}(μ − y) for every p, so ∂ℓ/∂η = μ^{1−p}(μ − y) with the log link.
scikit-learn's ``PoissonRegressor``, ``GammaRegressor`` and ``TweedieRegressor`` minimise
(1/n)Σ_i ½ d_p(y_i, μ_i) + (alpha/2)‖w‖², which is (1/n) times the objective above at λ = n·alpha/2.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from .._validation import InputError
from .base import L2, Loss, _total
from .linear import LinearObjective

__all__ = ["TweedieLoss", "PoissonRegression", "GammaRegression", "TweedieRegression"]

LINKS = ("log", "identity")


def resolve_link(power: float, link: str) -> str:
    """scikit-learn's ``link="auto"``: the identity for power ≤ 0, the log otherwise."""
    if link == "auto":
        return "identity" if power <= 0 else "log"
    if link not in LINKS:
        raise InputError(f"link must be 'auto', 'log' or 'identity', got {link!r}.")
    return link


def check_power(power) -> float:
    """A Tweedie power: p ≤ 0 or p ≥ 1 (no distribution has 0 < p < 1)."""
    if isinstance(power, bool) or not isinstance(power, (int, float, np.integer, np.floating)) \
            or not np.isfinite(power):
        raise InputError(f"power must be a finite number, got {power!r}.")
    if 0 < power < 1:
        raise InputError(f"power={power} lies in (0, 1), where no Tweedie distribution exists; use p ≤ 0 or p ≥ 1.")
    return float(power)


class TweedieLoss(Loss):
    """``Σ_i ½ d_p(y_i, μ_i)`` on linear predictors F, μ = e^F (log link) or F (identity); see the module
    docstring. Gradient μ^{1−p}(μ − y) (log) or μ^{−p}(μ − y) (identity)."""

    name = "tweedie"

    def __init__(self, power: float, link: str = "log"):
        self.power = check_power(power)
        self.link = resolve_link(self.power, link)

    def mean(self, F: np.ndarray) -> np.ndarray:
        return np.exp(F) if self.link == "log" else F

    def value(self, F, Y, w=None):
        mu, p = self.mean(F), self.power
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 0:
                d = 0.5 * (Y - mu) ** 2
            elif p == 1:
                d = xlogy(Y, Y) - xlogy(Y, mu) - Y + mu
            elif p == 2:
                d = np.log(mu / Y) + Y / mu - 1.0
            else:
                d = (np.maximum(Y, 0.0) ** (2 - p) / ((1 - p) * (2 - p)) - Y * mu ** (1 - p) / (1 - p)
                     + mu ** (2 - p) / (2 - p))
        return _total(d, w)

    def grad(self, F, Y):
        mu = self.mean(F)
        with np.errstate(divide="ignore", invalid="ignore"):
            return mu ** (1 - self.power) * (mu - Y) if self.link == "log" else mu ** (-self.power) * (mu - Y)

    def hess(self, F, Y):
        mu, p = self.mean(F), self.power
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.link == "log":
                return (2 - p) * mu ** (2 - p) - (1 - p) * Y * mu ** (1 - p)
            return (1 - p) * mu ** (-p) + p * Y * mu ** (-p - 1)

    def check_targets(self, Y: np.ndarray, where: str) -> None:
        """The targets this deviance is defined on: any real (p ≤ 0), y ≥ 0 (1 ≤ p < 2), y > 0 (p ≥ 2)."""
        p = self.power
        if 1 <= p < 2 and np.any(Y < 0):
            raise InputError(f"{where} (power {p:g}) needs targets y ≥ 0; y holds {np.min(Y):g}.")
        if p >= 2 and np.any(Y <= 0):
            raise InputError(f"{where} (power {p:g}) needs targets y > 0; y holds {np.min(Y):g}.")


class _GLM(LinearObjective):
    """An L2-penalised GLM: ``Σ_i ½ d_p(y_i, h(x_iᵀw + c)) + λ‖w‖²``; b = Xᵀ∂ℓ/∂η, a = 2w."""

    penalties = (L2(),)
    power: float = 1.0

    def __init__(self, **options):
        super().__init__(**options)
        power = self.options.get("power", self.power)
        self.loss = None if power is None else TweedieLoss(power, self.options.get("link", "log"))

    def prepare(self, X, y):
        if self.loss is None:
            raise InputError(f"{self.name} needs its power: pass power=p (0 normal, 1 Poisson, 1 < p < 2 compound "
                             "Poisson–Gamma, 2 Gamma, 3 inverse Gaussian), scikit-learn's TweedieRegressor(power=p).")
        data = super().prepare(X, y)
        if not data.lazy:
            self.loss.check_targets(data.Y, self.name)
        return data


class PoissonRegression(_GLM):
    """Poisson regression, log link: ``Σ_i (μ_i − y_i log μ_i + y_i log y_i − y_i) + λ‖w‖²``, μ = e^{Xw + c}.

    b = Xᵀ(μ − y), a = 2w. scikit-learn's ``PoissonRegressor(alpha)``: λ = n·alpha/2.
    """

    name = "poisson_regression"
    power = 1.0


class GammaRegression(_GLM):
    """Gamma regression, log link: ``Σ_i (log(μ_i/y_i) + y_i/μ_i − 1) + λ‖w‖²``, μ = e^{Xw + c}.

    b = Xᵀ(1 − y/μ), a = 2w. scikit-learn's ``GammaRegressor(alpha)``: λ = n·alpha/2.
    """

    name = "gamma_regression"
    power = 2.0


class TweedieRegression(_GLM):
    """Tweedie regression of power p (option ``power``, required: p = 0 with the identity link is ridge regression
    at λ/2, so no power is assumed) and link (option ``link``: "auto" — the identity for p ≤ 0, the log
    otherwise —, "log" or "identity"): ``Σ_i ½ d_p(y_i, μ_i) + λ‖w‖²``.

    b = Xᵀ(μ^{1−p}(μ − y)) with the log link, Xᵀ(μ^{−p}(μ − y)) with the identity; a = 2w.
    scikit-learn's ``TweedieRegressor(power, alpha, link)``: λ = n·alpha/2.
    """

    name = "tweedie_regression"
    option_defaults = {**LinearObjective.option_defaults, "power": None, "link": "auto"}
