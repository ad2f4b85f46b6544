"""Which system the parameters satisfy: the best-conditioned form, and for hinge losses the margin set, chosen by
how well each candidate set explains the equations; stacking sub-problems that share λ."""

from __future__ import annotations

import numpy as np

from .._validation import check_finite
from ..objectives import Objective, System
from .nested import NestedFits
from .solve import solve_system

#: a margin set whose relative residual is at most this is explained by the parameters, however accurate they are
EXPLAINED_FLOOR = 1e-12
#: a fit to round-off: a tenth of the floor, so that a best fit this good leaves every candidate's threshold at the
#: floor, and every set containing such a fit is within it without being solved
ROUND_OFF_FIT = EXPLAINED_FLOOR / 10


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
    makes to b is, by the definition of the hinge subgradient, its column in B). Candidates with no more
    unknowns than equations share one QR factorisation (:class:`NestedFits`); a candidate whose bounds are active,
    or that has more unknowns, gets a bounded least squares started from the previous candidate's solution; a
    candidate containing one that fits to round-off needs no solve.
    """
    signed = objective.margins(data, params)
    delta = np.abs(signed)
    candidates = _margin_candidates(delta, margin_tol)
    if len(candidates) == 1:
        mask = candidates[0][0]
        system = objective.system(data, params, margin=mask, **form)
        sol = solve_system(system, interval=False)
        return sol.residual, mask, system, sol
    big = candidates[-1][0]  # candidates come in increasing size, each containing the one before
    full = objective.system(data, params, margin=big, **form)
    points = np.flatnonzero(big.ravel())  # B's columns follow the margin points in row-major order
    if full.B is None or full.B.shape[1] != len(points):
        raise RuntimeError("hinge system with an unexpected number of margin columns")
    if not (np.all(np.isfinite(full.b)) and np.all(np.isfinite(full.B))):
        check_finite(data.X, "X")  # NaN or inf in X: say so, before every candidate's fit is NaN
    inside = signed.ravel()[points] < 0.0  # y f < 1: in b unless on the margin
    K = full.A.shape[1]
    sizes = [int(np.count_nonzero(mask)) for mask, _ in candidates]
    order = np.argsort(delta.ravel()[points], kind="stable")  # β columns by nearness, as the candidates take them
    nested = NestedFits(full, order, inside, largest=max((k for k in sizes if K + k <= len(full.b)), default=0))
    fits = []
    x_prev, cols_prev = np.zeros(K), np.zeros(0, dtype=int)
    fitted = None  # the norm of the residual of a candidate fitted to round-off, bounds satisfied
    for (mask, gap), k in zip(candidates, sizes):
        cols = np.flatnonzero(mask.ravel()[points])
        if fitted is not None and nested.relative(fitted, k) <= ROUND_OFF_FIT:
            # contains a set that fits to round-off, so fits at least as well: within every threshold below
            # whatever its exact residual, and the best fit leaves them at the floor: the choice is the same
            fits.append((nested.relative(fitted, k), gap, mask, None))
            continue
        sol = nested.fit(k) if np.array_equal(np.sort(order[:k]), cols) else None
        if sol is not None:  # the unique minimum, from the shared factorisation
            fits.append((sol.residual, gap, mask, sol))
        else:  # more unknowns than equations, or a bound active: the bounded solver, warm-started
            system, cols = _sub_system(full, points, inside, mask)
            # the previous solution, with each new point's β where it left the previous equations (1 inside)
            x0 = np.concatenate([x_prev[:K], inside[cols].astype(float)])
            x0[K + np.searchsorted(cols, cols_prev)] = x_prev[K:]
            sol = solve_system(system, interval=False, x0=x0)
            fits.append((sol.residual, gap, mask, None))  # a warm start's minimum need not be the cold one's
        if sol.residual <= ROUND_OFF_FIT and (k or np.all(sol.lam >= 0)):  # within the bounds: larger sets' too
            fitted = sol.residual / nested.relative(1.0, k)
        x_prev, cols_prev = np.concatenate([sol.lam, sol.beta]), cols
    best = min(f[0] for f in fits)
    # An error η in θ leaves margin points at |y f − 1| ~ η and a relative residual ~ η; a larger
    # set always fits at least as well (more free weights), so the fit alone cannot decide.
    ok = [f for f in fits
          if f[0] <= max(10.0 * best, 100.0 * float(np.max(delta[f[2]], initial=0.0)), EXPLAINED_FLOOR)]
    res, _, mask, sol = max(ok, key=lambda f: f[1])
    system = full if mask is big else _sub_system(full, points, inside, mask)[0]
    return res, mask, system, sol


def _choose_system(objective: Objective, data, params, margin_tol):
    """The best-conditioned system the parameters satisfy, with its hinge margin set: (residual, form, form
    options, margin mask, system, its least-squares solution or None where it must be solved afresh)."""
    forms = getattr(objective, "forms", ("primal",))
    choices = []
    for form in forms:
        kw = {} if form == "primal" else {"form": form}
        if objective.has_margin:
            res, mask, system, sol = _best_margin(objective, data, params, kw, margin_tol)
        else:
            mask, system = None, objective.system(data, params, **kw)
            sol = solve_system(system, interval=False)
            res = sol.residual
        if not (np.all(np.isfinite(system.b)) and np.all(np.isfinite(system.A))):
            # a NaN or inf anywhere in X reaches the loss gradient (0·inf = NaN), so the check of the
            # whole X, an extra pass over it, is only needed here
            check_finite(data.X, "X")
        choices.append((res, form, kw, mask, system, sol))
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
