"""The least-squares solve of a stationarity system ``b + Aλ (+ Bβ) = 0``: orthogonal factorisation on unit-norm
columns, or bounded-variable least squares when margin weights β ∈ [0, 1] are unknowns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import lsq_linear

from ..objectives import System
from ._threads import one_blas_thread
from .intervals import _columns, _intervals

_EPS = np.finfo(float).eps


@dataclass
class Solution:
    """Least-squares solution of a :class:`System` and the interval of consistent λ."""

    lam: np.ndarray
    beta: np.ndarray
    residual: float
    intervals: list | None = None
    abs_residual: float = 0.0




def solve_system(system: System, *, interval: bool = True, x0: np.ndarray | None = None) -> Solution:
    """Solve ``b + Aλ + Bβ ≈ 0`` (β ∈ [0, 1], λ ≥ 0 when β is present) in the least-squares sense.

    ``x0`` (λ then β, feasible) warm-starts the bounded solver. It must already be optimal over its own
    free variables (as the solution of a neighbouring problem is, the only use :func:`_best_margin` makes of
    it): the warm start only frees bound variables from there, so another ``x0`` may be returned unchanged.
    """
    b, A = system.b, system.A
    K = A.shape[1]
    C = _columns(system)
    n_var = C.shape[1]
    x = np.zeros(n_var)
    if len(b):
        s = np.linalg.norm(C, axis=0)
        live = s > 0
        Cs = C[:, live] / s[live]
        if n_var == K:  # no bounded unknowns: plain least squares by an orthogonal factorisation
            x[live] = np.linalg.lstsq(Cs, -b, rcond=None)[0] / s[live]
        else:
            lo = np.zeros(int(live.sum()))
            hi = np.where(np.arange(n_var) < K, np.inf, 1.0)[live] * s[live]
            u0 = None if x0 is None else np.clip(np.nan_to_num(x0[live]) * s[live], lo, hi)
            u = _bvls(Cs, -b, lo, hi, u0)
            if u is None:  # rank-deficient or not converged: the reference implementation
                u = lsq_linear(Cs, -b, bounds=(lo, hi), method="bvls", tol=1e-15, lsq_solver="exact").x
            x[live] = u / s[live]
        x[~live] = np.nan if np.any(~live[:K]) else 0.0
        x[K:][~live[K:]] = 0.0
        r = b + np.nan_to_num(C @ np.nan_to_num(x))
        denom = np.linalg.norm(b)
        if not np.any(C):  # only equations without unknowns (an intercept's, every weight at zero):
            denom = max(denom, system.scale)  # measured against the whole loss gradient, not themselves
        residual = float(np.linalg.norm(r) / denom) if denom > 0 else float(np.linalg.norm(r))
        abs_res = float(np.max(np.abs(r)))
    else:
        x[:K] = np.nan
        residual, abs_res = 0.0, 0.0
    lam, beta = x[:K], x[K:]
    solution = Solution(lam=lam, beta=beta, residual=residual, abs_residual=abs_res)
    if interval:
        solution.intervals = _intervals(system, solution)
    return solution


def _bvls(M: np.ndarray, t: np.ndarray, lo: np.ndarray, hi: np.ndarray, u0: np.ndarray | None = None):
    with one_blas_thread():
        return _bvls_one_thread(M, t, lo, hi, u0)


def _bvls_one_thread(M, t, lo, hi, u0):
    """min ‖Mu − t‖ over lo ≤ u ≤ hi: Stark and Parker's bounded-variable least squares.

    Without ``u0``, the steps of scipy's ``lsq_linear(method="bvls", tol=1e-15)`` (its start, the
    order in which variables are freed and fixed, its stopping rule), so that where the minimum is
    not unique the same point is found; but each step updates a QR factorisation of the free columns
    (O(n²)) instead of solving a new least-squares problem (O(mn²)), and a tall M is first reduced
    to its square triangular factor. With ``u0`` (feasible), it starts there and stops at the KKT
    conditions: for a sequence of related problems whose minimum value alone is wanted. Returns None
    when the free columns become (nearly) dependent, where least squares has no unique solution:
    the caller then falls back to scipy.
    """
    import scipy.linalg as sla

    m, n = M.shape
    if m > 2 * n:  # a tall M: ‖Mu − t‖² = ‖Ru − Qᵀt‖² + const.
        Q, R = np.linalg.qr(M)
        M, t, m = R, Q.T @ t, n
    tol = 1e-15
    tiny = 1e-10  # the columns have unit norm: a smaller pivot means dependent free columns
    warm = u0 is not None
    u = np.array(u0 if warm else np.linalg.lstsq(M, t, rcond=-1)[0], dtype=float)  # as scipy
    bound = np.zeros(n)
    low, up = u <= lo, u >= hi
    u[low], bound[low] = lo[low], -1
    u[up], bound[up] = hi[up], 1

    def factor(free):
        if len(free) > m:
            return None
        Qf, Rf = sla.qr(M[:, free]) if len(free) else (np.eye(m), np.zeros((m, 0)))
        return (Qf, Rf) if np.min(np.abs(np.diag(Rf)), initial=np.inf) > tiny else None

    def solve(free, QR):
        """Least squares over the free variables, the others held where they are."""
        Qf, Rf = QR
        k = len(free)
        fixed = u.copy()
        fixed[free] = 0.0
        return sla.solve_triangular(Rf[:k, :k], (Qf.T @ (t - M @ fixed))[:k], check_finite=False)

    free = np.flatnonzero(bound == 0)
    QR = factor(free)
    if QR is None:
        return None
    if not warm:  # scipy's start: least squares on the free variables, those out of bounds fixed, again
        while free.size:
            z = solve(free, QR)
            lbv, ubv = z < lo[free], z > hi[free]
            u[free[lbv]], bound[free[lbv]] = lo[free[lbv]], -1
            u[free[ubv]], bound[free[ubv]] = hi[free[ubv]], 1
            v = lbv | ubv
            u[free[~v]] = z[~v]
            if not np.any(v):
                break
            free = free[~v]
            QR = factor(free)
            if QR is None:
                return None
    free = list(free)
    Qf, Rf = QR

    def loop_b():
        """Free variables to their least-squares optimum, stopping at bounds on the way."""
        nonlocal Qf, Rf
        while free:
            k = len(free)
            if k > m or np.min(np.abs(np.diag(Rf[:k, :k]))) <= tiny:
                return False
            z = solve(free, (Qf, Rf))
            uf = u[free]
            lof, hif = lo[free], hi[free]
            lbv, ubv = np.flatnonzero(z < lof), np.flatnonzero(z > hif)
            if not (lbv.size or ubv.size):
                u[free] = z
                return True
            v = np.concatenate([lbv, ubv])
            with np.errstate(divide="ignore", invalid="ignore"):
                alphas = np.concatenate([lof[lbv] - uf[lbv], hif[ubv] - uf[ubv]]) / (z[v] - uf[v])
            i = int(np.argmin(alphas))
            alpha = alphas[i]
            if not np.isfinite(alpha):  # a degenerate step: leave it to scipy's solver
                return False
            uf *= 1 - alpha
            uf += alpha * z
            u[free] = uf
            pos = int(v[i])
            bound[free.pop(pos)] = -1 if i < lbv.size else 1
            Qf, Rf = sla.qr_delete(Qf, Rf, pos, 1, which="col", check_finite=False)
        return True

    r = M @ u - t
    cost = 0.5 * (r @ r)
    g = M.T @ r
    scale = np.linalg.norm(M) * max(np.linalg.norm(t), 1e-300)
    for _ in range(n if not warm else 3 * n + 10):
        score = g * bound
        if warm and np.max(score, initial=0.0) <= 1e-14 * scale:
            return u
        if not warm and max(np.max(score, initial=0.0), np.max(np.abs(g[free]), initial=0.0)) < tol:
            return u
        j = int(np.argmax(score))
        if bound[j] != 0:
            bound[j] = 0
            Qf, Rf = sla.qr_insert(Qf, Rf, M[:, j], len(free), which="col", check_finite=False)
            free.append(j)
        if not loop_b():
            return None
        r = M @ u - t
        cost_new = 0.5 * (r @ r)
        change, cost = cost - cost_new, cost_new
        g = M.T @ r
        if not warm and change < tol * cost:
            return u
    return None if warm else u


