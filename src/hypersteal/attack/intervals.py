"""The interval of λ consistent with every condition: from a bound on the gradient the solver guarantees, or
from the residual; one λ in closed form, several (or L1 bounds, or β) by a small LP."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy.linalg import solve_triangular
from scipy.optimize import linprog

from .. import _policy
from .._validation import InputError
from ..objectives import System
from ._threads import one_blas_thread

if TYPE_CHECKING:
    from .solve import Solution

_EPS = np.finfo(float).eps


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


def _columns(system: System) -> np.ndarray:
    if system.B is None or system.B.shape[1] == 0:
        return system.A
    return np.hstack([system.A, system.B])


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
    outer = _outer_intervals(system, sol, eps, lower)
    if outer is not None and all(hi - lo <= 0.5 * _policy.IDENTIFIABLE_RTOL * abs(lam)
                                 for (lo, hi), lam in zip(outer, sol.lam)):
        return outer  # the LP's intervals lie inside these, and are no less a point: skip it
    return _lp_intervals(system, sol, eps, lower, eps_is_residual=bound is None)


def _outer_intervals(system: System, sol: Solution, eps: float, lower: np.ndarray):
    """Intervals that contain the LP's (:func:`_lp_intervals`), in one QR factorisation instead of two LPs.

    Dropping the box on the margin weights β and the L1 lower bounds only enlarges the feasible set
    {x : |Cx + b| ≤ eps}. For x in it, ‖C(x − x̂)‖∞ ≤ eps + ‖Cx̂ + b‖∞ = δ, and when C has full column rank
    x − x̂ = C⁺C(x − x̂), so |x_k − x̂_k| ≤ ‖(C⁺)_k‖₁·δ: a rigorous outer bound. When it is already narrower than
    a point, the LP cannot change the verdict (hinge models with hundreds of margin points: the LP took 10 s
    on Madelon, this 0.1 s). Returns None when C is rank-deficient or the solution is not finite.
    """
    C = _columns(system)
    x = np.concatenate([sol.lam, sol.beta])
    K, (m, n_var) = system.A.shape[1], C.shape
    if m < n_var or not np.all(np.isfinite(x)) or n_var == 0:
        return None
    s = np.linalg.norm(C, axis=0)
    if np.any(s == 0):
        return None
    with one_blas_thread():
        Q, R = np.linalg.qr(C / s)
    diag = np.abs(np.diag(R))
    if diag.min() <= 1e-10 * diag.max():
        return None
    delta = eps + float(np.max(np.abs(C @ x + system.b), initial=0.0))
    out = []
    for k in range(K):
        e = np.zeros(n_var)
        e[k] = 1.0
        row = Q @ solve_triangular(R, e, trans="T")  # row k of (C/s)⁺
        half = float(np.abs(row).sum()) * delta / s[k]
        out.append((max(float(x[k]) - half, float(lower[k])), float(x[k]) + half))
    return out


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
