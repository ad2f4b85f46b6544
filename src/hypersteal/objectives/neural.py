"""Multi-layer perceptrons with any number of hidden layers, in scikit-learn's layout.

``params = {"coefs": [W_1 (d, h_1), …, W_L (h_{L−1}, outputs)], "intercepts": [b_1, …, b_L]}``.
Hidden layers apply ``activation`` (identity, logistic, tanh, relu); the output is the identity for
regression, σ for two classes and softmax for more. Weights are penalised, biases are not.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .._lazy import is_lazy
from .._validation import InputError, check_array, check_X_y, suggest
from .base import L2, LOGISTIC, SquaredLoss, cross_entropy
from .objective import Data, Objective

__all__ = ["ACTIVATIONS", "forward", "sigmoid", "MLPRegression", "MLPClassification"]


#: rows of X per block of :meth:`_MLP.loss_gradient`: a block this size (512 KiB) stays in cache between its
#: forward and backward pass (measured on 2·10⁵ × 100: 1.4–1.8 numpy passes blocked, 4–5 whole)
ROW_BLOCK_BYTES = 1 << 19


def sigmoid(z):
    """σ(z); also for complex z (complex-step derivatives), as (1 + tanh(z/2))/2."""
    return 0.5 * (1.0 + np.tanh(0.5 * z)) if np.iscomplexobj(z) else expit(z)


def _relu(z):
    return np.where(z.real > 0, z, 0.0)


#: activation → (function, derivative written in terms of (z, a)), scikit-learn's names; complex-safe. The one
#: table of activations: the objectives, the trainers, the extraction and the experiments all read it.
ACTIVATIONS = {
    "identity": (lambda z: z, lambda z, a: np.ones_like(z)),
    "logistic": (sigmoid, lambda z, a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a * a),
    "relu": (_relu, lambda z, a: (z.real > 0).astype(float)),
}


def forward(params, X, activation: str) -> np.ndarray:
    """The network's output scores (before the output link): hidden layers apply ``activation``, the last layer
    is linear. ``params`` holds ``coefs`` [W_1 (d, h_1), …] and ``intercepts`` [b_1, …], scikit-learn's layout."""
    act = ACTIVATIONS[activation][0]
    a = X
    last = len(params["coefs"]) - 1
    for layer, (W, b) in enumerate(zip(params["coefs"], params["intercepts"])):
        a = a @ np.asarray(W) + np.asarray(b)
        if layer < last:
            a = act(a)
    return a


