"""Support vector regression: the ε-insensitive losses, linear (liblinear's ``LinearSVR``) and kernel (libsvm's
``SVR``).

The ε-insensitive loss ``max(0, |r| − ε)`` of the residual r = y − f is kinked like the hinge: a point with
|r| = ε exactly (on the edge of the tube) carries an unknown subgradient, −sign(r)·β with β ∈ [0, 1]. The
attack treats those points as it treats hinge points on the margin (:meth:`hypersteal.objectives.base.Loss.kink`):
it chooses which points sit on the edge and solves for their β with λ. With ε = 0 the loss is |r| and its one
kink, at r = 0, carries a subgradient anywhere in [−1, 1].
"""

from __future__ import annotations

import numpy as np

from .._validation import check_positive
from .base import L2, ImpliedEpsilon, KernelL2, Loss, _total
from .kernel import KernelObjective
from .linear import LinearObjective

__all__ = [
    "EpsilonInsensitiveLoss",
    "SquaredEpsilonInsensitiveLoss",
    "SVREpsilonInsensitive",
    "SVRSquaredEpsilonInsensitive",
    "KernelSVREpsilonInsensitive",
]


def _unit(Y: np.ndarray) -> float:
    """The scale on which residuals are compared with the tube's edge: the targets' spread (1 if none)."""
    s = float(np.std(Y)) if Y.size else 0.0
    return s if s > 0 and np.isfinite(s) else 1.0


class EpsilonInsensitiveLoss(Loss):
    """Σ max(0, |y − f| − ε); subgradient −sign(r) outside the tube, 0 inside, −β·sign(r) on its edge.

    With ε = 0 (|y − f|), a point at r = 0 has subgradient −1 + 2β, β ∈ [0, 1].
    """

    name = "epsilon_insensitive"
    kinked = True

    def __init__(self, epsilon: float = 0.0):
        self.epsilon = check_positive(epsilon, "epsilon", strict=False)

    def value(self, F, Y, w=None):
        return _total(np.maximum(0.0, np.abs(Y - F) - self.epsilon), w)

    def grad(self, F, Y):
        R = Y - F
        return np.where(np.abs(R) > self.epsilon, -np.sign(R), 0.0)

    def kink(self, F, Y):
        """(ε − |r|)/s: negative outside the tube (s the targets' spread); with ε = 0, r/s."""
        R = Y - F
        return (R if self.epsilon == 0 else self.epsilon - np.abs(R)) / _unit(Y)

    def kink_base(self, F, Y):
        # ε > 0: inside the tube, 0; ε = 0: the side r > 0, −1
        return np.full_like(F, -1.0 if self.epsilon == 0 else 0.0, dtype=float)

    def kink_column(self, F, Y):
        return np.full_like(F, 2.0, dtype=float) if self.epsilon == 0 else -np.sign(Y - F)


class SquaredEpsilonInsensitiveLoss(Loss):
    """Σ max(0, |y − f| − ε)²; gradient −2 sign(r) max(0, |r| − ε) (continuous: no kink)."""

    name = "squared_epsilon_insensitive"

    def __init__(self, epsilon: float = 0.0):
        self.epsilon = check_positive(epsilon, "epsilon", strict=False)

    def value(self, F, Y, w=None):
        return _total(np.maximum(0.0, np.abs(Y - F) - self.epsilon) ** 2, w)

    def grad(self, F, Y):
        R = Y - F
        return -2.0 * np.sign(R) * np.maximum(0.0, np.abs(R) - self.epsilon)

    def hess(self, F, Y):
        """2 outside the tube, else 0."""
        return 2.0 * (np.abs(Y - F) > self.epsilon)


class _Insensitive:
    """The loss follows the ``epsilon`` option: one loss object per objective."""

    loss_class: type[Loss]

    def __init__(self, **options):
        super().__init__(**options)
        self.loss = self.loss_class(self.options["epsilon"])


class SVREpsilonInsensitive(_Insensitive, LinearObjective):
    """Linear SVR, ε-insensitive loss: ``Σ_i max(0, |y_i − x_iᵀw − c| − ε) + λ‖w‖²``.

    Subgradient b = −Σ_{|r_i|>ε} sign(r_i) x_i − Σ_{|r_i|=ε} β_i sign(r_i) x_i, β_i ∈ [0, 1]; a = 2w.
    ``LinearSVR(C)`` (liblinear, intercept a penalised weight on the constant ``intercept_scaling``) and
    ``SVR(kernel="linear", C)`` (libsvm, unpenalised intercept): λ = 1/(2C).
    """

    name = "svr_epsilon_insensitive"
    loss_class, penalties = EpsilonInsensitiveLoss, (L2(),)
    option_defaults = {**LinearObjective.option_defaults, "epsilon": 0.0}


