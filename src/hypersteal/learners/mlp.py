"""Trainers of the networks: scikit-learn's L-BFGS fit, polished by Newton's method on the exact objective."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import optimize
from scipy.special import log_expit, logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from ..objectives.neural import ACTIVATIONS
from ..objectives.neural import sigmoid as _sigmoid
from ..registry import LEARNERS, native
from ._numerics import _rel, _warn_if_loose
from ._setup import _iters, _Setup

# =========================================================================== networks


def _mlp_output(name, Y) -> str:
    if LEARNERS[name].regression:
        return "identity"
    return "logistic" if Y.shape[1] == 1 else "softmax"


def _mlp_value_grad(coefs, intercepts, X, Y, lam, activation, output, grad=True):
    """``Σ loss + λ Σ_l ‖W_l‖²`` of a network and the loss gradient (gW, gb).

    With complex parameters (complex-step differentiation) the value is not computed (None) and
    the gradient is the analytic continuation of the real one.
    """
    act, dact = ACTIVATIONS[activation]
    acts, zs = [X], []
    last = len(coefs) - 1
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        z = acts[-1] @ W + b
        zs.append(z)
        acts.append(z if i == last else act(z))
    F = acts[-1]
    real = not np.iscomplexobj(F)
    value = None
    if output == "identity":
        delta = 2.0 * (F - Y)
        loss = float(np.sum((Y - F) ** 2)) if real else None
    elif output == "logistic":
        delta = _sigmoid(F) - Y
        loss = float(-np.sum(Y * log_expit(F) + (1.0 - Y) * log_expit(-F))) if real else None
    else:
        E = np.exp(F - F.real.max(axis=1, keepdims=True))
        delta = E / E.sum(axis=1, keepdims=True) - Y
        loss = float(np.sum(logsumexp(F, axis=1) - np.sum(Y * F, axis=1))) if real else None
    if real:
        value = loss + lam * float(sum(np.sum(W * W) for W in coefs))
    if not grad:
        return value
    gW, gb = [None] * len(coefs), [None] * len(coefs)
    for i in range(last, -1, -1):
        gW[i] = acts[i].T @ delta
        gb[i] = delta.sum(axis=0)
        if i:
            delta = (delta @ coefs[i].T) * dact(zs[i - 1], acts[i])
    return value, gW, gb


class _Packer:
    """Flatten (coefs, intercepts) to one vector and back."""

    def __init__(self, coefs, intercepts):
        self.shapes = [W.shape for W in coefs] + [b.shape for b in intercepts]
        self.n_layers = len(coefs)

    def pack(self, coefs, intercepts):
        return np.concatenate([a.ravel() for a in (*coefs, *intercepts)])

    def unpack(self, theta):
        out, start = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            out.append(theta[start:start + size].reshape(shape))
            start += size
        return out[: self.n_layers], out[self.n_layers:]

    def penalised(self):
        sizes = [int(np.prod(sh)) for sh in self.shapes]
        return np.concatenate([np.full(m, i < self.n_layers) for i, m in enumerate(sizes)])


def _polish_mlp(coefs, intercepts, X, Y, lam, activation, output, tol, max_iter):
    """Polish a network on the exact objective: L-BFGS, then Newton steps.

    Newton's Hessian comes from complex-step differentiation of the analytic gradient (exact to
    round-off; relu's kinks aside) and is pseudo-inverted, since a network's symmetries make it
    singular. A network whose weights all shrink to ~0 (large λ) is snapped to exactly zero weights
    with the optimal output bias when that is no worse: W = 0 is then an exact stationary point,
    which says plainly that λ lies above the range it can be recovered from.
    Returns coefs, intercepts and the relative stationarity residual (0.0 for snapped weights).
    """
    packer = _Packer(coefs, intercepts)
    pen = packer.penalised()

    def fun(theta):
        W, b = packer.unpack(theta)
        value, gW, gb = _mlp_value_grad(W, b, X, Y, lam, activation, output)
        g_loss = packer.pack(gW, gb)
        return value, g_loss + 2.0 * lam * theta * pen, g_loss

    def rel_of(theta):
        _, g, g_loss = fun(theta)
        return _rel(g, g_loss, 2.0 * lam * theta * pen)

    theta = packer.pack(coefs, intercepts)
    F, g, _ = fun(theta)
    rel = rel_of(theta)
    for budget in (min(300, max_iter), max_iter):  # a short L-BFGS run first, a long one if needed
        if rel <= tol:
            break
        # stop L-BFGS once the gradient is ~1e-6 of the penalty's: Newton takes it from there
        gtol = 1e-6 * max(float(np.max(np.abs(2.0 * lam * theta * pen))), 1e-300)
        res = optimize.minimize(
            lambda t: fun(t)[:2], theta, jac=True, method="L-BFGS-B",
            options={"maxiter": budget, "maxfun": 2 * budget, "ftol": 0.0, "gtol": gtol, "maxcor": 50},
        )
        if fun(res.x)[0] <= F:
            theta = res.x
            F, g, _ = fun(theta)
            rel = rel_of(theta)
        snapped = _snap_to_zero(theta, F, packer, fun, Y, output)
        if snapped is not None:
            W, b = packer.unpack(snapped)
            return [w.copy() for w in W], [v.copy() for v in b], 0.0
        theta, F, g, rel = _newton_mlp(theta, F, g, rel, fun, rel_of, packer, pen, X, Y, lam, activation,
                                       output, tol)
    W, b = packer.unpack(theta)
    return [w.copy() for w in W], [v.copy() for v in b], rel


def _newton_mlp(theta, F, g, rel, fun, rel_of, packer, pen, X, Y, lam, activation, output, tol):
    """Saddle-free Newton steps (|eigenvalues|, pseudo-inverse, since a network's symmetries make H
    singular) with backtracking: a step is kept when it lowers F, or, at round-off level, when it
    lowers the stationarity residual without raising F."""

    def grad(t):
        return packer.pack(*_mlp_grads(packer, t, X, Y, lam, activation, output)) + 2.0 * lam * t * pen

    # relu's kinks stop Newton early; do not spend long on it
    for _ in range(10 if activation == "relu" else 50):
        if rel <= tol:
            break
        w, V = np.linalg.eigh(_complex_step_hessian(grad, theta))
        Vg = V.T @ g
        found = None
        for cut in (1e-13, 1e-10, 1e-7):
            keep = np.abs(w) > cut * np.abs(w).max()
            step = -V[:, keep] @ (Vg[keep] / np.abs(w[keep]))
            t = 1.0
            while t > 1e-4 and found is None:
                new = theta + t * step
                F_new, g_new, _ = fun(new)
                if F_new < F - 1e-14 * abs(F) or (F_new <= F + 1e-12 * abs(F) and rel_of(new) < rel):
                    found = (new, F_new, g_new, rel_of(new))
                t *= 0.3
            if found is not None:
                break
        if found is None:
            break
        theta, F, g, rel = found
    return theta, F, g, rel


def _mlp_grads(packer, theta, X, Y, lam, activation, output):
    W, b = packer.unpack(theta)
    _, gW, gb = _mlp_value_grad(W, b, X, Y, lam, activation, output)
    return gW, gb


def _complex_step_hessian(grad, theta):
    """Hessian by complex-step differentiation of ``grad``: column j = Im grad(θ + i·h·e_j) / h."""
    p = theta.size
    h = 1e-30
    H = np.empty((p, p))
    for j in range(p):
        z = theta.astype(complex)
        z[j] += 1j * h
        H[:, j] = grad(z).imag / h
    return 0.5 * (H + H.T)


def _snap_to_zero(theta, F, packer, fun, Y, output):
    """All weights = 0 with the best output bias, if that objective is no larger; else None."""
    W, b = packer.unpack(theta)
    if not all(np.max(np.abs(w), initial=0.0) < 1e-6 for w in W):
        return None
    b = [v.copy() for v in b]
    mean = Y.mean(axis=0)
    if output == "identity":
        b[-1] = mean
    elif output == "logistic":
        q = np.clip(mean, 1e-300, 1 - 1e-16)
        b[-1] = np.log(q) - np.log1p(-q)
    else:
        logq = np.log(np.clip(mean, 1e-300, None))
        b[-1] = logq - logq.mean()
    snapped = packer.pack([np.zeros_like(w) for w in W], b)
    return snapped if fun(snapped)[0] <= F + 1e-12 * abs(F) else None


def _fit_mlp(s: _Setup) -> dict:
    X, Y, o, lam = s.X, s.y, s.o, s.lam
    regression = LEARNERS[s.name].regression
    Y2 = Y[:, None] if Y.ndim == 1 else Y
    output = _mlp_output(s.name, Y2)
    iters = _iters(o, 1000 if o["activation"] == "relu" else 3000)
    kw = {"hidden_layer_sizes": o["hidden_layer_sizes"], "activation": o["activation"], "solver": "lbfgs",
          "tol": 1e-10, "max_iter": min(iters, 500), "max_fun": 4 * iters, "random_state": o["random_state"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if regression:
            m = MLPRegressor(**native("MLPRegressor", s.name).at(lam), **kw).fit(X, Y)
        else:
            target = np.argmax(Y2, axis=1) if Y2.shape[1] > 1 else Y2[:, 0]
            m = MLPClassifier(**native("MLPClassifier", s.name).at(lam), **kw).fit(X, target)
    coefs, intercepts, rel = _polish_mlp(
        [np.array(W, dtype=float) for W in m.coefs_], [np.array(b, dtype=float) for b in m.intercepts_],
        X, Y2, lam, o["activation"], output, o["tol"], iters,
    )
    _warn_if_loose(s.name, rel, max(o["tol"], 1e-10))
    # the activation travels with the weights, so that steal() attacks the network that was trained
    return {"coefs": coefs, "intercepts": intercepts, "activation": o["activation"]}


def _fit_mlp_regression(s: _Setup) -> dict:
    """Neural network regression: ``Σ_i ‖y_i − f(x_i)‖² + λ Σ_l ‖W_l‖²`` (biases unpenalised).

    Started from scikit-learn's ``MLPRegressor(alpha=λ, solver="lbfgs")`` (which minimises
    ``(1/2n)[Σ(y − f)² + alpha Σ‖W‖²]`` for one output), then polished by L-BFGS on the exact
    objective and saddle-free Newton steps with a complex-step Hessian (``_polish_mlp``).
    ``hidden_layer_sizes``, ``activation`` (identity, logistic, tanh, relu) and ``random_state`` are
    scikit-learn's. Weights that all shrink to ~0 (large λ) are returned as exact zeros.
    """
    return _fit_mlp(s)


def _fit_mlp_classification(s: _Setup) -> dict:
    """Neural network classification: ``Σ_i CE(y_i, σ or softmax of f(x_i)) + λ Σ_l ‖W_l‖²``.

    One logistic output unit for two classes, a softmax layer for more (scikit-learn's layout).
    Started from ``MLPClassifier(alpha=2λ, solver="lbfgs")``, then polished as
    :func:`_fit_mlp_regression`.
    """
    return _fit_mlp(s)