class _MLP(Objective):
    option_defaults = {"activation": "relu"}
    penalties = (L2(),)

    def __init__(self, **options):
        super().__init__(**options)
        act = self.options["activation"]
        if act not in ACTIVATIONS:
            raise InputError(
                f"Unknown activation {act!r}.{suggest(str(act), ACTIVATIONS)} "
                f"Valid activations: {', '.join(ACTIVATIONS)}."
            )
        self._act, self._dact = ACTIVATIONS[act]

    def prepare(self, X, y) -> Data:
        if is_lazy(X) or is_lazy(y):
            return self._prepare_lazy(X, y, regression=self.regression)
        # X's NaN/inf check is deferred: every gradient pass reveals them (see attack._attack)
        X, y = check_X_y(X, y, y_ndim=(1, 2) if self.regression else (1,), finite_X=False)
        if self.regression:
            return Data(X=X, Y=y[:, None] if y.ndim == 1 else y)
        Y, classes = self._encode_labels(y)
        return Data(X=X, Y=Y, classes=classes, y_raw=y)

    def check_params(self, params, data) -> dict:
        for key in ("coefs", "intercepts"):
            if key not in params:
                raise InputError(
                    f"{self.name} needs params['coefs'] and params['intercepts'] (lists of arrays, "
                    f"scikit-learn's coefs_ and intercepts_); missing {key!r}."
                )
        coefs = [check_array(W, f"params['coefs'][{i}]", ndim=2) for i, W in enumerate(params["coefs"])]
        inter = [check_array(b, f"params['intercepts'][{i}]", ndim=(0, 1))
                 for i, b in enumerate(params["intercepts"])]
        if len(coefs) != len(inter) or not coefs:
            raise InputError(
                f"params['coefs'] has {len(coefs)} layer(s) and params['intercepts'] {len(inter)}; pass one "
                "weight matrix and one bias vector per layer."
            )
        width = data.X.shape[1]
        for i, (W, b) in enumerate(zip(coefs, inter)):
            if W.shape[0] != width:
                what = "X has" if i == 0 else f"layer {i - 1} outputs"
                raise InputError(
                    f"params['coefs'][{i}] has shape {W.shape} but {what} {width} columns; "
                    "the layers do not chain."
                )
            if np.size(b) != W.shape[1]:
                raise InputError(
                    f"params['intercepts'][{i}] has {np.size(b)} values but layer {i} has {W.shape[1]} units."
                )
            width = W.shape[1]
        out = coefs[-1].shape[1]
        if self.regression:
            if out != data.Y.shape[1]:
                raise InputError(f"The network has {out} output(s) but y has {data.Y.shape[1]} target(s).")
        else:
            n_classes = len(data.classes)
            if not (n_classes == 2 and out == 1 or out == n_classes and n_classes > 2):
                raise InputError(
                    f"The network has {out} output unit(s) but y has {n_classes} classes; a binary "
                    "classifier has 1 (logistic) output, a multi-class one an output per class (softmax)."
                )
        return {"coefs": coefs, "intercepts": [np.atleast_1d(b).astype(float) for b in inter]}

    def pack(self, params):
        return np.concatenate([W.ravel() for W in params["coefs"]])

    def unpack(self, theta, params):
        coefs, start = [], 0
        for W in params["coefs"]:
            coefs.append(theta[start:start + W.size].reshape(W.shape))
            start += W.size
        return {**params, "coefs": coefs}

    def _forward(self, X, params):
        acts, zs = [X], []
        last = len(params["coefs"]) - 1
        for l, (W, b) in enumerate(zip(params["coefs"], params["intercepts"])):
            z = acts[-1] @ W + b
            zs.append(z)
            acts.append(z if l == last else self._act(z))
        return acts, zs

    def scores(self, data, params):
        return self._forward(data.X, params)[0][-1]

    def loss_gradient(self, data, params):
        if data.lazy:
            return self._lazy_gradient(data, params)
        X, Y = data.X, data.Y
        rows = max(64, ROW_BLOCK_BYTES // (8 * max(X.shape[1], 1)))
        if not isinstance(X, np.ndarray) or len(X) <= 2 * rows:
            return self._block_gradient(X, Y, params)
        # the gradient is a sum over rows: block by block, each block's forward and backward pass reads its
        # rows of X while they are still in cache (one pass over X from memory instead of two)
        total = 0.0
        for start in range(0, len(X), rows):
            total = total + self._block_gradient(X[start:start + rows], Y[start:start + rows], params)
        return total

    def _block_gradient(self, X, Y, params):
        """∂loss/∂W of the rows X, Y: one forward and one backward pass."""
        acts, zs = self._forward(X, params)
        delta = self.loss_for(acts[-1]).grad(acts[-1], Y)
        grads = []
        for l in range(len(params["coefs"]) - 1, -1, -1):
            grads.append(acts[l].T @ delta)
            if l:
                delta = (delta @ params["coefs"][l].T) * self._dact(zs[l - 1], acts[l])
        return np.concatenate([g.ravel() for g in reversed(grads)])


class MLPRegression(_MLP):
    """Neural network regression: ``Σ_i ‖y_i − f(x_i)‖² + λ Σ_l ‖W_l‖²`` (biases unpenalised).

    b = back-propagated ∂loss/∂W, a = 2W. scikit-learn's MLPRegressor(alpha) has λ = alpha.
    """

    name = "mlp_regression"
    loss = SquaredLoss()


class MLPClassification(_MLP):
    """Neural network classification: ``Σ_i CE(y_i, σ or softmax of f(x_i)) + λ Σ_l ‖W_l‖²``.

    b = back-propagated ∂loss/∂W, a = 2W. scikit-learn's MLPClassifier(alpha) has λ = alpha/2.
    """

    name = "mlp_classification"
    loss = LOGISTIC

    def loss_for(self, F):
        return cross_entropy(F)  # one logistic output for two classes, a softmax layer for more
