"""Trainers of the hinge-loss SVMs: an exact solve of the KKT system on support sets (linear: found by Newton's
method on a Huber-smoothed hinge driven to 0, libsvm as fallback; kernel: found by libsvm)."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import optimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import SVC

from ..registry import native
from ._numerics import _HINGE, _rel, _solve_psd
from ._setup import _iters, _Setup, _with_column


def _svc(s: _Setup, kernel: str, X: np.ndarray) -> SVC:
    iters = -1 if s.o["max_iter"] is None else int(s.o["max_iter"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SVC(kernel=kernel, **native("SVC", s.name).at(s.lam), tol=s.o["tol"], shrinking=True, cache_size=500,
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
