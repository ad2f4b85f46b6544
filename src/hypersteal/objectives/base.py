"""Building blocks of every objective: losses on scores, penalties, and the stationarity system.

An objective is ``loss(X, y, θ) + Σ_k λ_k R_k(θ)`` (losses are sums over rows, regularisers carry no
½). At a minimum its gradient vanishes, which gives the linear system in λ that the attack solves::

    b + A λ + B β = 0          (one row per penalised parameter)
    |b_j| ≤ λ_k                (parameters an L1 term k holds at exactly zero)

``b = ∂loss/∂θ``, ``A = [∂R_1/∂θ … ∂R_K/∂θ]`` and ``B`` holds the columns of hinge points that lie
exactly on the margin, whose subgradient weights β ∈ [0, 1] are unknown too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, log_expit, logsumexp, softmax

__all__ = [
    "System",
    "Loss",
    "SquaredLoss",
    "LogisticLoss",
    "MultinomialLoss",
    "SquaredHingeLoss",
    "HingeLoss",
    "Penalty",
    "L2",
    "L1",
    "KernelL2",
]


@dataclass
class System:
    """Stationarity conditions ``b + A λ + B β = 0`` and ``|z_j| ≤ λ_k``, with β ∈ [0, 1].

    Attributes
    ----------
    b : ndarray of shape (p,)
        Loss gradient on the rows that are equations.
    A : ndarray of shape (p, K)
        Regulariser gradients, one column per hyperparameter.
    B : ndarray of shape (p, M) or None
        Columns of the bounded unknowns (hinge margin points).
    l1_bounds : list of (k, ndarray)
        For an L1 term k, the loss gradients of the parameters it holds at zero: λ_k ≥ |z_j|.
    form : str
        ``"primal"`` or ``"reduced"`` (an invertible factor common to b and A removed).
    scale : float
        ``‖b‖`` of the full loss gradient, the denominator of the relative residual.
    """

    b: np.ndarray
    A: np.ndarray
    B: np.ndarray | None = None
    l1_bounds: list = field(default_factory=list)
    form: str = "primal"
    scale: float = 0.0
    n_margin: int = 0

    def __post_init__(self):
        if not self.scale:
            self.scale = float(np.linalg.norm(self.b))


# --------------------------------------------------------------------------- losses on scores F


def _total(values: np.ndarray, w: np.ndarray | None) -> float:
    """Σ of per-score loss values, each times its known row weight (w of shape (n, 1) or (n, c)) when given."""
    return float(np.sum(values if w is None else w * values))


class Loss:
    """A loss ``Σ_i ℓ(y_i, f_i)`` on scores F of shape (n, c), with its gradient ∂loss/∂F.

    ``value`` takes optional known row weights ``w`` (shape (n, 1) or (n, c)): ``Σ_i w_i ℓ(y_i, f_i)``, whose
    gradient is ``w ∘ grad`` (the objectives multiply it in)."""

    #: label encoding for binary problems, (negative, positive)
    encoding: tuple[float, float] | None = None
    name = "loss"
    #: a kink where points carry unknown subgradients (hinge, ε-insensitive, pinball): see :meth:`kink`
    kinked = False

    def value(self, F: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None) -> float:
        raise NotImplementedError

    def grad(self, F: np.ndarray, Y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def hess(self, F: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """∂²ℓ/∂f² per score (a generalised second derivative where ℓ has kinks), for Newton's method."""
        raise NotImplementedError(f"the {self.name} loss has no second derivative")

    def derivatives(self, F: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(:meth:`grad`, :meth:`hess`) together: what a Newton step needs."""
        return self.grad(F, Y), self.hess(F, Y)

    # ------------------------------------------------------------------ kinked losses
    # At a kink the subgradient is ``kink_base + β·kink_column`` with unknown β ∈ [0, 1]: β = 0 is the
    # derivative on the side where :meth:`kink` is positive, β = 1 the one where it is negative. The attack
    # (:mod:`hypersteal.attack.systems`) chooses which points sit on a kink and solves for their β.

    def kink(self, F: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Signed distance of each score to its nearest kink, on a scale where 1 is the loss's own unit."""
        raise NotImplementedError(f"the {self.name} loss has no kink")

    def kink_base(self, F: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """∂ℓ/∂f on the side of the kink where :meth:`kink` is positive (β = 0)."""
        return np.zeros_like(F, dtype=float)

    def kink_column(self, F: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """The jump of ∂ℓ/∂f across the kink (negative side minus positive side): a kink point's β column."""
        raise NotImplementedError(f"the {self.name} loss has no kink")

    def kink_grad(self, F: np.ndarray, Y: np.ndarray, margin: np.ndarray) -> np.ndarray:
        """∂ℓ/∂f with the points marked in ``margin`` at β = 0 (their β columns are separate unknowns)."""
        return np.where(margin, self.kink_base(F, Y), self.grad(F, Y))


@dataclass(frozen=True)
class ImpliedEpsilon:
    """What a fit says about its loss's unknown ε (an objective's ``implied_epsilon``): ``estimate``, the
    ``interval`` of consistent values, whether the parameters pin it (``determined``), and why not where they
    contradict every ε (``contradiction``)."""

    estimate: float
    interval: tuple[float, float]
    determined: bool
    contradiction: str = ""


class SquaredLoss(Loss):
    """Σ (y − f)², gradient 2(f − y)."""

    name = "squared"

    def value(self, F, Y, w=None):
        return _total((F - Y) ** 2, w)

    def grad(self, F, Y):
        return 2.0 * (F - Y)

    def hess(self, F, Y):
        return np.full_like(F, 2.0, dtype=float)


class LogisticLoss(Loss):
    """Σ CE(y, σ(f)) = Σ −y log σ(f) − (1 − y) log(1 − σ(f)), y ∈ {0, 1}; gradient σ(f) − y."""

    encoding = (0.0, 1.0)
    name = "logistic"

    def value(self, F, Y, w=None):
        return _total(-(Y * log_expit(F) + (1.0 - Y) * log_expit(-F)), w)

    def grad(self, F, Y):
        return expit(F) - Y

    def hess(self, F, Y):
        p = expit(F)
        return p * (1.0 - p)

    def derivatives(self, F, Y):
        p = expit(F)
        return p - Y, p * (1.0 - p)


class MultinomialLoss(Loss):
    """Σ CE(y, softmax(f)) = Σ_i −log softmax(f_i)_{y_i}, Y one-hot; gradient softmax(F) − Y.

    Two classes scored by two outputs (a two-row softmax) take Y as one {0, 1} column, read as [1 − y, y]."""

    name = "multinomial"

    @staticmethod
    def _onehot(F, Y):
        return np.column_stack([1.0 - Y[:, 0], Y[:, 0]]) if Y.shape[1] == 1 and F.shape[1] == 2 else Y

    def value(self, F, Y, w=None):
        Y = self._onehot(F, Y)
        rows = logsumexp(F, axis=1) - np.sum(Y * F, axis=1)
        return _total(rows, None if w is None else w[:, 0])

    def grad(self, F, Y):
        return softmax(F, axis=1) - self._onehot(F, Y)


#: cross-entropy on one score (sigmoid) or on several (softmax)
LOGISTIC, MULTINOMIAL = LogisticLoss(), MultinomialLoss()


def cross_entropy(F: np.ndarray) -> Loss:
    """The cross-entropy that scores of this shape call for: sigmoid on one column, softmax on several."""
    return LOGISTIC if F.shape[1] == 1 else MULTINOMIAL


class SquaredHingeLoss(Loss):
    """Σ max(0, 1 − y f)², y ∈ {−1, +1}; gradient −2 y max(0, 1 − y f)."""

    encoding = (-1.0, 1.0)
    name = "squared_hinge"

    def value(self, F, Y, w=None):
        return _total(np.maximum(0.0, 1.0 - Y * F) ** 2, w)

    def grad(self, F, Y):
        return -2.0 * Y * np.maximum(0.0, 1.0 - Y * F)

    def hess(self, F, Y):
        """2 on S = {y f < 1}, else 0."""
        return 2.0 * (Y * F < 1.0)


class HingeLoss(Loss):
    """Σ max(0, 1 − y f), y ∈ {−1, +1}; subgradient −y on points with y f < 1, −β y on the margin.

    ``grad`` gives the subgradient with β = 0 (margin points contribute nothing); the attack adds
    the margin points' weights as bounded unknowns.
    """

    encoding = (-1.0, 1.0)
    name = "hinge"
    kinked = True

    def value(self, F, Y, w=None):
        return _total(np.maximum(0.0, 1.0 - Y * F), w)

    def grad(self, F, Y):
        return np.where(Y * F < 1.0, -Y, 0.0)

    def kink(self, F, Y):
        """δ = y f − 1: negative inside the margin."""
        return Y * F - 1.0

    def kink_column(self, F, Y):
        return -Y


# --------------------------------------------------------------------------- penalties


class Penalty:
    """A regulariser R(θ) of the penalised parameters θ, with its (sub)gradient."""

    name = "R"
    is_l1 = False

    def value(self, theta: np.ndarray, **kw) -> float:
        raise NotImplementedError

    def grad(self, theta: np.ndarray, **kw) -> np.ndarray:
        raise NotImplementedError


class L2(Penalty):
    """‖θ‖², gradient 2θ."""

    name = "l2"

    def value(self, theta, **kw):
        return float(theta @ theta)

    def grad(self, theta, **kw):
        return 2.0 * theta


class L1(Penalty):
    """‖θ‖₁, subgradient sign(θ) (sign(0) = 0; zero coordinates become bounds |b_j| ≤ λ)."""

    name = "l1"
    is_l1 = True

    def value(self, theta, **kw):
        return float(np.sum(np.abs(theta)))

    def grad(self, theta, **kw):
        return np.sign(theta)


class KernelL2(Penalty):
    """αᵀKα (the RKHS norm of f), gradient 2Kα (per output column)."""

    name = "rkhs"

    def value(self, theta, *, K, **kw):
        a = theta.reshape(K.shape[0], -1)
        return float(np.sum(a * (K @ a)))

    def grad(self, theta, *, K, **kw):
        a = theta.reshape(K.shape[0], -1)
        return (2.0 * (K @ a)).ravel()
