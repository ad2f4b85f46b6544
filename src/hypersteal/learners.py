"""Reference trainers: fit each learner at a given λ, to tight tolerance, in the paper's convention.

Every objective is written in the paper's convention (docs/conventions.md): losses are **sums** over the
rows, regularisers carry **no ½**, an intercept c is unpenalised unless ``intercept_scaling`` says
otherwise, and network biases are never penalised. :func:`train` returns the parameters with
scikit-learn's attribute names:

* linear models: ``{"coef": (d,) or (classes, d), "intercept": float or (classes,)}``
* kernel models: ``{"dual_coef": (n,), "intercept": float}``, f(x) = Σ_i dual_coef_i k(x_i, x) + c
* networks: ``{"coefs": [W_1 (d, h_1), …, W_L], "intercepts": [b_1, …, b_L]}``

============================ ============================================ =============================
algorithm                    objective                                    fitted by
============================ ============================================ =============================
ridge                        Σ(y − Xw − c)² + λ‖w‖²                        Ridge (cholesky)
lasso                        Σ(y − Xw − c)² + λ‖w‖₁                        Lasso, proximal Newton
elastic_net                  Σ(y − Xw − c)² + λ₁‖w‖₁ + λ₂‖w‖²              ElasticNet, proximal Newton
kernel_ridge                 ‖y − Kα‖² + λαᵀKα                              KernelRidge (precomputed K)
logistic_l2                  Σ CE(y, σ(Xw + c)) + λ‖w‖²                    LogisticRegression, Newton
logistic_l1                  Σ CE(y, σ(Xw + c)) + λ‖w‖₁                    proximal Newton
kernel_logistic_l2           Σ CE(y, σ(Kα + c)) + λαᵀKα                    Newton (representer form)
kernel_logistic_l1           Σ CE(y, σ(Kα + c)) + λ‖α‖₁                    proximal Newton
svm_squared_hinge            Σ max(0, 1 − y(Xw + c))² + λ‖w‖²              generalised Newton
svm_hinge                    Σ max(0, 1 − y(Xw + c)) + λ‖w‖²               smoothed Newton, KKT
kernel_svm_squared_hinge     Σ max(0, 1 − y(Kα + c))² + λαᵀKα              generalised Newton
kernel_svm_hinge             Σ max(0, 1 − y(Kα + c)) + λαᵀKα               SVC(kernel="precomputed"), KKT
mlp_regression               Σ‖y − f(x)‖² + λΣ_l‖W_l‖²                     MLPRegressor, L-BFGS, Newton
mlp_classification           Σ CE(y, σ/softmax f(x)) + λΣ_l‖W_l‖²          MLPClassifier, L-BFGS, Newton
============================ ============================================ =============================

"Newton" is this module's own damped (generalised) Newton method on the exact objective, "proximal
Newton" its L1 counterpart, and "KKT" an exact solve of the hinge's optimality system on support
sets found by libsvm (kernel) or by Newton's method on a Huber-smoothed hinge whose smoothing is
driven to 0 (linear; libsvm as fallback). They start from the scikit-learn fit where one exists
and stop when the relative stationarity residual ``‖∇F‖ / (‖∇loss‖ + ‖∇(λR)‖)`` falls below ``tol``
(default 1e-12); measured residuals are 1e-16…3e-10 on Diabetes, two-class Iris and synthetic data for λ = 1e-3…1e3.

Networks with ``activation="relu"`` are not differentiable where a unit's input crosses 0, and their
fits often stop at such a kink: the result is then as good as L-BFGS gets, with a ConvergenceWarning.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize
from scipy.special import expit, log_expit, logsumexp, softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.svm import SVC, LinearSVC
from threadpoolctl import threadpool_limits

from ._validation import (
    InputError,
    check_array,
    check_binary_labels,
    check_options,
    check_positive,
    check_X_y,
    suggest,
)
from .kernels import Kernel
from .registry import LEARNERS, Learner, canonical_name

__all__ = ["train", "objective_value", "DEFAULT_OPTIONS", "ACTIVATIONS"]

_TINY = np.finfo(float).tiny


def _single_blas_thread(func):
    """Run ``func`` with one BLAS thread.

    The trainers factorise many small dense matrices, where one thread is fastest and several
    threads on a busy machine were measured up to 100× slower (the MLaaS study also times learners with
    single-threaded BLAS).
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper


# =========================================================================== losses on scores f


