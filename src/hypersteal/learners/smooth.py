"""Trainers of the smooth and L1 learners: ridge, lasso, elastic net, kernel ridge, logistic regression (L2, L1,
multinomial, kernel) and the squared-hinge SVMs."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
from scipy.special import logsumexp, softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from sklearn.svm import LinearSVC

from .._validation import (
    InputError,
)
from ..objectives.base import Loss
from ..registry import native
from ._numerics import (
    _LOGISTIC,
    _SQHINGE,
    _SQUARED,
    _damped_newton,
    _l1_newton,
    _newton_kernel,
    _newton_linear,
    _rel,
    _solve,
    _warn_if_loose,
)
from ._setup import _iters, _linear_out, _Setup, _with_column

# =========================================================================== the trainers


def _fit_ridge(s: _Setup) -> dict:
    """Ridge regression (RR): ``Σ_i (y_i − x_iᵀw − c)² + λ‖w‖²``.

    scikit-learn's ``Ridge(alpha=λ, solver="cholesky")`` minimises exactly this (closed form).
    Multi-output y (n, t) gives coef (t, d) and intercept (t,).
    """
    m = Ridge(**native("Ridge", "ridge").at(s.lam), fit_intercept=s.o["fit_intercept"], solver="cholesky").fit(s.X, s.y)
    return {"coef": np.array(m.coef_, dtype=float), "intercept": _as_intercept(m.intercept_)}


def _as_intercept(c):
    c = np.asarray(c, dtype=float)
    return float(c) if c.ndim == 0 else c.copy()


def _fit_l1_regression(s: _Setup, lam1: float, lam2: float) -> dict:
    X, y, o = s.X, s.y, s.o
    n, d = X.shape
    kw = {"fit_intercept": o["fit_intercept"], "tol": 1e-10, "max_iter": 100_000, "selection": "cyclic"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if lam2 == 0:
            m = Lasso(**native("Lasso", "lasso").at(lam1, n), **kw).fit(X, y)
        else:
            m = ElasticNet(**native("ElasticNet", "elastic_net").at({"lambda_l1": lam1, "lambda_l2": lam2}, n),
                           **kw).fit(X, y)
    Z, pen = _with_column(X, o["fit_intercept"], None)
    theta0 = np.append(m.coef_, m.intercept_) if o["fit_intercept"] else np.array(m.coef_, dtype=float)
    ridge = lam2 * pen
    theta, rel = _l1_newton(Z, y, _SQUARED, lam1, ridge, pen, theta0, o["tol"], _iters(o, 200))
    _warn_if_loose(s.name, rel, o["tol"])
    return _linear_out(theta, d, o["fit_intercept"], None)


def _fit_lasso(s: _Setup) -> dict:
    """LASSO: ``Σ_i (y_i − x_iᵀw − c)² + λ‖w‖₁``.

    Started from scikit-learn's ``Lasso(alpha=λ/(2n))`` (coordinate descent), then polished by the
    proximal Newton method of ``_l1_newton`` (one exact step here, the loss being quadratic) so that
    ``2X_jᵀ(Xw + c − y) = −λ sign(w_j)`` holds to round-off on the support and
    ``|2X_jᵀ(Xw + c − y)| ≤ λ`` off it; zero weights are exactly 0.0. Above
    λ_max = 2‖Xᵀ(y − ȳ)‖_∞ every weight is 0.
    """
    return _fit_l1_regression(s, s.lam, 0.0)


def _fit_elastic_net(s: _Setup) -> dict:
    """Elastic net: ``Σ_i (y_i − x_iᵀw − c)² + λ₁‖w‖₁ + λ₂‖w‖²`` with ``lam = (λ₁, λ₂)``.

    Started from scikit-learn's ``ElasticNet(alpha, l1_ratio=r)`` with λ₁ = 2n·alpha·r and
    λ₂ = n·alpha·(1 − r), i.e. alpha = λ₁/(2n) + λ₂/n, r = λ₁/(2n·alpha); then polished by the
    proximal Newton method as for :func:`_fit_lasso`. Either λ may be 0 (not both).
    """
    return _fit_l1_regression(s, *s.lam)


def _fit_kernel_ridge(s: _Setup) -> dict:
    """Kernel ridge regression (KRR): ``‖y − Kα‖² + λαᵀKα``; stationary where (K + λI)α = y.

    scikit-learn's ``KernelRidge(alpha=λ)`` on the Gram matrix of :class:`~hypersteal.kernels.Kernel`
    (closed form). KernelRidge fits no intercept, so ``fit_intercept`` defaults to False here; with
    ``fit_intercept=True`` this module solves ``‖y − Kα − c‖² + λαᵀKα`` itself, from
    ``[[K + λI, 1], [1ᵀ, 0]] [α; c] = [y; 0]``.
    """
    K, y, lam = s.K, s.y, s.lam
    if not s.o["fit_intercept"]:
        m = KernelRidge(**native("KernelRidge", "kernel_ridge").at(lam), kernel="precomputed").fit(K, y)
        return {"dual_coef": np.array(m.dual_coef_, dtype=float), "intercept": 0.0 if y.ndim == 1
                else np.zeros(y.shape[1])}
    n = K.shape[0]
    A = np.block([[K + lam * np.eye(n), np.ones((n, 1))], [np.ones((1, n)), np.zeros((1, 1))]])
    Yc = y.reshape(n, -1)
    sol = _solve(A, np.vstack([Yc, np.zeros((1, Yc.shape[1]))]))
    a, c = sol[:n], sol[n]
    if y.ndim == 1:
        return {"dual_coef": a.ravel(), "intercept": float(c[0])}
    return {"dual_coef": a, "intercept": c}


def _logistic_l2_kwargs() -> dict:
    """L2 penalty for scikit-learn's LogisticRegression, before and after ``penalty`` was deprecated."""
    default = inspect.signature(LogisticRegression).parameters["penalty"].default
    return {"l1_ratio": 0.0} if default == "deprecated" else {"penalty": "l2"}


