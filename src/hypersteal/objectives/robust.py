"""Robust regression: the Huber loss with a jointly fitted scale (scikit-learn's ``HuberRegressor``).

With residuals r_i = y_i − x_iᵀw − c, a scale σ > 0 and z_i = r_i/σ, the learner minimises over w, c and σ::

    Σ_i (σ + σ·H_ε(z_i)) + λ‖w‖²,    H_ε(z) = z² if |z| ≤ ε, else 2ε|z| − ε²

H_ε is continuously differentiable (H'(z) = 2z inside, 2ε·sign(z) outside), so there is no kink: every row gives
an ordinary gradient. Stationarity in w: −Xᵀ H'(z) + 2λw = 0 (the equations for λ); in c: Σ_i H'(z_i) = 0; in σ:
Σ_i (1 + H(z_i) − z_i H'(z_i)) = 0, i.e. Σ_{|z|≤ε} (1 − z_i²) + (1 − ε²)·#{|z| > ε} = 0. Neither of the last two
holds λ, but an exact fit satisfies both: they join the residual, so parameters with the wrong scale, intercept or
ε read as not a minimum.
"""

from __future__ import annotations

import numpy as np

from .._validation import InputError, check_positive
from .base import L2, Loss, _total
from .linear import LinearObjective

__all__ = ["HuberLoss", "HuberRegression"]


class HuberLoss(Loss):
    """``Σ_i (σ + σ·H_ε((y_i − f_i)/σ))`` on scores F, for a scale σ (``scale``, 1 unless given)."""

    name = "huber"

    def __init__(self, epsilon: float = 1.35):
        self.epsilon = float(epsilon)

    def _h(self, Z):
        e = self.epsilon
        return np.where(np.abs(Z) <= e, Z ** 2, 2 * e * np.abs(Z) - e ** 2)

    def _dh(self, Z):
        e = self.epsilon
        return np.where(np.abs(Z) <= e, 2 * Z, 2 * e * np.sign(Z))

    def value(self, F, Y, w=None, scale=1.0):
        return _total(scale + scale * self._h((Y - F) / scale), w)

    def grad(self, F, Y, scale=1.0):
        """∂/∂f of each row's term: −H'(z)."""
        return -self._dh((Y - F) / scale)

    def scale_grad(self, F, Y, scale=1.0, w=None):
        """∂/∂σ of the whole loss: Σ_i (1 + H(z_i) − z_i H'(z_i))."""
        Z = (Y - F) / scale
        return _total(1.0 + self._h(Z) - Z * self._dh(Z), w)


class HuberRegression(LinearObjective):
    """Huber regression with a fitted scale: ``Σ_i (σ + σ·H_ε((y_i − x_iᵀw − c)/σ)) + λ‖w‖²`` (module docstring).

    ``params``: ``coef``, ``intercept`` and ``scale`` (σ, scikit-learn's ``scale_``); option ``epsilon`` (1.35,
    scikit-learn's default). b = −Xᵀ H'(z), a = 2w. scikit-learn's ``HuberRegressor(alpha)``: λ = alpha.
    """

    name = "huber_regression"
    penalties = (L2(),)
    option_defaults = {**LinearObjective.option_defaults, "epsilon": 1.35}

    def __init__(self, **options):
        super().__init__(**options)
        epsilon = check_positive(self.options["epsilon"], "epsilon")
        if epsilon < 1:
            raise InputError(f"epsilon must be ≥ 1 (as scikit-learn's HuberRegressor requires), got {epsilon!r}.")
        self.loss = HuberLoss(epsilon)

    def prepare(self, X, y):
        data = super().prepare(X, y)
        if data.lazy:
            raise InputError(f"{self.name} on Dask data is not supported; steal from a numpy sample of the rows.")
        if data.Y.shape[1] != 1:
            raise InputError(f"{self.name} takes one target column; got {data.Y.shape[1]}.")
        return data

    def check_params(self, params, data):
        if "scale" not in params:
            raise InputError(f"{self.name} needs params['scale'] (σ, scikit-learn's scale_, fitted jointly with the "
                             f"weights); got keys {sorted(params)}.")
        checked = super().check_params(params, data)
        checked["scale"] = check_positive(params["scale"], "params['scale']")
        return checked

    def loss_value(self, data, params):
        F = self.scores(data, params)
        return self.loss.value(F, data.Y, data.w, scale=params["scale"])

    def _loss_gradients(self, data, params):
        F = self.scores(data, params)
        G = self.loss.grad(F, data.Y, scale=params["scale"])
        if data.w is not None:
            G = G * data.w
        return (G.T @ data.X).ravel(), G.sum(axis=0)

    def system(self, data, params, margin=None):
        """The weights' equations; then, holding no λ, the intercept's (when fitted) and the scale's."""
        b, b0 = self._loss_gradients(data, params)
        F = self.scores(data, params)
        b_scale = np.atleast_1d(self.loss.scale_grad(F, data.Y, params["scale"], data.w))
        extra = np.concatenate([b0, b_scale]) if self._fits_intercept(params) else b_scale
        return self._l1_split(b, self.penalty_gradients(data, params), self.pack(params), extra=(extra, None))