class _Loss:
    """Σ_i ℓ(y_i, f_i) for one score per row, with ∂ℓ/∂f_i and a (generalised) ∂²ℓ/∂f_i²."""

    def value(self, f: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    def derivatives(self, f: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class _Squared(_Loss):
    """Σ (y − f)²."""

    def value(self, f, y):
        return float(np.sum((y - f) ** 2))

    def derivatives(self, f, y):
        return 2.0 * (f - y), np.full_like(f, 2.0)


class _Logistic(_Loss):
    """Σ CE(y, σ(f)) = Σ log(1 + e^f) − y f, y ∈ {0, 1}."""

    def value(self, f, y):
        return float(-np.sum(y * log_expit(f) + (1.0 - y) * log_expit(-f)))

    def derivatives(self, f, y):
        p = expit(f)
        return p - y, p * (1.0 - p)


class _SquaredHinge(_Loss):
    """Σ max(0, 1 − y f)², y ∈ {−1, +1}; its second derivative is 2 on S = {y f < 1}, else 0."""

    def value(self, f, y):
        return float(np.sum(np.maximum(0.0, 1.0 - y * f) ** 2))

    def derivatives(self, f, y):
        m = np.maximum(0.0, 1.0 - y * f)
        return -2.0 * y * m, 2.0 * (m > 0)


class _Hinge(_Loss):
    """Σ max(0, 1 − y f), y ∈ {−1, +1} (value only: libsvm fits it)."""

    def value(self, f, y):
        return float(np.sum(np.maximum(0.0, 1.0 - y * f)))


_SQUARED, _LOGISTIC, _SQHINGE, _HINGE = _Squared(), _Logistic(), _SquaredHinge(), _Hinge()

# =========================================================================== small numerics


def _rel(g: np.ndarray, *parts: np.ndarray) -> float:
    """‖g‖ / Σ‖part‖ (0 when everything is 0)."""
    num = float(np.linalg.norm(g))
    den = float(sum(np.linalg.norm(p) for p in parts))
    return num / den if den > 0 else num


def _solve_psd(H: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Solve H x = r for a symmetric positive semi-definite H (least squares if singular)."""
    try:
        return linalg.cho_solve(linalg.cho_factor(H, check_finite=False), r, check_finite=False)
    except linalg.LinAlgError:
        return np.linalg.lstsq(H, r, rcond=None)[0]


def _solve(J: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Solve J x = r (least squares if J is singular)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", linalg.LinAlgWarning)
            return linalg.solve(J, r, check_finite=False)
    except (linalg.LinAlgError, linalg.LinAlgWarning):
        return np.linalg.lstsq(J, r, rcond=None)[0]


def _armijo(value, theta, F, d, slope) -> tuple[np.ndarray, float] | None:
    """Backtracking from t = 1 until F(θ + t d) ≤ F + 1e-4 t·slope (with round-off slack)."""
    slack = 1e-13 * (abs(F) + 1.0)
    t = 1.0
    while t > 1e-12:
        new = theta + t * d
        F_new = value(new)
        if np.isfinite(F_new) and F_new <= F + 1e-4 * t * slope + slack:
            return new, F_new
        t *= 0.5
    return None


def _damped_newton(value, step, theta, tol, max_iter) -> tuple[np.ndarray, float]:
    """Newton's method with Armijo backtracking.

    ``step(θ)`` returns (direction, directional derivative ∇Fᵀd, relative stationarity residual).
    Returns the final θ and its residual. Near machine precision, where the objective's round-off
    hides the decrease, a full step is still taken when it lowers the residual.
    """
    F = value(theta)
    d, slope, rel = step(theta)
    for _ in range(max_iter):
        if rel <= tol or not np.all(np.isfinite(d)):
            break
        found = _armijo(value, theta, F, d, slope) if slope < 0 else None
        if found is None:
            new = theta + d
            d_new, slope_new, rel_new = step(new)
            if not rel_new < rel:
                break
            theta, F, d, slope, rel = new, value(new), d_new, slope_new, rel_new
            continue
        theta, F = found
        d, slope, rel = step(theta)
    return theta, rel


def _warn_if_loose(name: str, rel: float, tol: float) -> None:
    if rel > max(1e3 * tol, 1e-8):
        warnings.warn(
            f"{name}: the fit stopped at relative stationarity residual {rel:.2e} (target {tol:.0e}); "
            "λ recovered from these parameters is only as accurate as that. Raise max_iter, or rescale X.",
            ConvergenceWarning,
            stacklevel=4,
        )


# =========================================================================== smooth problems


def _newton_linear(Z, y, loss: _Loss, ridge, theta, tol, max_iter):
    """Minimise ``loss(Zθ) + Σ_j ridge_j θ_j²`` (ridge_j = 0 on unpenalised coordinates)."""

    def value(th):
        return loss.value(Z @ th, y) + float(ridge @ th**2)

    def step(th):
        d1, d2 = loss.derivatives(Z @ th, y)
        g_loss, g_reg = Z.T @ d1, 2.0 * ridge * th
        g = g_loss + g_reg
        H = (Z.T * d2) @ Z + np.diag(2.0 * ridge)
        d = -_solve_psd(H, g)
        return d, float(g @ d), _rel(g, g_loss, g_reg)

    return _damped_newton(value, step, theta, tol, max_iter)


def _newton_kernel(K, y, loss: _Loss, lam, fit_intercept, theta, tol, max_iter):
    """Minimise ``loss(Kα + c) + λαᵀKα`` over θ = (α, c) in representer form.

    ∇_α F = K(g + 2λα) and ∂F/∂c = Σ g with g = ∂loss/∂f, so Newton's equations, with the common
    factor K removed, are ``(DK + 2λI)dα + D1 dc = −(g + 2λα)`` and ``1ᵀDK dα + 1ᵀD1 dc = −Σg``
    (D = diag ∂²loss/∂f²). This is Newton's direction on F when K is invertible, and it picks the
    representer solution g + 2λα = 0 when K is singular. The residual is ‖[g + 2λα, Σg]‖ over
    ‖g‖ + ‖2λα‖.
    """
    n = K.shape[0]

    def split(th):
        return th[:n], (th[n] if fit_intercept else 0.0)

    def value(th):
        a, c = split(th)
        return loss.value(K @ a + c, y) + lam * float(a @ K @ a)

    def step(th):
        a, c = split(th)
        g, D = loss.derivatives(K @ a + c, y)
        r = g + 2.0 * lam * a
        J = D[:, None] * K + 2.0 * lam * np.eye(n)
        grad = K @ r
        if fit_intercept:
            r = np.append(r, g.sum())
            J = np.block([[J, D[:, None]], [(D @ K)[None, :], np.array([[D.sum()]])]])
            grad = np.append(grad, g.sum())
        d = -_solve(J, r)
        return d, float(grad @ d), _rel(r, g, 2.0 * lam * a)

    return _damped_newton(value, step, theta, tol, max_iter)


# =========================================================================== L1 problems


def _quadratic_l1(H, q, lam1, pen, u, max_iter=10_000):
    """Minimise ``Q(u) = ½uᵀHu + qᵀu + λ₁ Σ_{j∈pen} |u_j|`` exactly (H positive definite).

    Feature-sign search (Lee, Battle, Raina & Ng 2007), warm-started at u: on the current support
    S with signs s, solve ``H_SS u_S = −(q_S + λ₁ s_S)`` and move towards that point, stopping at the
    first coordinate that would change sign (set to exactly 0.0); Q decreases at every step. When
    the support is optimal, the zero coordinates with ``|q_j + (Hu)_j| > λ₁`` join it with sign
    ``−sign(q_j + (Hu)_j)``. Finite; exact up to the round-off of the linear solves.
    """
    u = np.array(u, dtype=float)
    signs = np.sign(u) * pen
    for _ in range(max_iter):
        S = (signs != 0) | ~pen
        if not S.any():
            u[:] = 0.0
            grad = q
            viol = pen & (np.abs(grad) > lam1 * (1.0 + 1e-12))
            if not viol.any():
                break
            signs[viol] = -np.sign(grad[viol])
            continue
        target = np.zeros_like(u)
        target[S] = _solve_psd(H[np.ix_(S, S)], -(q[S] + lam1 * signs[S]))
        # first crossing: a penalised coordinate of S whose target has the opposite sign
        cross = S & pen & (np.sign(target) != signs)
        t, hit = 1.0, None
        if cross.any():
            idx = np.flatnonzero(cross)
            # u_j has sign s_j (or is 0 for a coordinate that just joined: t_j = 0)
            gap = u[idx] - target[idx]
            t_j = np.divide(u[idx], gap, out=np.zeros(len(idx)), where=gap != 0)
            k = int(np.argmin(t_j))
            t, hit = float(t_j[k]), idx[k]
        if hit is not None and t <= 0.0:  # a joining coordinate points the wrong way: drop it
            signs[hit] = 0.0
            u[hit] = 0.0
            continue
        u = u + t * (target - u) if hit is not None else target
        if hit is not None:
            u[hit] = 0.0
            signs[hit] = 0.0
            continue
        grad = q + H @ u
        viol = pen & (signs == 0) & (np.abs(grad) > lam1 * (1.0 + 1e-12))
        if not viol.any():
            break
        signs[viol] = -np.sign(grad[viol])
    return u


def _l1_newton(Z, y, loss: _Loss, lam1, ridge, pen, theta, tol, max_iter):
    """Minimise ``F(θ) = loss(Zθ) + Σ_j ridge_j θ_j² + λ₁ Σ_{j∈pen} |θ_j|`` exactly.

    Proximal Newton (as liblinear's newGLMNET, Yuan, Ho & Lin 2012): each step minimises the
    quadratic model of the smooth part plus the L1 term over the working set (unpenalised and
    non-zero coordinates, and zero ones whose gradient breaks |∂_j| ≤ λ₁) with
    :func:`_quadratic_l1`, then backtracks on F (Tseng & Yun's sufficient decrease). Near the
    solution the step is Newton's on the support, so the stationarity equations there,
    ``∂_j(loss + ridge) = −λ₁ sign θ_j``, hold to round-off and zero coordinates are exactly 0.0.
    Returns θ and the relative KKT residual (minimum-norm subgradient over ‖b‖ + ‖λa‖).
    """

    def value(th):
        return loss.value(Z @ th, y) + float(ridge @ th**2) + lam1 * float(np.abs(th[pen]).sum())

    def kkt(th):
        d1, d2 = loss.derivatives(Z @ th, y)
        g_loss, g_reg = Z.T @ d1, 2.0 * ridge * th
        g = g_loss + g_reg
        s = np.sign(th) * pen
        pg = g + lam1 * s
        zero = pen & (th == 0)
        pg[zero] = np.sign(g[zero]) * np.maximum(np.abs(g[zero]) - lam1, 0.0)
        return g, d2, _rel(pg, g_loss, g_reg, lam1 * s)

    theta = np.array(theta, dtype=float)
    F = value(theta)
    g, d2, rel = kkt(theta)
    for _ in range(max_iter):
        if rel <= tol:
            break
        work = ~pen | (theta != 0) | (np.abs(g) > lam1)
        Zw = Z[:, work]
        H = (Zw.T * d2) @ Zw + np.diag(2.0 * ridge[work])
        H[np.diag_indices_from(H)] += 1e-12 * max(float(np.max(np.diag(H))), _TINY)
        tw = theta[work]
        u = _quadratic_l1(H, g[work] - H @ tw, lam1, pen[work], tw)
        d = np.zeros_like(theta)
        d[work] = u - tw
        if not np.any(d):
            break
        l1_now = float(np.abs(theta[pen]).sum())
        delta = float(g @ d) + lam1 * (float(np.abs((theta + d)[pen]).sum()) - l1_now)
        slack = 1e-13 * (abs(F) + 1.0)
        t, accepted = 1.0, False
        while t > 1e-12:
            new = theta + t * d
            F_new = value(new)
            if F_new <= F + 1e-4 * t * min(delta, 0.0) + slack:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        new_g, new_d2, new_rel = kkt(new)
        if F_new >= F and new_rel >= rel:  # round-off floor: no further progress possible
            break
        theta, F, g, d2, rel = new, F_new, new_g, new_d2, new_rel
    return theta, rel


# =========================================================================== option handling


def _sigmoid(z):
    """σ(z); also for complex z (complex-step derivatives), as (1 + tanh(z/2))/2."""
    return 0.5 * (1.0 + np.tanh(0.5 * z)) if np.iscomplexobj(z) else expit(z)


def _relu(z):
    return np.where(z.real > 0, z, 0.0)


#: activation → (function, derivative in terms of (z, a)), scikit-learn's names; complex-safe
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "identity": (lambda z: z, lambda z, a: np.ones_like(z)),
    "logistic": (_sigmoid, lambda z, a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a * a),
    "relu": (_relu, lambda z, a: (z.real > 0).astype(float)),
}

_KERNEL = {"kernel": "rbf", "gamma": None, "degree": 3, "coef0": 1.0}
_MLP = {"hidden_layer_sizes": (10,), "activation": "tanh", "random_state": 0, "tol": None, "max_iter": None}


def _default_options(rec: Learner) -> dict:
    """The options :func:`train` accepts for ``rec``, with their defaults (by family; see :func:`train`)."""
    if rec.family == "mlp":
        return dict(_MLP)
    o = {**(_KERNEL if rec.family == "kernel" else {}), "fit_intercept": rec.fit_intercept, "tol": None}
    if rec.name not in ("ridge", "kernel_ridge"):  # closed forms: nothing to iterate
        o["max_iter"] = None
    if rec.family == "linear" and rec.loss != "hinge" and rec.penalty != "elastic_net" and not rec.regression:
        o["intercept_scaling"] = None  # liblinear's penalised intercept
    return o


#: algorithm → the options :func:`train` accepts, with their defaults
DEFAULT_OPTIONS: dict[str, dict] = {name: _default_options(rec) for name, rec in LEARNERS.items() if rec.trainer}

_DEFAULT_TOL = {"svm_hinge": 1e-10, "kernel_svm_hinge": 1e-10}


@dataclass
class _Setup:
    """Validated inputs of one call."""

    name: str
    X: np.ndarray
    y: np.ndarray
    lam: float | tuple[float, float]
    o: dict
    classes: np.ndarray | None = None
    K: np.ndarray | None = None


def _setup(algorithm, X, y, lam, options, where) -> _Setup:
    name = canonical_name(algorithm)
    if not LEARNERS[name].trainer:
        raise InputError(
            f"There is no reference trainer for {name} yet: fit it with scikit-learn (for logistic_elastic_net, "
            "LogisticRegression(l1_ratio=r, solver='saga', tol=1e-12)) and steal from that estimator. Trainers "
            f"exist for: {', '.join(DEFAULT_OPTIONS)}."
        )
    defaults = DEFAULT_OPTIONS[name]
    check_options(options, defaults, where=f"{where}({name!r})")
    o = {**defaults, **options}
    lam = _check_lambda(name, lam)

    rec = LEARNERS[name]
    regression, multi_output = rec.regression, rec.multi_output
    X, y = check_X_y(X, y, y_ndim=(1, 2) if multi_output else (1,))
    classes = None
    if regression:
        y = check_array(y, "y", ndim=(1, 2))
    else:
        y, classes = _encode(name, y)

    if "fit_intercept" in o and not isinstance(o["fit_intercept"], (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be True or False, got {o['fit_intercept']!r}.")
    if o.get("intercept_scaling") is not None:
        o["intercept_scaling"] = check_positive(o["intercept_scaling"], "intercept_scaling")
        if not o["fit_intercept"]:
            raise InputError(
                "intercept_scaling (a penalised intercept on a constant feature, liblinear style) needs "
                "fit_intercept=True; drop one of the two."
            )
    if rec.hinge and not o["fit_intercept"]:
        raise InputError(
            f"{name} is fitted with an unpenalised intercept (as libsvm does); "
            "fit_intercept=False is not supported."
        )
    tol = o.get("tol")
    o["tol"] = _DEFAULT_TOL.get(name, 1e-12) if tol is None else check_positive(tol, "tol")
    max_iter = o.get("max_iter")
    if max_iter is None:
        o["max_iter"] = None
    elif isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InputError(f"max_iter must be an integer >= 1, got {max_iter!r}.")

    K = None
    if "kernel" in o:
        K = Kernel(o["kernel"], gamma=o["gamma"], degree=o["degree"], coef0=o["coef0"])(X)
        if K.shape[0] != K.shape[1]:
            raise InputError(
                f"With kernel='precomputed', X must be the square Gram matrix of the training points; "
                f"got shape {K.shape}."
            )
    if rec.family == "mlp":
        o["hidden_layer_sizes"] = _check_layers(o["hidden_layer_sizes"])
        if o["activation"] not in ACTIVATIONS:
            raise InputError(
                f"Unknown activation {o['activation']!r}.{suggest(str(o['activation']), ACTIVATIONS)} "
                f"Valid activations: {', '.join(ACTIVATIONS)}."
            )
    return _Setup(name=name, X=X, y=y, lam=lam, o=o, classes=classes, K=K)


def _check_lambda(name, lam):
    if LEARNERS[name].n_lambdas == 2:
        if isinstance(lam, Mapping) or np.ndim(lam) != 1 or len(lam) != 2:
            raise InputError(
                f"elastic_net takes lam = (λ1, λ2) for λ1‖w‖₁ + λ2‖w‖², got {lam!r}; pass a pair."
            )
        l1 = check_positive(lam[0], "lam[0] (λ1, the L1 weight)", strict=False)
        l2 = check_positive(lam[1], "lam[1] (λ2, the L2 weight)", strict=False)
        if l1 == 0 and l2 == 0:
            raise InputError("elastic_net needs λ1 > 0 or λ2 > 0, got both 0.")
        return (l1, l2)
    if isinstance(lam, (Sequence, np.ndarray)) and not isinstance(lam, str):
        if np.size(lam) != 1:
            raise InputError(f"{name} has a single λ, got {np.size(lam)} values ({lam!r}).")
        lam = np.asarray(lam).ravel()[0]
    return check_positive(lam, "lam")


def _check_layers(sizes) -> tuple[int, ...]:
    if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool):
        sizes = (sizes,)
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise TypeError(f"hidden_layer_sizes must be an int or a tuple of ints, got {sizes!r}.") from None
    if not sizes or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
        raise InputError(f"hidden_layer_sizes must be one or more integers >= 1, got {sizes!r}.")
    return tuple(int(s) for s in sizes)


def _encode(name, y):
    """Labels → {0, 1} (cross-entropy), {−1, +1} (hinge) or one-hot (multi-class)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise InputError(f"{name} needs one class label per row (1-D y), got shape {y.shape}.")
    classes = np.unique(y)
    rec = LEARNERS[name]
    if len(classes) > 2 and rec.multiclass:
        return (y[:, None] == classes[None, :]).astype(float), classes
    hinge = rec.loss in ("hinge", "squared_hinge")
    return check_binary_labels(y, encoding=(-1.0, 1.0) if hinge else (0.0, 1.0), algorithm=name)


def _with_column(X, fit_intercept, scaling):
    """Design matrix Z and the mask of penalised columns."""
    d = X.shape[1]
    if not fit_intercept:
        return X, np.ones(d, dtype=bool)
    col = np.full((X.shape[0], 1), 1.0 if scaling is None else scaling)
    return np.hstack([X, col]), np.append(np.ones(d, dtype=bool), scaling is not None)


def _linear_out(theta, d, fit_intercept, scaling):
    coef = np.array(theta[:d], dtype=float)
    if not fit_intercept:
        return {"coef": coef, "intercept": 0.0}
    c = float(theta[d]) * (1.0 if scaling is None else scaling)
    return {"coef": coef, "intercept": c}


def _iters(o, default):
    return default if o["max_iter"] is None else int(o["max_iter"])


# =========================================================================== the trainers


def _fit_ridge(s: _Setup) -> dict:
    """Ridge regression (RR): ``Σ_i (y_i − x_iᵀw − c)² + λ‖w‖²``.

    scikit-learn's ``Ridge(alpha=λ, solver="cholesky")`` minimises exactly this (closed form).
    Multi-output y (n, t) gives coef (t, d) and intercept (t,).
    """
    m = Ridge(alpha=s.lam, fit_intercept=s.o["fit_intercept"], solver="cholesky").fit(s.X, s.y)
    return {"coef": np.array(m.coef_, dtype=float), "intercept": _as_intercept(m.intercept_)}


def _as_intercept(c):
    c = np.asarray(c, dtype=float)
    return float(c) if c.ndim == 0 else c.copy()


def _fit_l1_regression(s: _Setup, lam1: float, lam2: float) -> dict:
    X, y, o = s.X, s.y, s.o
    n, d = X.shape
    alpha = lam1 / (2 * n) + lam2 / n
    kw = {"fit_intercept": o["fit_intercept"], "tol": 1e-10, "max_iter": 100_000, "selection": "cyclic"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if lam2 == 0:
            m = Lasso(alpha=alpha, **kw).fit(X, y)
        else:
            m = ElasticNet(alpha=alpha, l1_ratio=(lam1 / (2 * n)) / alpha, **kw).fit(X, y)
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
        m = KernelRidge(alpha=lam, kernel="precomputed").fit(K, y)
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
            m = LogisticRegression(C=1.0 / (2.0 * lam), fit_intercept=fit, solver="newton-cholesky",
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
        m = LogisticRegression(C=1.0 / (2.0 * lam), fit_intercept=fit, solver="lbfgs", tol=1e-12,
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


def _fit_kernel_smooth(s: _Setup, loss: _Loss) -> dict:
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
            m = LinearSVC(C=1.0 / (2.0 * lam), loss="squared_hinge", dual=False, tol=1e-12,
                          fit_intercept=fit, intercept_scaling=scaling or 1.0, max_iter=10_000).fit(X, y)
        theta0 = m.coef_.ravel().copy()
        if fit:
            theta0 = np.append(theta0, m.intercept_[0] / scaling)
    theta, rel = _newton_linear(Z, y, _SQHINGE, lam * pen, theta0, o["tol"], _iters(o, 200))
    _warn_if_loose(s.name, rel, o["tol"])
    return _linear_out(theta, d, fit, scaling)


def _svc(s: _Setup, kernel: str, X: np.ndarray) -> SVC:
    iters = -1 if s.o["max_iter"] is None else int(s.o["max_iter"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SVC(kernel=kernel, C=1.0 / (2.0 * s.lam), tol=s.o["tol"], shrinking=True, cache_size=500,
                   max_iter=iters).fit(X, s.y)


def _hinge_sets(s: _Setup, m: SVC) -> tuple[np.ndarray, np.ndarray]:
    """β_i = 2λ y_i α_i ∈ [0, 1] from libsvm's dual, and the free (0 < β < 1) points."""
    beta = np.zeros(len(s.y))
    beta[m.support_] = 2.0 * s.lam * np.abs(m.dual_coef_.ravel())
    free = (beta > 1e-9) & (beta < 1.0 - 1e-9)
    return beta, free


def _hinge_consistent(margins, beta, free, F_new, F_old) -> bool:
    """KKT of the hinge at the polished point: β ∈ [0, 1], y f ≤ 1 where β = 1, ≥ 1 where β = 0."""
    bound = ~free
    inside = bound & (beta >= 0.5)
    ok = np.all(beta[free] >= -1e-9) and np.all(beta[free] <= 1 + 1e-9)
    ok = ok and np.all(margins[inside] <= 1 + 1e-9) and np.all(margins[bound & ~inside] >= 1 - 1e-9)
    return bool(ok and F_new <= F_old + 1e-12 * abs(F_old))


def _huber_beta(z: np.ndarray, h: float) -> np.ndarray:
    """β = −ℓ_h'(z) = clip((1 − z)/h, 0, 1) for the hinge with its kink rounded over a width h
    (Chapelle 2007, "Training a support vector machine in the primal"): ℓ_h(z) = 0 for z ≥ 1,
    (1 − z)²/(2h) on 1 − h < z < 1, 1 − z − h/2 below. As h → 0, β tends to the hinge's dual
    variable and the points on the quadratic piece to the margin points."""
    return np.clip((1.0 - z) / h, 0.0, 1.0)


def _huber_line_search(z, dz, theta, step, ridge, h) -> float:
    """The exact minimiser t of ``Σ ℓ_h(z_i + t dz_i) + Σ_j ridge_j (θ_j + t step_j)²`` along a descent step.

    The derivative in t is piecewise linear and non-decreasing, with breakpoints where a point enters
    or leaves the quadratic piece: a bisection over the sorted breakpoints finds the piece holding
    its root, then one linear interpolation the root itself.
    """

    def slope(t):
        return float(-(_huber_beta(z + t * dz, h) @ dz) + 2.0 * ridge @ ((theta + t * step) * step))

    with np.errstate(divide="ignore", invalid="ignore"):
        kinks = np.concatenate([(1.0 - z) / dz, (1.0 - h - z) / dz])
    kinks = np.unique(kinks[np.isfinite(kinks) & (kinks > 0)])
    a, b = 0, len(kinks)  # the root lies after kinks[a - 1] and at or before kinks[a]
    while a < b:
        mid = (a + b) // 2
        if slope(kinks[mid]) < 0:
            a = mid + 1
        else:
            b = mid
    lo = kinks[a - 1] if a > 0 else 0.0
    hi = kinks[a] if a < len(kinks) else lo + 1.0
    s_lo, s_hi = slope(lo), slope(hi)
    return float(lo - s_lo * (hi - lo) / (s_hi - s_lo)) if s_hi != s_lo else float(hi)


def _huber_hinge_newton(Z, y, ridge, theta, h, max_iter):
    """Minimise ``Σ ℓ_h(y_i z_iᵀθ) + Σ_j ridge_j θ_j²`` (:func:`_huber_beta`) by Newton's method
    with an exact line search (:func:`_huber_line_search`). Returns θ and the relative stationarity
    residual."""
    rel = np.inf
    for _ in range(max_iter):
        z = y * (Z @ theta)
        d2 = ((z > 1.0 - h) & (z < 1.0)) / h  # ℓ_h'' on the quadratic piece
        g_loss, g_reg = Z.T @ (-y * _huber_beta(z, h)), 2.0 * ridge * theta
        g = g_loss + g_reg
        rel = _rel(g, g_loss, g_reg)
        if rel <= 1e-13:
            break
        step = -_solve_psd((Z.T * d2) @ Z + np.diag(2.0 * ridge), g)
        if not np.all(np.isfinite(step)) or g @ step >= 0:
            step = -g
        t = _huber_line_search(z, y * (Z @ step), theta, step, ridge, h)
        if not np.isfinite(t) or t <= 0:
            break
        theta = theta + t * step
    return theta, rel


def _polish_svm_hinge(X, y, lam, beta, free, w, c):
    """Solve the hinge's KKT system exactly on given sets; None unless every KKT condition holds.

    With β_i ∈ {0, 1} fixed on the bound points, the free points' β ∈ [0, 1] and (w, c) must solve
    ``2λw = Σ_i β_i y_i x_i``, ``y_i(x_iᵀw + c) = 1`` (free i) and ``Σ_i β_i y_i = 0``, with the
    bound points on the right side of the margin. Up to d + 1 free points, that square system is
    solved at once; with more (a degenerate minimiser: on all of Bank at λ = 10⁻³, 4,880 points sit
    on the margin of w = 2·poutcome_success, c = −1), the margin equations fix (w, c) and β is a
    bounded least-squares solution (BVLS), which must reproduce the equations. ``(w, c)`` is the fit
    being polished: the polished objective must not be above it.
    """
    fixed = ~free & (beta >= 0.5)
    d, k = X.shape[1], int(free.sum())
    Xf, yf = X[free], y[free]
    b_w = X[fixed].T @ y[fixed]
    b_y = -float(y[fixed].sum())
    if k <= d + 1:
        A = np.zeros((d + 1 + k, d + 1 + k))
        rhs = np.zeros(d + 1 + k)
        A[:d, :d] = 2.0 * lam * np.eye(d)
        A[:d, d + 1:] = -(yf[:, None] * Xf).T
        rhs[:d] = b_w
        A[d:d + k, :d] = yf[:, None] * Xf
        A[d:d + k, d] = yf
        rhs[d:d + k] = 1.0
        A[-1, d + 1:] = yf
        rhs[-1] = b_y
        sol = np.linalg.lstsq(A, rhs, rcond=None)[0]
        w_new, c_new, beta_free = sol[:d], float(sol[d]), sol[d + 1:]
    else:
        A = yf[:, None] * np.hstack([Xf, np.ones((k, 1))])
        wc = np.linalg.lstsq(A, np.ones(k), rcond=None)[0]
        if float(np.abs(A @ wc - 1.0).max()) > 1e-10 * (float(np.abs(A).max() * np.abs(wc).max()) + 1.0):
            return None  # the margin equations alone are inconsistent: these are not the sets
        w_new, c_new = wc[:d], float(wc[d])
        M = np.vstack([(yf[:, None] * Xf).T, yf[None, :]])
        beta_free = optimize.lsq_linear(M, np.append(2.0 * lam * w_new - b_w, b_y), bounds=(0.0, 1.0),
                                        method="bvls", tol=1e-14).x
    # every KKT equation, blockwise (the system is (d + 1 + k)², too large to form for big k)
    residual = max(
        float(np.abs(2.0 * lam * w_new - Xf.T @ (yf * beta_free) - b_w).max(initial=0.0)),
        abs(float(yf @ beta_free) - b_y),
        float(np.abs(yf * (Xf @ w_new + c_new) - 1.0).max(initial=0.0)),
    )
    size = max(float(np.abs(w_new).max(initial=0.0)), abs(c_new), float(np.abs(beta_free).max(initial=0.0)), 1.0)
    scale = max(2.0 * lam, float(np.abs(Xf).max(initial=0.0)), 1.0) * size + float(np.abs(b_w).max(initial=0.0))
    if not (np.isfinite(residual) and residual <= 1e-10 * (scale + abs(b_y) + 1.0)):
        return None
    beta_new = np.where(fixed, 1.0, 0.0)
    beta_new[free] = beta_free
    margins = y * (X @ w_new + c_new)
    F_old = _HINGE.value(X @ w + c, y) + lam * float(w @ w)
    F_new = _HINGE.value(X @ w_new + c_new, y) + lam * float(w_new @ w_new)
    if not _hinge_consistent(margins, beta_new, free, F_new, F_old):
        return None
    return w_new, c_new


def _fit_svm_hinge(s: _Setup) -> dict:
    """Linear SVM, hinge (SVM-RHL): ``Σ_i max(0, 1 − y_i(x_iᵀw + c)) + λ‖w‖²``.

    Solved exactly through its KKT system (:func:`_polish_svm_hinge`) on sets found in the primal:
    Newton's method on the Huber-smoothed hinge (:func:`_huber_hinge_newton`) with the smoothing width
    h = 1, 10⁻¹, …, 10⁻¹⁰, warm-started, proposes after each h the sets β = 1 (y f ≤ 1 − h),
    free (1 − h < y f < 1) and β = 0; the first proposal satisfying every KKT condition is the
    minimiser, margin points on the margin to round-off. Each Newton step costs O(n d²), so all of
    Bank (45,211 rows) or Madelon (2,600 × 500) takes seconds where libsvm's dual solver takes
    tens of minutes at small λ. Should no proposal pass, scikit-learn's
    ``SVC(kernel="linear", C=1/(2λ), tol=1e-10)`` (libsvm's dual solver, unpenalised intercept)
    fits it and its sets are polished the same way.
    """
    X, y, lam, o = s.X, s.y, s.lam, s.o
    d = X.shape[1]
    Z, pen = _with_column(X, True, None)
    ridge = lam * pen
    theta = np.zeros(d + 1)
    for h in 10.0 ** -np.arange(11):
        theta, _ = _huber_hinge_newton(Z, y, ridge, theta, h, _iters(o, 100))
        z = y * (Z @ theta)
        free = (z > 1.0 - h) & (z < 1.0)
        beta = np.where(z <= 1.0 - h, 1.0, 0.0)
        polished = _polish_svm_hinge(X, y, lam, beta, free, theta[:d], float(theta[d]))
        if polished is not None:
            return {"coef": polished[0], "intercept": polished[1]}
    m = _svc(s, "linear", X)
    w, c = np.array(m.coef_, dtype=float).ravel(), float(m.intercept_[0])
    beta, free = _hinge_sets(s, m)
    polished = _polish_svm_hinge(X, y, lam, beta, free, w, c) if free.any() else None
    if polished is not None:
        w, c = polished
    return {"coef": w, "intercept": c}


def _fit_kernel_svm_hinge(s: _Setup) -> dict:
    """Kernel SVM, hinge (KSVM-RHL): ``Σ_i max(0, 1 − y_i f_i) + λαᵀKα``, f = Kα + c.

    scikit-learn's ``SVC(kernel="precomputed", C=1/(2λ), tol=1e-10)`` on the Gram matrix; its
    ``dual_coef_`` placed at ``support_`` in a length-n vector of zeros, then polished as for
    :func:`_fit_svm_hinge`: α_i = y_i β_i/(2λ) with β fixed at its bounds, and the free points'
    α and c solve ``(Kα)_i + c = y_i`` and ``Σ_i α_i = 0``; kept only if every KKT condition holds.
    """
    K, y, lam = s.K, s.y, s.lam
    m = _svc(s, "precomputed", K)
    a = np.zeros(K.shape[0])
    a[m.support_] = m.dual_coef_.ravel()
    c = float(m.intercept_[0])
    beta, free = _hinge_sets(s, m)
    if free.any():
        a_new = np.where(~free & (beta >= 0.5), y / (2.0 * lam), 0.0)
        k = int(free.sum())
        A = np.zeros((k + 1, k + 1))
        A[:k, :k] = K[np.ix_(free, free)]
        A[:k, k] = 1.0
        A[k, :k] = 1.0
        rhs = np.append(y[free] - K[free] @ a_new, -a_new.sum())
        sol = np.linalg.lstsq(A, rhs, rcond=None)[0]
        a_new[free] = sol[:k]
        c_new = float(sol[k])
        beta_new = 2.0 * lam * y * a_new
        margins = y * (K @ a_new + c_new)
        F_old = _HINGE.value(K @ a + c, y) + lam * float(a @ K @ a)
        F_new = _HINGE.value(K @ a_new + c_new, y) + lam * float(a_new @ K @ a_new)
        if _hinge_consistent(margins, beta_new, free, F_new, F_old):
            a, c = a_new, c_new
    return {"dual_coef": a, "intercept": c}


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
            m = MLPRegressor(alpha=lam, **kw).fit(X, Y)
        else:
            target = np.argmax(Y2, axis=1) if Y2.shape[1] > 1 else Y2[:, 0]
            m = MLPClassifier(alpha=2.0 * lam, **kw).fit(X, target)
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


#: the trainer of each registered learner that has one: the function ``_fit_<name>`` of this module
_TRAINERS: dict[str, Callable[[_Setup], dict]] = {name: globals()[f"_fit_{name}"] for name in DEFAULT_OPTIONS}


# =========================================================================== public API


@_single_blas_thread
def train(algorithm: str, X, y, lam, **options) -> dict:
    """Fit ``algorithm`` at regularisation ``lam``, to tight tolerance, in the paper's convention.

    Parameters
    ----------
    algorithm : str
        Any accepted spelling (``"ridge"``, ``"RR"``, ``"SVM-RHL"`` …); see the module docstring for
        each objective and the library that fits it.
    X : array-like of shape (n, d)
        Training features (for ``kernel="precomputed"``, the n × n Gram matrix).
    y : array-like of shape (n,) or (n, t)
        Targets (regression; ridge, kernel_ridge and mlp_regression take several columns) or class
        labels: any two labels, in sorted order with the second positive (cross-entropy learners use
        {0, 1}, hinge learners {−1, +1}); logistic_l2 and mlp_classification also take ≥ 3 classes.
    lam : float, or (λ1, λ2) for elastic_net
        The regularisation hyperparameter(s), > 0.
    **options
        ``fit_intercept`` (default True; False for kernel_ridge) fits an unpenalised intercept.
        ``intercept_scaling=s`` (logistic_l2, logistic_l1, svm_squared_hinge) penalises the intercept
        as liblinear does instead. Kernel learners: ``kernel`` ("rbf"), ``gamma`` (None = 1/d),
        ``degree`` (3), ``coef0`` (1.0). Networks: ``hidden_layer_sizes`` ((10,)), ``activation``
        ("tanh"), ``random_state`` (0). Iterative learners: ``tol`` (relative stationarity target,
        1e-12; libsvm's own tolerance 1e-10 for the hinge learners; unused by ridge/kernel_ridge)
        and ``max_iter``. Unknown options raise TypeError.

    Returns
    -------
    dict
        Linear models ``{"coef", "intercept"}``, kernel models ``{"dual_coef", "intercept"}``,
        networks ``{"coefs", "intercepts", "activation"}``; plain numpy arrays and floats.

    Warns
    -----
    ConvergenceWarning
        When an iterative fit stops far from its tolerance.

    Notes
    -----
    BLAS runs on one thread during the call (restored afterwards): the solvers factorise many
    small matrices, for which extra threads only add contention.
    """
    s = _setup(algorithm, X, y, lam, options, "train")
    return _TRAINERS[s.name](s)


def objective_value(algorithm: str, X, y, params: Mapping, lam, **options) -> float:
    """The paper's objective ``loss + Σ_k λ_k R_k`` at ``params``, computed independently of the fit.

    Takes the same options as :func:`train` (only ``intercept_scaling``, the kernel's options and
    ``activation`` change the value; the others are accepted and ignored, so one options dict serves
    both). ``intercept_scaling=s`` adds the intercept's penalty λ(c/s)² (L1: λ|c/s|).
    """
    s = _setup(algorithm, X, y, lam, options, "objective_value")
    name, X, Y, lam = s.name, s.X, s.y, s.lam
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}.")
    try:
        if LEARNERS[name].family == "mlp":
            Y2 = Y[:, None] if Y.ndim == 1 else Y
            coefs = [np.asarray(W, dtype=float) for W in params["coefs"]]
            inter = [np.asarray(b, dtype=float) for b in params["intercepts"]]
            return _mlp_value_grad(coefs, inter, X, Y2, lam, s.o["activation"], _mlp_output(name, Y2),
                                   grad=False)
        if "kernel" in s.o:
            a = np.asarray(params["dual_coef"], dtype=float)
            a = a.reshape(s.K.shape[0], -1) if a.ndim == 2 or Y.ndim == 2 else a
            F = s.K @ a + np.asarray(params.get("intercept", 0.0), dtype=float)
            if LEARNERS[name].penalty == "l1":
                reg = float(np.abs(a).sum())
            else:
                reg = float(np.sum(a * (s.K @ a)))
            w_pen = None
        else:
            W = np.asarray(params["coef"], dtype=float)
            c = np.asarray(params.get("intercept", 0.0), dtype=float)
            F = X @ W.T + c
            scaling = s.o.get("intercept_scaling")
            w_pen = W.ravel() if scaling is None else np.append(W.ravel(), np.ravel(c) / scaling)
    except KeyError as exc:
        raise InputError(f"params for {name} lack {exc.args[0]!r}; got keys {sorted(params)}.") from None
    if name == "logistic_l2" and Y.ndim == 2:
        return float(np.sum(logsumexp(F, axis=1) - np.sum(Y * F, axis=1))) + lam * float(w_pen @ w_pen)
    loss = {"squared": _SQUARED, "squared_hinge": _SQHINGE, "hinge": _HINGE, "logistic": _LOGISTIC}[
        LEARNERS[name].loss]
    value = loss.value(F, Y)
    if w_pen is None:
        return value + lam * reg
    penalty = LEARNERS[name].penalty
    if penalty == "elastic_net":
        return value + lam[0] * float(np.abs(w_pen).sum()) + lam[1] * float(w_pen @ w_pen)
    if penalty == "l1":
        return value + lam * float(np.abs(w_pen).sum())
    return value + lam * float(w_pen @ w_pen)
