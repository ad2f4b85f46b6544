"""From a solved system to a result: the interval, the one verdict rule (:func:`judge`) and its notes."""

from __future__ import annotations

import warnings

import numpy as np

from .. import _policy
from ..objectives import Objective, System
from ..result import Status, StealResult
from .intervals import GradientBound, _intervals
from .solve import Solution, solve_system


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
