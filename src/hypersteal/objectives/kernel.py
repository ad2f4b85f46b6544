"""Kernel models: f = Kα + c, K the Gram matrix of the training points, c an unpenalised intercept.

With the RKHS penalty αᵀKα, every equation is ``K(g + 2λα) = 0`` (g = ∂loss/∂f), so when
the dual solution satisfies ``g + 2λα = 0`` — as kernel ridge, libsvm and representer-form solvers
do — the attack solves that *reduced* system instead: it has no K in it and is far better
conditioned (KRR: y − Kα = λα). ``form="auto"`` picks whichever of the two the parameters satisfy.
"""

from __future__ import annotations

import numpy as np

from .._lazy import is_lazy
from .._validation import InputError, check_array, check_X_y
from ..kernels import Kernel
from .base import L1, HingeLoss, KernelL2, LogisticLoss, SquaredHingeLoss, SquaredLoss, System
from .objective import Data, Objective

__all__ = [
    "KernelObjective",
    "KernelRidge",
    "KernelLogisticL2",
    "KernelLogisticL1",
    "KernelSVMSquaredHinge",
    "KernelSVMHinge",
]

_FORMS = ("auto", "reduced", "full")


class KernelObjective(Objective):
    """Shared code of the kernel learners. ``params``: ``dual_coef`` (n,), ``intercept``."""

    option_defaults = {
        "kernel": "rbf",
        "gamma": None,
        "degree": 3,
        "coef0": 1.0,
        "form": "auto",
        "fit_intercept": None,
    }
    accepts_weights = True

    def __init__(self, **options):
        super().__init__(**options)
        o = self.options
        self.kernel = Kernel(o["kernel"], gamma=o["gamma"], degree=o["degree"], coef0=o["coef0"])
        if o["form"] not in _FORMS:
            raise InputError(f"form must be one of {', '.join(_FORMS)}, got {o['form']!r}.")

    @property
    def forms(self) -> tuple[str, ...]:
        """Systems to try, best-conditioned first."""
        reducible = all(isinstance(p, KernelL2) for p in self.penalties)
        if self.options["form"] == "auto":
            return ("reduced", "full") if reducible else ("full",)
        if self.options["form"] == "reduced" and not reducible:
            raise InputError(
                f"{self.name} has an L1 penalty on α, which has no reduced form; use form='full'."
            )
        return (self.options["form"],)

    def prepare(self, X, y) -> Data:
        if is_lazy(X) or is_lazy(y):
            raise InputError(
                f"{self.name} on Dask data is not supported: a kernel model needs the n×n Gram matrix of its "
                "training points (n² memory and time), which does not scale with the rows. Steal from the "
                "training points as a numpy array, or approximate the kernel with explicit features "
                "(sklearn.kernel_approximation.Nystroem / RBFSampler) and a linear model."
            )
        X, y = check_X_y(X, y, y_ndim=(1, 2) if self.regression else (1,))
        K = self.kernel(X)
        if K.shape[0] != K.shape[1]:
            raise InputError(
                f"With kernel='precomputed', X must be the square Gram matrix of the training points; "
                f"got shape {K.shape}."
            )
        if self.regression:
            Y = y[:, None] if y.ndim == 1 else y
            return Data(X=X, Y=Y, K=K)
        Y, classes = self._encode_labels(y)
        if Y.shape[1] > 1:
            raise InputError(
                f"{self.name} is binary but y has {len(classes)} classes; train one model per pair "
                "of classes (one-vs-one) and steal each."
            )
        return Data(X=X, Y=Y, classes=classes, K=K, y_raw=y)

    def check_params(self, params, data) -> dict:
        if "dual_coef" not in params:
            raise InputError(
                f"{self.name} needs params['dual_coef'] (one weight per training point, zeros allowed: "
                f"scikit-learn's dual_coef_ placed at support_); got keys {sorted(params)}."
            )
        a = check_array(params["dual_coef"], "params['dual_coef']", ndim=(1, 2))
        n = data.K.shape[0]
        if a.ndim == 2 and a.shape[0] == 1 and a.shape[1] == n and n != 1:
            a = a.ravel()  # scikit-learn's (1, n) layout
        if a.shape[0] != n:
            raise InputError(
                f"params['dual_coef'] has {a.shape[0]} entries but there are {n} training points; "
                "pass one weight per training point (place SVC's dual_coef_ at support_, zeros elsewhere)."
            )
        a = a.reshape(n, -1)
        if a.shape[1] != data.Y.shape[1]:
            raise InputError(
                f"params['dual_coef'] has {a.shape[1]} column(s) but y has {data.Y.shape[1]} target(s)."
            )
        c = check_array(params.get("intercept", 0.0), "params['intercept']", ndim=(0, 1))
        if c.size not in (1, a.shape[1]):
            raise InputError(f"params['intercept'] must hold {a.shape[1]} value(s), got {c.size}.")
        c = np.broadcast_to(np.atleast_1d(c), (a.shape[1],)).astype(float)
        return {"dual_coef": a, "intercept": c}

    def pack(self, params):
        return params["dual_coef"].ravel()

    def unpack(self, theta, params):
        return {**params, "dual_coef": theta.reshape(params["dual_coef"].shape)}

    def _penalty_kw(self, data):
        return {"K": data.K}

    def scores(self, data, params):
        return data.K @ params["dual_coef"] + params["intercept"]

    def _score_gradient(self, data, params, margin=None):
        """g = ∂loss/∂f (n, t), times the known row weights; points on a kink (hinge margin) at β = 0 here."""
        F = self.scores(data, params)
        if margin is not None:
            g = self.loss.kink_grad(F, data.Y, margin)
        else:
            g = self.loss.grad(F, data.Y)
        return g if data.w is None else g * data.w

    def loss_gradient(self, data, params):
        return (data.K @ self._score_gradient(data, params)).ravel()

    def _fits_intercept(self, params) -> bool:
        fit = self.options["fit_intercept"]
        return bool(np.any(params["intercept"] != 0)) if fit is None else bool(fit)

    def system(self, data, params, margin=None, form="full") -> System:
        theta = self.pack(params)
        hinge = self.has_margin
        if hinge and margin is None:
            margin = np.zeros(data.Y.shape, dtype=bool)
        g = self._score_gradient(data, params, margin if hinge else None)
        if form == "reduced":
            b, A = g.ravel(), 2.0 * theta[:, None]
        else:
            b, A = (data.K @ g).ravel(), self.penalty_gradients(data, params)
        if not hinge:
            # the unpenalised intercept's ∂loss/∂c = 0: no λ, but part of the residual (see LinearObjective)
            extra = (g.sum(axis=0), None) if self._fits_intercept(params) else None
            return self._l1_split(b, A, theta, extra=extra, form=form)
        idx = np.flatnonzero(margin[:, 0])
        col = self.loss.kink_column(self.scores(data, params), data.Y)[:, 0]  # a margin point's column (hinge: −y_i)
        col = col if data.w is None else col * data.w[:, 0]  # times its known weight w_i
        if form == "reduced":
            B = np.zeros((len(b), len(idx)))
            B[idx, np.arange(len(idx))] = col[idx]
        else:
            B = data.K[:, idx] * col[idx]
        extra = None
        if self._fits_intercept(params):
            extra = (g.sum(axis=0), col[idx][None, :])
        return self._l1_split(b, A, theta, B=B, extra=extra, form=form, n_margin=len(idx))


