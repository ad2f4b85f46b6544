"""One λ from many sub-problems that share it (one-vs-one SVMs, one-vs-rest, folds), solved fast.

:func:`hypersteal.attack.steal_stacked` hands sub-problems here. Stacked into one dense system and its
bounded least squares solved from scratch, they were slow: with hinge losses every margin point of every
sub-problem brings a β column, and a multi-class SVC on ``load_digits`` (45 pairs) stacks 16 218
equations × 1 616 unknowns: a dense QR and a cold bounded least squares over all of them took most of a
minute. Here the same system is solved with two exact savings:

* rows that hold nothing (``0 = 0``: in the reduced form, every point off the margin with α_i = 0) are
  dropped; they change neither the least-squares solution, nor the residual, nor the interval;
* the sub-problems' own solutions (each small) give the margin weights β that sit at a bound and those
  that are free; with that active set the joint least squares separates: each sub-problem's free β
  are projected out (a small QR each) and the shared λ is a one-dimensional least squares; at that λ
  each sub-problem's β is re-solved, and so on until a point satisfies every bound and the KKT
  conditions of the stacked bounded least squares: it then *is* that problem's minimum. Otherwise the
  stacked system is solved by the core's bounded least squares.

The interval, the verdict and the notes come from :func:`~hypersteal.attack.conclude`, as every attack's do.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..result import StealResult
from .intervals import _intervals
from .solve import Solution, _columns, solve_system
from .systems import _choose_system, _stack
from .verdict import conclude

__all__ = ["attack_stacked"]


def _live(system):
    """The system without its all-zero rows (equations 0 = 0)."""
    C = _columns(system)
    live = np.any(C != 0, axis=1) | (system.b != 0)
    if np.all(live):
        return system
    return replace(system, b=system.b[live], A=system.A[live], B=None if system.B is None else system.B[live])


def attack_stacked(objective, problems, *, identifiable_rtol, margin_tol) -> StealResult:
    """Like ``attack._attack(objective, …, problems=problems)`` for several sub-problems sharing λ."""
    chosen = [_choose_system(objective, d, p, margin_tol) for d, p in problems]
    form = chosen[0][1]
    systems = [c[4] for c in chosen]
    n_equations = sum(len(s.b) for s in systems)
    systems = [_live(s) for s in systems]
    system = _stack(systems)
    sol = None
    if system.A.shape[1] == 1 and system.B is not None and system.B.shape[1]:
        # each sub-problem's own solution (small systems) gives the first active sets
        sols = [solve_system(sub, interval=False) for sub in systems]
        sol = _separable_solution(systems, system, sols)
    if sol is None:  # the core's bounded least squares, from scratch (its warm start assumes u0 is optimal
        sol = solve_system(system)  # in the free variables, which the sub-problems' solutions are not)
    return _result(objective, system, sol, form, n_equations, identifiable_rtol)


def _separable_solution(systems, system, sols, max_rounds=12):
    """The minimum of the stacked bounded least squares (one λ ≥ 0, β ∈ [0, 1] per sub-problem), found by
    alternating between active sets: with each sub-problem's bound β held, λ is a one-dimensional least
    squares once the free β are projected out; at that λ each sub-problem's β is re-solved (small bounded
    least squares). Returns None unless the point satisfies the stacked problem's KKT conditions."""
    from scipy.optimize import lsq_linear

    C = _columns(system)
    s = np.linalg.norm(C, axis=0)
    if not np.all(s > 0):
        return None
    Bs = [sub.B if sub.B is not None else np.zeros((len(sub.b), 0)) for sub in systems]
    betas = [np.clip(sol.beta, 0.0, 1.0) for sol in sols]
    for _ in range(max_rounds):
        lam, betas_new = _active_set_step(systems, Bs, betas)
        if lam is not None:
            solution = _kkt_solution(system, C, s, lam, betas_new)
            if solution is not None:
                return solution
        else:
            lam = float(np.median([np.nan_to_num(sol.lam[0]) for sol in sols]))
        # re-solve every sub-problem's β at this λ: new active sets
        betas = []
        for sub, B in zip(systems, Bs):
            t = -(sub.b + sub.A[:, 0] * lam)
            if B.shape[1]:
                betas.append(np.clip(lsq_linear(B, t, bounds=(0.0, 1.0), method="bvls", tol=1e-15).x, 0.0, 1.0))
            else:
                betas.append(np.zeros(0))
    return None


def _active_set_step(systems, Bs, betas):
    """λ and the free β minimising the stacked least squares with every β at a bound held there; (None, None)
    when the free columns are dependent or no equation holds λ."""
    import scipy.linalg as sla

    num = den = 0.0
    blocks = []
    for sub, B, beta in zip(systems, Bs, betas):
        free = (beta > 0.0) & (beta < 1.0)
        c = sub.b + B[:, ~free] @ beta[~free]
        a = sub.A[:, 0]
        Q = R = None
        pa, pc = a, c
        if np.any(free):
            Q, R = np.linalg.qr(B[:, free])
            d = np.abs(np.diag(R))
            if np.min(d) <= 1e-10 * np.max(d):
                return None, None
            pa, pc = a - Q @ (Q.T @ a), c - Q @ (Q.T @ c)
        num += pa @ pc
        den += pa @ pa
        blocks.append((beta, free, c, a, Q, R))
    if den <= 0:
        return None, None
    lam = max(-num / den, 0.0) + 0.0  # + 0.0: no "-0"
    out = []
    for beta, free, c, a, Q, R in blocks:
        beta = beta.copy()
        if Q is not None:
            beta[free] = sla.solve_triangular(R, -(Q.T @ (c + a * lam)))
        out.append(beta)
    return lam, out


def _kkt_solution(system, C, s, lam, betas):
    """A Solution at (λ, β) if it is feasible and satisfies the KKT conditions of min ‖b + Cx‖ over λ ≥ 0,
    β ∈ [0, 1] (on unit-norm columns, as the core scales them); else None."""
    if any(np.any(beta < -1e-12) or np.any(beta > 1 + 1e-12) for beta in betas):
        return None
    betas = [np.clip(beta, 0.0, 1.0) for beta in betas]
    x = np.concatenate([[lam], *betas])
    r = system.b + C @ x
    # KKT of min ‖b + Cx‖ over λ ≥ 0, β ∈ [0, 1], on unit-norm columns (as the core scales them)
    g = (C.T @ r) / s
    tol = 1e-9 * max(np.linalg.norm(system.b), np.linalg.norm(r), 1e-300)
    beta_all = x[1:]
    at_lo = np.concatenate([[lam <= 0.0], beta_all <= 0.0])
    at_hi = np.concatenate([[False], beta_all >= 1.0])
    inner = ~at_lo & ~at_hi
    if np.any(np.abs(g[inner]) > tol) or np.any(g[at_lo] < -tol) or np.any(g[at_hi] > tol):
        return None
    denom = np.linalg.norm(system.b)
    residual = float(np.linalg.norm(r) / denom) if denom > 0 else float(np.linalg.norm(r))
    solution = Solution(lam=np.array([lam]), beta=beta_all, residual=residual, abs_residual=float(np.max(np.abs(r))))
    solution.intervals = _intervals(system, solution)
    return solution


def _result(objective, system, sol, form, n_equations, identifiable_rtol) -> StealResult:
    def gradient_fn():
        raise RuntimeError("The gradient of a stacked (one-vs-one) attack is not available.")

    return conclude(objective, system, sol, form=form, identifiable_rtol=identifiable_rtol, gradient_fn=gradient_fn,
                    n_equations=n_equations)