def _fit_logistic_l2(s: _Setup) -> dict:
    """L2-regularised logistic regression (L2-LR): ``Σ_i CE(y_i, σ(x_iᵀw + c)) + λ‖w‖²``.

    Started from scikit-learn's ``LogisticRegression(C=1/(2λ))`` (L2, unpenalised intercept,
    ``newton-cholesky``; ``lbfgs`` multinomial for ≥ 3 classes:
    ``Σ_i −log softmax(Wx_i + c)_{y_i} + λ‖W‖²``, W of shape (classes, d)), then polished by Newton's
    method. ``intercept_scaling=s`` instead penalises the intercept as liblinear does (a weight on a
    constant feature s, returned as intercept = s·w_s); that objective is fitted by Newton alone.
    """
    X, y, o, lam = s.X, s.y, s.o, s.lam
    d = X.shape[1]
    fit, scaling = o["fit_intercept"], o["intercept_scaling"]
    tol, iters = o["tol"], _iters(o, 100)
    if y.ndim == 2:
        return _fit_multinomial(s)
    Z, pen = _with_column(X, fit, scaling)
    theta0 = np.zeros(Z.shape[1])
    if scaling is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = LogisticRegression(**native("LogisticRegression", "logistic_l2").at(lam), fit_intercept=fit,
                                   solver="newton-cholesky",
                                   tol=1e-12, max_iter=1000, **_logistic_l2_kwargs()).fit(X, y)
        theta0 = np.append(m.coef_.ravel(), m.intercept_) if fit else m.coef_.ravel().copy()
    theta, rel = _newton_linear(Z, y, _LOGISTIC, lam * pen, theta0, tol, iters)
    _warn_if_loose(s.name, rel, tol)
    return _linear_out(theta, d, fit, scaling)


def _multinomial_parts(X, Y, W, c, lam):
    F = X @ W.T + c
    P = softmax(F, axis=1)
    G = P - Y
    value = float(np.sum(logsumexp(F, axis=1) - np.sum(Y * F, axis=1))) + lam * float(np.sum(W * W))
    return value, P, G


