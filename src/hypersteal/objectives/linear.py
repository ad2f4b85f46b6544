"""Linear models: f(x) = Wx + c, with W of shape (outputs, d) and an unpenalised intercept c.

Multi-output regression and multinomial logistic regression flatten W; one-vs-rest hinge models
stack the equations of every binary sub-problem (they share λ). A liblinear-style *penalised*
intercept (``intercept_scaling=s``) is an ordinary coordinate of w on a constant feature s.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse import issparse

from .._lazy import chunk_sum, is_lazy
from .._validation import InputError, check_array, check_positive, check_X_y
from .base import (
    L1,
    L2,
    LOGISTIC,
    HingeLoss,
    SquaredHingeLoss,
    SquaredLoss,
    System,
    cross_entropy,
)
from .objective import Data, Objective

__all__ = [
    "LinearObjective",
    "Ridge",
    "Lasso",
    "ElasticNet",
    "LogisticL2",
    "LogisticL1",
    "LogisticElasticNet",
    "SVMSquaredHinge",
    "SVMHinge",
]


class LinearObjective(Objective):
    """Shared code of the linear learners. ``params``: ``coef`` (d,) or (outputs, d), ``intercept``."""

    option_defaults = {"intercept_scaling": None, "fit_intercept": None}
    accepts_sparse = True
    accepts_weights = True

    def prepare(self, X, y) -> Data:
        s = self.options["intercept_scaling"]
        if s is not None:
            s = check_positive(s, "intercept_scaling")
        if is_lazy(X) or is_lazy(y):
            if self.has_margin:
                raise InputError(
                    f"{self.name} on Dask data is not supported: choosing the hinge's margin points needs every "
                    "row's margin in memory. Use svm_squared_hinge, or steal from a numpy sample of the rows."
                )
            data = self._prepare_lazy(X, y, regression=self.regression)
            if s is not None:  # the constant feature appended to each row chunk, dense or sparse alike
                data.X = data.X.map_blocks(_with_constant, s, chunks=(data.X.chunks[0], (data.X.shape[1] + 1,)),
                                           meta=data.X._meta)
            return data
        # X's NaN/inf check is deferred: every gradient pass reveals them (see attack._attack)
        X, y = check_X_y(X, y, y_ndim=(1, 2) if self.regression else (1,), finite_X=False, accept_sparse=True)
        if s is not None:
            if issparse(X):
                X = sp.hstack([X, np.full((X.shape[0], 1), s)], format="csr")
            else:
                X = np.hstack([X, np.full((X.shape[0], 1), s)])
        if self.regression:
            Y = check_array(y, "y", ndim=(1, 2))
            Y = Y[:, None] if Y.ndim == 1 else Y
            return Data(X=X, Y=Y)
        Y, classes = self._encode_labels(y)
        return Data(X=X, Y=Y, classes=classes, y_raw=y)

    def check_params(self, params, data: Data) -> dict:
        if "coef" not in params:
            raise InputError(
                f"{self.name} needs params['coef'] (the weights, scikit-learn's coef_); "
                f"got keys {sorted(params)}."
            )
        W = check_array(params["coef"], "params['coef']", ndim=(1, 2))
        W = np.atleast_2d(W)
        s = self.options["intercept_scaling"]
        d = data.X.shape[1] - (s is not None)
        if W.shape[1] != d:
            raise InputError(
                f"params['coef'] has {W.shape[1]} feature weights but X has {d} columns; "
                "pass the coefficients fitted on this X."
            )
        c = check_array(params.get("intercept", 0.0), "params['intercept']", ndim=(0, 1))
        c = np.broadcast_to(np.atleast_1d(c), (W.shape[0],)).astype(float) if c.size in (1, W.shape[0]) \
            else None
        if c is None:
            raise InputError(
                f"params['intercept'] has {np.size(params['intercept'])} values but coef has "
                f"{W.shape[0]} row(s); pass one intercept per row of coef."
            )
        self._check_outputs(W, data)
        if s is not None:  # liblinear: the intercept is the weight of a constant feature s
            W = np.hstack([W, (c / s)[:, None]])
            c = np.zeros_like(c)
        return {"coef": W, "intercept": c}

    def _check_outputs(self, W, data: Data):
        c_out = data.Y.shape[1]
        if W.shape[0] != c_out:
            if self.regression:
                raise InputError(
                    f"params['coef'] has {W.shape[0]} output row(s) but y has {c_out} target column(s)."
                )
            raise InputError(
                f"params['coef'] has {W.shape[0]} row(s) but y has {len(data.classes)} classes; a binary "
                f"model has 1 row, a {len(data.classes)}-class model one row per class."
            )

    def pack(self, params):
        return params["coef"].ravel()

    def unpack(self, theta, params):
        return {**params, "coef": theta.reshape(params["coef"].shape)}

    def scores(self, data, params):
        return data.X @ params["coef"].T + params["intercept"]

    def loss_gradient(self, data, params):
        return self._loss_gradients(data, params)[0]

    def _loss_gradients(self, data, params) -> tuple[np.ndarray, np.ndarray]:
        """b = ∂loss/∂θ and ∂loss/∂c (one value per intercept), in one pass over the rows."""
        if data.lazy:
            def both(Xc, yc):
                return np.concatenate(self._loss_gradients(self._chunk(data, Xc, yc), params))

            g = chunk_sum(both, data.X, data.y_raw)
            n_c = params["coef"].shape[0]
            return g[:-n_c], g[-n_c:]
        F = self.scores(data, params)
        G = self.loss_for(F).grad(F, data.Y)
        if data.w is not None:  # Σ w_i ℓ_i: each row's gradient times its weight
            G = G * data.w
        return (G.T @ data.X).ravel(), G.sum(axis=0)

    # ---------------------------------------------------------------- hinge: margin points
    def _fits_intercept(self, params) -> bool:
        fit = self.options["fit_intercept"]
        if fit is None:  # an intercept was given and is not penalised
            return self.options["intercept_scaling"] is None and bool(np.any(params["intercept"] != 0))
        return bool(fit) and self.options["intercept_scaling"] is None

    def system(self, data, params, margin=None) -> System:
        if not self.has_margin:
            if not self._fits_intercept(params):
                return super().system(data, params)
            # the unpenalised intercept's stationarity ∂loss/∂c = 0 holds no λ, but an exact fit
            # satisfies it: its residual exposes parameters that are not a minimum (rounded, say)
            # even where the weights' equations alone could be solved exactly
            b, b0 = self._loss_gradients(data, params)
            return self._l1_split(b, self.penalty_gradients(data, params), self.pack(params), extra=(b0, None))
        F = self.scores(data, params)
        Y = data.Y
        margin = np.zeros(Y.shape, dtype=bool) if margin is None else margin
        loss = self.loss_for(F)
        G, col = loss.kink_grad(F, Y, margin), loss.kink_column(F, Y)
        if data.w is not None:  # a point's subgradient is w_i times the unweighted one; its β ∈ [0, 1] stays
            G, col = G * data.w, col * data.w
        with np.errstate(invalid="ignore"):  # inf in X gives NaN here; attack._choose_system names it
            b = (G.T @ data.X).ravel()
        A = self.penalty_gradients(data, params)
        d = data.X.shape[1]
        idx = np.argwhere(margin)  # (i, k) pairs
        B = np.zeros((b.size, len(idx)))
        rows = data.X[idx[:, 0]] if len(idx) else np.zeros((0, d))
        rows = rows.toarray() if issparse(rows) else rows
        for m, (i, k) in enumerate(idx):
            B[k * d:(k + 1) * d, m] = col[i, k] * rows[m]
        extra = None
        if self._fits_intercept(params):
            b0 = G.sum(axis=0)
            B0 = np.zeros((Y.shape[1], len(idx)))
            B0[idx[:, 1], np.arange(len(idx))] = col[idx[:, 0], idx[:, 1]]
            extra = (b0, B0)
        return self._l1_split(b, A, self.pack(params), B=B, extra=extra, n_margin=len(idx))


def _with_constant(block, s):
    """A row block with a last column of constants s (liblinear's penalised intercept); sparse stays sparse."""
    if issparse(block):
        return sp.hstack([block, np.full((block.shape[0], 1), s)], format="csr")
    return np.hstack([block, np.full((block.shape[0], 1), s)])


class Ridge(LinearObjective):
    """Ridge regression (RR): ``Σ_i (y_i − x_iᵀw − c)² + λ‖w‖²``.

    b = 2Xᵀ(Xw + c − y), a = 2w. Multi-output W (t, d) is flattened.
    """

    name = "ridge"
    loss, penalties = SquaredLoss(), (L2(),)


class Lasso(LinearObjective):
    """LASSO: ``Σ_i (y_i − x_iᵀw − c)² + λ‖w‖₁``.

    b = 2Xᵀ(Xw + c − y), a = sign(w); zero coordinates give |b_j| ≤ λ. Above
    λ_max = 2‖Xᵀ(y − ȳ)‖_∞ every weight is zero and only λ ≥ λ_max is known.
    """

    name = "lasso"
    loss, penalties = SquaredLoss(), (L1(),)


class ElasticNet(LinearObjective):
    """Elastic net: ``Σ_i (y_i − x_iᵀw − c)² + λ₁‖w‖₁ + λ₂‖w‖²``.

    b = 2Xᵀ(Xw + c − y), A = [sign(w), 2w]: two hyperparameters, ``lambda_l1`` and ``lambda_l2``.
    """

    name = "elastic_net"
    loss, penalties = SquaredLoss(), (L1(), L2())


class _LogisticBase(LinearObjective):
    loss = LOGISTIC
    weights_per_output = False  # one softmax cross-entropy per row

    def loss_for(self, F):
        # the loss follows the shape of coef: one row = binary sigmoid, one row per class (or two) = softmax
        return cross_entropy(F)

    def _check_outputs(self, W, data):
        n_classes = len(data.classes)
        if n_classes == 2 and W.shape[0] in (1, 2):  # sigmoid, or a two-class softmax
            return
        if W.shape[0] != n_classes or n_classes == 2:
            super()._check_outputs(W, data)


class LogisticL2(_LogisticBase):
    """L2-regularised logistic regression (L2-LR): ``Σ_i CE(y_i, σ(x_iᵀw + c)) + λ‖w‖²``.

    b = Xᵀ(σ(Xw + c) − y), a = 2w. With one coef row per class (≥ 3 classes) the loss is the
    multinomial cross-entropy ``Σ_i −log softmax(Wx_i + c)_{y_i}`` and W is flattened.
    """

    name = "logistic_l2"
    penalties = (L2(),)


class LogisticL1(_LogisticBase):
    """L1-regularised logistic regression (L1-LR): ``Σ_i CE(y_i, σ(x_iᵀw + c)) + λ‖w‖₁``.

    b = Xᵀ(σ(Xw + c) − y), a = sign(w); zero coordinates give |b_j| ≤ λ.
    """

    name = "logistic_l1"
    penalties = (L1(),)


class LogisticElasticNet(_LogisticBase):
    """Elastic-net logistic regression: ``Σ_i CE(y_i, σ(x_iᵀw + c)) + λ₁‖w‖₁ + λ₂‖w‖²``.

    b = Xᵀ(σ(Xw + c) − y), A = [sign(w), 2w]; scikit-learn's ``LogisticRegression(C, l1_ratio=r)``
    has λ₁ = r/C and λ₂ = (1 − r)/(2C).
    """

    name = "logistic_elastic_net"
    penalties = (L1(), L2())


class SVMSquaredHinge(LinearObjective):
    """Linear SVM, squared hinge loss (SVM-SHL): ``Σ_i max(0, 1 − y_i(x_iᵀw + c))² + λ‖w‖²``.

    b = −2 Σ_{i∈S} y_i m_i x_i with m_i = 1 − y_i f_i and S = {i : y_i f_i < 1}; a = 2w.
    More than two classes: one-vs-rest, one coef row per class, equations stacked.
    """

    name = "svm_squared_hinge"
    loss, penalties = SquaredHingeLoss(), (L2(),)


class SVMHinge(LinearObjective):
    """Linear SVM, hinge loss (SVM-RHL): ``Σ_i max(0, 1 − y_i(x_iᵀw + c)) + λ‖w‖²``.

    Subgradient b = −Σ_{y_i f_i < 1} y_i x_i − Σ_{margin} β_i y_i x_i with unknown β_i ∈ [0, 1];
    a = 2w. With an unpenalised intercept, Σ_{y_i f_i<1} y_i + Σ_margin β_i y_i = 0 as well.
    """

    name = "svm_hinge"
    loss, penalties = HingeLoss(), (L2(),)