class SVRSquaredEpsilonInsensitive(_Insensitive, LinearObjective):
    """Linear SVR, squared ε-insensitive loss: ``Σ_i max(0, |y_i − x_iᵀw − c| − ε)² + λ‖w‖²``.

    b = −2 Σ_i sign(r_i) max(0, |r_i| − ε) x_i, a = 2w; ``LinearSVR(loss="squared_epsilon_insensitive", C)``:
    λ = 1/(2C).
    """

    name = "svr_squared_epsilon_insensitive"
    loss_class, penalties = SquaredEpsilonInsensitiveLoss, (L2(),)
    option_defaults = {**LinearObjective.option_defaults, "epsilon": 0.0}


#: a dual coefficient within this fraction of the largest |α| counts as at the box's bound C
_AT_BOUND_RTOL = 1e-6
#: a residual within this fraction of the targets' spread counts as 0 (a solver's tolerance on the kink of |r|)
_AT_ZERO_RTOL = 1e-3


class KernelSVREpsilonInsensitive(_Insensitive, KernelObjective):
    """Kernel SVR, ε-insensitive loss: ``Σ_i max(0, |y_i − f_i| − ε) + λ αᵀKα``, f = Kα + c.

    Reduced form 2λα_i = sign(r_i) γ_i with γ_i = 1 outside the tube, β_i on its edge and 0 inside: libsvm's
    dual, whose ``dual_coef_`` (α − α*) is C·sign(r_i)·γ_i, so λ = 1/(2C). The default ε is SVR's, 0.1.
    """

    name = "kernel_svr_epsilon_insensitive"
    loss_class, penalties = EpsilonInsensitiveLoss, (KernelL2(),)
    option_defaults = {**KernelObjective.option_defaults, "epsilon": 0.1}

    def implied_epsilon(self, data, params) -> ImpliedEpsilon:
        """The tube width ε the dual coefficients imply, whatever ``epsilon`` this objective was given.

        At a minimum a point with α_i = 0 lies in the tube (|r_i| ≤ ε), one with α_i ≠ 0 on or outside it
        (|r_i| ≥ ε, sign(α_i) = sign(r_i)), and one strictly inside the box (0 < |α_i| < C: a free support
        vector) exactly on its edge. So free support vectors give ε = |r_i|, a number; without any, every
        support vector is at the bound and ε is only known to lie in [max_{α=0} |r_i|, min_{α≠0} |r_i|]. The
        largest |α| stands for C: a free vector is one below it.
        """
        a = self.pack(params)
        signed = (data.Y - self.scores(data, params))[:, 0]
        r = np.abs(signed)
        amax = float(np.max(np.abs(a), initial=0.0))
        sv = np.abs(a) > 1e-12 * amax if amax > 0 else np.zeros(a.shape, dtype=bool)
        lo = float(np.max(r[~sv], initial=0.0))
        hi = float(np.min(r[sv], initial=np.inf))
        wrong_side = sv & (np.sign(a) != np.sign(signed))
        if np.any(wrong_side):  # only ε = 0 lets a point at r = 0 carry either sign (|r|'s kink is [−1, 1])
            off = float(np.max(r[wrong_side]))
            if off <= _AT_ZERO_RTOL * _unit(data.Y):
                return ImpliedEpsilon(0.0, (0.0, off), True)
            return ImpliedEpsilon(np.nan, (np.inf, -np.inf), False,
                                  f"{int(wrong_side.sum())} support vector(s) have a dual coefficient of the sign "
                                  "opposite to their residual: no ε makes these parameters a minimum")
        free = sv & (np.abs(a) < amax * (1 - _AT_BOUND_RTOL))
        if np.any(free):
            edge = r[free]
            return ImpliedEpsilon(float(np.median(edge)), (float(edge.min()), float(edge.max())), True)
        if not np.isfinite(hi):  # no support vector: every point in the tube, ε ≥ the largest residual
            return ImpliedEpsilon(lo, (lo, np.inf), False)
        return ImpliedEpsilon(0.5 * (lo + hi), (lo, hi), False)