class KernelRidge(KernelObjective):
    """Kernel ridge regression (KRR): ``‖y − Kα‖² + λ αᵀKα``.

    b = 2K(Kα − y), a = 2Kα; reduced form y − Kα = λα (exact for scikit-learn's KernelRidge).
    """

    name = "kernel_ridge"
    loss, penalties = SquaredLoss(), (KernelL2(),)


class KernelLogisticL2(KernelObjective):
    """L2 kernel logistic regression (L2-KLR): ``Σ_i CE(y_i, σ((Kα)_i + c)) + λ αᵀKα``.

    b = K(σ(Kα + c) − y), a = 2Kα; reduced form σ(Kα + c) − y + 2λα = 0.
    """

    name = "kernel_logistic_l2"
    loss, penalties = LogisticLoss(), (KernelL2(),)


class KernelLogisticL1(KernelObjective):
    """L1 kernel logistic regression (L1-KLR): ``Σ_i CE(y_i, σ((Kα)_i + c)) + λ‖α‖₁``.

    b = K(σ(Kα + c) − y), a = sign(α); zero α_j give |b_j| ≤ λ.
    """

    name = "kernel_logistic_l1"
    loss, penalties = LogisticLoss(), (L1(),)


class KernelSVMSquaredHinge(KernelObjective):
    """Kernel SVM, squared hinge (KSVM-SHL): ``Σ_i max(0, 1 − y_i f_i)² + λ αᵀKα``, f = Kα + c.

    b = −2 Σ_{i∈S} y_i m_i k_i with m_i = 1 − y_i f_i; a = 2Kα; reduced form −2 y m + 2λα = 0.
    """

    name = "kernel_svm_squared_hinge"
    loss, penalties = SquaredHingeLoss(), (KernelL2(),)


class KernelSVMHinge(KernelObjective):
    """Kernel SVM, hinge (KSVM-RHL): ``Σ_i max(0, 1 − y_i f_i) + λ αᵀKα``, f = Kα + c.

    Subgradient with margin weights β_i ∈ [0, 1] as for the linear SVM; reduced form
    2λα_i = y_i γ_i with γ_i = 1 inside the margin, β_i on it and 0 outside (libsvm's dual).
    """

    name = "kernel_svm_hinge"
    loss, penalties = HingeLoss(), (KernelL2(),)
