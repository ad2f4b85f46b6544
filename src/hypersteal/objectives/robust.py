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
from .base import L2, ImpliedEpsilon, Loss, _total
from .linear import LinearObjective

__all__ = ["HuberLoss", "HuberRegression"]

#: A single outlier whose |z| the scale's condition puts ε within this fraction of sits on the kink: a fit with no
#: outlier, where ε enters no condition (an inexact fit moves ε by about n·residual/(2z²) there, ~1e-4 at default
#: tolerances on a few hundred rows).
ON_THE_KINK = 1e-3


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

    def implied_epsilon(self, data, params) -> ImpliedEpsilon:
        """The ε the scale's condition implies, whatever ``epsilon`` this objective was given.

        With z_i = r_i/σ and O the rows with |z_i| > ε, σ's condition Σ_{i∉O}(1 − z_i²) + (1 − ε²)|O| = 0 gives
        ε² = (n − Σ_{i∉O} z_i²)/|O| once O is known; O is the k rows of largest |z| for the k at which that ε falls
        between the k-th and the (k + 1)-th largest |z| (one pass over the sorted |z|; row weights weigh every
        sum). The conditions in w and c are linear in (ε, λ) together (an outlier's gradient is 2ε·sign(z_i)·x_i):
        a second, independent estimate, and the interval spans both. With no outlier (or one exactly at ε, the
        same fit) ε enters no condition: every ε ≥ max |z| is consistent.
        """
        Z = ((data.Y - self.scores(data, params)) / params["scale"])[:, 0]
        w = np.ones(len(Z)) if data.w is None else data.w[:, 0]
        a = np.abs(Z)
        order = np.argsort(-a)
        a_sorted, w_sorted = a[order], w[order]
        inside_sq = np.sum(w * Z ** 2) - np.concatenate([[0.0], np.cumsum(w_sorted * a_sorted ** 2)])  # k outliers
        out_weight = np.concatenate([[0.0], np.cumsum(w_sorted)])
        best = None
        for k in range(1, len(a) + 1):
            eps2 = (w.sum() - inside_sq[k]) / out_weight[k] if out_weight[k] > 0 else -1.0
            if eps2 <= 0:
                continue
            eps = np.sqrt(eps2)
            lower = a_sorted[k] if k < len(a) else 0.0  # the largest inlier's |z| is at most ε,
            gap = max(lower - eps, eps - a_sorted[k - 1], 0.0) / eps  # the smallest outlier's above it
            if best is None or gap < best[0]:
                best = (gap, k, eps)
            if gap == 0.0:
                break
        if best is None or best[0] > 1e-6 or (best[1] == 1 and best[2] >= a_sorted[0] * (1 - ON_THE_KINK)):
            # no outlier, or one exactly at ε = its |z| (the same fit): every ε from there up is consistent
            lo = float(a_sorted[0] if best is None else min(best[2], a_sorted[0]))
            return ImpliedEpsilon(max(lo, 1.0), (lo, np.inf), False)
        _, k, eps = best
        out, inl = order[:k], order[k:]
        s = np.sign(Z[out])
        X, coef = data.X, self.pack(params)
        # −2Σ_in w z x − 2ε Σ_out w s x + 2λ coef = 0, and (with an intercept) −2Σ_in w z − 2ε Σ_out w s = 0
        A = np.column_stack([-2 * X[out].T @ (w[out] * s), 2 * coef])
        b = 2 * X[inl].T @ (w[inl] * Z[inl])
        if self._fits_intercept(params):
            A, b = np.vstack([A, [-2 * np.sum(w[out] * s), 0.0]]), np.append(b, 2 * np.sum(w[inl] * Z[inl]))
        linear = float(np.linalg.lstsq(A, b, rcond=None)[0][0]) if np.linalg.matrix_rank(A) == 2 else eps
        return ImpliedEpsilon(float(eps), (min(eps, linear), max(eps, linear)), True)