def _fit_multinomial(s: _Setup) -> dict:
    X, Y, o, lam = s.X, s.y, s.o, s.lam
    if o["intercept_scaling"] is not None:
        raise InputError("intercept_scaling is supported for two classes only (liblinear is one-vs-rest).")
    n, d = X.shape
    k = Y.shape[1]
    fit = o["fit_intercept"]
    labels = np.argmax(Y, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = LogisticRegression(**native("LogisticRegression", "logistic_l2").at(lam), fit_intercept=fit,
                               solver="lbfgs", tol=1e-12,
                               max_iter=300, **_logistic_l2_kwargs()).fit(X, labels)
    p = d + fit
    Z = np.hstack([X, np.ones((n, 1))]) if fit else X
    ridge = np.tile(np.append(np.full(d, lam), 0.0) if fit else np.full(d, lam), k)

    def unflat(th):
        T = th.reshape(k, p)
        return T[:, :d], (T[:, d] if fit else np.zeros(k))

    def value(th):
        W, c = unflat(th)
        return _multinomial_parts(X, Y, W, c, lam)[0]

    def step(th):
        W, c = unflat(th)
        _, P, G = _multinomial_parts(X, Y, W, c, lam)
        g_loss = (G.T @ Z).ravel()
        g_reg = 2.0 * ridge * th
        g = g_loss + g_reg
        H = np.empty((k, p, k, p))
        for a in range(k):
            for b in range(a, k):
                w = P[:, a] * ((a == b) - P[:, b])
                H[a, :, b, :] = (Z.T * w) @ Z
                H[b, :, a, :] = H[a, :, b, :].T
        H = H.reshape(k * p, k * p) + np.diag(2.0 * ridge)
        dirn = -np.linalg.lstsq(H, g, rcond=None)[0]  # singular along a shift of all intercepts
        return dirn, float(g @ dirn), _rel(g, g_loss, g_reg)

    theta0 = np.column_stack([m.coef_, m.intercept_]).ravel() if fit else m.coef_.ravel().copy()
    theta, rel = _damped_newton(value, step, theta0, o["tol"], _iters(o, 100))
    _warn_if_loose(s.name, rel, o["tol"])
    W, c = unflat(theta)
    return {"coef": W.copy(), "intercept": c - c.mean() if fit else np.zeros(k)}


def _fit_l1_classifier(s: _Setup, Zfeat: np.ndarray) -> tuple[np.ndarray, float]:
    o, lam = s.o, s.lam
    fit, scaling = o["fit_intercept"], o.get("intercept_scaling")
    Z, pen = _with_column(Zfeat, fit, scaling)
    theta0 = np.zeros(Z.shape[1])
    if fit and scaling is None:
        q = np.clip(s.y.mean(), 1e-12, 1 - 1e-12)
        theta0[-1] = np.log(q / (1.0 - q))
    theta, rel = _l1_newton(Z, s.y, _LOGISTIC, lam, np.zeros(Z.shape[1]), pen, theta0, o["tol"],
                            _iters(o, 500))
    _warn_if_loose(s.name, rel, o["tol"])
    return theta, rel


def _fit_logistic_l1(s: _Setup) -> dict:
    """L1-regularised logistic regression (L1-LR): ``Σ_i CE(y_i, σ(x_iᵀw + c)) + λ‖w‖₁``.

    scikit-learn's ``LogisticRegression(l1_ratio=1, C=1/λ)`` either penalises the intercept
    (liblinear) or converges only linearly (saga), so this module fits the objective itself, by the
    proximal Newton method of ``_l1_newton`` from w = 0, c = logit(ȳ). It ends with
    ``X_jᵀ(σ(Xw + c) − y) = −λ sign(w_j)`` on the support to round-off and
    ``|X_jᵀ(σ(Xw + c) − y)| ≤ λ`` off it; zero weights are exactly 0.0. ``intercept_scaling=s``
    penalises the intercept as liblinear does (λ|w_s| on a constant feature s, intercept = s·w_s).
    """
    theta, _ = _fit_l1_classifier(s, s.X)
    return _linear_out(theta, s.X.shape[1], s.o["fit_intercept"], s.o["intercept_scaling"])


def _fit_kernel_logistic_l2(s: _Setup) -> dict:
    """L2 kernel logistic regression (L2-KLR): ``Σ_i CE(y_i, σ((Kα)_i + c)) + λαᵀKα``.

    Fitted by this module's Newton method in representer form (see ``_newton_kernel``): at the
    end ``σ(Kα + c) − y + 2λα = 0`` and ``Σ_i (σ(f_i) − y_i) = 0`` to round-off.
    """
    return _fit_kernel_smooth(s, _LOGISTIC)


def _fit_kernel_svm_squared_hinge(s: _Setup) -> dict:
    """Kernel SVM, squared hinge (KSVM-SHL): ``Σ_i max(0, 1 − y_i f_i)² + λαᵀKα``, f = Kα + c.

    Fitted by this module's generalised Newton method in representer form; once the set
    S = {y_i f_i < 1} settles, one step solves ``λα_S = y_S − f_S``, ``α_{not S} = 0``, ``Σα = 0``
    exactly.
    """
    return _fit_kernel_smooth(s, _SQHINGE)


def _fit_kernel_smooth(s: _Setup, loss: Loss) -> dict:
    K, y, o = s.K, s.y, s.o
    n = K.shape[0]
    fit = o["fit_intercept"]
    theta0 = np.zeros(n + fit)
    if fit and loss is _LOGISTIC:
        q = np.clip(y.mean(), 1e-12, 1 - 1e-12)
        theta0[n] = np.log(q / (1.0 - q))
    theta, rel = _newton_kernel(K, y, loss, s.lam, fit, theta0, o["tol"], _iters(o, 200))
    _warn_if_loose(s.name, rel, o["tol"])
    return {"dual_coef": theta[:n].copy(), "intercept": float(theta[n]) if fit else 0.0}


def _fit_kernel_logistic_l1(s: _Setup) -> dict:
    """L1 kernel logistic regression (L1-KLR): ``Σ_i CE(y_i, σ((Kα)_i + c)) + λ‖α‖₁``.

    L1 logistic regression on the features K (the columns of the Gram matrix), fitted as
    :func:`_fit_logistic_l1`; zero dual coefficients are exactly 0.0.
    """
    theta, _ = _fit_l1_classifier(s, s.K)
    n = s.K.shape[0]
    return {"dual_coef": theta[:n].copy(), "intercept": float(theta[n]) if s.o["fit_intercept"] else 0.0}


def _fit_svm_squared_hinge(s: _Setup) -> dict:
    """Linear SVM, squared hinge (SVM-SHL): ``Σ_i max(0, 1 − y_i(x_iᵀw + c))² + λ‖w‖²``.

    scikit-learn's ``LinearSVC(C=1/(2λ))`` penalises its intercept, so with the default unpenalised
    intercept this module's generalised Newton method fits the objective (finite convergence: the
    last step solves the stationarity equations on S = {y_i f_i < 1} exactly). With
    ``intercept_scaling=s`` (liblinear's penalised intercept: ``λ(‖w‖² + w_s²)``, intercept = s·w_s)
    or ``fit_intercept=False``, ``LinearSVC(loss="squared_hinge", dual=False)`` fits it and Newton
    polishes the result.
    """
    X, y, o, lam = s.X, s.y, s.o, s.lam
    d = X.shape[1]
    fit, scaling = o["fit_intercept"], o["intercept_scaling"]
    Z, pen = _with_column(X, fit, scaling)
    theta0 = np.zeros(Z.shape[1])
    if not fit or scaling is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = LinearSVC(**native("LinearSVC", "svm_squared_hinge").at(lam), loss="squared_hinge", dual=False,
                          tol=1e-12,
                          fit_intercept=fit, intercept_scaling=scaling or 1.0, max_iter=10_000).fit(X, y)
        theta0 = m.coef_.ravel().copy()
        if fit:
            theta0 = np.append(theta0, m.intercept_[0] / scaling)
    theta, rel = _newton_linear(Z, y, _SQHINGE, lam * pen, theta0, o["tol"], _iters(o, 200))
    _warn_if_loose(s.name, rel, o["tol"])
    return _linear_out(theta, d, fit, scaling)
