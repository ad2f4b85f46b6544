"""The trainers' shared numerics: losses on scores, linear solves, damped and proximal Newton methods."""

from __future__ import annotations

import functools
import warnings

import numpy as np
from scipy import linalg
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from ..objectives.base import LOGISTIC, HingeLoss, Loss, SquaredHingeLoss, SquaredLoss

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
# the objectives' own losses (value, gradient and the second derivative Newton's method needs)

_SQUARED, _LOGISTIC, _SQHINGE, _HINGE = SquaredLoss(), LOGISTIC, SquaredHingeLoss(), HingeLoss()

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


def _newton_linear(Z, y, loss: Loss, ridge, theta, tol, max_iter):
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


def _newton_kernel(K, y, loss: Loss, lam, fit_intercept, theta, tol, max_iter):
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


def _l1_newton(Z, y, loss: Loss, lam1, ridge, pen, theta, tol, max_iter):
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
