"""The estimator: stationarity equations → λ, the interval of consistent λ, and diagnostics.

At a minimum of ``loss(θ) + Σ_k λ_k R_k(θ)`` the gradient vanishes: ``b + Aλ = 0``. The paper solves
the normal equations ``λ̂ = −(AᵀA)⁻¹Aᵀb``; here

* the least-squares problem is solved by an orthogonal factorisation on unit-norm columns (or, with
  bounded unknowns, by bounded-variable least squares), in the best-conditioned equivalent form;
* hinge points on the margin get their subgradient weights β ∈ [0, 1] as unknowns, and which
  points lie on the margin is chosen by how well each candidate set explains the equations, not by
  a fixed tolerance (libsvm leaves |y f − 1| ≈ 1e-6 on margin points);
* L1 coordinates held at zero only say |b_j| ≤ λ: they bound λ instead of polluting the fit;
* the interval of λ consistent with all conditions (a small LP) says when λ is not identifiable.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import linprog, lsq_linear
from threadpoolctl import ThreadpoolController

from . import _policy
from ._validation import InputError, check_finite, check_positive
from .objectives import Objective, System, get_objective
from .registry import LEARNERS, canonical_name
from .result import Status, StealResult

__all__ = ["steal", "steal_stacked", "solve_system", "judge", "rejudge", "conclude", "Solution", "GradientBound"]


@dataclass(frozen=True)
class GradientBound:
    """What a solver guarantees about the parameters it returns: ``‖∇F(θ)‖ ≤ bound`` at its own λ.

    ``F`` is the objective in the paper's convention (losses summed, no ½), ``∇`` over every
    stationarity equation (the penalised parameters and the unpenalised intercept). ``norm`` is
    ``"inf"`` (L-BFGS's projected gradient, Newton-CG, Newton-Cholesky) or ``"2"`` (liblinear's
    trust-region Newton). When the solver converged, every λ consistent with the bound is in the
    reported interval: the interval is rigorous, not estimated.
    """

    bound: float
    norm: str = "inf"
    rule: str = "a solver's stopping rule"

    def __post_init__(self):
        if not (np.isfinite(self.bound) and self.bound >= 0):
            raise InputError(f"GradientBound.bound must be a finite number ≥ 0, got {self.bound!r}.")
        if self.norm not in ("inf", "2"):
            raise InputError(f"GradientBound.norm must be 'inf' or '2', got {self.norm!r}.")

_EPS = np.finfo(float).eps


@dataclass
class Solution:
    """Least-squares solution of a :class:`System` and the interval of consistent λ."""

    lam: np.ndarray
    beta: np.ndarray
    residual: float
    intervals: list | None = None
    abs_residual: float = 0.0


def _columns(system: System) -> np.ndarray:
    if system.B is None or system.B.shape[1] == 0:
        return system.A
    return np.hstack([system.A, system.B])


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
    # small dense factorisations: one BLAS thread is fastest, several on a busy machine up to 100× slower
    global _THREADPOOLS
    if _THREADPOOLS is None:  # finding the BLAS libraries takes milliseconds: once
        _THREADPOOLS = ThreadpoolController()
    with _THREADPOOLS.limit(limits=1, user_api="blas"):
        return _bvls_one_thread(M, t, lo, hi, u0)


_THREADPOOLS = None


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


def _tolerance(system: System, sol: Solution) -> float:
    """How far from zero an equation may be and still count as satisfied."""
    C = _columns(system)
    x = np.nan_to_num(np.concatenate([sol.lam, sol.beta]))
    size = np.max(np.abs(system.b), initial=0.0) + np.max(np.abs(C * x), initial=0.0)
    return _policy.RESIDUAL_INTERVAL_FACTOR * sol.abs_residual + 64 * _EPS * size


def _intervals(system: System, sol: Solution, bound: GradientBound | None = None) -> list[tuple[float, float]]:
    """For each λ_k, the range of values satisfying every condition to within a tolerance: what the
    residual left at λ̂ explains, or the solver's ``bound`` on the gradient.

    Without a bound, equations that hold no unknown (an unpenalised intercept's ∂loss/∂c = 0 without
    margin points) constrain no λ: they count in the residual, not here, nor in the tolerance. With one,
    they must satisfy it too (or no λ does), and under a 2-norm bound they use up part of it.
    """
    C = _columns(system)
    live = np.any(C != 0, axis=1)
    if bound is not None:
        dead = system.b[~live]
        budget = bound.bound ** 2 - float(dead @ dead) if bound.norm == "2" else bound.bound
        if budget < 0 or np.max(np.abs(dead), initial=0.0) > bound.bound:
            return [(np.inf, -np.inf)] * system.A.shape[1]
        tau = float(np.sqrt(budget)) if bound.norm == "2" else bound.bound
    if not np.all(live):
        x = np.nan_to_num(np.concatenate([sol.lam, sol.beta]))
        r = system.b[live] + C[live] @ x
        system = replace(system, b=system.b[live], A=system.A[live],
                         B=None if system.B is None else system.B[live])
        sol = replace(sol, abs_residual=float(np.max(np.abs(r), initial=0.0)))
    K = system.A.shape[1]
    has_beta = system.B is not None and system.B.shape[1] > 0
    if bound is None:
        eps = _tolerance(system, sol)
    else:
        eps = max(tau, _tolerance(system, replace(sol, abs_residual=0.0)))
        if bound.norm == "2" and K == 1 and not has_beta and not system.l1_bounds:
            return [_ball_interval(system.b, system.A[:, 0], eps)]
    lower = np.zeros(K)
    for k, z in system.l1_bounds:
        lower[k] = max(lower[k], float(np.max(z)) - eps)
    has_beta = system.B is not None and system.B.shape[1] > 0
    if K == 1 and not has_beta:
        a, b = system.A[:, 0], system.b
        lo, hi = lower[0], np.inf
        nz = a != 0
        if np.any(nz):
            ends = np.stack([(-b[nz] - eps) / a[nz], (-b[nz] + eps) / a[nz]])
            lo = max(lo, float(np.max(ends.min(axis=0))))
            hi = float(np.min(ends.max(axis=0)))
        if bound is None and hi < lo and lo - hi <= 1e-9 * max(abs(lo), abs(hi)):
            lo = hi = float(sol.lam[0])  # round-off: the point estimate is consistent
        # otherwise an empty range (lo > hi) stays: no λ satisfies every condition, and _attack says so
        return [(lo, hi)]
    return _lp_intervals(system, sol, eps, lower, eps_is_residual=bound is None)


def _ball_interval(b: np.ndarray, a: np.ndarray, tau: float) -> tuple[float, float]:
    """{λ ≥ 0 : ‖b + aλ‖₂ ≤ τ}, from the quadratic (a·a)λ² + 2(a·b)λ + b·b − τ² ≤ 0."""
    aa, ab, bb = float(a @ a), float(a @ b), float(b @ b)
    if aa == 0:
        return (0.0, np.inf) if bb <= tau ** 2 else (np.inf, -np.inf)
    disc = ab ** 2 - aa * (bb - tau ** 2)
    if disc < 0:
        return (np.inf, -np.inf)
    root = np.sqrt(disc)
    lo, hi = (-ab - root) / aa, (-ab + root) / aa
    return (max(float(lo), 0.0) + 0.0, float(hi)) if hi >= 0 else (np.inf, -np.inf)


def _lp_intervals(system: System, sol: Solution, eps: float, lower: np.ndarray, eps_is_residual: bool = True):
    C = _columns(system)
    K, n_var = system.A.shape[1], C.shape[1]
    if len(system.b) == 0:
        return [(float(lower[k]), np.inf) for k in range(K)]
    s = np.linalg.norm(C, axis=0)
    s[s == 0] = 1.0
    Cs = C / s
    row = np.maximum(np.linalg.norm(Cs, axis=1), np.abs(system.b))
    row[row == 0] = 1.0
    Cr, br, er = Cs / row[:, None], system.b / row, eps / row
    A_ub = np.vstack([Cr, -Cr])
    b_ub = np.concatenate([-br + er, br + er])
    bounds = [(lower[k] * s[k], None) for k in range(K)] + [(0.0, s[j]) for j in range(K, n_var)]
    out = []
    for k in range(K):
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(n_var)
            c[k] = sign
            res = linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
            if res.status == 3:  # unbounded
                ends.append(np.inf if sign < 0 else 0.0)
            elif res.status == 0:
                ends.append(res.x[k] / s[k])
            elif res.status == 2:  # infeasible: no λ satisfies every condition to within eps
                return [(np.inf, -np.inf)] * K
            else:  # the LP solver failed: say so rather than guess
                raise RuntimeError(f"the interval LP failed (HiGHS status {res.status}: {res.message})")
        lo, hi = ends
        lam = sol.lam[k]
        if np.isfinite(lam) and lo <= hi and eps_is_residual:
            lo, hi = min(lo, lam), max(hi, lam)
        out.append((float(lo) + 0.0, float(hi) + 0.0))  # + 0.0: no "-0" ends
    return out


# --------------------------------------------------------------------------- hinge margin points


def _margin_candidates(delta: np.ndarray, margin_tol: float | None) -> list[tuple[np.ndarray, float]]:
    """Candidate margin sets, each the k points nearest the margin, with the log-gap that follows.

    Returns (mask, gap) pairs; ``gap`` = log10(|δ|_(k+1) / |δ|_(k)) measures how clearly the k-th
    point is separated from the next one (a margin set left by a solver is a tight cluster).
    """
    d = np.abs(delta).ravel()
    if margin_tol is not None:
        return [((d <= margin_tol).reshape(delta.shape), np.inf)]
    # only the points within 0.05 of the margin are ever candidates: sort those alone (stable, as the
    # whole array would be: ties in index order)
    close = np.flatnonzero(d <= 0.05)
    order = close[np.argsort(d[close], kind="stable")]
    near = len(order)
    # exact zeros sit at round-off level, not at 1e-300: a solver's margin cluster mixes both
    ds = np.maximum(d[order], 1e-16)
    logs = np.log10(np.concatenate([[1e-16], ds, [0.05] if near < d.size else []]))
    if len(logs) == near + 1:
        logs = np.append(logs, np.log10(0.05))
    gaps = np.diff(logs)  # gaps[k]: between the k-th and (k+1)-th nearest (k = 0: from round-off)
    ks = {0} | {int(k) for k in np.argsort(gaps)[::-1][:8]}
    for tol in (1e-12, 1e-9, 1e-6, 1e-4, 1e-3):
        ks.add(int(np.searchsorted(ds, tol, side="right")))
    out = []
    for k in sorted(k for k in ks if k <= near):
        m = np.zeros(d.size, dtype=bool)
        m[order[:k]] = True
        out.append((m.reshape(delta.shape), float(gaps[k]) if k < len(gaps) else 0.0))
    return out


def _sub_system(full: System, points: np.ndarray, inside: np.ndarray, mask: np.ndarray):
    """The system of a smaller margin set, from the one of a larger set (``full``, whose β columns are
    the flat ``points``): the dropped points inside the margin return to b. Returns it and the kept
    columns."""
    keep = mask.ravel()[points]
    cols = np.flatnonzero(keep)
    back = ~keep & inside
    b = full.b + full.B[:, back].sum(axis=1) if np.any(back) else full.b
    system = System(b=b, A=full.A, B=full.B[:, cols], l1_bounds=full.l1_bounds, form=full.form, scale=full.scale,
                    n_margin=len(cols))
    return system, cols


def _best_margin(objective, data, params, form, margin_tol):
    """Choose the margin set: among the sets that explain the equations as well as the parameters'
    own accuracy allows, the one most clearly separated from the remaining points.

    The candidate sets are nested (the k points nearest the margin), so the system is built once, for
    the largest set; a smaller set keeps the first of its β columns, and the points it leaves out
    that lie inside the margin return to b, each adding its own β column (the contribution a point
    makes to b is, by the definition of the hinge subgradient, its column in B). Each candidate's
    bounded least squares starts from the previous candidate's solution.
    """
    signed = objective.margins(data, params)
    delta = np.abs(signed)
    candidates = _margin_candidates(delta, margin_tol)
    if len(candidates) == 1:
        mask = candidates[0][0]
        system = objective.system(data, params, margin=mask, **form)
        return solve_system(system, interval=False).residual, mask, system
    big = candidates[-1][0]  # candidates come in increasing size, each containing the one before
    full = objective.system(data, params, margin=big, **form)
    points = np.flatnonzero(big.ravel())  # B's columns follow the margin points in row-major order
    if full.B is None or full.B.shape[1] != len(points):
        raise RuntimeError("hinge system with an unexpected number of margin columns")
    if not (np.all(np.isfinite(full.b)) and np.all(np.isfinite(full.B))):
        check_finite(data.X, "X")  # NaN or inf in X: say so, before every candidate's fit is NaN
    inside = signed.ravel()[points] < 0.0  # y f < 1: in b unless on the margin
    K = full.A.shape[1]
    fits = []
    x_prev, cols_prev = np.zeros(K), np.zeros(0, dtype=int)
    for mask, gap in candidates:
        system, cols = _sub_system(full, points, inside, mask)
        # the previous solution, with each new point's β where it left the previous equations (1 inside)
        x0 = np.concatenate([x_prev[:K], inside[cols].astype(float)])
        x0[K + np.searchsorted(cols, cols_prev)] = x_prev[K:]
        sol = solve_system(system, interval=False, x0=x0)
        x_prev, cols_prev = np.concatenate([sol.lam, sol.beta]), cols
        fits.append((sol.residual, gap, mask))
    best = min(f[0] for f in fits)
    # An error η in θ leaves margin points at |y f − 1| ~ η and a relative residual ~ η; a larger
    # set always fits at least as well (more free weights), so the fit alone cannot decide.
    ok = [f for f in fits if f[0] <= max(10.0 * best, 100.0 * float(np.max(delta[f[2]], initial=0.0)), 1e-12)]
    res, _, mask = max(ok, key=lambda f: f[1])
    system = full if mask is big else objective.system(data, params, margin=mask, **form)
    return res, mask, system


# --------------------------------------------------------------------------- public entry point


def steal(
    algorithm: str,
    X,
    y,
    params: Mapping,
    *,
    identifiable_rtol: float = _policy.IDENTIFIABLE_RTOL,
    margin_tol: float | None = None,
    bound: GradientBound | None = None,
    **model_options,
) -> StealResult:
    """Recover the regularisation hyperparameters a learner used from its parameters.

    Parameters
    ----------
    algorithm : str
        The learner, by our name or the paper's, case-insensitive (``"ridge"``, ``"RR"``,
        ``"svm_hinge"``, ``"SVM-RHL"``, …); see :data:`hypersteal.registry.ALGORITHMS`.
    X : array-like of shape (n, d)
        The training data (for ``kernel="precomputed"``, the Gram matrix).
    y : array-like of shape (n,) or (n, t)
        Targets, or labels (any two labels for binary learners).
    params : mapping
        The learned parameters in scikit-learn's names: ``coef`` (d,) or (outputs, d) and
        ``intercept`` for linear models; ``dual_coef`` (n,) and ``intercept`` for kernel models;
        ``coefs`` and ``intercepts`` (lists) for MLPs. ``intercept`` defaults to 0.
    identifiable_rtol : float, default=1e-6
        A λ counts as identifiable when its consistent interval is narrower than this fraction of
        it (or than what the residual of an inexact fit explains).
    margin_tol : float, optional
        Hinge losses: treat points with |y f − 1| ≤ margin_tol as on the margin. By default the
        margin set is chosen from the data (see the module docstring).
    bound : GradientBound, optional
        What the solver that produced ``params`` guarantees about its gradient (e.g. L-BFGS stops
        when max|∇F| ≤ tol): the interval of λ is then the values the guarantee allows — rigorous —
        instead of an estimate from the residual. :func:`steal_from_estimator` sets it from the
        estimator's solver and ``tol``.
    **model_options
        ``intercept_scaling`` (liblinear's penalised intercept) and ``fit_intercept`` for linear
        models; ``kernel``, ``gamma``, ``degree``, ``coef0`` and ``form`` for kernel models;
        ``activation`` for MLPs.

    Returns
    -------
    StealResult
        ``.lambdas``, ``.lam``, ``.interval``, ``.status``, ``.identifiable``, ``.residual``, ``.gradient()``.

    Examples
    --------
    >>> import numpy as np, hypersteal
    >>> from sklearn.linear_model import Ridge
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    >>> model = Ridge(alpha=2.5).fit(X, y)
    >>> r = hypersteal.steal("ridge", X, y, {"coef": model.coef_, "intercept": model.intercept_})
    >>> round(r.lam, 10)
    2.5
    """
    if not isinstance(params, Mapping):
        raise TypeError(
            "params must be a mapping such as {'coef': ..., 'intercept': ...}, got "
            f"{type(params).__name__}; "
            "to steal from a fitted scikit-learn estimator use hypersteal.steal_from_estimator."
        )
    identifiable_rtol = check_positive(identifiable_rtol, "identifiable_rtol")
    if margin_tol is not None:
        margin_tol = check_positive(margin_tol, "margin_tol", strict=False)
    if "activation" in params and LEARNERS[canonical_name(algorithm)].family == "mlp":
        # a network's parameters may name their activation (learners.train does): use it, or check it
        named = model_options.setdefault("activation", params["activation"])
        if named != params["activation"]:
            raise InputError(f"activation={named!r} was passed but params['activation'] is "
                             f"{params['activation']!r}; pass one of them.")
    objective = get_objective(algorithm, **model_options)
    data = objective.prepare(X, y)
    params = objective.check_params(params, data)
    if bound is not None and not isinstance(bound, GradientBound):
        raise TypeError(f"bound must be a hypersteal.attack.GradientBound, got {type(bound).__name__}.")
    return _attack(objective, data, params, identifiable_rtol=identifiable_rtol, margin_tol=margin_tol, bound=bound)


def _choose_system(objective: Objective, data, params, margin_tol):
    """The best-conditioned system the parameters satisfy, with its hinge margin set."""
    forms = getattr(objective, "forms", ("primal",))
    choices = []
    for form in forms:
        kw = {} if form == "primal" else {"form": form}
        if objective.has_margin:
            res, mask, system = _best_margin(objective, data, params, kw, margin_tol)
        else:
            mask, system = None, objective.system(data, params, **kw)
            res = solve_system(system, interval=False).residual
        if not (np.all(np.isfinite(system.b)) and np.all(np.isfinite(system.A))):
            # a NaN or inf anywhere in X reaches the loss gradient (0·inf = NaN), so the check of the
            # whole X, an extra pass over it, is only needed here
            check_finite(data.X, "X")
        choices.append((res, form, kw, mask, system))
    # prefer the first (best-conditioned) form unless another explains the parameters far better
    best = min(c[0] for c in choices)
    return next(c for c in choices if c[0] <= 10.0 * best + 1e-13)


def _stack(systems: list[System]) -> System:
    """One system for sub-problems that share λ (one-vs-one SVMs): rows stacked, β blocks diagonal."""
    if len(systems) == 1:
        return systems[0]
    Bs = [s.B if s.B is not None else np.zeros((len(s.b), 0)) for s in systems]
    B = np.zeros((sum(len(s.b) for s in systems), sum(b.shape[1] for b in Bs)))
    r = c = 0
    for blk in Bs:
        B[r:r + blk.shape[0], c:c + blk.shape[1]] = blk
        r, c = r + blk.shape[0], c + blk.shape[1]
    return System(
        b=np.concatenate([s.b for s in systems]),
        A=np.vstack([s.A for s in systems]),
        B=B if B.shape[1] else None,
        l1_bounds=[bound for s in systems for bound in s.l1_bounds],
        form=systems[0].form,
        scale=float(np.sqrt(sum(s.scale ** 2 for s in systems))),
        n_margin=sum(s.n_margin for s in systems),
    )


def _widen(interval, lam, residual):
    """A residual-based interval, widened to λ̂·[1/(1 + ρ), 1 + ρ], ρ = RESIDUAL_RELATIVE_FACTOR·residual."""
    lo, hi = interval
    if lo > hi or not (np.isfinite(lam) and lam > 0):
        return interval
    rho = _policy.RESIDUAL_RELATIVE_FACTOR * residual
    return (min(lo, lam / (1 + rho)), max(hi, lam * (1 + rho)))


def judge(estimate, intervals, residual, *, identifiable_rtol=_policy.IDENTIFIABLE_RTOL, rigorous=False,
          structural=True) -> tuple[Status, list[int]]:
    """The one verdict rule every entry point uses.

    Parameters
    ----------
    estimate : sequence of float
        The least-squares λ̂.
    intervals : sequence of (lo, hi)
        The λ consistent with the conditions (``lo > hi``: none is).
    residual : float
        The relative stationarity residual at λ̂.
    rigorous : bool
        Whether the intervals come from a solver's guarantee (then λ̂ outside one is moved, not a
        contradiction).
    structural : bool
        Whether a wide interval at a small residual means the objective itself cannot tell the values
        apart (hinge kinks, L1 zeros): "not identifiable" rather than "bounded only".

    Returns
    -------
    (Status, list of int)
        The status, and the indices of the λs whose estimate lies outside its own interval.
    """
    lam = np.asarray(estimate, dtype=float)
    outside, wide = [], False
    if any(lo > hi for lo, hi in intervals):
        return Status.NOT_A_MINIMUM, [k for k, (lo, hi) in enumerate(intervals) if lo > hi]
    if residual >= _policy.NOT_A_MINIMUM_RESIDUAL and not rigorous:  # a solver's bound that holds outranks it
        return Status.NOT_A_MINIMUM, []
    exact = residual <= _policy.NOT_STATIONARY_RESIDUAL
    for k, (lo, hi) in enumerate(intervals):
        scale = abs(lam[k]) if np.isfinite(lam[k]) else 0.0
        inside = lo - 1e-9 * scale <= lam[k] <= hi + 1e-9 * scale
        if scale > 0 and not inside and not rigorous:
            outside.append(k)
        # what an exact fit's round-off, or an inexact fit's residual, explains: still a point
        point_width = min(max(identifiable_rtol, 10.0 * residual), _policy.APPROXIMATE_RTOL) * scale
        if not (np.isfinite(hi) and np.isfinite(lam[k]) and lam[k] > 0 and (inside or rigorous)):
            wide = True
        elif (hi - lo) > point_width:
            exact = False
            # wider than the residual explains: at a stationary point that width is the objective's own
            # (hinge kinks, L1 zeros), so only a solver's bound or an inexact fit makes it "approximate"
            near = rigorous or residual > _policy.NOT_STATIONARY_RESIDUAL or not structural
            if not near or (hi - lo) > _policy.APPROXIMATE_RTOL * scale:
                wide = True
    if outside:
        return Status.NOT_A_MINIMUM, outside
    if wide:
        if structural and residual <= _policy.NOT_STATIONARY_RESIDUAL and not rigorous:
            return Status.NOT_IDENTIFIABLE, []
        return Status.INTERVAL_ONLY, []
    return (Status.EXACT if exact else Status.APPROXIMATE), []


def rejudge(result: StealResult, intervals: dict, source: str, *,
            identifiable_rtol: float = _policy.IDENTIFIABLE_RTOL) -> StealResult:
    """The verdict again, with rigorous intervals found outside the attack (a solver's duality gap):
    the point estimate is moved into them, and the status follows :func:`judge`."""
    if any(lo > hi for lo, hi in intervals.values()):
        result.warnings.append(f"the solver's stopping rule ({source}) holds for no λ: it did not stop by that "
                               "rule, so the interval comes from the residual instead.")
        return result
    keys = list(result.estimate)
    est = [float(np.clip(result.estimate[k], *intervals[k])) for k in keys]
    status, _ = judge(est, [intervals[k] for k in keys], result.residual, identifiable_rtol=identifiable_rtol,
                      rigorous=True)
    result.intervals = {k: intervals[k] for k in keys}
    result.estimate = dict(zip(keys, est))
    result.status = status
    result.identifiable = status.has_value
    result.lambdas = {k: (v if status.has_value else float("nan")) for k, v in zip(keys, est)}
    result.interval_source = source
    return result


def steal_stacked(algorithm: str, problems, *, identifiable_rtol: float = _policy.IDENTIFIABLE_RTOL,
                  margin_tol: float | None = None, **model_options) -> StealResult:
    """Steal one λ shared by several sub-problems (one-vs-one or one-vs-rest models): their
    stationarity equations are stacked into one system.

    Parameters
    ----------
    algorithm : str
        The learner of every sub-problem.
    problems : sequence of (X, y, params)
        Each sub-problem's training data and parameters, as for :func:`steal`.
    """
    identifiable_rtol = check_positive(identifiable_rtol, "identifiable_rtol")
    if margin_tol is not None:
        margin_tol = check_positive(margin_tol, "margin_tol", strict=False)
    if not problems:
        raise InputError("steal_stacked needs at least one (X, y, params) sub-problem.")
    objective = get_objective(algorithm, **model_options)
    prepared = []
    for Xp, yp, params in problems:
        data = objective.prepare(Xp, yp)
        prepared.append((data, objective.check_params(params, data)))
    return _attack(objective, *prepared[0], identifiable_rtol=identifiable_rtol, margin_tol=margin_tol,
                   problems=prepared)


def _attack(objective: Objective, data, params, *, identifiable_rtol, margin_tol, problems=None,
            bound: GradientBound | None = None, dense: bool = False) -> StealResult:
    """Solve for λ. ``problems`` (a list of (data, params)) stacks several sub-problems sharing λ; ``dense``
    solves their stacked system as one (the reference for :mod:`hypersteal._stacked`'s fast path)."""
    problems = problems or [(data, params)]
    if len(problems) > 1 and not dense:  # the fast path for stacked sub-problems, ending in conclude() too
        from ._stacked import attack_stacked

        return attack_stacked(objective, problems, identifiable_rtol=identifiable_rtol, margin_tol=margin_tol)
    chosen = [_choose_system(objective, d, p, margin_tol) for d, p in problems]
    _, form, kw, mask, _ = chosen[0]
    system = _stack([c[4] for c in chosen])
    sol = solve_system(system, interval=False)

    def gradient_fn():
        if len(problems) > 1:
            raise RuntimeError("The gradient of a stacked (one-vs-one) attack is not available.")
        return _finite_difference_gradient(objective, data, params, kw, mask)

    return conclude(objective, system, sol, form=form, identifiable_rtol=identifiable_rtol,
                    bound=bound if len(problems) == 1 else None, gradient_fn=gradient_fn)


def conclude(objective: Objective, system: System, sol: Solution, *, form: str = "primal",
             identifiable_rtol: float = _policy.IDENTIFIABLE_RTOL, bound: GradientBound | None = None,
             gradient_fn=None, n_equations: int | None = None) -> StealResult:
    """From a solved system to the result: the interval of consistent λ (from ``bound`` when it holds,
    else from the residual), the verdict of :func:`judge`, the notes. Every attack ends here."""
    notes = []
    if bound is not None and (form != "primal" or system.n_margin):
        notes.append(f"the solver's stopping rule ({bound.rule}) applies to the primal gradient only; "
                     "the interval comes from the residual instead.")
        bound = None
    source = "round-off" if sol.residual <= 1e-9 else "residual"
    intervals = None
    if bound is not None:
        intervals = _intervals(system, sol, bound)
        if any(lo > hi for lo, hi in intervals):
            notes.append(f"the solver's stopping rule ({bound.rule}) holds for no λ: it did not stop by that rule "
                         "(max_iter, or another criterion), so the interval comes from the residual instead.")
            intervals = None
        else:
            source = bound.rule
    if intervals is None:
        bound = None
        base = sol.intervals if sol.intervals is not None else _intervals(system, sol)
        intervals = [_widen(iv, lam, sol.residual) for iv, lam in zip(base, sol.lam)]
    sol.intervals = intervals

    names = objective.hyperparameters
    lam_hat = sol.lam
    # a width the objective itself causes: margin points' free β, or a λ no equation bounds from above
    structural = system.n_margin > 0 or not np.any(system.A) or any(np.isinf(hi) for _, hi in intervals)
    status, outside = judge(lam_hat, intervals, sol.residual, identifiable_rtol=identifiable_rtol,
                            rigorous=bound is not None, structural=structural)
    if bound is not None:  # a rigorous interval holds the truth: the point estimate belongs in it
        lam_hat = np.array([np.clip(v, lo, hi) if np.isfinite(v) else v for v, (lo, hi) in zip(lam_hat, intervals)])
    identifiable = status.has_value
    estimate = {n: float(v) for n, v in zip(names, lam_hat)}
    lambdas = {n: (float(v) if identifiable else float("nan")) for n, v in zip(names, lam_hat)}

    if np.any(lam_hat < 0):
        notes.append(
            "the least-squares λ is negative: these parameters are not a minimum of a "
            f"{objective.name} objective with a non-negative penalty (wrong algorithm or options?)."
        )
    if sol.residual > _policy.NOT_STATIONARY_RESIDUAL:
        notes.append(
            f"relative stationarity residual {sol.residual:.3g}: the parameters are not an exact minimum "
            "(early stopping, SGD, rounding or a different objective), so λ is approximate."
        )
    for k in outside:
        lo, hi = intervals[k]
        if lo > hi:
            notes.append(
                f"no {names[k]} satisfies every condition to within the residual (zero weights need "
                f"|∂loss/∂w_j| ≤ λ, the other equations a value in a range that excludes it): the parameters are "
                "not a minimum."
            )
        else:
            notes.append(
                f"the least-squares {names[k]} = {lam_hat[k]:.6g} lies outside [{lo:.6g}, {hi:.6g}], the range the "
                "other conditions allow (zero weights' |∂loss/∂w_j| ≤ λ, margin points' β ∈ [0, 1]): the parameters "
                "are not a minimum."
            )
    if not identifiable and not np.any(system.A):
        notes.append("no parameter gives an equation for λ (all are held at zero by the L1 penalty).")

    return StealResult(
        algorithm=objective.name,
        lambdas=lambdas,
        estimate=estimate,
        intervals={n: iv for n, iv in zip(names, intervals)},
        identifiable=identifiable,
        residual=sol.residual,
        n_equations=len(system.b) if n_equations is None else n_equations,
        n_margin=system.n_margin,
        form=form,
        warnings=notes,
        status=status,
        interval_source=source,
        _gradient_fn=gradient_fn,
    )


def _finite_difference_gradient(objective, data, params, form_kw, mask) -> np.ndarray:
    """∂λ̂/∂θ by central differences, margin set and L1 support held fixed."""
    theta = objective.pack(params)
    base = np.max(np.abs(theta), initial=0.0) or 1.0
    K = len(objective.hyperparameters)
    grad = np.zeros((K, theta.size))
    margin = {} if mask is None else {"margin": mask}
    support = theta != 0

    def lam_at(t):
        p = objective.unpack(t, params)
        return solve_system(objective.system(data, p, **margin, **form_kw), interval=False).lam

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(theta.size):
            if not support[j] and any(p.is_l1 for p in objective.penalties):
                continue  # moving a zero coordinate changes the support, not λ̂ to first order
            h = 1e-6 * max(abs(theta[j]), 1e-3 * base)
            tp, tm = theta.copy(), theta.copy()
            tp[j] += h
            tm[j] -= h
            grad[:, j] = (lam_at(tp) - lam_at(tm)) / (2 * h)
    return grad
